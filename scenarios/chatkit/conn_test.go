package chatkit_test

import (
	"bytes"
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/scenarios/chatkit"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

// TestClient_DoesNotReuseAConnectionAfterA5xx: a server that closes the keep-alive connection after
// a 500 without Connection: close (uvicorn) must not turn the next request into a transport error.
func TestClient_DoesNotReuseAConnectionAfterA5xx(t *testing.T) {
	ctx := context.Background()
	f, c := setup(t)
	var mu sync.Mutex
	var logged []string
	c.Log = func(s string) { mu.Lock(); logged = append(logged, s); mu.Unlock() }
	_, err := c.ListThreads(ctx, 0, "", "") // a keep-alive connection exists before the 500
	require.NoError(t, err)

	for i := range 3 {
		err := c.Call(ctx, chatkit.Request{Type: "boom-close", Params: map[string]any{}}, nil)
		require.Equal(t, 500, httperr.StatusOf(err), "round %d: %v", i, err)
		_, err = c.ListThreads(ctx, 0, "", "")
		require.NoError(t, err, "round %d: the request after a 500 must not land on the connection the server closed", i)
	}
	mu.Lock()
	defer mu.Unlock()
	require.Len(t, logged, 3)
	assert.Contains(t, logged[0], "answered 500: its keep-alive connection is retired and not reused")
	assert.NotContains(t, strings.Join(logged, "\n"), f.token("user_a").Value())

	t.Run("case=callers-transport", func(t *testing.T) {
		own := &chatkit.Client{URL: c.URL, Token: c.Token, HTTPClient: &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}}
		for i := range 3 {
			err := own.Call(ctx, chatkit.Request{Type: "boom-close", Params: map[string]any{}}, nil)
			require.Equal(t, 500, httperr.StatusOf(err), "round %d", i)
			_, err = own.ListThreads(ctx, 0, "", "")
			require.NoError(t, err, "round %d: the connection is closed once the 500 is read", i)
		}
	})
	t.Run("case=control-plain-client-is-reset", func(t *testing.T) {
		// The same exchange with a plain net/http client fails: the scenario above is real.
		hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
		post := func(typ string) (*http.Response, error) {
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, c.URL, bytes.NewReader([]byte(`{"type":"`+typ+`","params":{}}`)))
			tok, _ := c.Token(ctx)
			req.Header.Set("Authorization", "Bearer "+tok)
			return hc.Do(req)
		}
		resp, err := post("boom-close")
		require.NoError(t, err)
		_, _ = bytes.NewBuffer(nil).ReadFrom(resp.Body)
		resp.Body.Close()
		_, err = post("threads.list")
		require.Error(t, err, "a plain client reuses the connection the server closes")
	})
}

// TestZone_PlacesNaiveTimestampsOfAServerInAnotherZone: an SDK server in UTC+05:30 writes naive local
// times; the client learns the offset from the thread it creates and places every later time.
func TestZone_PlacesNaiveTimestampsOfAServerInAnotherZone(t *testing.T) {
	ctx := context.Background()
	f, c := setup(t)
	f.loc = time.FixedZone("IST", 5*3600+30*60)
	c.Zone = &chatkit.Zone{}
	start := time.Now()
	s, err := c.CreateThread(ctx, "hello")
	require.NoError(t, err)
	off, ok := c.Zone.Offset()
	require.True(t, ok, "the offset is learned from thread.created")
	assert.Equal(t, 5*time.Hour+30*time.Minute, off)
	require.False(t, s.Events[0].Thread.CreatedAt.Naive, "stream times are placed")
	assert.WithinDuration(t, start, s.Events[0].Thread.CreatedAt.Time, 2*time.Second)

	th, err := c.GetThread(ctx, s.ThreadID)
	require.NoError(t, err)
	assert.False(t, th.CreatedAt.Naive)
	assert.WithinDuration(t, start, th.CreatedAt.Time, 2*time.Second, "created_at is the moment, not hours off")
	for _, it := range th.Items.Data {
		assert.WithinDuration(t, start, it.CreatedAt.Time, 2*time.Second)
	}

	t.Run("case=unknown-offset-stays-naive", func(t *testing.T) {
		plain := &chatkit.Client{URL: c.URL, Token: c.Token}
		th, err := plain.GetThread(ctx, s.ThreadID)
		require.NoError(t, err)
		assert.True(t, th.CreatedAt.Naive, "without a zone a naive time is not taken as UTC")
		assert.InDelta(t, (5*time.Hour + 30*time.Minute).Seconds(), th.CreatedAt.Time.Sub(start).Seconds(), 2,
			"the carrier holds the wall-clock reading")
		assert.True(t, th.CreatedAt.Within(start, 2*time.Second), "Within tolerates the unknown offset")
		assert.False(t, th.CreatedAt.Within(start.Add(-15*time.Hour), 2*time.Second), "but not more than ±14 h")
	})
}

