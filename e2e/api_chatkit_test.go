package e2e

// API-level suite of the ChatKit backend with real tokens: the event stream of a turn, a thread
// that keeps its context, list pagination, reading, renaming and deleting threads, a 100-message
// history, the task commands and their rows, and requests without a valid token.

import (
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
	"github.com/authflow-e2e/authflow/targets"
)

// historyBudget is the spec's bound for loading a 100-message history (get_by_id + items.list).
const historyBudget = 2 * time.Second

// marker returns a text unique to this process and call, to find a message again.
func marker(prefix string) string {
	e := data.Unique(prefix)
	return strings.TrimSuffix(e, "@"+data.EmailDomain)
}

// newThread creates a thread with text and requires a complete reply.
func newThread(h *fixtures.T, ck *chatkit.Client, text string) *chatkit.Stream {
	t := h.T
	t.Helper()
	s, err := ck.CreateThread(h.Ctx, text)
	require.NoError(t, err, "threads.create\n%s", h.ServiceLogs(10))
	require.True(t, s.AssistantDone, "the assistant's reply completed; events: %v", s.Types())
	require.NotEmpty(t, s.ThreadID, "the stream names the new thread")
	return s
}

// doneItems returns the items of a stream's thread.item.done events, in order.
func doneItems(s *chatkit.Stream) []chatkit.Item {
	var out []chatkit.Item
	for _, e := range s.Events {
		if e.Type == chatkit.EventItemDone && e.Item != nil {
			out = append(out, *e.Item)
		}
	}
	return out
}

// TestChatKit_CreateThreadStreamsTheEventsInOrder checks the stream of threads.create: thread.created
// first, the user's item done, the assistant item added, its text deltas, the assistant item done
// with the text the deltas built, no error event, and a clean end of the body.
func TestChatKit_CreateThreadStreamsTheEventsInOrder(t *testing.T) {
	h := fixtures.Test(t)
	a := h.User(data.RoleUserA)
	text := "Hello there, " + marker("order")
	s, streamErr := a.ChatKit.CreateThread(h.Ctx, text)
	require.NotNil(t, s, "no answer to threads.create: %v\n%s", streamErr, h.ServiceLogs(10))
	require.NotEmpty(t, s.Events, "threads.create streamed no event: %v", streamErr)
	types := s.Types()
	idx := func(pred func(chatkit.Event) bool) int { return slices.IndexFunc(s.Events, pred) }
	lastIdx := func(pred func(chatkit.Event) bool) int {
		for i := len(s.Events) - 1; i >= 0; i-- {
			if pred(s.Events[i]) {
				return i
			}
		}
		return -1
	}
	isItem := func(typ, itemType string) func(chatkit.Event) bool {
		return func(e chatkit.Event) bool { return e.Type == typ && e.Item != nil && e.Item.Type == itemType }
	}
	userDone := idx(isItem(chatkit.EventItemDone, chatkit.ItemUserMessage))
	asstAdded := idx(isItem(chatkit.EventItemAdded, chatkit.ItemAssistantMessage))
	asstDone := idx(isItem(chatkit.EventItemDone, chatkit.ItemAssistantMessage))
	isDelta := func(e chatkit.Event) bool {
		return e.Type == chatkit.EventItemUpdated && e.UpdateType == chatkit.UpdateTextDelta
	}
	firstDelta, lastDelta := idx(isDelta), lastIdx(isDelta)

	t.Run("case=ends-cleanly", func(t *testing.T) {
		assert.NoError(t, streamErr, "the stream must end at a clean end of body with no error event")
		assert.Equal(t, http.StatusOK, s.Status)
		assert.Empty(t, s.ErrorEvents(), "no in-band error events")
	})
	t.Run("case=thread-created-first", func(t *testing.T) {
		require.Equal(t, chatkit.EventThreadCreated, types[0], "the first event announces the thread: %v", types)
		require.NotNil(t, s.Events[0].Thread)
		assert.NotEmpty(t, s.Events[0].Thread.ID, "thread.created carries the thread id")
	})
	t.Run("case=user-item-done-with-the-text", func(t *testing.T) {
		require.Positive(t, userDone, "a thread.item.done of the user_message after thread.created: %v", types)
		it := s.Events[userDone].Item
		assert.Equal(t, text, it.Text(), "the user item holds the text sent")
		assert.Equal(t, s.ThreadID, it.ThreadID, "the user item belongs to the new thread")
	})
	t.Run("case=assistant-added-after-the-user-item", func(t *testing.T) {
		require.GreaterOrEqual(t, asstAdded, 0, "a thread.item.added of the assistant_message: %v", types)
		assert.Greater(t, asstAdded, userDone, "the assistant starts after the user's item is done: %v", types)
		assert.Equal(t, s.ThreadID, s.Events[asstAdded].Item.ThreadID)
	})
	t.Run("case=deltas-between-added-and-done", func(t *testing.T) {
		require.GreaterOrEqual(t, firstDelta, 0, "the reply streams as text deltas: %v", types)
		assert.Greater(t, firstDelta, asstAdded, "deltas come after the item was added: %v", types)
		assert.Less(t, lastDelta, asstDone, "deltas come before the item is done: %v", types)
		id := s.Events[asstAdded].Item.ID
		for _, e := range s.Events[firstDelta : lastDelta+1] {
			if isDelta(e) {
				assert.Equal(t, id, e.ItemID, "every delta updates the assistant item")
			}
		}
	})
	t.Run("case=assistant-done-with-the-streamed-text", func(t *testing.T) {
		require.Greater(t, asstDone, asstAdded, "a thread.item.done of the assistant_message after it was added: %v", types)
		done := s.Events[asstDone].Item
		assert.Equal(t, s.Events[asstAdded].Item.ID, done.ID, "done names the item that was added")
		var built strings.Builder
		for _, e := range s.Events {
			if isDelta(e) && e.ItemID == done.ID {
				built.WriteString(e.Delta)
			}
		}
		assert.NotEmpty(t, done.Text(), "the reply has text")
		assert.Equal(t, done.Text(), built.String(), "the final text equals the concatenated deltas")
		for _, e := range s.Events[asstDone+1:] {
			assert.NotContains(t, []string{chatkit.EventItemAdded, chatkit.EventItemUpdated}, e.Type,
				"nothing of the reply may follow its done event: %v", types)
		}
	})
}

