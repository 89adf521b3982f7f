package e2e

// API-level suite of per-user isolation in the ChatKit backend: user B, with a valid token of his
// own, tries every request type on user A's thread and A's tasks; a foreign thread id must answer
// exactly like an id that does not exist, so B cannot even learn that it exists.

import (
	"fmt"
	"net/http"
	"net/http/httptrace"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
	"github.com/authflow-e2e/authflow/targets"
)

// threadRequests are the ChatKit request types that name a thread, with their params.
func threadRequests(threadID string) []chatkit.Request {
	return []chatkit.Request{
		{Type: chatkit.TypeThreadsGetByID, Params: map[string]any{"thread_id": threadID}},
		{Type: chatkit.TypeItemsList, Params: map[string]any{"thread_id": threadID}},
		{Type: chatkit.TypeThreadsAddUserMessage, Params: map[string]any{"thread_id": threadID, "input": chatkit.UserInput("hi from B")}},
		{Type: chatkit.TypeThreadsUpdate, Params: map[string]any{"thread_id": threadID, "title": "renamed by B"}},
		{Type: chatkit.TypeThreadsDelete, Params: map[string]any{"thread_id": threadID}},
	}
}

// TestIsolation_UserBCannotReachUserAsThread has user B try get_by_id, items.list,
// add_user_message, update, delete and list on user A's thread; each is refused (or, where the
// protocol and app.not_found allow it, answered with nothing), none carries A's data, and A's thread
// is unchanged afterwards, read through A.
func TestIsolation_UserBCannotReachUserAsThread(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a, b := h.User(data.RoleUserA), h.User(data.RoleUserB)
	secret := marker("a-private")
	s := newThread(h, a.ChatKit, "my private note "+secret)
	title := "A's title " + marker("a-title")
	_, err := a.ChatKit.UpdateThread(c, s.ThreadID, title)
	require.NoError(t, err)
	id := s.ThreadID

	unseen := unseenThread{what: "user A's thread", who: "user B", leaks: []string{secret, title}, notFound: h.Target.App.NotFound}
	send := func(t *testing.T, r chatkit.Request) {
		resp, err := b.ChatKit.Send(c, r, nil)
		unseen.requireJSON(t, r.Type, resp, err)
	}
	reqs := threadRequests(id)
	t.Run("case=get_by_id", func(t *testing.T) { send(t, reqs[0]) })
	t.Run("case=items.list", func(t *testing.T) { send(t, reqs[1]) })
	t.Run("case=add_user_message", func(t *testing.T) {
		st, err := b.ChatKit.AddUserMessage(c, id, "B writes into A's thread")
		unseen.requireStream(t, st, err)
	})
	t.Run("case=update", func(t *testing.T) { send(t, reqs[3]) })
	t.Run("case=delete", func(t *testing.T) { send(t, reqs[4]) })
	t.Run("case=list", func(t *testing.T) {
		h := h.Sub(t)
		ids := walkThreads(h, b.ChatKit, 100, "desc")
		assert.NotContains(t, ids, id, "user B's threads.list shows user A's thread")
	})
	t.Run("case=a-thread-unchanged", func(t *testing.T) {
		th, err := a.ChatKit.GetThread(c, id)
		require.NoError(t, err, "user A's thread must survive B's attempts (delete included)")
		assert.Equal(t, title, th.Title, "B's rename must not change A's title")
		assert.Len(t, th.Items.Data, 2, "B's message must not land in A's thread: %v", itemTexts(th.Items.Data))
	})
}

// TestIsolation_ForeignAndMissingThreadIDsAnswerAlike sends each thread request type as user B
// with user A's thread id and with an id of the same shape that does not exist: same status, same
// body (with the id itself masked), so a thread's existence does not leak.
func TestIsolation_ForeignAndMissingThreadIDsAnswerAlike(t *testing.T) {
	h := fixtures.Test(t)
	a, b := h.User(data.RoleUserA), h.User(data.RoleUserB)
	foreign := newThread(h, a.ChatKit, "a thread B must not detect "+marker("alike")).ThreadID
	missing := missingThreadID(foreign)
	mask := func(body []byte, id string) string { return strings.ReplaceAll(string(body), id, "<thread id>") }

	missingThread := unseenThread{what: "a missing thread", who: "user B", notFound: h.Target.App.NotFound}
	for i, fr := range threadRequests(foreign) {
		mr := threadRequests(missing)[i]
		t.Run("case="+fr.Type, func(t *testing.T) {
			h := fixtures.Test(t)
			if chatkit.IsStreaming(fr.Type) {
				gs, gerr := b.ChatKit.Stream(h.Ctx, fr)
				ms, merr := b.ChatKit.Stream(h.Ctx, mr)
				missingThread.requireStream(t, ms, merr)
				got, want := chatkit.ClassifyRefusal(gs, gerr), chatkit.ClassifyRefusal(ms, merr)
				assert.Equal(t, want.Kind, got.Kind, "%s: a foreign thread must be answered like a missing one (%s vs %s)", fr.Type, got, want)
				assert.Equal(t, want.Status, got.Status, "%s: a foreign thread must answer the status of a missing one (%s vs %s)", fr.Type, got, want)
				assert.Equal(t, mask([]byte(errBody(merr)), missing), mask([]byte(errBody(gerr)), foreign),
					"%s: a foreign thread must answer the body of a missing one", fr.Type)
				return
			}
			got, err := b.ChatKit.Send(h.Ctx, fr, nil)
			require.NoError(t, err, "%s with A's thread id", fr.Type)
			want, err := b.ChatKit.Send(h.Ctx, mr, nil)
			missingThread.requireJSON(t, mr.Type, want, err)
			require.NoError(t, err, "%s with a missing thread id", fr.Type)
			assert.Equal(t, want.Status, got.Status, "%s: a foreign thread must answer the status of a missing one (%s vs %s)",
				fr.Type, got.Excerpt(), want.Excerpt())
			assert.Equal(t, mask(want.Body, missing), mask(got.Body, foreign),
				"%s: a foreign thread must answer the body of a missing one", fr.Type)
			assert.Equal(t, want.Header.Get("Content-Type"), got.Header.Get("Content-Type"), "%s: same content type", fr.Type)
		})
	}
}

