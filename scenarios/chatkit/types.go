package chatkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Time is a ChatKit timestamp. The Python SDK writes naive local times without a zone
// ("2026-05-20T10:15:30.123456", from datetime.now()); other servers write RFC 3339. Parsing tries
// RFC 3339, then the naive forms, then Unix seconds.
//
// A naive time is not a moment until the server's UTC offset is known: it is kept with Naive set
// and its wall-clock reading in Time (in UTC only as a carrier), and a [Zone] that has learned the
// server's offset places it. Code that compares a Time with a moment must check Naive (or use
// [Time.Within]), so a naive time is never silently read as UTC.
type Time struct {
	time.Time
	Naive bool
}

var naiveLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	*t = Time{}
	if len(b) == 0 || string(b) == "null" {
		return nil
	}
	if b[0] != '"' {
		f, err := strconv.ParseFloat(string(b), 64)
		if err != nil {
			return fmt.Errorf("chatkit time %s: want a string or Unix seconds", b)
		}
		sec := int64(f)
		t.Time = time.Unix(sec, int64((f-float64(sec))*1e9)).UTC()
		return nil
	}
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	if v, err := time.Parse(time.RFC3339Nano, s); err == nil {
		t.Time = v
		return nil
	}
	for _, l := range naiveLayouts {
		if v, err := time.ParseInLocation(l, s, time.UTC); err == nil {
			t.Time, t.Naive = v, true
			return nil
		}
	}
	return fmt.Errorf("chatkit time %q: not RFC 3339 nor a naive ISO 8601 time", s)
}

// MaxZoneOffset bounds the UTC offsets in use (UTC-12 to UTC+14).
const MaxZoneOffset = 14 * time.Hour

// Within reports whether t is within d of the moment want. A naive time that no Zone placed
// matches when it is within d of want under some UTC offset in use (a tolerance of ±14 h), since
// the server's zone is unknown.
func (t Time) Within(want time.Time, d time.Duration) bool {
	diff := t.Time.Sub(want)
	if t.Naive {
		return diff >= -MaxZoneOffset-d && diff <= MaxZoneOffset+d
	}
	return diff >= -d && diff <= d
}

// Zone is the UTC offset of a server that writes naive local timestamps, learned from a known
// event: a thread or item created by the request the client just sent carries a stamp taken
// between sending it and receiving the event. UTC offsets in use are whole quarter hours, so the
// offset is the difference rounded to 15 minutes, provided the stamp is within 5 minutes of the
// request (the server's clock and the request's duration). A Zone is safe for concurrent use;
// share one between the clients of one server.
type Zone struct {
	mu     sync.Mutex
	known  bool
	offset time.Duration
}

// Learn takes the naive stamp of something created between sent and got. It reports whether the
// offset is known afterwards; a stamp that fits no quarter-hour offset is not used.
func (z *Zone) Learn(stamp Time, sent, got time.Time) bool {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.known || !stamp.Naive {
		return z.known
	}
	mid := sent.Add(got.Sub(sent) / 2)
	raw := stamp.Time.Sub(mid)
	off := raw.Round(15 * time.Minute)
	if d := raw - off; d > 5*time.Minute || d < -5*time.Minute || off > MaxZoneOffset || off < -MaxZoneOffset {
		return false
	}
	z.known, z.offset = true, off
	return true
}

// Offset returns the learned UTC offset (east of UTC positive).
func (z *Zone) Offset() (time.Duration, bool) {
	if z == nil {
		return 0, false
	}
	z.mu.Lock()
	defer z.mu.Unlock()
	return z.offset, z.known
}

// Place turns a naive t into the moment it names in the server's zone, once the offset is known.
func (z *Zone) Place(t *Time) {
	off, ok := z.Offset()
	if !ok || !t.Naive {
		return
	}
	loc := time.FixedZone(fmt.Sprintf("server%+03d%02d", int(off.Hours()), int(off.Minutes())%60*sign(off)), int(off.Seconds()))
	w := t.Time
	t.Time = time.Date(w.Year(), w.Month(), w.Day(), w.Hour(), w.Minute(), w.Second(), w.Nanosecond(), loc)
	t.Naive = false
}