// TestChatKit_AddUserMessageContinuesTheThreadWithContext sends a second message to a thread: the
// same thread continues (no new thread), and the assistant's reply refers to the previous message.
func TestChatKit_AddUserMessageContinuesTheThreadWithContext(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.User(data.RoleUserA)
	first := "Remember this code word: " + marker("context")
	s1 := newThread(h, a.ChatKit, first)
	second := "What did I just tell you?"
	s2, err := a.ChatKit.AddUserMessage(c, s1.ThreadID, second)
	require.NoError(t, err, "threads.add_user_message\n%s", h.ServiceLogs(10))
	require.True(t, s2.AssistantDone, "the reply completed; events: %v", s2.Types())
	assert.NotContains(t, s2.Types(), chatkit.EventThreadCreated, "continuing a thread must not create another one")
	assert.Equal(t, s1.ThreadID, s2.ThreadID, "the reply belongs to the same thread")
	t.Run("part=reply-refers-to-the-previous-message", func(t *testing.T) {
		h := h.Sub(t)
		h.Needs(targets.FeatureContext)
		assert.Contains(t, s2.Text, strings.TrimPrefix(first, "Remember this code word: "),
			"the assistant must keep the thread's context: its reply should refer to the previous message")
	})

	items, err := a.ChatKit.ListItems(c, s1.ThreadID, 10, "asc", "")
	require.NoError(t, err)
	require.Len(t, items.Data, 4, "two turns are four items: %v", itemTexts(items.Data))
	assert.Equal(t, []string{chatkit.ItemUserMessage, chatkit.ItemAssistantMessage, chatkit.ItemUserMessage, chatkit.ItemAssistantMessage},
		idsOf(items.Data, func(i chatkit.Item) string { return i.Type }), "user and assistant alternate")
	assert.Equal(t, first, items.Data[0].Text())
	assert.Equal(t, second, items.Data[2].Text())
	assert.Equal(t, s2.Text, items.Data[3].Text(), "the stored reply is the streamed one")
}

