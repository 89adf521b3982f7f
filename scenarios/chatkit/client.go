// Package chatkit is a client of the OpenAI ChatKit "custom backend" protocol: one
// POST endpoint whose JSON body {"type","params"} selects the operation, answered with a
// Server-Sent Events stream (threads.create, threads.add_user_message, ...) or a JSON
// object (threads.get_by_id, threads.list, items.list, threads.update, threads.delete).
//
// The client authenticates with `Authorization: Bearer <token>` from a [TokenSource],
// with no header at all, or with any raw header value (for attack tests). It decides
// stream or JSON handling from the request type, checks the Content-Type loosely, turns
// every non-2xx answer into an *httperr.Error with a redacted body excerpt, and reports a
// stream that is cut mid-body as an error (io.ErrUnexpectedEOF), never as a normal end.
package chatkit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/internal/redact"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

// DefaultTimeout bounds a whole request including the stream when the Client has no
// HTTPClient: a reply should stream within 5 s (the spec's p95), the slow-reply fault
// waits 6 s, and a loaded CI machine needs headroom.
const DefaultTimeout = 60 * time.Second

// maxBody caps how much of a body is kept.
const maxBody = 16 << 20

// Request types.
const (
	TypeThreadsCreate         = "threads.create"
	TypeThreadsAddUserMessage = "threads.add_user_message"
	TypeThreadsGetByID        = "threads.get_by_id"
	TypeThreadsList           = "threads.list"
	TypeItemsList             = "items.list"
	TypeThreadsUpdate         = "threads.update"
	TypeThreadsDelete         = "threads.delete"
)

// streamingTypes are the request types answered with an event stream.
var streamingTypes = map[string]bool{
	"threads.create":                 true,
	"threads.add_user_message":       true,
	"threads.add_client_tool_output": true,
	"threads.retry_after_item":       true,
	"threads.custom_action":          true,
	"threads.add_structured_input":   true,
}

// IsStreaming reports whether requests of this type are answered with an event stream.
func IsStreaming(requestType string) bool { return streamingTypes[requestType] }

// TokenSource returns the bearer token for one request.
type TokenSource func(ctx context.Context) (string, error)

// StaticToken returns a TokenSource that always yields tok.
func StaticToken(tok secret.Secret) TokenSource {
	return func(context.Context) (string, error) { return tok.Value(), nil }
}

// Client speaks the ChatKit protocol to one endpoint. The zero value of every field but
// URL is usable. A Client is safe for concurrent use.
type Client struct {
	// URL is the ChatKit endpoint, e.g. http://localhost:41235/chatkit.
	URL string
	// Token yields the bearer token; nil sends no Authorization header.
	Token TokenSource
	// Authorization, when not nil, is sent verbatim as the Authorization header in place
	// of a bearer token ("" sends none), for attack tests.
	Authorization *string
	// Header is added to every request (e.g. Accept-Language, chatkit-frame-instance-id).
	Header http.Header
	// HTTPClient sends the requests; nil means a client with DefaultTimeout on [NewTransport].
	HTTPClient *http.Client
	// Zone places the server's naive timestamps in time (see [Zone]); nil leaves them naive.
	Zone *Zone
	// Log, when set, gets a line for what the client does on its own (e.g. retiring a keep-alive
	// connection after a 5xx). It never gets tokens or bodies.
	Log func(string)
}

// WithRawAuthorization returns a copy of c that sends v verbatim as the Authorization
// header ("" sends none).
func (c *Client) WithRawAuthorization(v string) *Client {
	n := *c
	n.Authorization = &v
	return &n
}

// WithoutAuth returns a copy of c that sends no Authorization header.
func (c *Client) WithoutAuth() *Client { return c.WithRawAuthorization("") }

func (c *Client) httpClient() *http.Client {
	if c.HTTPClient != nil {
		return c.HTTPClient
	}
	return &http.Client{Timeout: DefaultTimeout, Transport: defaultTransport}
}

// Request is a protocol request: {"type","params","metadata"?}.
type Request struct {
	Type     string         `json:"type"`
	Params   any            `json:"params"`
	Metadata map[string]any `json:"metadata,omitempty"`
}

// UserInput returns a UserMessageInput with one input_text part and the required empty
// attachments and inference_options.
func UserInput(text string) map[string]any {
	return map[string]any{
		"content":           []map[string]string{{"type": "input_text", "text": text}},
		"attachments":       []string{},
		"inference_options": map[string]any{},
	}
}