func sign(d time.Duration) int {
	if d < 0 {
		return -1
	}
	return 1
}

// placeTimes places the naive timestamps of decoded answers.
type timePlacer interface{ placeTimes(z *Zone) }

func (i *Item) placeTimes(z *Zone) { z.Place(&i.CreatedAt) }

func (t *Thread) placeTimes(z *Zone) {
	z.Place(&t.CreatedAt)
	t.Items.placeTimes(z)
}

func (p *Page[T]) placeTimes(z *Zone) {
	for i := range p.Data {
		if tp, ok := any(&p.Data[i]).(timePlacer); ok {
			tp.placeTimes(z)
		}
	}
}

// MarshalJSON writes RFC 3339, a naive time as it came (null for the zero time).
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
	}
	if t.Naive {
		return json.Marshal(t.Time.Format(naiveLayouts[0]))
	}
	return json.Marshal(t.Time.Format(time.RFC3339Nano))
}

// Page is a page of a list answer. After is the cursor of the next page (empty when
// HasMore is false).
type Page[T any] struct {
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
	After   string `json:"after,omitempty"`
}

// ThreadStatus is {"type":"active"|"locked"|"closed","reason"?}.
type ThreadStatus struct {
	Type   string `json:"type"`
	Reason string `json:"reason,omitempty"`
}

// Thread is a ChatKit thread. Items is empty except in threads.get_by_id.
type Thread struct {
	ID        string       `json:"id"`
	Title     string       `json:"title,omitempty"`
	CreatedAt Time         `json:"created_at"`
	Status    ThreadStatus `json:"status"`
	Items     Page[Item]   `json:"items"`
}

// ContentPart is one part of a message: input_text / input_tag (user) or output_text
// (assistant).
type ContentPart struct {
	Type string `json:"type"`
	Text string `json:"text"`
}

// Item is a thread item. Content is decoded for messages; every item keeps its raw JSON.
type Item struct {
	ID        string
	ThreadID  string
	CreatedAt Time
	// Type is user_message, assistant_message, client_tool_call, widget, task, workflow,
	// end_of_turn, ... (unknown types are kept, not rejected).
	Type    string
	Content []ContentPart
	Raw     json.RawMessage
}

// Item types that carry text.
const (
	ItemUserMessage      = "user_message"
	ItemAssistantMessage = "assistant_message"
)

// UnmarshalJSON decodes the common fields and, when it is an array of parts, content.
func (i *Item) UnmarshalJSON(b []byte) error {
	var w struct {
		ID        string          `json:"id"`
		ThreadID  string          `json:"thread_id"`
		CreatedAt Time            `json:"created_at"`
		Type      string          `json:"type"`
		Content   json.RawMessage `json:"content"`
	}
	if err := json.Unmarshal(b, &w); err != nil {
		return fmt.Errorf("thread item: %w", err)
	}
	*i = Item{ID: w.ID, ThreadID: w.ThreadID, CreatedAt: w.CreatedAt, Type: w.Type, Raw: append(json.RawMessage(nil), b...)}
	if len(w.Content) > 0 && w.Content[0] == '[' {
		// Other item types may use "content" differently; only message parts are decoded.
		var parts []ContentPart
		if json.Unmarshal(w.Content, &parts) == nil {
			i.Content = parts
		}
	}
	return nil
}

// MarshalJSON returns the raw JSON the item was decoded from (or its common fields).
func (i Item) MarshalJSON() ([]byte, error) {
	if len(i.Raw) > 0 {
		return i.Raw, nil
	}
	return json.Marshal(map[string]any{"id": i.ID, "thread_id": i.ThreadID, "created_at": i.CreatedAt, "type": i.Type, "content": i.Content})
}

// Text returns the concatenated text of the item's content parts.
func (i Item) Text() string {
	var b strings.Builder
	for _, p := range i.Content {
		b.WriteString(p.Text)
	}
	return b.String()
}
