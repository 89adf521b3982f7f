package e2e

// API-level suite of per-user isolation in the ChatKit backend: user B, with a valid token of his
// own, tries every request type on user A's thread and A's tasks; a foreign thread id must answer
// exactly like an id that does not exist, so B cannot even learn that it exists.

import (
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
	"github.com/authflow-e2e/authflow/targets"
)

// apiRequireRefused asserts that err is a 403 or 404 answer (a foreign thread is forbidden or "not
// found", never served) and that its body does not leak secret.
func apiRequireRefused(t *testing.T, err error, secret, what string) {
	t.Helper()
	require.Error(t, err, "%s: user B was served user A's thread", what)
	he := httperr.As(err)
	require.NotNil(t, he, "%s: want a 403/404 answer, got: %v", what, err)
	assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, he.Status, "%s: %v", what, err)
	assert.NotContains(t, he.Body, secret, "%s: the refusal leaks the thread's content", what)
}

// apiThreadRequests are the ChatKit request types that name a thread, with their params.
func apiThreadRequests(threadID string) []chatkit.Request {
	return []chatkit.Request{
		{Type: chatkit.TypeThreadsGetByID, Params: map[string]any{"thread_id": threadID}},
		{Type: chatkit.TypeItemsList, Params: map[string]any{"thread_id": threadID}},
		{Type: chatkit.TypeThreadsAddUserMessage, Params: map[string]any{"thread_id": threadID, "input": chatkit.UserInput("hi from B")}},
		{Type: chatkit.TypeThreadsUpdate, Params: map[string]any{"thread_id": threadID, "title": "renamed by B"}},
		{Type: chatkit.TypeThreadsDelete, Params: map[string]any{"thread_id": threadID}},
	}
}

// TestIsolation_UserBCannotReachUserAsThread has user B try get_by_id, items.list,
// add_user_message, update, delete and list on user A's thread; each is refused, and A's thread
// is unchanged afterwards.
func TestIsolation_UserBCannotReachUserAsThread(t *testing.T) {
	t.Parallel()
	defer track(t)()
	c := ctx(t)
	a, b := world.Shared(t, fixtures.RoleUserA), world.Shared(t, fixtures.RoleUserB)
	secret := apiMarker("a-private")
	s := apiNewThread(t, a.ChatKit, "my private note "+secret)
	title := "A's title " + apiMarker("a-title")
	_, err := a.ChatKit.UpdateThread(c, s.ThreadID, title)
	require.NoError(t, err)
	id := s.ThreadID

	t.Run("case=get_by_id", func(t *testing.T) {
		_, err := b.ChatKit.GetThread(c, id)
		apiRequireRefused(t, err, secret, "threads.get_by_id")
	})
	t.Run("case=items.list", func(t *testing.T) {
		p, err := b.ChatKit.ListItems(c, id, 0, "", "")
		if err == nil { // an empty page reveals nothing either, but serving any item is a leak
			assert.Empty(t, p.Data, "items.list served user A's items to user B: %v", apiItemTexts(p.Data))
			return
		}
		apiRequireRefused(t, err, secret, "items.list")
	})
	t.Run("case=add_user_message", func(t *testing.T) {
		st, err := b.ChatKit.AddUserMessage(c, id, "B writes into A's thread")
		apiRequireRefused(t, err, secret, "threads.add_user_message")
		if st != nil {
			assert.Empty(t, st.Events, "the refusal must come before any stream event")
		}
	})
	t.Run("case=update", func(t *testing.T) {
		_, err := b.ChatKit.UpdateThread(c, id, "renamed by B")
		apiRequireRefused(t, err, secret, "threads.update")
	})
	t.Run("case=delete", func(t *testing.T) {
		apiRequireRefused(t, b.ChatKit.DeleteThread(c, id), secret, "threads.delete")
	})
	t.Run("case=list", func(t *testing.T) {
		ids := apiWalkThreads(t, b.ChatKit, 100, "desc")
		assert.NotContains(t, ids, id, "user B's threads.list shows user A's thread")
	})
	t.Run("case=a-thread-unchanged", func(t *testing.T) {
		th, err := a.ChatKit.GetThread(c, id)
		require.NoError(t, err, "user A's thread must survive B's attempts (delete included)")
		assert.Equal(t, title, th.Title, "B's rename must not change A's title")
		assert.Len(t, th.Items.Data, 2, "B's message must not land in A's thread: %v", apiItemTexts(th.Items.Data))
	})
}