func TestZone_LearnsOnlyQuarterHourOffsets(t *testing.T) {
	sent := time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC)
	naive := func(d time.Duration) chatkit.Time { return chatkit.Time{Time: sent.Add(d), Naive: true} }
	for _, tc := range []struct {
		stamp time.Duration
		want  time.Duration
		ok    bool
	}{
		{-5*time.Hour + 300*time.Millisecond, -5 * time.Hour, true},
		{5*time.Hour + 45*time.Minute + time.Second, 5*time.Hour + 45*time.Minute, true},
		{time.Second, 0, true},
		{7 * time.Minute, 0, false},            // fits no quarter hour within 5 minutes
		{15*time.Hour + time.Second, 0, false}, // no zone is that far east
	} {
		z := &chatkit.Zone{}
		assert.Equal(t, tc.ok, z.Learn(naive(tc.stamp), sent, sent.Add(time.Second)), "stamp %s", tc.stamp)
		got, ok := z.Offset()
		assert.Equal(t, tc.ok, ok)
		assert.Equal(t, tc.want, got, "stamp %s", tc.stamp)
	}
	z := &chatkit.Zone{}
	assert.False(t, z.Learn(chatkit.Time{Time: sent}, sent, sent), "an RFC 3339 time teaches nothing")
}

// TestClassifyRefusal tells apart the ways a streaming request for a missing thread is answered.
func TestClassifyRefusal(t *testing.T) {
	ctx := context.Background()
	f, c := setup(t)
	for _, tc := range []struct {
		mode string
		kind chatkit.RefusalKind
		says string
	}{
		{"", chatkit.RefusedByStatus, "HTTP 404 before any stream byte"},
		{"sdk-missing-thread", chatkit.StreamCut, "200 stream cut at 0 bytes (0 events), no error event: " +
			"resolve and authorize the thread before calling process()"},
		{"in-band-refusal", chatkit.RefusedInBand, `in-band error event (code "stream.error")`},
	} {
		f.mode = tc.mode
		r := chatkit.ClassifyRefusal(c.AddUserMessage(ctx, "thr_00000000", "hello?"))
		assert.Equal(t, tc.kind, r.Kind, "mode %q: %s", tc.mode, r)
		assert.Contains(t, r.String(), tc.says, "mode %q", tc.mode)
	}
	f.mode = "sdk-missing-thread"
	assert.Contains(t, chatkit.ClassifyRefusal(c.AddUserMessage(ctx, "thr_00000000", "x")).String(),
		"resolve and authorize the thread before calling process() and answer 404 before any stream byte", "the message names the fix")

	f.mode = ""
	s, err := c.CreateThread(ctx, "hello")
	require.NoError(t, err)
	r := chatkit.ClassifyRefusal(c.AddUserMessage(ctx, s.ThreadID, "more"))
	assert.Equal(t, chatkit.Served, r.Kind, "%s", r)
	r = chatkit.ClassifyRefusal(nil, context.DeadlineExceeded)
	assert.Equal(t, chatkit.NoAnswer, r.Kind)
}
