package chatkit

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
)

// postgresImage picks the image: $AUTHFLOW_POSTGRES_IMAGE, else postgres:17-alpine when present
// locally, else the locally built authflow.local/postgres:17. Nothing is pulled.
func postgresImage(t *testing.T, ctx context.Context) string {
	t.Helper()
	if img := os.Getenv("AUTHFLOW_POSTGRES_IMAGE"); img != "" {
		return img
	}
	cli, err := client.New(client.FromEnv)
	require.NoError(t, err, "Docker client")
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		t.Fatalf("Docker is unreachable (%v): these tests need a running Docker daemon for Postgres", err)
	}
	for _, img := range []string{"postgres:17-alpine", "authflow.local/postgres:17"} {
		_, err := cli.ImageInspect(ctx, img)
		if err == nil {
			return img
		}
		if !errdefs.IsNotFound(err) {
			t.Fatalf("inspecting image %s: %v", img, err)
		}
	}
	t.Fatalf("no Postgres image: neither postgres:17-alpine nor authflow.local/postgres:17 exists locally " +
		"(build authflow.local/postgres:17 or set AUTHFLOW_POSTGRES_IMAGE)")
	return ""
}

func startPostgres(t *testing.T) *pgxpool.Pool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	img := postgresImage(t, ctx)
	started := time.Now()
	ctr, err := postgres.Run(ctx, img,
		postgres.WithDatabase("chatkit"),
		postgres.WithUsername("chatkit"),
		postgres.WithPassword("chatkit"),
		postgres.BasicWaitStrategies(),
		testcontainers.WithTmpfs(map[string]string{"/var/lib/postgresql/data": "rw"}),
	)
	testcontainers.CleanupContainer(t, ctr)
	require.NoError(t, err, "starting Postgres from image %s (is Docker running?)", img)
	dsn, err := ctr.ConnectionString(ctx, "sslmode=disable")
	require.NoError(t, err)
	pool, err := pgxpool.New(context.Background(), dsn)
	require.NoError(t, err)
	t.Cleanup(pool.Close)
	t.Logf("Postgres %s ready in %s", img, time.Since(started).Round(time.Millisecond))
	return pool
}

// TestWithPostgres runs every database-backed test against one real Postgres container.
func TestWithPostgres(t *testing.T) {
	pool := startPostgres(t)
	store := NewStore(pool)
	require.NoError(t, store.Migrate(ctxT(t)))

	tests := []struct {
		name string
		fn   func(t *testing.T, store *Store)
	}{
		{"schema", testSchema},
		{"threads.create stream", testThreadsCreateStream},
		{"threads.add_user_message stream", testAddUserMessageStream},
		{"deltas are flushed one by one", testDeltasFlushed},
		{"threads.get_by_id", testGetByID},
		{"threads.list paging", testThreadsList},
		{"items.list paging", testItemsList},
		{"threads.update", testThreadsUpdate},
		{"threads.delete", testThreadsDelete},
		{"another user's thread is 404 like a missing one", testForeignThread404},
		{"assistant task commands", testAssistantTasks},
		{"assistant keeps context", testAssistantContext},
		{"jwks mode end to end", testJWKSEndToEnd},
		{"request log", testRequestLog},
		{"fault no-user-scoping", testFaultNoUserScoping},
		{"fault skip-signature-check reads another user's data", testFaultSkipSignatureData},
		{"fault accept-alg-none reads another user's data", testFaultAlgNoneData},
		{"fault slow-reply", testFaultSlowReply},
		{"fault slow-reply honours cancellation", testFaultSlowReplyCancel},
		{"profile sdk", testSDKProfile},
		{"fault not-found-500", testFaultNotFound500},
		{"fault thread-lookup-in-stream", testFaultThreadLookupInStream},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { tc.fn(t, store) })
	}
}

func testSchema(t *testing.T, store *Store) {
	ctx := ctxT(t)
	require.NoError(t, store.Migrate(ctx), "migration must be idempotent")
	rows, err := store.pool.Query(ctx, `SELECT column_name, data_type FROM information_schema.columns
		WHERE table_name = 'tasks' ORDER BY ordinal_position`)
	require.NoError(t, err)
	var cols []string
	for rows.Next() {
		var name, typ string
		require.NoError(t, rows.Scan(&name, &typ))
		cols = append(cols, name+" "+typ)
	}
	require.NoError(t, rows.Err())
	assert.Equal(t, []string{"id bigint", "user_id text", "title text", "completed boolean",
		"created_at timestamp with time zone"}, cols)
	var def string
	require.NoError(t, store.pool.QueryRow(ctx, `SELECT column_default FROM information_schema.columns
		WHERE table_name = 'tasks' AND column_name = 'id'`).Scan(&def))
	assert.Contains(t, def, "nextval", "tasks.id is a bigserial")
	for _, tbl := range []string{"chatkit_threads", "chatkit_items"} {
		var n int
		require.NoError(t, store.pool.QueryRow(ctx, `SELECT count(*) FROM information_schema.tables WHERE table_name = $1`, tbl).Scan(&n))
		assert.Equal(t, 1, n, tbl)
	}
}