// walkThreads pages through the caller's threads with limit and order, checking every page's
// has_more/after contract, and returns the ids in the order served.
func walkThreads(h *fixtures.T, ck *chatkit.Client, limit int, order string) []string {
	t := h.T
	t.Helper()
	var ids []string
	after := ""
	for page := 1; ; page++ {
		require.LessOrEqual(t, page, 50, "threads.list never ends (has_more stays true)")
		p, err := ck.ListThreads(h.Ctx, limit, order, after)
		require.NoError(t, err, "threads.list page %d", page)
		require.LessOrEqual(t, len(p.Data), limit, "page %d holds more than limit %d", page, limit)
		ids = append(ids, idsOf(p.Data, func(th chatkit.Thread) string { return th.ID })...)
		if !p.HasMore {
			assert.Empty(t, p.After, "the last page has no after cursor")
			return ids
		}
		require.NotEmpty(t, p.Data, "page %d is empty but says has_more", page)
		require.NotEmpty(t, p.After, "page %d says has_more without an after cursor", page)
		assert.Equal(t, p.Data[len(p.Data)-1].ID, p.After, "after is the id of the page's last thread")
		after = p.After
	}
}

// TestChatKit_ThreadsListPaginatesWithoutDuplicatesOrGaps creates five threads for a new user and
// pages through them in both orders and with several page sizes.
func TestChatKit_ThreadsListPaginatesWithoutDuplicatesOrGaps(t *testing.T) {
	h := fixtures.Test(t)
	a := h.NewUser("list")
	var created []string // oldest first
	// "list tasks" gets a short reply: the threads matter here, not their text.
	for range 5 {
		created = append(created, newThread(h, a.ChatKit, data.MsgListTasks).ThreadID)
	}
	newestFirst := slices.Clone(created)
	slices.Reverse(newestFirst)

	for _, tc := range []struct {
		name  string
		limit int
		order string
		want  []string
	}{
		{"case=desc-pages-of-2", 2, "desc", newestFirst},
		{"case=asc-pages-of-2", 2, "asc", created},
		{"case=asc-pages-of-1", 1, "asc", created},
		{"case=limit-equal-to-count", 5, "desc", newestFirst},
		{"case=limit-above-count", 20, "asc", created},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fixtures.Test(t)
			got := walkThreads(h, a.ChatKit, tc.limit, tc.order)
			requireNoDuplicates(t, got, "threads.list")
			assert.Equal(t, tc.want, got, "every thread exactly once, in %s order of creation", tc.order)
		})
	}
	t.Run("case=default-order-is-newest-first", func(t *testing.T) {
		h := fixtures.Test(t)
		p, err := a.ChatKit.ListThreads(h.Ctx, 0, "", "")
		require.NoError(t, err)
		assert.Equal(t, newestFirst, idsOf(p.Data, func(th chatkit.Thread) string { return th.ID }),
			"without order the list is newest first (ChatKit's default desc)")
		assert.False(t, p.HasMore)
	})
	t.Run("case=after-a-middle-cursor", func(t *testing.T) {
		h := fixtures.Test(t)
		p, err := a.ChatKit.ListThreads(h.Ctx, 2, "asc", created[1])
		require.NoError(t, err)
		assert.Equal(t, created[2:4], idsOf(p.Data, func(th chatkit.Thread) string { return th.ID }),
			"after is exclusive: the page starts right after the cursor")
		assert.True(t, p.HasMore, "one thread is left after this page")
	})
}