// errBody is the body excerpt of an HTTP error ("" for other errors and nil).
func errBody(err error) string {
	if he := httperr.As(err); he != nil {
		return he.Body
	}
	return ""
}

// TestIsolation_UserBCannotSeeOrChangeUserAsTasks has user B list, complete and add tasks while
// user A has one: B never sees A's task, cannot complete it, and B's task lands in B's rows only.
func TestIsolation_UserBCannotSeeOrChangeUserAsTasks(t *testing.T) {
	h := fixtures.Test(t)
	h.Needs(targets.FeatureTasks)
	c := h.Ctx
	a, b := h.NewUser("iso-tasks-a"), h.NewUser("iso-tasks-b")
	aTitle, bTitle := marker("a-task"), marker("b-task")
	newThread(h, a.ChatKit, data.AddTask(aTitle))
	require.Equal(t, []string{aTitle}, h.Tasks(t, a.User.ID))
	bThread := newThread(h, b.ChatKit, data.MsgListTasks)

	t.Run("case=list-tasks", func(t *testing.T) {
		assert.NotContains(t, bThread.Text, aTitle, "user B's task list shows user A's task")
	})
	t.Run("case=complete-task-1", func(t *testing.T) {
		h := h.Sub(t)
		s, err := b.ChatKit.AddUserMessage(c, bThread.ThreadID, "complete task 1")
		require.NoError(t, err)
		assert.NotContains(t, s.Text, aTitle, "user B's reply names user A's task")
		tasks := taskRows(h, a.User.ID)
		require.Equal(t, []string{aTitle}, taskTitles(tasks))
		if tasks[0].Completed != nil {
			assert.False(t, *tasks[0].Completed, "user B completed user A's task 1")
		}
	})
	t.Run("case=add-task", func(t *testing.T) {
		h := h.Sub(t)
		_, err := b.ChatKit.AddUserMessage(c, bThread.ThreadID, data.AddTask(bTitle))
		require.NoError(t, err)
		assert.Equal(t, []string{bTitle}, h.Tasks(t, b.User.ID), "user B's task is B's")
		assert.Equal(t, []string{aTitle}, h.Tasks(t, a.User.ID), "user A's tasks did not change")
	})
}

// TestIsolation_TokenWithAnotherUsersSubIsRefused has user B change the sub of his own token to
// user A's id: the backend must refuse it rather than serve A's threads.
func TestIsolation_TokenWithAnotherUsersSubIsRefused(t *testing.T) {
	h := fixtures.Test(t)
	a, b := h.User(data.RoleUserA), h.User(data.RoleUserB)
	id := newThread(h, a.ChatKit, "a thread for the forged-sub test").ThreadID
	forged, err := jwtforge.TamperClaims(b.Token, map[string]any{"sub": a.User.ID})
	require.NoError(t, err)
	ck := h.ChatKit(forged)
	for _, r := range []chatkit.Request{
		{Type: chatkit.TypeThreadsGetByID, Params: map[string]any{"thread_id": id}},
		{Type: chatkit.TypeThreadsList, Params: map[string]any{}},
	} {
		t.Run("case="+r.Type, func(t *testing.T) {
			h := fixtures.Test(t)
			resp, err := ck.Send(h.Ctx, r, nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnauthorized, resp.Status,
				fmt.Sprintf("%s with B's token re-labelled as A: %d %s", r.Type, resp.Status, resp.Excerpt()))
		})
	}
}

// identityHeaders are request headers through which apps and proxies pass a user id; a backend
// must take the user from the token's sub alone, whatever else the request says.
var identityHeaders = []string{"X-User-Id", "X-Auth-User-Id", "X-Authenticated-Userid", "X-Forwarded-User", "X-Remote-User", "X-User"}