var (
	threadIDRe  = regexp.MustCompile(`^thr_[0-9a-f]{16}$`)
	msgIDRe     = regexp.MustCompile(`^msg_[0-9a-f]{16}$`)
	timestampRe = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$`)
)

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }

func testThreadsCreateStream(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	tok := userToken(t, newUser("create"))
	events := e.turn(tok, createReq("Plan my <trip> to Oslo"))

	types := eventTypes(events)
	require.GreaterOrEqual(t, len(types), 10)
	assert.Equal(t, []string{"thread.created", "thread.item.done", "stream_options", "thread.item.added",
		"updated:added"}, types[:5])
	deltas := types[5 : len(types)-4]
	require.GreaterOrEqual(t, len(deltas), 3, "reply must stream in >= 3 deltas: %v", types)
	for _, d := range deltas {
		assert.Equal(t, "updated:text_delta", d)
	}
	assert.Equal(t, []string{"updated:done", "thread.item.done", "thread.updated"}, types[len(types)-3:])

	// thread.created: no title yet, empty items page, metadata {}.
	assert.True(t, strings.HasPrefix(events[0].Raw, `{"type":"thread.created","thread":{"id":"thr_`), events[0].Raw)
	th := obj(events[0].Data["thread"])
	threadID := th["id"].(string)
	assert.Regexp(t, threadIDRe, threadID)
	assert.NotContains(t, th, "title")
	assert.Regexp(t, timestampRe, th["created_at"])
	assert.Equal(t, map[string]any{"type": "active"}, th["status"])
	assert.Equal(t, map[string]any{}, th["metadata"])
	assert.Equal(t, map[string]any{"data": []any{}, "has_more": false}, th["items"])

	// user message
	user := obj(events[1].Data["item"])
	assert.Regexp(t, msgIDRe, user["id"])
	assert.Equal(t, threadID, user["thread_id"])
	assert.Equal(t, "user_message", user["type"])
	assert.Regexp(t, timestampRe, user["created_at"])
	assert.Equal(t, []any{map[string]any{"type": "input_text", "text": "Plan my <trip> to Oslo"}}, user["content"])
	assert.Equal(t, []any{}, user["attachments"])
	assert.Equal(t, map[string]any{}, user["inference_options"])
	assert.Contains(t, events[1].Raw, `"text":"Plan my <trip> to Oslo"`, "no HTML escaping, like the SDK")

	assert.Equal(t, `{"type":"stream_options","stream_options":{"allow_cancel":true}}`, events[2].Raw)

	added := obj(events[3].Data["item"])
	asstID := added["id"].(string)
	assert.Regexp(t, msgIDRe, asstID)
	assert.NotEqual(t, user["id"], asstID)
	assert.Equal(t, "assistant_message", added["type"])
	assert.Equal(t, []any{}, added["content"])
	assert.Equal(t, fmt.Sprintf(`{"type":"thread.item.updated","item_id":"%s","update":{"type":"assistant_message.content_part.added","content_index":0,"content":{"annotations":[],"text":"","type":"output_text"}}}`, asstID), events[4].Raw)

	var streamed string
	for _, ev := range events[5 : len(events)-3] {
		assert.Equal(t, asstID, ev.Data["item_id"])
		u := obj(ev.Data["update"])
		assert.EqualValues(t, 0, u["content_index"])
		streamed += u["delta"].(string)
	}
	final := assistantText(t, events)
	assert.Equal(t, final, streamed, "deltas concatenate to the final text")
	assert.Contains(t, final, `You said "Plan my <trip> to Oslo".`)
	partDone := obj(events[len(events)-3].Data["update"])
	assert.Equal(t, map[string]any{"annotations": []any{}, "text": final, "type": "output_text"}, partDone["content"])
	done := obj(events[len(events)-2].Data["item"])
	assert.Equal(t, asstID, done["id"])
	assert.Equal(t, threadID, done["thread_id"])

	updated := obj(events[len(events)-1].Data["thread"])
	assert.Equal(t, "Plan my <trip> to Oslo", updated["title"])
	assert.Equal(t, threadID, updated["id"])
	assert.Equal(t, map[string]any{"data": []any{}, "has_more": false}, updated["items"])
	assert.True(t, strings.HasPrefix(events[len(events)-1].Raw, `{"type":"thread.updated","thread":{"title":"Plan my <trip> to Oslo","id":"`))

	// Everything is stored.
	got := e.call(tok, typed("threads.get_by_id", map[string]any{"thread_id": threadID}), http.StatusOK)
	items := obj(got["items"])["data"].([]any)
	require.Len(t, items, 2)
	assert.Equal(t, user, items[0])
	assert.Equal(t, done, items[1])
}

func testAddUserMessageStream(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	tok := userToken(t, newUser("add"))
	threadID := e.newThread(tok, "first message")

	quoted := "quoted bit"
	input := msgInput("second message")
	input["quoted_text"] = quoted
	input["inference_options"] = map[string]any{"model": "gpt-test", "tool_choice": map[string]any{"id": "search"}}
	input["content"] = append(input["content"].([]any),
		map[string]any{"type": "input_tag", "id": "ent_1", "text": " with tag", "data": map[string]any{"k": "v"}, "interactive": true})
	events := e.turn(tok, typed("threads.add_user_message", map[string]any{"thread_id": threadID, "input": input}))
	types := eventTypes(events)
	assert.Equal(t, []string{"thread.item.done", "stream_options", "thread.item.added", "updated:added"}, types[:4])
	assert.Equal(t, []string{"updated:done", "thread.item.done"}, types[len(types)-2:], "no thread.updated: the title was already set")
	assert.NotContains(t, types, "thread.created")

	user := obj(events[0].Data["item"])
	assert.Equal(t, threadID, user["thread_id"])
	assert.Equal(t, "quoted bit", user["quoted_text"])
	assert.Equal(t, map[string]any{"model": "gpt-test", "tool_choice": map[string]any{"id": "search"}}, user["inference_options"])
	assert.Equal(t, map[string]any{"type": "input_tag", "id": "ent_1", "text": " with tag", "data": map[string]any{"k": "v"}, "interactive": true},
		user["content"].([]any)[1])
	reply := assistantText(t, events)
	assert.Contains(t, reply, `You said "second message with tag".`)
	assert.Contains(t, reply, `Before that you said "first message".`)

	// unknown thread: 404 JSON, no stream
	status, h, body := e.rawCall(tok, addReq("thr_0000000000000000", "hello"))
	assert.Equal(t, http.StatusNotFound, status)
	assert.Equal(t, `{"error":"Thread not found"}`, body)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
}

func testDeltasFlushed(t *testing.T, store *Store) {
	cfg := hsConfig()
	cfg.DeltaDelay = 40 * time.Millisecond
	e := newEnv(t, cfg, store)
	tok := userToken(t, newUser("flush"))
	events := e.turn(tok, createReq("tell me something reasonably long so that there are many words"))
	var at []time.Time
	for _, ev := range events {
		if ev.updateType() == "assistant_message.content_part.text_delta" {
			at = append(at, ev.At)
		}
	}
	require.GreaterOrEqual(t, len(at), 3)
	spread := at[len(at)-1].Sub(at[0])
	assert.GreaterOrEqual(t, spread, time.Duration(len(at)-1)*30*time.Millisecond,
		"each delta must reach the client when it is sent (flushed), not all at the end")
}

func testGetByID(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	tok := userToken(t, newUser("get"))
	threadID := e.newThread(tok, "msg 1")
	for i := 2; i <= 11; i++ { // 11 turns = 22 items
		e.turn(tok, addReq(threadID, fmt.Sprintf("msg %d", i)))
	}
	got := e.call(tok, typed("threads.get_by_id", map[string]any{"thread_id": threadID}), http.StatusOK)
	assert.Equal(t, "msg 1", got["title"])
	assert.Equal(t, threadID, got["id"])
	assert.Equal(t, map[string]any{}, got["metadata"])
	assert.Equal(t, map[string]any{"type": "active"}, got["status"])
	page := obj(got["items"])
	items := page["data"].([]any)
	require.Len(t, items, 20, "first 20 items")
	assert.Equal(t, true, page["has_more"])
	assert.Equal(t, obj(items[19])["id"], page["after"])
	for i, it := range items { // oldest first: user, assistant, user, ...
		want := "user_message"
		if i%2 == 1 {
			want = "assistant_message"
		}
		assert.Equal(t, want, obj(it)["type"], "item %d", i)
	}
	assert.Equal(t, "msg 1", obj(obj(items[0])["content"].([]any)[0])["text"])
	assert.Equal(t, "msg 10", obj(obj(items[18])["content"].([]any)[0])["text"])

	// The rest through items.list with the cursor.
	rest := e.call(tok, typed("items.list", map[string]any{"thread_id": threadID, "order": "asc", "after": page["after"]}), http.StatusOK)
	assert.Len(t, rest["data"], 2)
	assert.Equal(t, false, rest["has_more"])
	assert.NotContains(t, rest, "after")
}

func testThreadsList(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	user := newUser("list")
	tok := userToken(t, user)
	empty := e.call(tok, typed("threads.list", map[string]any{}), http.StatusOK)
	assert.Equal(t, map[string]any{"data": []any{}, "has_more": false}, empty)

	var ids []string // creation order
	for i := range 5 {
		ids = append(ids, e.newThread(tok, fmt.Sprintf("thread %d", i)))
	}
	all := e.call(tok, typed("threads.list", map[string]any{}), http.StatusOK)
	data := all["data"].([]any)
	require.Len(t, data, 5)
	assert.Equal(t, false, all["has_more"])
	assert.NotContains(t, all, "after", "after is omitted when null")
	for i, th := range data { // default desc: newest first
		assert.Equal(t, ids[4-i], obj(th)["id"])
		assert.Equal(t, fmt.Sprintf("thread %d", 4-i), obj(th)["title"])
		assert.Equal(t, map[string]any{"data": []any{}, "has_more": false}, obj(th)["items"])
	}

	// Paging desc by 2: 4,3 | 2,1 | 0
	var seen []string
	var after any
	for page := 0; ; page++ {
		params := map[string]any{"limit": 2}
		if after != nil {
			params["after"] = after
		}
		got := e.call(tok, typed("threads.list", params), http.StatusOK)
		for _, th := range got["data"].([]any) {
			seen = append(seen, obj(th)["id"].(string))
		}
		if got["has_more"] != true {
			assert.NotContains(t, got, "after")
			break
		}
		after = got["after"]
		assert.Equal(t, seen[len(seen)-1], after, "after = id of the last thread of the page")
		require.Less(t, page, 5)
	}
	assert.Equal(t, []string{ids[4], ids[3], ids[2], ids[1], ids[0]}, seen)

	asc := e.call(tok, typed("threads.list", map[string]any{"order": "asc", "limit": 3, "after": ids[0]}), http.StatusOK)
	ascData := asc["data"].([]any)
	require.Len(t, ascData, 3)
	assert.Equal(t, ids[1], obj(ascData[0])["id"])
	assert.Equal(t, ids[3], obj(ascData[2])["id"])
	assert.Equal(t, true, asc["has_more"])
	assert.Equal(t, ids[3], asc["after"])

	// limit null / 0 = 20, limit is capped at 100
	ctx := ctxT(t)
	for i := range 105 {
		th := threadRow{ID: newID("thr"), UserID: user, CreatedAt: now()}
		it := Item{ID: newID("msg"), ThreadID: th.ID, CreatedAt: now(), Type: itemUserMessage,
			UserContent: []UserContent{{Type: "input_text", Text: fmt.Sprint("bulk ", i)}}}
		require.NoError(t, store.CreateThread(ctx, th, it))
	}
	for _, lim := range []any{nil, 0} {
		got := e.call(tok, typed("threads.list", map[string]any{"limit": lim}), http.StatusOK)
		assert.Len(t, got["data"], 20)
		assert.Equal(t, true, got["has_more"])
	}
	capped := e.call(tok, typed("threads.list", map[string]any{"limit": 9999}), http.StatusOK)
	assert.Len(t, capped["data"], 100)
	assert.Equal(t, true, capped["has_more"])

	// A cursor that is not one of the caller's threads
	other := userToken(t, newUser("list-other"))
	otherThread := e.newThread(other, "not yours")
	for _, cursor := range []string{"thr_0000000000000000", otherThread} {
		got := e.call(tok, typed("threads.list", map[string]any{"after": cursor}), http.StatusBadRequest)
		assert.Equal(t, "Invalid field params.after: unknown cursor", got["error"])
	}
}

func testItemsList(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	tok := userToken(t, newUser("items"))
	threadID := e.newThread(tok, "one")
	e.turn(tok, addReq(threadID, "two"))
	// 4 items: user one, asst, user two, asst
	all := e.call(tok, typed("items.list", map[string]any{"thread_id": threadID}), http.StatusOK)
	data := all["data"].([]any)
	require.Len(t, data, 4)
	assert.Equal(t, false, all["has_more"])
	assert.NotContains(t, all, "after")
	assert.Equal(t, "assistant_message", obj(data[0])["type"], "default order is desc (newest first)")
	assert.Equal(t, "two", obj(obj(data[1])["content"].([]any)[0])["text"])
	assert.Equal(t, "one", obj(obj(data[3])["content"].([]any)[0])["text"])

	p1 := e.call(tok, typed("items.list", map[string]any{"thread_id": threadID, "limit": 3}), http.StatusOK)
	require.Len(t, p1["data"], 3)
	assert.Equal(t, true, p1["has_more"])
	assert.Equal(t, obj(p1["data"].([]any)[2])["id"], p1["after"])
	p2 := e.call(tok, typed("items.list", map[string]any{"thread_id": threadID, "limit": 3, "after": p1["after"]}), http.StatusOK)
	require.Len(t, p2["data"], 1)
	assert.Equal(t, obj(data[3])["id"], obj(p2["data"].([]any)[0])["id"])
	assert.Equal(t, false, p2["has_more"])

	asc := e.call(tok, typed("items.list", map[string]any{"thread_id": threadID, "order": "asc"}), http.StatusOK)
	assert.Equal(t, obj(data[3])["id"], obj(asc["data"].([]any)[0])["id"])

	bad := e.call(tok, typed("items.list", map[string]any{"thread_id": threadID, "after": "msg_0000000000000000"}), http.StatusBadRequest)
	assert.Equal(t, "Invalid field params.after: unknown cursor", bad["error"])
}

func testThreadsUpdate(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	tok := userToken(t, newUser("update"))
	threadID := e.newThread(tok, "old title")
	got := e.call(tok, typed("threads.update", map[string]any{"thread_id": threadID, "title": "New title"}), http.StatusOK)
	assert.Equal(t, "New title", got["title"])
	assert.Equal(t, threadID, got["id"])
	assert.Equal(t, map[string]any{"data": []any{}, "has_more": false}, got["items"])
	again := e.call(tok, typed("threads.get_by_id", map[string]any{"thread_id": threadID}), http.StatusOK)
	assert.Equal(t, "New title", again["title"])
	assert.Len(t, obj(again["items"])["data"], 2)
	// A later message keeps the user's title (no thread.updated).
	events := e.turn(tok, addReq(threadID, "more"))
	assert.NotContains(t, eventTypes(events), "thread.updated")
}

func testThreadsDelete(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	tok := userToken(t, newUser("delete"))
	threadID := e.newThread(tok, "short-lived")
	keep := e.newThread(tok, "keeper")
	status, h, body := e.rawCall(tok, typed("threads.delete", map[string]any{"thread_id": threadID}))
	assert.Equal(t, http.StatusOK, status)
	assert.Equal(t, `{}`, body)
	assert.Equal(t, "application/json", h.Get("Content-Type"))
	e.call(tok, typed("threads.get_by_id", map[string]any{"thread_id": threadID}), http.StatusNotFound)
	var n int
	require.NoError(t, store.pool.QueryRow(ctxT(t), `SELECT count(*) FROM chatkit_items WHERE thread_id = $1`, threadID).Scan(&n))
	assert.Zero(t, n, "items are deleted with their thread")
	list := e.call(tok, typed("threads.list", map[string]any{}), http.StatusOK)
	require.Len(t, list["data"], 1)
	assert.Equal(t, keep, obj(list["data"].([]any)[0])["id"])
	again := e.call(tok, typed("threads.delete", map[string]any{"thread_id": threadID}), http.StatusNotFound)
	assert.Equal(t, "Thread not found", again["error"])
}

func testForeignThread404(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	alice := userToken(t, newUser("alice"))
	bob := userToken(t, newUser("bob"))
	aliceThread := e.newThread(alice, "alice's secret plan")
	missing := "thr_ffffffffffffffff"

	reqs := map[string]func(id string) map[string]any{
		"threads.get_by_id":        func(id string) map[string]any { return typed("threads.get_by_id", map[string]any{"thread_id": id}) },
		"items.list":               func(id string) map[string]any { return typed("items.list", map[string]any{"thread_id": id}) },
		"threads.add_user_message": func(id string) map[string]any { return addReq(id, "let me in") },
		"threads.update": func(id string) map[string]any {
			return typed("threads.update", map[string]any{"thread_id": id, "title": "pwned"})
		},
		"threads.delete": func(id string) map[string]any { return typed("threads.delete", map[string]any{"thread_id": id}) },
	}
	for name, mk := range reqs {
		t.Run(name, func(t *testing.T) {
			e.t = t
			s1, h1, b1 := e.rawCall(bob, mk(aliceThread))
			s2, h2, b2 := e.rawCall(bob, mk(missing))
			assert.Equal(t, http.StatusNotFound, s1)
			assert.Equal(t, `{"error":"Thread not found"}`, b1)
			assert.Equal(t, s2, s1, "foreign and missing ids must look the same")
			assert.Equal(t, b2, b1, "foreign and missing ids must look the same")
			assert.Equal(t, "application/json", h1.Get("Content-Type"), "no stream is started")
			assert.Equal(t, h2.Get("Content-Type"), h1.Get("Content-Type"))
			assert.Equal(t, h2.Get("Content-Length"), h1.Get("Content-Length"))
		})
	}
	e.t = t
	// Alice's thread is untouched.
	got := e.call(alice, typed("threads.get_by_id", map[string]any{"thread_id": aliceThread}), http.StatusOK)
	assert.Equal(t, "alice's secret plan", got["title"])
	assert.Len(t, obj(got["items"])["data"], 2, "bob's message was not added")
	list := e.call(bob, typed("threads.list", map[string]any{}), http.StatusOK)
	assert.Empty(t, list["data"], "bob does not see alice's threads")
}

func listTasks(t *testing.T, store *Store, user string) []Task {
	t.Helper()
	tasks, err := store.ListTasks(ctxT(t), user)
	require.NoError(t, err)
	return tasks
}

func testAssistantTasks(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	alice, bob := newUser("tasks-alice"), newUser("tasks-bob")
	ta, tb := userToken(t, alice), userToken(t, bob)
	threadID := e.newThread(ta, "hi")
	say := func(tok, thread, text string) string {
		t.Helper()
		return assistantText(t, e.turn(tok, addReq(thread, text)))
	}

	assert.Equal(t, "You have no tasks.", say(ta, threadID, "list tasks"))
	assert.Equal(t, `Added task "buy milk".`, say(ta, threadID, "add task buy milk"))
	assert.Equal(t, `Added task "call mom".`, say(ta, threadID, `Add Task "call mom"`))
	tasks := listTasks(t, store, alice)
	require.Len(t, tasks, 2)
	assert.Equal(t, "buy milk", tasks[0].Title)
	assert.False(t, tasks[0].Completed)
	assert.Equal(t, alice, tasks[0].UserID)

	assert.Equal(t, "Your tasks:\n1. buy milk\n2. call mom", say(ta, threadID, "list tasks"))
	assert.Equal(t, `Completed task 2: "call mom".`, say(ta, threadID, "complete task 2"))
	tasks = listTasks(t, store, alice)
	assert.False(t, tasks[0].Completed)
	assert.True(t, tasks[1].Completed)
	assert.Equal(t, "Your tasks:\n1. buy milk\n2. call mom (done)", say(ta, threadID, "List tasks"))
	assert.Equal(t, `Task 2 "call mom" is already completed.`, say(ta, threadID, "complete task 2"))
	assert.Equal(t, "There is no task 9; you have 2 tasks.", say(ta, threadID, "complete task 9"))

	// Bob has his own (empty) list and cannot touch Alice's tasks.
	bobThread := e.newThread(tb, "hello")
	assert.Equal(t, "You have no tasks.", say(tb, bobThread, "list tasks"))
	assert.Equal(t, "You have no tasks.", say(tb, bobThread, "complete task 1"))
	assert.Equal(t, `Added task "bob's task".`, say(tb, bobThread, "add task bob's task"))
	assert.Equal(t, `Completed task 1: "bob's task".`, say(tb, bobThread, "complete task 1"))
	tasks = listTasks(t, store, alice)
	assert.False(t, tasks[0].Completed, "bob's 'complete task 1' must not complete alice's task 1")
	require.Len(t, tasks, 2)
	assert.Len(t, listTasks(t, store, bob), 1)

	// A task command as the very first message of a thread works too.
	events := e.turn(ta, createReq("add task water plants"))
	assert.Equal(t, `Added task "water plants".`, assistantText(t, events))
	assert.Len(t, listTasks(t, store, alice), 3)
}

func testAssistantContext(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	tok := userToken(t, newUser("context"))
	events := e.turn(tok, createReq("My favourite colour is teal"))
	first := assistantText(t, events)
	assert.Contains(t, first, "This is the first message in this thread.")
	assert.Contains(t, first, `"add task <title>"`)
	threadID := obj(events[0].Data["thread"])["id"].(string)
	second := assistantText(t, e.turn(tok, addReq(threadID, "What did I just tell you?")))
	assert.Contains(t, second, `Before that you said "My favourite colour is teal".`)
	third := assistantText(t, e.turn(tok, addReq(threadID, "and now?")))
	assert.Contains(t, third, `Before that you said "What did I just tell you?".`)
	// Another thread has its own context.
	other := assistantText(t, e.turn(tok, createReq("fresh start")))
	assert.Contains(t, other, "This is the first message in this thread.")
}

func testJWKSEndToEnd(t *testing.T, store *Store) {
	j := newJWKSServer(t)
	priv := j.addKey(t, "kid-e2e")
	e := newEnv(t, jwksConfig(j.URL), store)
	user := newUser("jwks")
	tok := edToken(t, priv, "kid-e2e", jwtClaims(user))
	threadID := e.newThread(tok, "hello over EdDSA")
	got := e.call(tok, typed("threads.get_by_id", map[string]any{"thread_id": threadID}), http.StatusOK)
	assert.Equal(t, "hello over EdDSA", got["title"])
	var owner string
	require.NoError(t, store.pool.QueryRow(ctxT(t), `SELECT user_id FROM chatkit_threads WHERE id = $1`, threadID).Scan(&owner))
	assert.Equal(t, user, owner, "identity is the token's sub")
	assert.EqualValues(t, 1, j.fetches.Load())
}

func testRequestLog(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(), store)
	user := newUser("logger")
	tok := userToken(t, user)
	threadID := e.newThread(tok, "log me")
	e.call(tok, typed("threads.get_by_id", map[string]any{"thread_id": threadID}), http.StatusOK)
	e.call(tok, typed("threads.get_by_id", map[string]any{"thread_id": "thr_1"}), http.StatusNotFound)
	e.rawCall("", createReq("x"))
	logs := e.settledLogs()
	lines := strings.Split(strings.TrimSpace(logs), "\n")
	require.Len(t, lines, 4, "one line per request:\n%s", logs)
	assert.Regexp(t, `^POST /chatkit type=threads.create user=`+regexp.QuoteMeta(user)+` status=200 duration=\S+: JWT validation successful for user `+regexp.QuoteMeta(user)+`$`, lines[0])
	assert.Regexp(t, `^POST /chatkit type=threads.get_by_id user=\S+ status=200 `, lines[1])
	assert.Regexp(t, `^POST /chatkit type=threads.get_by_id user=\S+ status=404 `, lines[2])
	assert.Regexp(t, `^POST /chatkit type=- user=- status=401 duration=\S+: JWT validation failed: missing Authorization header$`, lines[3], "a refused request is logged before its body is read")
	assert.NotContains(t, logs, tok)
	assert.NotContains(t, logs, "Bearer")
}

func testFaultNoUserScoping(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(FaultNoUserScoping), store)
	alice, bob := userToken(t, newUser("ns-alice")), userToken(t, newUser("ns-bob"))
	aliceThread := e.newThread(alice, "alice only")

	list := e.call(bob, typed("threads.list", map[string]any{"limit": 100}), http.StatusOK)
	var ids []string
	for _, th := range list["data"].([]any) {
		ids = append(ids, obj(th)["id"].(string))
	}
	assert.Contains(t, ids, aliceThread, "the fault lists other users' threads")
	got := e.call(bob, typed("threads.get_by_id", map[string]any{"thread_id": aliceThread}), http.StatusOK)
	assert.Equal(t, "alice only", got["title"])
	items := e.call(bob, typed("items.list", map[string]any{"thread_id": aliceThread}), http.StatusOK)
	assert.Len(t, items["data"], 2)

	// The same requests without the fault are scoped.
	clean := newEnv(t, hsConfig(), store)
	assert.NotContains(t, fmt.Sprint(clean.call(bob, typed("threads.list", map[string]any{"limit": 100}), http.StatusOK)), aliceThread)
	clean.call(bob, typed("threads.get_by_id", map[string]any{"thread_id": aliceThread}), http.StatusNotFound)
	clean.call(bob, typed("items.list", map[string]any{"thread_id": aliceThread}), http.StatusNotFound)
}