// TestChatKit_GetByIDReturnsWhatWasSent reads a new thread back: its id, status and the two items
// of the turn with the text sent and the reply streamed, oldest first.
func TestChatKit_GetByIDReturnsWhatWasSent(t *testing.T) {
	h := fixtures.Test(t)
	a := h.User(data.RoleUserA)
	text := "Please remember " + marker("get")
	start := time.Now()
	s := newThread(h, a.ChatKit, text)
	th, err := a.ChatKit.GetThread(h.Ctx, s.ThreadID)
	require.NoError(t, err, "threads.get_by_id of the caller's thread")
	assert.Equal(t, s.ThreadID, th.ID)
	assert.Equal(t, "active", th.Status.Type, "a new thread is active")
	require.False(t, th.CreatedAt.Naive, "created_at %s has no zone and the server's UTC offset could not be learned from thread.created", th.CreatedAt.Time.Format("2006-01-02T15:04:05.999999"))
	assert.WithinDuration(t, start, th.CreatedAt.Time, time.Minute, "created_at is the creation time")
	require.Len(t, th.Items.Data, 2, "one turn: the user item and the reply: %v", itemTexts(th.Items.Data))
	assert.False(t, th.Items.HasMore)
	assert.Equal(t, chatkit.ItemUserMessage, th.Items.Data[0].Type, "oldest first")
	assert.Equal(t, text, th.Items.Data[0].Text(), "the user's text as sent")
	assert.Equal(t, chatkit.ItemAssistantMessage, th.Items.Data[1].Type)
	assert.Equal(t, s.Text, th.Items.Data[1].Text(), "the reply as streamed")
	assert.Equal(t, idsOf(doneItems(s), func(i chatkit.Item) string { return i.ID }),
		idsOf(th.Items.Data, func(i chatkit.Item) string { return i.ID }), "the stored items are the streamed items")
	for _, it := range th.Items.Data {
		assert.Equal(t, s.ThreadID, it.ThreadID, "item %s names its thread", it.ID)
	}
}

// TestChatKit_ItemsListReturnsWhatWasSent reads the items of a two-turn thread in both orders and
// one item per page.
func TestChatKit_ItemsListReturnsWhatWasSent(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.User(data.RoleUserA)
	m1, m2 := "first "+marker("items"), "second "+marker("items")
	s1 := newThread(h, a.ChatKit, m1)
	s2, err := a.ChatKit.AddUserMessage(c, s1.ThreadID, m2)
	require.NoError(t, err)
	var want []string // ids oldest first
	for _, s := range []*chatkit.Stream{s1, s2} {
		want = append(want, idsOf(doneItems(s), func(i chatkit.Item) string { return i.ID })...)
	}
	require.Len(t, want, 4, "two turns stream four done items")
	wantTexts := []string{m1, s1.Text, m2, s2.Text}

	t.Run("case=asc-oldest-first", func(t *testing.T) {
		p, err := a.ChatKit.ListItems(c, s1.ThreadID, 0, "asc", "")
		require.NoError(t, err)
		assert.Equal(t, want, idsOf(p.Data, func(i chatkit.Item) string { return i.ID }))
		assert.Equal(t, wantTexts, idsOf(p.Data, chatkit.Item.Text), "the texts as sent and streamed")
		assert.False(t, p.HasMore)
	})
	t.Run("case=default-newest-first", func(t *testing.T) {
		p, err := a.ChatKit.ListItems(c, s1.ThreadID, 0, "", "")
		require.NoError(t, err)
		rev := slices.Clone(want)
		slices.Reverse(rev)
		assert.Equal(t, rev, idsOf(p.Data, func(i chatkit.Item) string { return i.ID }), "items.list defaults to desc")
	})
	t.Run("case=one-per-page", func(t *testing.T) {
		var got []string
		after := ""
		for page := 1; page <= 10; page++ {
			p, err := a.ChatKit.ListItems(c, s1.ThreadID, 1, "asc", after)
			require.NoError(t, err, "page %d", page)
			got = append(got, idsOf(p.Data, func(i chatkit.Item) string { return i.ID })...)
			if !p.HasMore {
				break
			}
			require.NotEmpty(t, p.After, "has_more without an after cursor")
			after = p.After
		}
		requireNoDuplicates(t, got, "items.list")
		assert.Equal(t, want, got, "paging one by one returns every item once, in order")
	})
}

