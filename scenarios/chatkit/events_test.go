package chatkit

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestParseEvent_Shapes(t *testing.T) {
	ev, err := ParseEvent([]byte(`{"type":"thread.item.updated","item_id":"msg_1","update":{"type":"assistant_message.content_part.text_delta","content_index":1,"delta":"Hi"}}`))
	require.NoError(t, err)
	require.Equal(t, "msg_1", ev.ItemID)
	require.Equal(t, UpdateTextDelta, ev.UpdateType)
	require.Equal(t, 1, ev.ContentIndex)
	require.Equal(t, "Hi", ev.Delta)

	ev, err = ParseEvent([]byte(`{"type":"thread.item.updated","item_id":"w1","update":{"type":"widget.component.updated","component_id":"t1","component":{"type":"Text"}}}`))
	require.NoError(t, err, "other update types are tolerated")
	require.Nil(t, ev.Content)

	ev, err = ParseEvent([]byte(`{"type":"brand.new","x":[1,2]}`))
	require.NoError(t, err, "unknown event types are kept")
	require.Equal(t, "brand.new", ev.Type)
	require.JSONEq(t, `{"type":"brand.new","x":[1,2]}`, string(ev.Raw))

	ev, err = ParseEvent([]byte(`{"type":"error","code":"stream.error","allow_retry":true}`))
	require.NoError(t, err)
	require.Equal(t, "stream.error", ev.Code)
	require.True(t, ev.AllowRetry)

	ev, err = ParseEvent([]byte(`{"type":"thread.item.removed","item_id":"msg_9"}`))
	require.NoError(t, err)
	require.Equal(t, "msg_9", ev.ItemID)

	for _, bad := range []string{`[DONE]`, `{"no":"type"}`, `{"type":"thread.created"}`, `{"type":"thread.item.done","item":{"created_at":"yesterday"}}`, `{"type":7}`} {
		_, err := ParseEvent([]byte(bad))
		require.Error(t, err, bad)
	}
}

func TestTime_ParsesSDKAndRFC3339Forms(t *testing.T) {
	want := time.Date(2026, 5, 20, 10, 15, 30, 123456000, time.UTC)
	for in, exp := range map[string]time.Time{
		`"2026-05-20T10:15:30.123456"`:       want,
		`"2026-05-20T10:15:30.123456Z"`:      want,
		`"2026-05-20T12:15:30.123456+02:00"`: want,
		`"2026-05-20T10:15:30"`:              want.Truncate(time.Second),
		`"2026-05-20 10:15:30.123456"`:       want,
		`1779272130`:                         time.Unix(1779272130, 0).UTC(),
		`null`:                               {},
	} {
		var tm Time
		require.NoError(t, json.Unmarshal([]byte(in), &tm), in)
		require.True(t, exp.Equal(tm.Time), "%s: got %v", in, tm.Time)
	}
	var tm Time
	require.Error(t, json.Unmarshal([]byte(`"20/05/2026"`), &tm))
	b, err := json.Marshal(Time{Time: want})
	require.NoError(t, err)
	require.Equal(t, `"2026-05-20T10:15:30.123456Z"`, string(b))
}

func TestTranscript_FollowsTheSDKReducer(t *testing.T) {
	tr := newTranscript()
	apply := func(js string) {
		ev, err := ParseEvent([]byte(js))
		require.NoError(t, err)
		tr.apply(ev)
	}
	// A delta for an item never announced, then an authoritative done.
	apply(`{"type":"thread.item.updated","item_id":"m1","update":{"type":"assistant_message.content_part.text_delta","content_index":1,"delta":"b"}}`)
	require.Equal(t, "b", tr.final()[0].Text())
	apply(`{"type":"thread.item.done","item":{"id":"m1","thread_id":"thr_1","created_at":"2026-05-20T10:15:30","type":"assistant_message","content":[{"type":"output_text","text":"final","annotations":[]}]}}`)
	require.Equal(t, "final", tr.final()[0].Text())
	require.True(t, tr.done["m1"])
	require.Equal(t, "thr_1", tr.threadID)

	// Replaced overwrites, removed deletes.
	apply(`{"type":"thread.item.added","item":{"id":"m2","thread_id":"thr_1","created_at":"2026-05-20T10:15:30","type":"assistant_message","content":[]}}`)
	apply(`{"type":"thread.item.replaced","item":{"id":"m2","thread_id":"thr_1","created_at":"2026-05-20T10:15:30","type":"assistant_message","content":[{"type":"output_text","text":"new"}]}}`)
	require.Equal(t, "new", tr.final()[1].Text())
	apply(`{"type":"thread.item.removed","item_id":"m1"}`)
	require.Len(t, tr.final(), 1)
	apply(`{"type":"thread.item.added","item":{"id":"m1","thread_id":"thr_1","created_at":"2026-05-20T10:15:30","type":"assistant_message","content":[]}}`)
	require.Len(t, tr.final(), 2, "a re-added item is listed once")
}