func testFaultSkipSignatureData(t *testing.T, store *Store) {
	victim := newUser("victim")
	clean := newEnv(t, hsConfig(), store)
	clean.newThread(userToken(t, victim), "victim's thread")
	forged := hsToken(t, "attacker-guess-0123456789abcdef", appClaims(victim))

	status, _, _ := clean.rawCall(forged, typed("threads.list", map[string]any{}))
	assert.Equal(t, http.StatusUnauthorized, status)

	e := newEnv(t, hsConfig(FaultSkipSignatureCheck), store)
	list := e.call(forged, typed("threads.list", map[string]any{}), http.StatusOK)
	require.Len(t, list["data"], 1)
	assert.Equal(t, "victim's thread", obj(list["data"].([]any)[0])["title"])
}

func testFaultAlgNoneData(t *testing.T, store *Store) {
	victim := newUser("victim-none")
	clean := newEnv(t, hsConfig(), store)
	clean.newThread(userToken(t, victim), "unsigned access")
	tok := unsignedToken(map[string]any{"alg": "NoNe"}, appClaims(victim))
	status, _, _ := clean.rawCall(tok, typed("threads.list", map[string]any{}))
	assert.Equal(t, http.StatusUnauthorized, status)

	e := newEnv(t, hsConfig(FaultAcceptAlgNone), store)
	list := e.call(tok, typed("threads.list", map[string]any{}), http.StatusOK)
	require.Len(t, list["data"], 1)
	assert.Equal(t, "unsigned access", obj(list["data"].([]any)[0])["title"])
}