// TestChatKit_UpdateRenamesTheThread renames a thread: the answer, get_by_id and threads.list all
// show the new title.
func TestChatKit_UpdateRenamesTheThread(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("rename")
	s := newThread(h, a.ChatKit, "a thread to rename")
	title := "Renamed ✅ " + marker("title")
	th, err := a.ChatKit.UpdateThread(c, s.ThreadID, title)
	require.NoError(t, err, "threads.update of the caller's thread")

	t.Run("case=answer", func(t *testing.T) {
		assert.Equal(t, s.ThreadID, th.ID)
		assert.Equal(t, title, th.Title, "the answer carries the new title")
	})
	t.Run("case=get-by-id", func(t *testing.T) {
		got, err := a.ChatKit.GetThread(c, s.ThreadID)
		require.NoError(t, err)
		assert.Equal(t, title, got.Title, "the title is stored")
		assert.Len(t, got.Items.Data, 2, "renaming keeps the items")
	})
	t.Run("case=threads-list", func(t *testing.T) {
		p, err := a.ChatKit.ListThreads(c, 20, "desc", "")
		require.NoError(t, err)
		require.Len(t, p.Data, 1)
		assert.Equal(t, title, p.Data[0].Title, "the list shows the new title")
	})
}

// TestChatKit_DeleteRemovesTheThread deletes a thread; afterwards every request about it is refused
// like one about a thread that never existed (404; under app.not_found: protocol, items.list may
// answer an empty page and a second delete a no-op) and the list no longer has it.
func TestChatKit_DeleteRemovesTheThread(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("delete")
	keep := newThread(h, a.ChatKit, data.AddTask("a thread to keep"))
	gone := newThread(h, a.ChatKit, data.AddTask("a thread to delete"))
	require.NoError(t, a.ChatKit.DeleteThread(c, gone.ThreadID), "threads.delete of the caller's thread")

	deleted := unseenThread{what: "a deleted thread", leaks: []string{"a thread to delete"}, notFound: h.Target.App.NotFound}
	reqs := threadRequests(gone.ThreadID)
	for _, tc := range []struct {
		name string
		req  chatkit.Request
	}{
		{"case=get-by-id", reqs[0]},
		{"case=items-list", reqs[1]},
		{"case=add-user-message", reqs[2]},
		{"case=update", reqs[3]},
		{"case=delete-again", reqs[4]},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if chatkit.IsStreaming(tc.req.Type) {
				s, err := a.ChatKit.Stream(c, tc.req)
				deleted.requireStream(t, s, err)
				return
			}
			resp, err := a.ChatKit.Send(c, tc.req, nil)
			deleted.requireJSON(t, tc.req.Type, resp, err)
		})
	}
	t.Run("case=not-listed", func(t *testing.T) {
		p, err := a.ChatKit.ListThreads(c, 20, "desc", "")
		require.NoError(t, err)
		assert.Equal(t, []string{keep.ThreadID}, idsOf(p.Data, func(th chatkit.Thread) string { return th.ID }),
			"only the other thread is left")
	})
}

// TestChatKit_HistoryOfOneHundredMessagesLoadsUnderTwoSeconds fills a thread with 100 messages (50
// user messages and their 50 replies), then loads the whole history as the widget does,
// get_by_id then items.list pages of 20 oldest first, and requires it under 2 s. Not parallel, so
// the figure is not skewed by the other tests.
func TestChatKit_HistoryOfOneHundredMessagesLoadsUnderTwoSeconds(t *testing.T) {
	h := fixtures.Test(t, fixtures.Serial())
	c := h.Ctx
	a := h.NewUser("history")
	const turns = 50
	sent := make([]string, turns)
	for i := range sent {
		// Task commands get short replies, so filling the thread is quick; the history is what counts.
		sent[i] = data.AddTask(fmt.Sprintf("history item %03d", i+1))
	}
	fill := time.Now()
	th := newThread(h, a.ChatKit, sent[0])
	for _, m := range sent[1:] {
		s, err := a.ChatKit.AddUserMessage(c, th.ThreadID, m)
		require.NoError(t, err, "add %q", m)
		require.True(t, s.AssistantDone)
	}
	t.Logf("created %d messages in %d turns in %s", 2*turns, turns, time.Since(fill).Round(time.Millisecond))

	start := time.Now()
	first, err := a.ChatKit.GetThread(c, th.ThreadID)
	require.NoError(t, err, "threads.get_by_id")
	items := slices.Clone(first.Items.Data)
	requests, page := 1, first.Items
	for page.HasMore {
		require.Less(t, requests, 2*turns, "paging never ends")
		require.NotEmpty(t, page.After, "has_more without an after cursor")
		next, err := a.ChatKit.ListItems(c, th.ThreadID, 20, "asc", page.After)
		require.NoError(t, err, "items.list after %s", page.After)
		requests++
		items = append(items, next.Data...)
		page = *next
	}
	took := time.Since(start)
	t.Logf("loaded a history of %d messages with %d requests (get_by_id + items.list, 20 per page) in %s",
		len(items), requests, took.Round(time.Millisecond))

	require.Len(t, items, 2*turns, "the whole history: every message and reply")
	requireNoDuplicates(t, idsOf(items, func(i chatkit.Item) string { return i.ID }), "history")
	for i, m := range sent {
		assert.Equal(t, m, items[2*i].Text(), "message %d of the history, oldest first", 2*i+1)
		assert.Equal(t, chatkit.ItemAssistantMessage, items[2*i+1].Type, "message %d is the reply", 2*i+2)
	}
	assert.Less(t, took, historyBudget, "loading a 100-message history took %s (budget %s)", took, historyBudget)
}