// TestIsolation_ForeignAndMissingThreadIDsAnswerAlike sends each thread request type as user B
// with user A's thread id and with an id of the same shape that does not exist: same status, same
// body (with the id itself masked), so a thread's existence does not leak.
func TestIsolation_ForeignAndMissingThreadIDsAnswerAlike(t *testing.T) {
	t.Parallel()
	defer track(t)()
	a, b := world.Shared(t, fixtures.RoleUserA), world.Shared(t, fixtures.RoleUserB)
	foreign := apiNewThread(t, a.ChatKit, "a thread B must not detect "+apiMarker("alike")).ThreadID
	missing := apiMissingThreadID(foreign)
	mask := func(body []byte, id string) string { return strings.ReplaceAll(string(body), id, "<thread id>") }

	for i, fr := range apiThreadRequests(foreign) {
		mr := apiThreadRequests(missing)[i]
		t.Run("case="+fr.Type, func(t *testing.T) {
			t.Parallel()
			defer track(t)()
			got, err := b.ChatKit.Send(ctx(t), fr, nil)
			require.NoError(t, err, "%s with A's thread id", fr.Type)
			want, err := b.ChatKit.Send(ctx(t), mr, nil)
			require.NoError(t, err, "%s with a missing thread id", fr.Type)
			assert.GreaterOrEqual(t, want.Status, 400, "%s of a missing thread must fail: %d %s", fr.Type, want.Status, want.Excerpt())
			assert.Equal(t, want.Status, got.Status, "%s: a foreign thread must answer the status of a missing one (%s vs %s)",
				fr.Type, got.Excerpt(), want.Excerpt())
			assert.Equal(t, mask(want.Body, missing), mask(got.Body, foreign),
				"%s: a foreign thread must answer the body of a missing one", fr.Type)
			assert.Equal(t, want.Header.Get("Content-Type"), got.Header.Get("Content-Type"), "%s: same content type", fr.Type)
		})
	}
}

// TestIsolation_UserBCannotSeeOrChangeUserAsTasks has user B list, complete and add tasks while
// user A has one: B never sees A's task, cannot complete it, and B's task lands in B's rows only.
func TestIsolation_UserBCannotSeeOrChangeUserAsTasks(t *testing.T) {
	t.Parallel()
	defer track(t)()
	needs(t, targets.FeatureTasks)
	c := ctx(t)
	a, b := world.NewActor(t, "iso-tasks-a"), world.NewActor(t, "iso-tasks-b")
	aTitle, bTitle := apiMarker("a-task"), apiMarker("b-task")
	apiNewThread(t, a.ChatKit, fixtures.AddTask(aTitle))
	require.Equal(t, []string{aTitle}, world.Tasks(t, a.User.ID))
	bThread := apiNewThread(t, b.ChatKit, fixtures.MsgListTasks)

	t.Run("case=list-tasks", func(t *testing.T) {
		assert.NotContains(t, bThread.Text, aTitle, "user B's task list shows user A's task")
	})
	t.Run("case=complete-task-1", func(t *testing.T) {
		s, err := b.ChatKit.AddUserMessage(c, bThread.ThreadID, "complete task 1")
		require.NoError(t, err)
		assert.NotContains(t, s.Text, aTitle, "user B's reply names user A's task")
		tasks := apiTasks(t, a.User.ID)
		require.Equal(t, []string{aTitle}, apiTaskTitles(tasks))
		if tasks[0].Completed != nil {
			assert.False(t, *tasks[0].Completed, "user B completed user A's task 1")
		}
	})
	t.Run("case=add-task", func(t *testing.T) {
		_, err := b.ChatKit.AddUserMessage(c, bThread.ThreadID, fixtures.AddTask(bTitle))
		require.NoError(t, err)
		assert.Equal(t, []string{bTitle}, world.Tasks(t, b.User.ID), "user B's task is B's")
		assert.Equal(t, []string{aTitle}, world.Tasks(t, a.User.ID), "user A's tasks did not change")
	})
}

// TestIsolation_TokenWithAnotherUsersSubIsRefused has user B change the sub of his own token to
// user A's id: the backend must refuse it rather than serve A's threads.
func TestIsolation_TokenWithAnotherUsersSubIsRefused(t *testing.T) {
	t.Parallel()
	defer track(t)()
	a, b := world.Shared(t, fixtures.RoleUserA), world.Shared(t, fixtures.RoleUserB)
	id := apiNewThread(t, a.ChatKit, "a thread for the forged-sub test").ThreadID
	forged, err := fixtures.TamperClaims(b.Token, map[string]any{"sub": a.User.ID})
	require.NoError(t, err)
	ck := world.ChatKit(forged)
	for _, r := range []chatkit.Request{
		{Type: chatkit.TypeThreadsGetByID, Params: map[string]any{"thread_id": id}},
		{Type: chatkit.TypeThreadsList, Params: map[string]any{}},
	} {
		t.Run("case="+r.Type, func(t *testing.T) {
			t.Parallel()
			defer track(t)()
			resp, err := ck.Send(ctx(t), r, nil)
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnauthorized, resp.Status,
				fmt.Sprintf("%s with B's token re-labelled as A: %d %s", r.Type, resp.Status, resp.Excerpt()))
		})
	}
}