// authorization returns the Authorization header value to send ("" for none).
func (c *Client) authorization(ctx context.Context, override *string) (string, error) {
	switch {
	case override != nil:
		return *override, nil
	case c.Authorization != nil:
		return *c.Authorization, nil
	case c.Token == nil:
		return "", nil
	}
	tok, err := c.Token(ctx)
	if err != nil {
		return "", fmt.Errorf("get token: %w", err)
	}
	if tok == "" {
		return "", errors.New("get token: token source returned an empty token")
	}
	return "Bearer " + tok, nil
}

func encodeBody(body any) ([]byte, error) {
	switch b := body.(type) {
	case []byte:
		return b, nil
	case string:
		return []byte(b), nil
	case json.RawMessage:
		return b, nil
	default:
		return json.Marshal(b)
	}
}

// newRequest builds the POST; header, when not nil, replaces the client's auth entirely.
func (c *Client) newRequest(ctx context.Context, body []byte, accept string, auth *string, header http.Header) (*http.Request, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("build request to %s: %w", redact.URLString(c.URL), err)
	}
	for k, vs := range c.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	if header != nil {
		for k, vs := range header {
			req.Header.Del(k)
			for _, v := range vs {
				req.Header.Add(k, v)
			}
		}
		return req, nil
	}
	a, err := c.authorization(ctx, auth)
	if err != nil {
		return nil, err
	}
	if a != "" {
		req.Header.Set("Authorization", a)
	}
	return req, nil
}

// mediaType returns the lower-case media type of a Content-Type header, or "".
func mediaType(h http.Header) string {
	mt, _, err := mime.ParseMediaType(h.Get("Content-Type"))
	if err != nil {
		return strings.ToLower(strings.TrimSpace(strings.Split(h.Get("Content-Type"), ";")[0]))
	}
	return mt
}

func isJSONType(mt string) bool { return mt == "application/json" || strings.HasSuffix(mt, "+json") }

// RawResponse is an answer of [Client.Send], whatever its status.
type RawResponse struct {
	Status int
	Header http.Header
	// Body is the body as received (capped at 16 MiB). It may hold user data; print
	// [RawResponse.Excerpt] instead.
	Body []byte
	// EventStream reports a text/event-stream Content-Type.
	EventStream bool
	// StreamStarted reports that the answer is an event stream and at least one byte of
	// its body arrived: a backend that rejects a request must do so before this.
	StreamStarted bool
	// Duration is the time from sending the request to the end of the body.
	Duration time.Duration
}

// Excerpt returns a redacted one-line excerpt of the body.
func (r *RawResponse) Excerpt() string { return redact.Excerpt(r.Body, redact.DefaultExcerpt) }

// Events parses Body as an event stream.
func (r *RawResponse) Events() ([]Event, error) { return ParseEvents(r.Body) }

// Send posts body ([]byte, string and json.RawMessage are sent as is, anything else is
// encoded as JSON) and returns the answer whatever its status. authHeader nil uses the
// client's auth; a non-nil value is sent verbatim as Authorization ("" sends none). The
// error is non-nil when no answer arrived or the body could not be read to its end (then
// the response holds what did arrive).
func (c *Client) Send(ctx context.Context, body any, authHeader *string) (*RawResponse, error) {
	return c.send(ctx, body, authHeader, nil)
}

// SendHeaders is [Client.Send] with the client's auth replaced by header, which is set on
// the request as given (several Authorization values included).
func (c *Client) SendHeaders(ctx context.Context, body any, header http.Header) (*RawResponse, error) {
	if header == nil {
		header = http.Header{}
	}
	return c.send(ctx, body, nil, header)
}

func (c *Client) send(ctx context.Context, body any, auth *string, header http.Header) (*RawResponse, error) {
	b, err := encodeBody(body)
	if err != nil {
		return nil, fmt.Errorf("chatkit send: encode body: %w", err)
	}
	req, err := c.newRequest(ctx, b, "text/event-stream, application/json", auth, header)
	if err != nil {
		return nil, fmt.Errorf("chatkit send: %w", err)
	}
	start := time.Now()
	resp, err := c.do(req)
	if err != nil {
		return nil, fmt.Errorf("chatkit send: %w", err)
	}
	defer resp.Body.Close()
	r := &RawResponse{Status: resp.StatusCode, Header: resp.Header, EventStream: mediaType(resp.Header) == "text/event-stream"}
	r.Body, err = io.ReadAll(io.LimitReader(resp.Body, maxBody))
	r.Duration = time.Since(start)
	r.StreamStarted = r.EventStream && len(r.Body) > 0
	if err != nil {
		return r, fmt.Errorf("chatkit send: POST %s -> %d: read body after %d bytes: %w", redact.URL(req.URL), r.Status, len(r.Body), err)
	}
	return r, nil
}