// gap returns the time between stream_options and the assistant's thread.item.added.
func replyGap(t *testing.T, events []sseEvent) time.Duration {
	t.Helper()
	var opts, added time.Time
	for _, ev := range events {
		switch {
		case ev.typ() == "stream_options":
			opts = ev.At
		case ev.typ() == "thread.item.added" && added.IsZero():
			added = ev.At
		}
	}
	require.False(t, opts.IsZero())
	require.False(t, added.IsZero())
	return added.Sub(opts)
}

func testFaultSlowReply(t *testing.T, store *Store) {
	cfg := hsConfig(FaultSlowReply)
	cfg.SlowReplyDelay = 1500 * time.Millisecond // the default (6 s) is checked in TestConfigFromEnv
	e := newEnv(t, cfg, store)
	tok := userToken(t, newUser("slow"))
	start := time.Now()
	events := e.turn(tok, createReq("are you there?"))
	assert.GreaterOrEqual(t, time.Since(start), 1500*time.Millisecond)
	assert.GreaterOrEqual(t, replyGap(t, events), 1400*time.Millisecond,
		"the user message and stream_options arrive first, the reply after the delay")
	assert.Contains(t, assistantText(t, events), "are you there?")

	fast := newEnv(t, hsConfig(), store)
	assert.Less(t, replyGap(t, fast.turn(tok, createReq("quick?"))), 500*time.Millisecond)
}