// taskRow is one task row of a user; Completed is nil when the target offers no way to read it.
type taskRow struct {
	Title     string
	Completed *bool
}

// taskRows reads the user's tasks: titles through the target's tasks_for_user probe; completion
// from a completed/done column of that probe, else from a tasks(user_id, title, completed) table
// when the schema has one (the reference app's contract).
func taskRows(h *fixtures.T, userID string) []taskRow {
	t := h.T
	t.Helper()
	q, ok := h.Target.App.Probes["tasks_for_user"]
	require.True(t, ok, "target %s has no app.probes.tasks_for_user query", h.Target.File)
	rows, err := h.DB.QueryStrings(h.Ctx, q, userID)
	require.NoError(t, err)
	var out []taskRow
	for _, r := range rows {
		var tk taskRow
		for k, v := range r {
			switch strings.ToLower(k) {
			case "completed", "done":
				b := v == "t" || v == "true"
				tk.Completed = &b
			default:
				tk.Title = v
			}
		}
		out = append(out, tk)
	}
	if len(out) == 0 || out[0].Completed != nil {
		return out
	}
	var n int
	err = h.DB.Pool().QueryRow(h.Ctx, `SELECT count(*) FROM information_schema.columns
		WHERE table_schema = current_schema() AND table_name = 'tasks' AND column_name IN ('user_id', 'title', 'completed')`).Scan(&n)
	require.NoError(t, err)
	if n != 3 {
		return out
	}
	rows, err = h.DB.QueryStrings(h.Ctx, `SELECT title, completed FROM tasks WHERE user_id = $1 ORDER BY id`, userID)
	require.NoError(t, err)
	if len(rows) != len(out) {
		return out
	}
	for i, r := range rows {
		b := r["completed"] == "t"
		out[i].Completed = &b
	}
	return out
}

func taskTitles(ts []taskRow) []string {
	return idsOf(ts, func(tk taskRow) string { return tk.Title })
}

