package chatkit_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

func setup(t *testing.T) (*fakeChatKit, *chatkit.Client) {
	t.Helper()
	f := newFakeChatKit()
	t.Cleanup(f.Close)
	return f, &chatkit.Client{URL: f.URL(), Token: chatkit.StaticToken(f.token("user_a"))}
}

var wantCreateOrder = []string{
	"thread.created", "thread.item.done", "stream_options", "thread.item.added",
	"thread.item.updated", "thread.item.updated", "thread.item.updated", "thread.item.updated", "thread.item.updated",
	"thread.item.done", "some.future.event", "thread.updated",
}

func TestCreateThread_ReadsTheWholeReply(t *testing.T) {
	ctx := context.Background()
	f, c := setup(t)

	s, err := c.CreateThread(ctx, data.MsgAddTask)
	require.NoError(t, err)
	require.Equal(t, 200, s.Status)
	require.Equal(t, wantCreateOrder, s.Types())
	require.Equal(t, `Added task "buy milk".`, s.Text)
	require.True(t, s.AssistantDone)
	require.True(t, strings.HasPrefix(s.ThreadID, "thr_"))
	require.Len(t, s.Items, 2)
	require.Equal(t, chatkit.ItemUserMessage, s.Items[0].Type)
	require.Equal(t, data.MsgAddTask, s.Items[0].Text())
	var deltas []string
	for _, e := range s.Events {
		if e.UpdateType == chatkit.UpdateTextDelta {
			deltas = append(deltas, e.Delta)
		}
	}
	require.Len(t, deltas, 3, "the reply streams in several deltas")
	require.Equal(t, s.Text, strings.Join(deltas, ""))
	require.True(t, s.Events[2].AllowCancel)
	require.Equal(t, s.ThreadID, s.Events[0].Thread.ID)
	require.False(t, s.Events[0].Thread.CreatedAt.IsZero(), "naive SDK timestamps parse")
	require.Equal(t, data.MsgAddTask, s.Events[len(s.Events)-1].Thread.Title)

	tm := s.Timing
	require.Positive(t, tm.Headers)
	require.LessOrEqual(t, tm.Headers, tm.FirstByte)
	require.LessOrEqual(t, tm.FirstByte, tm.FirstEvent)
	require.LessOrEqual(t, tm.FirstEvent, tm.LastEvent)
	require.LessOrEqual(t, tm.LastEvent, tm.Total)

	h := f.lastHeader()
	require.True(t, strings.HasPrefix(h.Get("Authorization"), "Bearer ey"))
	require.Equal(t, "application/json", h.Get("Content-Type"))
	require.Equal(t, "text/event-stream", h.Get("Accept"))
}

func TestAddUserMessage_ContinuesTheThread(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	s, err := c.CreateThread(ctx, data.MsgGreeting)
	require.NoError(t, err)

	for _, m := range data.Corpus() {
		t.Run("case="+m.Name, func(t *testing.T) {
			s2, err := c.AddUserMessage(ctx, s.ThreadID, m.Text)
			require.NoError(t, err)
			require.Equal(t, s.ThreadID, s2.ThreadID, "thread id comes from the items")
			require.NotContains(t, s2.Types(), "thread.created")
			require.True(t, s2.AssistantDone)
			require.Contains(t, s2.Text, strings.TrimPrefix(m.Text, "add task "))
		})
	}
	th, err := c.GetThread(ctx, s.ThreadID)
	require.NoError(t, err)
	require.Len(t, th.Items.Data, 12)
	require.Equal(t, data.MsgGreeting, th.Items.Data[0].Text())
	require.Equal(t, "active", th.Status.Type)
}

func TestJSONOperations_PageUpdateDelete(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	var ids []string
	for i := 0; i < 3; i++ {
		s, err := c.CreateThread(ctx, "hello")
		require.NoError(t, err)
		ids = append(ids, s.ThreadID)
	}

	p, err := c.ListThreads(ctx, 2, "", "")
	require.NoError(t, err)
	require.Len(t, p.Data, 2)
	require.True(t, p.HasMore)
	require.Equal(t, ids[2], p.Data[0].ID, "newest first by default")
	require.Equal(t, p.Data[1].ID, p.After)
	p2, err := c.ListThreads(ctx, 2, "desc", p.After)
	require.NoError(t, err)
	require.Len(t, p2.Data, 1)
	require.False(t, p2.HasMore)
	require.Empty(t, p2.After)

	items, err := c.ListItems(ctx, ids[0], 0, "asc", "")
	require.NoError(t, err)
	require.Len(t, items.Data, 2)
	require.Equal(t, chatkit.ItemUserMessage, items.Data[0].Type)
	require.Contains(t, string(items.Data[1].Raw), `"annotations":[]`, "raw item JSON is kept")

	th, err := c.UpdateThread(ctx, ids[0], "Groceries")
	require.NoError(t, err)
	require.Equal(t, "Groceries", th.Title)
	require.Empty(t, th.Items.Data)

	require.NoError(t, c.DeleteThread(ctx, ids[0]))
	_, err = c.GetThread(ctx, ids[0])
	var he *httperr.Error
	require.ErrorAs(t, err, &he)
	require.Equal(t, 404, he.Status)
	require.Equal(t, "Thread not found", he.Message)
	require.Equal(t, "chatkit threads.get_by_id", he.Op)
}

