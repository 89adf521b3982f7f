package chatkit

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"sync/atomic"
	"time"
)

// Wire shapes follow the ChatKit Python SDK serialisation (exclude_none, snake_case): optional
// nulls are left out, empty lists and objects are kept. Field order mirrors the SDK output.

// sdkWire switches the wire forms of ids and timestamps to the SDK's (ProfileSDK). It is set by New;
// one process serves one profile (tests that set it do not run in parallel).
var sdkWire atomic.Bool

// newID returns prefix + "_" + 16 hex characters (64 random bits), or 8 in the SDK profile (as the
// SDK's uuid4().hex[:8]).
func newID(prefix string) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic(fmt.Sprintf("crypto/rand: %v", err))
	}
	n := len(b)
	if sdkWire.Load() {
		n = 4
	}
	return prefix + "_" + hex.EncodeToString(b[:n])
}

// now returns the current time in UTC truncated to microseconds, which is what Postgres stores,
// so a streamed timestamp equals the one read back later.
func now() time.Time { return time.Now().UTC().Truncate(time.Microsecond) }

// Timestamp is written as RFC 3339 UTC with up to 6 fractional digits ("2026-05-20T10:15:30.123456Z"),
// or in the SDK profile as naive local time without a zone ("2026-05-20T15:45:30.123456", the SDK's
// datetime.now()), the fraction left out when it is zero.
type Timestamp time.Time

const (
	timestampLayout = "2006-01-02T15:04:05.999999Z07:00"
	naiveLayout     = "2006-01-02T15:04:05.999999"
)

func (t Timestamp) MarshalJSON() ([]byte, error) {
	if sdkWire.Load() {
		return json.Marshal(time.Time(t).Local().Format(naiveLayout))
	}
	return json.Marshal(time.Time(t).UTC().Format(timestampLayout))
}

type ThreadStatus struct {
	Type string `json:"type"`
}

// Thread is the ChatKit Thread (ThreadMetadata + items page).
type Thread struct {
	Title     *string        `json:"title,omitempty"`
	ID        string         `json:"id"`
	CreatedAt Timestamp      `json:"created_at"`
	Status    ThreadStatus   `json:"status"`
	Metadata  map[string]any `json:"metadata"`
	Items     Page[Item]     `json:"items"`
}

// threadRow is a stored thread.
type threadRow struct {
	ID        string
	UserID    string
	Title     *string
	CreatedAt time.Time
}

func (r threadRow) wire(items Page[Item]) Thread {
	if items.Data == nil {
		items.Data = []Item{}
	}
	return Thread{
		Title:     r.Title,
		ID:        r.ID,
		CreatedAt: Timestamp(r.CreatedAt),
		Status:    ThreadStatus{Type: "active"},
		Metadata:  map[string]any{},
		Items:     items,
	}
}

// Page is ChatKit's Page<T>: after is omitted when null.
type Page[T any] struct {
	Data    []T    `json:"data"`
	HasMore bool   `json:"has_more"`
	After   string `json:"after,omitempty"`
}

// UserContent is one part of a user message: input_text or input_tag.
type UserContent struct {
	Type        string          `json:"type"`
	Text        string          `json:"text"`
	ID          string          `json:"id,omitempty"`
	Data        json.RawMessage `json:"data,omitempty"`
	Group       *string         `json:"group,omitempty"`
	Interactive bool            `json:"interactive,omitempty"`
}

func (c UserContent) MarshalJSON() ([]byte, error) {
	switch c.Type {
	case "input_tag":
		data := c.Data
		if len(data) == 0 || string(data) == "null" {
			data = json.RawMessage(`{}`)
		}
		return marshalCompact(struct {
			Type        string          `json:"type"`
			ID          string          `json:"id"`
			Text        string          `json:"text"`
			Data        json.RawMessage `json:"data"`
			Group       *string         `json:"group,omitempty"`
			Interactive bool            `json:"interactive"`
		}{c.Type, c.ID, c.Text, data, c.Group, c.Interactive})
	default:
		return marshalCompact(struct {
			Type string `json:"type"`
			Text string `json:"text"`
		}{c.Type, c.Text})
	}
}