// identityMetadataKeys are ChatKit request metadata keys that could carry a user id.
var identityMetadataKeys = []string{"user_id", "userId", "user", "sub", "owner"}

// TestIsolation_IdentityComesOnlyFromTheTokensSub has user B send requests with his own valid token
// that also name user A, in every identity header and metadata key a backend could read: B must get
// his own answers (A's thread is missing for him) and A's thread must be unchanged afterwards, read
// through A.
func TestIsolation_IdentityComesOnlyFromTheTokensSub(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a, b := h.NewUser("sub-only-a"), h.NewUser("sub-only-b")
	title := marker("a-title")
	aThread := newThread(h, a.ChatKit, "a thread B must not reach").ThreadID
	_, err := a.ChatKit.UpdateThread(c, aThread, title)
	require.NoError(t, err)

	type variant struct {
		name     string
		header   http.Header
		metadata map[string]any
	}
	var variants []variant
	for _, h := range identityHeaders {
		variants = append(variants, variant{name: "header=" + h, header: http.Header{h: {a.User.ID}}})
	}
	for _, k := range identityMetadataKeys {
		variants = append(variants, variant{name: "metadata=" + k, metadata: map[string]any{k: a.User.ID}})
	}
	for _, v := range variants {
		t.Run(v.name, func(t *testing.T) {
			h := h.Sub(t)
			ck := h.ChatKitClient(chatkit.Client{Token: chatkit.StaticToken(b.Token), Header: v.header})
			var page chatkit.Page[chatkit.Thread]
			err := ck.Call(c, chatkit.Request{Type: chatkit.TypeThreadsList, Params: map[string]any{"limit": 50}, Metadata: v.metadata}, &page)
			require.NoError(t, err, "threads.list with B's token")
			assert.NotContains(t, idsOf(page.Data, func(th chatkit.Thread) string { return th.ID }), aThread,
				"B's token with %s naming A listed A's thread: the backend takes the user from the request, not only from the token's sub", v.name)
			var th chatkit.Thread
			err = ck.Call(c, chatkit.Request{Type: chatkit.TypeThreadsGetByID, Params: map[string]any{"thread_id": aThread}, Metadata: v.metadata}, &th)
			assert.Error(t, err, "B's token with %s naming A was served A's thread (identity must come from sub only)", v.name)
			err = ck.Call(c, chatkit.Request{Type: chatkit.TypeThreadsUpdate, Params: map[string]any{"thread_id": aThread, "title": "changed by B"}, Metadata: v.metadata}, nil)
			assert.Error(t, err, "B's token with %s naming A renamed A's thread", v.name)
		})
	}
	got, err := a.ChatKit.GetThread(c, aThread)
	require.NoError(t, err, "A still reads her thread")
	assert.Equal(t, title, got.Title, "A's thread is as A left it")
}

// TestIsolation_TwoUsersOnOneKeepAliveConnectionGetTheirOwnThreads sends user A's and user B's
// requests over one keep-alive connection, alternating: each must be answered for the token it
// carries, not for the first user the connection saw (an identity cached per connection).
func TestIsolation_TwoUsersOnOneKeepAliveConnectionGetTheirOwnThreads(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a, b := h.NewUser("one-conn-a"), h.NewUser("one-conn-b")
	aThread := newThread(h, a.ChatKit, "A's thread on a shared connection").ThreadID
	bThread := newThread(h, b.ChatKit, "B's thread on a shared connection").ThreadID

	tr := betterauth.NewTransport()
	tr.MaxConnsPerHost, tr.MaxIdleConnsPerHost = 1, 1
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: fixtures.RequestTimeout}
	on := func(actor *fixtures.Actor) *chatkit.Client {
		return h.ChatKitClient(chatkit.Client{Token: chatkit.StaticToken(actor.Token), HTTPClient: hc})
	}
	var conns []string
	traced := httptrace.WithClientTrace(c, &httptrace.ClientTrace{GotConn: func(i httptrace.GotConnInfo) {
		conns = append(conns, i.Conn.LocalAddr().String())
	}})
	for i, step := range []struct {
		who        *fixtures.Actor
		own, other string
	}{{a, aThread, bThread}, {b, bThread, aThread}, {a, aThread, bThread}, {b, bThread, aThread}} {
		p, err := on(step.who).ListThreads(traced, 50, "desc", "")
		require.NoError(t, err, "request %d (%s)", i+1, step.who.Role)
		ids := idsOf(p.Data, func(th chatkit.Thread) string { return th.ID })
		assert.Contains(t, ids, step.own, "request %d: %s's own thread is listed", i+1, step.who.Role)
		assert.NotContains(t, ids, step.other,
			"request %d: %s was served the other user's threads on a reused keep-alive connection: the backend caches the identity per connection", i+1, step.who.Role)
	}
	require.Len(t, conns, 4)
	for i := 1; i < len(conns); i++ {
		require.Equal(t, conns[0], conns[i], "the requests must share one connection for this test to mean anything: %v", conns)
	}
}