func TestScoping_AnotherUsersThreadLooksMissing(t *testing.T) {
	ctx := context.Background()
	f, a := setup(t)
	b := &chatkit.Client{URL: f.URL(), Token: chatkit.StaticToken(f.token("user_b"))}
	s, err := a.CreateThread(ctx, data.MsgAddTask)
	require.NoError(t, err)

	_, err = b.GetThread(ctx, s.ThreadID)
	require.Equal(t, 404, httperr.StatusOf(err))
	_, err = b.AddUserMessage(ctx, s.ThreadID, "hi")
	require.Equal(t, 404, httperr.StatusOf(err))
	items, err := b.ListItems(ctx, s.ThreadID, 0, "", "")
	require.NoError(t, err)
	require.Empty(t, items.Data)
	list, err := b.ListThreads(ctx, 0, "", "")
	require.NoError(t, err)
	require.Empty(t, list.Data)
}

func TestAuth_MissingAndInvalidTokensAre401BeforeAnyStreamByte(t *testing.T) {
	ctx := context.Background()
	f, c := setup(t)
	expired, err := jwtforge.MintHS256(f.secret, jwtforge.ExpiredClaims(jwtforge.Subject{ID: "user_a"}, time.Now()), nil)
	require.NoError(t, err)

	_, err = c.WithoutAuth().CreateThread(ctx, "hi")
	he := httperr.As(err)
	require.NotNil(t, he, "%v", err)
	require.Equal(t, 401, he.Status)
	require.Equal(t, "Missing Authorization header", he.Message)

	_, err = (&chatkit.Client{URL: f.URL(), Token: chatkit.StaticToken(expired)}).ListThreads(ctx, 0, "", "")
	require.Equal(t, 401, httperr.StatusOf(err))
	require.NotContains(t, err.Error(), expired.Value())

	body := chatkit.Request{Type: "threads.create", Params: map[string]any{"input": chatkit.UserInput("hi")}}
	for _, raw := range []string{"", "Bearer", "Bearer ", "bearer " + f.token("user_a").Value(), "Bearer " + expired.Value(), "Basic dXNlcjpwYXNz"} {
		r, err := c.Send(ctx, body, &raw)
		require.NoError(t, err)
		require.Equal(t, 401, r.Status, "Authorization %q", raw)
		require.False(t, r.StreamStarted)
		require.False(t, r.EventStream)
		require.Equal(t, "Bearer", r.Header.Get("WWW-Authenticate"))
		if raw == "" {
			require.Empty(t, f.lastHeader().Values("Authorization"), "an empty override sends no header")
		} else {
			// (the server's header parser trims trailing white space)
			require.Equal(t, []string{strings.TrimSpace(raw)}, f.lastHeader().Values("Authorization"))
		}
	}

	// Two Authorization headers (user A's and B's).
	r, err := c.SendHeaders(ctx, body, http.Header{"Authorization": {
		"Bearer " + f.token("user_a").Value(), "Bearer " + f.token("user_b").Value()}})
	require.NoError(t, err)
	require.Equal(t, 401, r.Status)
	require.Len(t, f.lastHeader().Values("Authorization"), 2)

	// The client's own token works through Send (nil override).
	r, err = c.Send(ctx, body, nil)
	require.NoError(t, err)
	require.Equal(t, 200, r.Status)
	require.True(t, r.EventStream)
	require.True(t, r.StreamStarted)
	evs, err := r.Events()
	require.NoError(t, err)
	require.Equal(t, "thread.created", evs[0].Type)
	require.Positive(t, r.Duration)
}

func TestStream_CutMidBodyIsAnError(t *testing.T) {
	for _, mode := range []string{"cut-mid-event", "cut-between-events", "clean-mid-event"} {
		t.Run("mode="+mode, func(t *testing.T) {
			f, c := setup(t)
			f.mode = mode
			s, err := c.CreateThread(context.Background(), data.MsgGreeting)
			require.Error(t, err)
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			require.NotNil(t, s, "the partial stream is returned")
			require.Equal(t, 200, s.Status)
			require.NotEmpty(t, s.Events)
			require.False(t, s.AssistantDone)
			require.Contains(t, err.Error(), "chatkit threads.create: POST "+f.URL()+" -> 200: stream failed after")

			r, err := c.Send(context.Background(), chatkit.Request{Type: "threads.create",
				Params: map[string]any{"input": chatkit.UserInput("x")}}, nil)
			if mode == "clean-mid-event" {
				require.NoError(t, err, "the transport saw a clean end")
				_, err = r.Events()
				require.ErrorIs(t, err, chatkit.ErrStreamCut)
			} else {
				require.ErrorIs(t, err, io.ErrUnexpectedEOF)
				require.True(t, r.StreamStarted)
			}
		})
	}
}

