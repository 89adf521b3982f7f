package chatkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Time is a ChatKit timestamp. The Python SDK writes naive local times without a zone
// ("2026-05-20T10:15:30.123456"); other servers write RFC 3339. Parsing tries RFC 3339,
// then the naive forms (read as UTC), then Unix seconds.
type Time struct{ time.Time }

var naiveLayouts = []string{"2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"}

// UnmarshalJSON implements json.Unmarshaler.
func (t *Time) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		t.Time = time.Time{}
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
			t.Time = v
			return nil
		}
	}
	return fmt.Errorf("chatkit time %q: not RFC 3339 nor a naive ISO 8601 time", s)
}

// MarshalJSON writes RFC 3339 (null for the zero time).
func (t Time) MarshalJSON() ([]byte, error) {
	if t.IsZero() {
		return []byte("null"), nil
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