// TestChatKit_TaskCommandsChangeOnlyThatUsersTasks drives the assistant's task commands ("add task",
// "list tasks", "complete task 1") and checks the tasks rows of that user, and that another user's
// tasks stay as they were.
func TestChatKit_TaskCommandsChangeOnlyThatUsersTasks(t *testing.T) {
	h := fixtures.Test(t)
	h.Needs(targets.FeatureTasks)
	c := h.Ctx
	x, y := h.NewUser("tasks-x"), h.NewUser("tasks-y")
	yTitle, alpha, beta := marker("y-task"), marker("alpha"), marker("beta")
	newThread(h, y.ChatKit, data.AddTask(yTitle))
	require.Equal(t, []string{yTitle}, h.Tasks(t, y.User.ID), "the other user's task row")

	var thread string
	say := func(t *testing.T, msg string) string {
		h := h.Sub(t)
		t.Helper()
		var s *chatkit.Stream
		var err error
		if thread == "" {
			s, err = x.ChatKit.CreateThread(c, msg)
			if s != nil {
				thread = s.ThreadID
			}
		} else {
			s, err = x.ChatKit.AddUserMessage(c, thread, msg)
		}
		require.NoError(t, err, "%q\n%s", msg, h.ServiceLogs(10))
		require.True(t, s.AssistantDone, "the reply to %q completed", msg)
		return s.Text
	}

	t.Run("case=add-task", func(t *testing.T) {
		h := h.Sub(t)
		reply := say(t, data.AddTask(alpha))
		assert.Contains(t, reply, alpha, "the assistant confirms the task")
		assert.Equal(t, []string{alpha}, h.Tasks(t, x.User.ID), "one task row for the user")
		say(t, data.AddTask(beta))
		assert.Equal(t, []string{alpha, beta}, h.Tasks(t, x.User.ID), "a second task row, in order")
	})
	t.Run("case=list-tasks", func(t *testing.T) {
		h := h.Sub(t)
		reply := say(t, data.MsgListTasks)
		assert.Contains(t, reply, alpha)
		assert.Contains(t, reply, beta)
		assert.NotContains(t, reply, yTitle, "the list must not show another user's task")
		assert.Equal(t, []string{alpha, beta}, h.Tasks(t, x.User.ID), "listing changes no row")
	})
	t.Run("case=complete-task-1", func(t *testing.T) {
		h := h.Sub(t)
		reply := say(t, "complete task 1")
		assert.Contains(t, reply, alpha, "the assistant names the completed task")
		tasks := taskRows(h, x.User.ID)
		require.Equal(t, []string{alpha, beta}, taskTitles(tasks), "completing keeps the rows")
		if tasks[0].Completed == nil {
			t.Skipf("target %s offers no way to read a task's completion (add a completed column to app.probes.tasks_for_user)", h.Target.File)
		}
		assert.True(t, *tasks[0].Completed, "task 1 (%s) is completed", alpha)
		assert.False(t, *tasks[1].Completed, "task 2 (%s) is untouched", beta)
	})
	t.Run("case=other-user-untouched", func(t *testing.T) {
		h := h.Sub(t)
		tasks := taskRows(h, y.User.ID)
		require.Equal(t, []string{yTitle}, taskTitles(tasks), "the other user's tasks did not change")
		if tasks[0].Completed != nil {
			assert.False(t, *tasks[0].Completed, "another user's \"complete task 1\" must not complete this user's task 1")
		}
	})
}

