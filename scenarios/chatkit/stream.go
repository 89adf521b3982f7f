package chatkit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/authflow-e2e/authflow/internal/redact"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

// Timing of a streamed answer, each measured from the moment the request was sent. A
// value is zero when the moment never came (e.g. no event arrived).
type Timing struct {
	Headers    time.Duration // response headers received
	FirstByte  time.Duration // first byte of the body received
	FirstEvent time.Duration // first complete event decoded
	LastEvent  time.Duration // last complete event decoded
	Total      time.Duration // body ended (or failed)
}

// Stream is the result of a streaming request.
type Stream struct {
	Status int
	Header http.Header
	// Events are all events in the order received.
	Events []Event
	// Text is the assembled text of the assistant messages (joined by "\n" when there
	// are several), built from deltas and overwritten by each thread.item.done.
	Text string
	// ThreadID comes from thread.created, else from the first item's thread_id.
	ThreadID string
	// Items is the final state of every item seen (removed ones excluded), in the order
	// they first appeared.
	Items []Item
	// AssistantDone reports that an assistant message reached thread.item.done: the
	// reply is semantically complete (the protocol has no end-of-stream marker).
	AssistantDone bool
	// Bytes is how many body bytes arrived.
	Bytes  int
	Timing Timing
}

// Types returns the event types in order, for assertions on the event sequence.
func (s *Stream) Types() []string {
	out := make([]string, len(s.Events))
	for i, e := range s.Events {
		out[i] = e.Type
	}
	return out
}

// ErrorEvents returns the in-band error events.
func (s *Stream) ErrorEvents() []Event {
	var out []Event
	for _, e := range s.Events {
		if e.Type == EventError {
			out = append(out, e)
		}
	}
	return out
}

// InBandError is returned when a stream carried an in-band error event.
type InBandError struct {
	Op         string
	Code       string
	Message    string
	AllowRetry bool
}

func (e *InBandError) Error() string {
	msg := fmt.Sprintf("%s: error event code=%q allow_retry=%t", e.Op, e.Code, e.AllowRetry)
	if e.Message != "" {
		msg += ": " + redact.String(e.Message)
	}
	return msg
}

// StreamOption adjusts a streaming request.
type StreamOption func(*streamConfig)

type streamConfig struct {
	onEvent func(Event) error
}

// OnEvent calls f for each event as soon as it is decoded. When f returns an error the
// stream is abandoned (the request is cancelled, as the stop button does) and that error
// is returned with the partial Stream.
func OnEvent(f func(Event) error) StreamOption {
	return func(c *streamConfig) { c.onEvent = f }
}

// CreateThread starts a thread with a user message and reads the streamed reply.
func (c *Client) CreateThread(ctx context.Context, text string, opts ...StreamOption) (*Stream, error) {
	return c.Stream(ctx, Request{Type: TypeThreadsCreate, Params: map[string]any{"input": UserInput(text)}}, opts...)
}

// AddUserMessage adds a user message to a thread and reads the streamed reply.
func (c *Client) AddUserMessage(ctx context.Context, threadID, text string, opts ...StreamOption) (*Stream, error) {
	return c.Stream(ctx, Request{Type: TypeThreadsAddUserMessage,
		Params: map[string]any{"thread_id": threadID, "input": UserInput(text)}}, opts...)
}