func TestStream_SDKStyleAbortWithZeroBytes(t *testing.T) {
	ctx := context.Background()
	f, c := setup(t)
	f.mode = "sdk-missing-thread"
	s, err := c.AddUserMessage(ctx, "thr_missing", "hi")
	require.ErrorIs(t, err, io.ErrUnexpectedEOF)
	require.Equal(t, 200, s.Status)
	require.Empty(t, s.Events)

	r, err := c.Send(ctx, chatkit.Request{Type: "threads.add_user_message",
		Params: map[string]any{"thread_id": "thr_missing", "input": chatkit.UserInput("hi")}}, nil)
	require.Error(t, err)
	require.Equal(t, 200, r.Status)
	require.True(t, r.EventStream)
	require.False(t, r.StreamStarted, "no byte of the body arrived")
}

func TestStream_InBandErrorEvent(t *testing.T) {
	f, c := setup(t)
	f.mode = "error-event"
	s, err := c.CreateThread(context.Background(), "hi")
	var ib *chatkit.InBandError
	require.ErrorAs(t, err, &ib)
	require.Equal(t, "custom", ib.Code)
	require.Equal(t, "Quota exceeded", ib.Message)
	require.False(t, ib.AllowRetry)
	require.Len(t, s.ErrorEvents(), 1)
	require.NotEmpty(t, s.ThreadID)
}

func TestStream_WrongContentTypeIsAnError(t *testing.T) {
	f, c := setup(t)
	f.mode = "json-for-stream"
	s, err := c.CreateThread(context.Background(), "hi")
	require.Error(t, err)
	require.Contains(t, err.Error(), `want text/event-stream, got "application/json"`)
	require.Equal(t, 200, s.Status)
}

func TestStream_GeneralSSEFraming(t *testing.T) {
	f, c := setup(t)
	f.mode = "fancy-framing"
	s, err := c.CreateThread(context.Background(), data.MsgUnicode)
	require.NoError(t, err)
	require.Equal(t, wantCreateOrder, s.Types())
	require.Equal(t, "You said: "+data.MsgUnicode, s.Text)
}

func TestStream_OnEventCanStopTheStream(t *testing.T) {
	_, c := setup(t)
	stop := errors.New("user pressed stop")
	var seen int
	s, err := c.CreateThread(context.Background(), "hi", chatkit.OnEvent(func(ev chatkit.Event) error {
		seen++
		if ev.UpdateType == chatkit.UpdateTextDelta {
			return stop
		}
		return nil
	}))
	require.ErrorIs(t, err, stop)
	require.Len(t, s.Events, seen)
	require.False(t, s.AssistantDone)
	require.NotEmpty(t, s.Text, "the partial text is assembled")
}

func TestJSONOperations_NonJSONAnswers(t *testing.T) {
	ctx := context.Background()
	_, c := setup(t)
	err := c.Call(ctx, chatkit.Request{Type: "boom", Params: map[string]any{}}, nil)
	require.Equal(t, 500, httperr.StatusOf(err))
	require.Contains(t, err.Error(), "-> 500: Internal Server Error")

	err = c.Call(ctx, chatkit.Request{Type: "text-200", Params: map[string]any{}}, nil)
	require.ErrorContains(t, err, `want application/json, got "text/html"`)

	require.ErrorContains(t, c.Call(ctx, chatkit.Request{Type: "threads.create"}, nil), "streaming")
	_, err = c.Stream(ctx, chatkit.Request{Type: "threads.list"})
	require.ErrorContains(t, err, "not a streaming request")

	r, err := c.Send(ctx, []byte(`{"type":`), nil)
	require.NoError(t, err)
	require.Equal(t, 400, r.Status)
	require.Contains(t, r.Excerpt(), "Invalid request body")
}

func TestClient_TransportAndTokenErrors(t *testing.T) {
	ctx := context.Background()
	c := &chatkit.Client{URL: "http://127.0.0.1:1/chatkit"}
	_, err := c.ListThreads(ctx, 0, "", "")
	require.ErrorContains(t, err, "chatkit threads.list: POST http://127.0.0.1:1/chatkit: ")

	boom := errors.New("no session")
	c = &chatkit.Client{URL: "http://127.0.0.1:1/chatkit", Token: func(context.Context) (string, error) { return "", boom }}
	_, err = c.CreateThread(ctx, "hi")
	require.ErrorIs(t, err, boom)
	c.Token = func(context.Context) (string, error) { return "", nil }
	_, err = c.CreateThread(ctx, "hi")
	require.ErrorContains(t, err, "empty token")
}