func testFaultSlowReplyCancel(t *testing.T, store *Store) {
	cfg := hsConfig(FaultSlowReply)
	cfg.SlowReplyDelay = 20 * time.Second
	e := newEnv(t, cfg, store)
	user := newUser("slow-cancel")
	tok := userToken(t, user)

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.srv.URL+"/chatkit",
		strings.NewReader(mustJSON(t, createReq("add task never happens"))))
	require.NoError(t, err)
	req.Header.Set("Authorization", "Bearer "+tok)
	start := time.Now()
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	br := bufio.NewReader(resp.Body)
	for seen := 0; seen < 3; { // thread.created, item.done, stream_options
		line, err := br.ReadString('\n')
		require.NoError(t, err)
		if strings.HasPrefix(line, "data: ") {
			seen++
		}
	}
	cancel()
	resp.Body.Close()

	require.Eventually(t, func() bool { return strings.Contains(e.logs.String(), "type=threads.create") },
		3*time.Second, 20*time.Millisecond, "the handler must return soon after the client goes away")
	assert.Less(t, time.Since(start), 5*time.Second)
	var n int
	require.NoError(t, store.pool.QueryRow(ctxT(t), `SELECT count(*) FROM chatkit_items WHERE user_id = $1 AND type = 'assistant_message'`, user).Scan(&n))
	assert.Zero(t, n, "no reply is stored")
	assert.Empty(t, listTasks(t, store, user), "the cancelled command did not run")
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return string(b)
}