type ToolChoice struct {
	ID string `json:"id"`
}

type InferenceOptions struct {
	ToolChoice *ToolChoice `json:"tool_choice,omitempty"`
	Model      *string     `json:"model,omitempty"`
}

// OutputText is one part of an assistant message.
type OutputText struct {
	Annotations []json.RawMessage `json:"annotations"`
	Text        string            `json:"text"`
	Type        string            `json:"type"`
}

func outputText(text string) OutputText {
	return OutputText{Annotations: []json.RawMessage{}, Text: text, Type: "output_text"}
}

const (
	itemUserMessage      = "user_message"
	itemAssistantMessage = "assistant_message"
)

// Item is a ThreadItem; only user_message and assistant_message are produced by this backend.
type Item struct {
	ID        string
	ThreadID  string
	CreatedAt time.Time
	Type      string

	// user_message
	UserContent      []UserContent
	QuotedText       *string
	InferenceOptions InferenceOptions

	// assistant_message
	AssistantContent []OutputText
}

func (it Item) MarshalJSON() ([]byte, error) {
	switch it.Type {
	case itemUserMessage:
		content := it.UserContent
		if content == nil {
			content = []UserContent{}
		}
		return marshalCompact(struct {
			ID               string           `json:"id"`
			ThreadID         string           `json:"thread_id"`
			CreatedAt        Timestamp        `json:"created_at"`
			Type             string           `json:"type"`
			Content          []UserContent    `json:"content"`
			Attachments      []any            `json:"attachments"`
			QuotedText       *string          `json:"quoted_text,omitempty"`
			InferenceOptions InferenceOptions `json:"inference_options"`
		}{it.ID, it.ThreadID, Timestamp(it.CreatedAt), it.Type, content, []any{}, it.QuotedText, it.InferenceOptions})
	case itemAssistantMessage:
		content := it.AssistantContent
		if content == nil {
			content = []OutputText{}
		}
		return marshalCompact(struct {
			ID        string       `json:"id"`
			ThreadID  string       `json:"thread_id"`
			CreatedAt Timestamp    `json:"created_at"`
			Type      string       `json:"type"`
			Content   []OutputText `json:"content"`
		}{it.ID, it.ThreadID, Timestamp(it.CreatedAt), it.Type, content})
	default:
		return nil, errors.New("chatkit: cannot marshal item type " + it.Type)
	}
}

// Text returns the plain text of a message item (input_text and input_tag texts joined).
func (it Item) Text() string {
	var s string
	for _, c := range it.UserContent {
		s += c.Text
	}
	for _, c := range it.AssistantContent {
		s += c.Text
	}
	return s
}

// Stream events.

type threadEvent struct {
	Type   string `json:"type"`
	Thread Thread `json:"thread"`
}

type itemEvent struct {
	Type string `json:"type"`
	Item Item   `json:"item"`
}

type streamOptionsEvent struct {
	Type          string `json:"type"`
	StreamOptions struct {
		AllowCancel bool `json:"allow_cancel"`
	} `json:"stream_options"`
}

type itemUpdatedEvent struct {
	Type   string `json:"type"`
	ItemID string `json:"item_id"`
	Update any    `json:"update"`
}

type contentPartUpdate struct {
	Type         string     `json:"type"`
	ContentIndex int        `json:"content_index"`
	Content      OutputText `json:"content"`
}

type textDeltaUpdate struct {
	Type         string `json:"type"`
	ContentIndex int    `json:"content_index"`
	Delta        string `json:"delta"`
}

type errorEvent struct {
	Type       string `json:"type"`
	Code       string `json:"code"`
	AllowRetry bool   `json:"allow_retry"`
}
