package chatkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"
)

// Event types of the ChatKit stream (1.6.5). Unknown types are kept with only Type and
// Raw set, never rejected.
const (
	EventThreadCreated     = "thread.created"
	EventThreadUpdated     = "thread.updated"
	EventItemAdded         = "thread.item.added"
	EventItemUpdated       = "thread.item.updated"
	EventItemDone          = "thread.item.done"
	EventItemRemoved       = "thread.item.removed"
	EventItemReplaced      = "thread.item.replaced"
	EventStreamOptions     = "stream_options"
	EventProgressUpdate    = "progress_update"
	EventClientEffect      = "client_effect"
	EventError             = "error"
	EventNotice            = "notice"
	UpdateContentPartAdded = "assistant_message.content_part.added"
	UpdateTextDelta        = "assistant_message.content_part.text_delta"
	UpdateContentPartDone  = "assistant_message.content_part.done"
)

// Event is one decoded stream event. Fields not used by the event's type are zero.
type Event struct {
	Type string
	// Raw is the event's JSON exactly as received.
	Raw json.RawMessage
	// Thread is set for thread.created and thread.updated.
	Thread *Thread
	// Item is set for thread.item.added, thread.item.done and thread.item.replaced.
	Item *Item
	// ItemID is set for thread.item.updated and thread.item.removed.
	ItemID string
	// UpdateType, ContentIndex, Delta and Content describe a thread.item.updated.
	UpdateType   string
	ContentIndex int
	Delta        string
	Content      *ContentPart
	// Code, Message and AllowRetry are set for error (and Message for notice).
	Code       string
	Message    string
	AllowRetry bool
	// AllowCancel is set for stream_options.
	AllowCancel bool
	// At is when the event was received, measured from the start of the request.
	At time.Duration
}

// ParseEvent decodes one event's data. Only a payload that is not a JSON object with a
// string "type", or a known event whose fields have the wrong shape, is an error.
func ParseEvent(data []byte) (Event, error) {
	ev := Event{Raw: append(json.RawMessage(nil), data...)}
	var head struct {
		Type *string `json:"type"`
	}
	if err := json.Unmarshal(data, &head); err != nil {
		return ev, fmt.Errorf("event is not a JSON object: %w", err)
	}
	if head.Type == nil {
		return ev, fmt.Errorf("event has no \"type\"")
	}
	ev.Type = *head.Type
	var err error
	switch ev.Type {
	case EventThreadCreated, EventThreadUpdated:
		var w struct {
			Thread *Thread `json:"thread"`
		}
		if err = json.Unmarshal(data, &w); err == nil && w.Thread == nil {
			err = fmt.Errorf("no thread")
		}
		ev.Thread = w.Thread
	case EventItemAdded, EventItemDone, EventItemReplaced:
		var w struct {
			Item *Item `json:"item"`
		}
		if err = json.Unmarshal(data, &w); err == nil && w.Item == nil {
			err = fmt.Errorf("no item")
		}
		ev.Item = w.Item
	case EventItemRemoved:
		var w struct {
			ItemID string `json:"item_id"`
		}
		err = json.Unmarshal(data, &w)
		ev.ItemID = w.ItemID
	case EventItemUpdated:
		var w struct {
			ItemID string `json:"item_id"`
			Update struct {
				Type         string          `json:"type"`
				ContentIndex int             `json:"content_index"`
				Delta        json.RawMessage `json:"delta"`
				Content      json.RawMessage `json:"content"`
			} `json:"update"`
		}
		if err = json.Unmarshal(data, &w); err != nil {
			break
		}
		ev.ItemID, ev.UpdateType, ev.ContentIndex = w.ItemID, w.Update.Type, w.Update.ContentIndex
		if len(w.Update.Delta) > 0 && w.Update.Delta[0] == '"' {
			err = json.Unmarshal(w.Update.Delta, &ev.Delta)
		}
		if err == nil && strings.HasPrefix(ev.UpdateType, "assistant_message.content_part.") && len(w.Update.Content) > 0 && w.Update.Content[0] == '{' {
			ev.Content = new(ContentPart)
			err = json.Unmarshal(w.Update.Content, ev.Content)
		}
	case EventError, EventNotice:
		var w struct {
			Code       string `json:"code"`
			Message    string `json:"message"`
			AllowRetry bool   `json:"allow_retry"`
		}
		err = json.Unmarshal(data, &w)
		ev.Code, ev.Message, ev.AllowRetry = w.Code, w.Message, w.AllowRetry
	case EventStreamOptions:
		var w struct {
			StreamOptions struct {
				AllowCancel bool `json:"allow_cancel"`
			} `json:"stream_options"`
		}
		err = json.Unmarshal(data, &w)
		ev.AllowCancel = w.StreamOptions.AllowCancel
	}
	if err != nil {
		return ev, fmt.Errorf("%s event: %w", ev.Type, err)
	}
	return ev, nil
}

// ParseEvents decodes a whole SSE body. It returns the events before the first error.
func ParseEvents(body []byte) ([]Event, error) {
	sr := NewSSEReader(bytes.NewReader(body))
	var out []Event
	for {
		data, err := sr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		ev, err := ParseEvent(data)
		if err != nil {
			return out, err
		}
		out = append(out, ev)
	}
}

// transcript applies events to item state the way the SDK's reducer does: added and
// updates build an item, done and replaced overwrite it, removed deletes it.
type transcript struct {
	threadID string
	order    []string
	items    map[string]*Item
	done     map[string]bool
}

func newTranscript() *transcript {
	return &transcript{items: map[string]*Item{}, done: map[string]bool{}}
}

func (t *transcript) item(id string) *Item {
	it, ok := t.items[id]
	if !ok {
		// An update for an item never announced: assume an assistant message.
		it = &Item{ID: id, Type: ItemAssistantMessage}
		t.items[id] = it
		t.order = append(t.order, id)
	}
	return it
}

func (t *transcript) put(it *Item) {
	if _, ok := t.items[it.ID]; !ok {
		t.order = append(t.order, it.ID)
	}
	c := *it
	c.Content = append([]ContentPart(nil), it.Content...)
	t.items[it.ID] = &c
	if t.threadID == "" {
		t.threadID = it.ThreadID
	}
}

func (t *transcript) apply(ev Event) {
	switch ev.Type {
	case EventThreadCreated, EventThreadUpdated:
		if t.threadID == "" && ev.Thread != nil {
			t.threadID = ev.Thread.ID
		}
	case EventItemAdded:
		t.put(ev.Item)
	case EventItemDone, EventItemReplaced:
		t.put(ev.Item)
		t.done[ev.Item.ID] = true
	case EventItemRemoved:
		delete(t.items, ev.ItemID)
		delete(t.done, ev.ItemID)
	case EventItemUpdated:
		it := t.item(ev.ItemID)
		i := ev.ContentIndex
		if i < 0 {
			return
		}
		for len(it.Content) <= i {
			it.Content = append(it.Content, ContentPart{Type: "output_text"})
		}
		switch ev.UpdateType {
		case UpdateContentPartAdded, UpdateContentPartDone:
			if ev.Content != nil {
				it.Content[i] = *ev.Content
			}
		case UpdateTextDelta:
			it.Content[i].Text += ev.Delta
		}
	}
}

// final returns the items still present, in first-seen order.
func (t *transcript) final() []Item {
	var out []Item
	seen := map[string]bool{}
	for _, id := range t.order {
		if it, ok := t.items[id]; ok && !seen[id] {
			seen[id] = true
			out = append(out, *it)
		}
	}
	return out
}