// TestChatKit_RequestsWithoutAValidTokenAreRefused sends a JSON and a streaming request with no
// token, a malformed one, a token whose sub was changed, one signed by another key, an unsigned
// alg "none" token and, in a mode that signs with the shared secret, an expired one: 401 with WWW-Authenticate: Bearer, before any
// stream byte.
func TestChatKit_RequestsWithoutAValidTokenAreRefused(t *testing.T) {
	h := fixtures.Test(t)
	a := h.User(data.RoleUserA)
	b := h.User(data.RoleUserB)
	changed, err := jwtforge.TamperClaims(a.Token, map[string]any{"sub": b.User.ID})
	require.NoError(t, err)
	claims, err := jwtforge.DecodeClaims(a.Token)
	require.NoError(t, err)
	hdr, err := jwtforge.DecodeHeader(a.Token)
	require.NoError(t, err)
	alg, _ := hdr["alg"].(string)
	other, err := h.Target.Mode.Untrusted(h.Forge(t), alg) // a key of the app's algorithm it does not trust
	require.NoError(t, err)
	var kidHeader map[string]any
	if kid, ok := hdr["kid"].(string); ok {
		kidHeader = map[string]any{"kid": kid}
	}
	otherKey, err := jwtforge.Sign(other.WithKID(""), claims, kidHeader)
	require.NoError(t, err)
	unsigned, err := jwtforge.MintUnsigned("none", claims, map[string]any{"kid": hdr["kid"]})
	require.NoError(t, err)
	cases := []struct {
		name string
		auth string
	}{
		{"case=no-authorization", ""},
		{"case=malformed-bearer", "Bearer not-a-jwt"},
		{"case=changed-sub", "Bearer " + changed.Value()},
		{"case=signed-by-another-key", "Bearer " + otherKey.Value()},
		{"case=alg-none", "Bearer " + unsigned.Value()},
	}
	if h.Target.Mode.SharedSecret() { // only the shared secret lets the harness sign an expired token
		expired := maps.Clone(claims)
		expired["iat"], expired["exp"] = time.Now().Add(-90*time.Minute).Unix(), time.Now().Add(-time.Hour).Unix()
		tok, err := jwtforge.Sign(jwtforge.SecretKey(h.Secret, "shared secret"), expired, nil)
		require.NoError(t, err)
		cases = append(cases, struct{ name, auth string }{"case=expired", "Bearer " + tok.Value()})
	}

	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			h := fixtures.Test(t)
			for _, body := range []chatkit.Request{
				{Type: chatkit.TypeThreadsList, Params: map[string]any{}},
				{Type: chatkit.TypeThreadsCreate, Params: map[string]any{"input": chatkit.UserInput("should never be stored")}},
			} {
				auth := tc.auth
				r, err := a.ChatKit.Send(h.Ctx, body, &auth)
				require.NoError(t, err, "%s", body.Type)
				assert.Equal(t, http.StatusUnauthorized, r.Status, "%s: %d %s", body.Type, r.Status, r.Excerpt())
				assert.False(t, r.StreamStarted, "%s: refused before any stream byte", body.Type)
				assert.True(t, strings.HasPrefix(strings.ToLower(r.Header.Get("WWW-Authenticate")), "bearer"),
					"%s: a 401 names the Bearer scheme, got %q", body.Type, r.Header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestChatKit_CORSPreflightAllowsTheAppOriginToSendTheToken sends the browser's preflight for a
// ChatKit POST from the web app's origin (which sends Authorization): the backend must allow that
// origin and the Authorization header, and must not allow a foreign origin.
func TestChatKit_CORSPreflightAllowsTheAppOriginToSendTheToken(t *testing.T) {
	h := fixtures.Test(t)
	origin := func(raw string) string {
		u, err := url.Parse(raw)
		require.NoError(t, err)
		return u.Scheme + "://" + u.Host
	}
	appOrigin := origin(h.Target.App.WebURL)
	if appOrigin == origin(h.Target.App.ChatKitURL) {
		t.Skipf("the ChatKit endpoint is on the app's origin %s: the browser sends no preflight", appOrigin)
	}
	preflight := func(t *testing.T, from string) *http.Response {
		h := h.Sub(t)
		req, err := http.NewRequestWithContext(h.Ctx, http.MethodOptions, h.Target.App.ChatKitURL, nil)
		require.NoError(t, err)
		req.Header.Set("Origin", from)
		req.Header.Set("Access-Control-Request-Method", http.MethodPost)
		req.Header.Set("Access-Control-Request-Headers", "authorization,content-type")
		resp, err := (&http.Client{Timeout: fixtures.RequestTimeout}).Do(req)
		require.NoError(t, err, "OPTIONS %s", h.Target.App.ChatKitURL)
		_ = resp.Body.Close()
		return resp
	}
	t.Run("case=app-origin-allowed", func(t *testing.T) {
		fixtures.Test(t)
		resp := preflight(t, appOrigin)
		assert.True(t, resp.StatusCode >= 200 && resp.StatusCode < 300, "the preflight from the app is answered 2xx, got %d", resp.StatusCode)
		assert.Contains(t, []string{appOrigin, "*"}, resp.Header.Get("Access-Control-Allow-Origin"), "the app's origin is allowed")
		allowed := strings.ToLower(resp.Header.Get("Access-Control-Allow-Headers"))
		assert.True(t, allowed == "*" || slices.Contains(splitList(allowed), "authorization"),
			"the browser may only send the token if Access-Control-Allow-Headers lists Authorization, got %q", allowed)
		methods := strings.ToUpper(resp.Header.Get("Access-Control-Allow-Methods"))
		assert.True(t, methods == "*" || slices.Contains(splitList(methods), "POST"), "POST is allowed, got %q", methods)
	})
	t.Run("case=foreign-origin-not-allowed", func(t *testing.T) {
		fixtures.Test(t)
		resp := preflight(t, "http://attacker.invalid")
		got := resp.Header.Get("Access-Control-Allow-Origin")
		assert.NotEqual(t, "http://attacker.invalid", got, "a foreign origin must not be allowed to call the backend")
		assert.NotEqual(t, "*", got, "a wildcard origin lets any site call the backend with a stolen token")
	})
}

// splitList splits a comma-separated header value into trimmed elements.
func splitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