// Stream sends a streaming request and reads the events to the end of the body. The
// returned Stream is non-nil whenever a response arrived, also together with an error:
//   - a non-2xx answer is an *httperr.Error;
//   - a 2xx answer that is not text/event-stream is an error;
//   - a body that ends mid-event or whose read fails is an error matching
//     io.ErrUnexpectedEOF (or the read error), with the events received before it;
//   - an in-band error event is an *InBandError, after the stream was read to its end.
func (c *Client) Stream(ctx context.Context, r Request, opts ...StreamOption) (*Stream, error) {
	op := "chatkit " + r.Type
	if !IsStreaming(r.Type) {
		return nil, fmt.Errorf("%s: is not a streaming request; use Call", op)
	}
	var cfg streamConfig
	for _, o := range opts {
		o(&cfg)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return nil, fmt.Errorf("%s: encode request: %w", op, err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	req, err := c.newRequest(ctx, body, "text/event-stream", nil, nil)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	start := time.Now()
	resp, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	s := &Stream{Status: resp.StatusCode, Header: resp.Header}
	s.Timing.Headers = time.Since(start)
	where := fmt.Sprintf("POST %s -> %d", redact.URL(req.URL), resp.StatusCode)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		s.Timing.Total = time.Since(start)
		return s, httperr.New(op, resp, b)
	}
	if mt := mediaType(resp.Header); mt != "text/event-stream" {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
		s.Timing.Total = time.Since(start)
		return s, fmt.Errorf("%s: %s: want text/event-stream, got %q: %s", op, where, mt, redact.Excerpt(b, redact.DefaultExcerpt))
	}

	fb := &firstByteReader{r: resp.Body, start: start}
	sr := NewSSEReader(fb)
	tr := newTranscript()
	finish := func() {
		s.Timing.FirstByte = fb.at()
		s.Bytes = fb.bytes()
		s.Timing.Total = time.Since(start)
		s.ThreadID = tr.threadID
		s.Items = tr.final()
		var texts []string
		for _, it := range s.Items {
			if it.Type == ItemAssistantMessage {
				texts = append(texts, it.Text())
				if tr.done[it.ID] {
					s.AssistantDone = true
				}
			}
		}
		s.Text = strings.Join(texts, "\n")
		if c.Zone != nil {
			for i := range s.Events {
				if th := s.Events[i].Thread; th != nil {
					th.placeTimes(c.Zone)
				}
				if it := s.Events[i].Item; it != nil {
					it.placeTimes(c.Zone)
				}
			}
			for i := range s.Items {
				s.Items[i].placeTimes(c.Zone)
			}
		}
	}
	for {
		data, err := sr.Next()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			finish()
			return s, fmt.Errorf("%s: %s: stream failed after %d events: %w", op, where, len(s.Events), err)
		}
		ev, err := ParseEvent(data)
		ev.At = time.Since(start)
		if err != nil {
			finish()
			return s, fmt.Errorf("%s: %s: event %d: %w (%s)", op, where, len(s.Events)+1, err, redact.Excerpt(data, 120))
		}
		s.Events = append(s.Events, ev)
		if s.Timing.FirstEvent == 0 {
			s.Timing.FirstEvent = ev.At
		}
		s.Timing.LastEvent = ev.At
		tr.apply(ev)
		c.learnZone(ev, start)
		if cfg.onEvent != nil {
			if err := cfg.onEvent(ev); err != nil {
				cancel()
				finish()
				return s, fmt.Errorf("%s: stopped after %d events: %w", op, len(s.Events), err)
			}
		}
	}
	finish()
	if errs := s.ErrorEvents(); len(errs) > 0 {
		e := errs[0]
		return s, &InBandError{Op: op, Code: e.Code, Message: e.Message, AllowRetry: e.AllowRetry}
	}
	return s, nil
}

// learnZone learns the server's UTC offset from the stamp of a thread or item this stream created
// (see [Zone]); thread.updated carries an older stamp and is not used.
func (c *Client) learnZone(ev Event, sent time.Time) {
	if c.Zone == nil {
		return
	}
	switch {
	case ev.Type == EventThreadCreated && ev.Thread != nil:
		c.Zone.Learn(ev.Thread.CreatedAt, sent, time.Now())
	case (ev.Type == EventItemAdded || ev.Type == EventItemDone) && ev.Item != nil:
		c.Zone.Learn(ev.Item.CreatedAt, sent, time.Now())
	}
}

// firstByteReader records when the first body byte arrived.
type firstByteReader struct {
	r     io.Reader
	start time.Time
	mu    sync.Mutex
	first time.Duration
	n     int
}

func (f *firstByteReader) Read(p []byte) (int, error) {
	n, err := f.r.Read(p)
	if n > 0 {
		f.mu.Lock()
		f.n += n
		if f.first == 0 {
			f.first = time.Since(f.start)
		}
		f.mu.Unlock()
	}
	return n, err
}

func (f *firstByteReader) at() time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.first
}

func (f *firstByteReader) bytes() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.n
}