// Call sends a non-streaming request and decodes the JSON answer into out (nil discards
// it). A non-2xx answer is an *httperr.Error; a 2xx answer that is not JSON is an error.
func (c *Client) Call(ctx context.Context, r Request, out any) error {
	op := "chatkit " + r.Type
	if IsStreaming(r.Type) {
		return fmt.Errorf("%s: is a streaming request; use Stream", op)
	}
	body, err := json.Marshal(r)
	if err != nil {
		return fmt.Errorf("%s: encode request: %w", op, err)
	}
	req, err := c.newRequest(ctx, body, "application/json", nil, nil)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	resp, err := c.do(req)
	if err != nil {
		return fmt.Errorf("%s: %w", op, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return fmt.Errorf("%s: POST %s -> %d: read body: %w", op, redact.URL(req.URL), resp.StatusCode, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return httperr.New(op, resp, b)
	}
	if mt := mediaType(resp.Header); mt != "" && !isJSONType(mt) {
		return fmt.Errorf("%s: POST %s -> %d: want application/json, got %q: %s", op, redact.URL(req.URL),
			resp.StatusCode, mt, redact.Excerpt(b, redact.DefaultExcerpt))
	}
	if out == nil {
		out = new(json.RawMessage)
	}
	if err := json.Unmarshal(b, out); err != nil {
		return fmt.Errorf("%s: POST %s -> %d: decode body (%s): %w", op, redact.URL(req.URL), resp.StatusCode,
			redact.Excerpt(b, redact.DefaultExcerpt), err)
	}
	if tp, ok := out.(timePlacer); ok && c.Zone != nil {
		tp.placeTimes(c.Zone)
	}
	return nil
}

// GetThread returns a thread with its first page of items (oldest first).
func (c *Client) GetThread(ctx context.Context, threadID string) (*Thread, error) {
	var t Thread
	if err := c.Call(ctx, Request{Type: TypeThreadsGetByID, Params: map[string]any{"thread_id": threadID}}, &t); err != nil {
		return nil, err
	}
	return &t, nil
}

// listParams builds limit/order/after params, omitting zero values.
func listParams(p map[string]any, limit int, order, after string) map[string]any {
	if limit > 0 {
		p["limit"] = limit
	}
	if order != "" {
		p["order"] = order
	}
	if after != "" {
		p["after"] = after
	}
	return p
}

// ListThreads returns a page of the caller's threads. limit 0, order "" and after ""
// leave the server's defaults (20, "desc", first page).
func (c *Client) ListThreads(ctx context.Context, limit int, order, after string) (*Page[Thread], error) {
	var p Page[Thread]
	if err := c.Call(ctx, Request{Type: TypeThreadsList, Params: listParams(map[string]any{}, limit, order, after)}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// ListItems returns a page of a thread's items (server default: newest first).
func (c *Client) ListItems(ctx context.Context, threadID string, limit int, order, after string) (*Page[Item], error) {
	var p Page[Item]
	params := listParams(map[string]any{"thread_id": threadID}, limit, order, after)
	if err := c.Call(ctx, Request{Type: TypeItemsList, Params: params}, &p); err != nil {
		return nil, err
	}
	return &p, nil
}

// UpdateThread sets a thread's title and returns the thread.
func (c *Client) UpdateThread(ctx context.Context, threadID, title string) (*Thread, error) {
	var t Thread
	err := c.Call(ctx, Request{Type: TypeThreadsUpdate, Params: map[string]any{"thread_id": threadID, "title": title}}, &t)
	if err != nil {
		return nil, err
	}
	return &t, nil
}

// DeleteThread deletes a thread.
func (c *Client) DeleteThread(ctx context.Context, threadID string) error {
	return c.Call(ctx, Request{Type: TypeThreadsDelete, Params: map[string]any{"thread_id": threadID}}, nil)
}
