package chatkit_test

import (
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
)

// fakeChatKit imitates a ChatKit backend as the official SDK serves it (openai/chatkit-python,
// chatkit/server.py and chatkit/types.py):
// Bearer HS256 auth before any stream byte, SDK event order, user-scoped threads, and
// switchable misbehaviour (mode) for the failure paths.
type fakeChatKit struct {
	srv    *httptest.Server
	secret secret.Secret
	// mode selects a misbehaviour of streaming answers:
	//   cut-mid-event       abort the connection inside an event
	//   cut-between-events  abort the connection after three whole events
	//   clean-mid-event     end the body cleanly after a data line without its blank line
	//   error-event         send an in-band error event instead of a reply
	//   json-for-stream     answer 200 application/json
	//   sdk-missing-thread  on an unknown thread, send 200 SSE headers then abort
	//   in-band-refusal     on an unknown thread, send 200 SSE with only an error event
	//   fancy-framing       CRLF, event:/id: lines, comments, data: without space
	mode string
	// loc is the server's local zone for its naive timestamps (nil: UTC).
	loc *time.Location

	mu      sync.Mutex
	seq     int
	threads map[string]*fThread
	headers []http.Header
}

type fThread struct {
	id, owner, title string
	created          time.Time
	items            []map[string]any
}

func newFakeChatKit() *fakeChatKit {
	f := &fakeChatKit{secret: secret.New("fake-chatkit-secret-0123456789abcdef"), threads: map[string]*fThread{}}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeChatKit) Close()      { f.srv.Close() }
func (f *fakeChatKit) URL() string { return f.srv.URL + "/chatkit" }

func (f *fakeChatKit) token(sub string) secret.Secret {
	t, err := jwtforge.MintHS256(f.secret, jwtforge.AccessClaims(jwtforge.Subject{ID: sub, Email: sub + "@authflow.test", Name: sub}, time.Now()), nil)
	if err != nil {
		panic(err)
	}
	return t
}

func (f *fakeChatKit) lastHeader() http.Header {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.headers[len(f.headers)-1]
}

// naive writes the SDK's zone-less timestamps: local time of the server's zone (datetime.now()).
func (f *fakeChatKit) naive(t time.Time) string {
	loc := f.loc
	if loc == nil {
		loc = time.UTC
	}
	return t.In(loc).Format("2006-01-02T15:04:05.000000")
}

func (f *fakeChatKit) nextID(prefix string) string {
	f.seq++
	return fmt.Sprintf("%s_%08x", prefix, f.seq)
}

func jsonError(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]string{"error": msg})
}

func (f *fakeChatKit) auth(w http.ResponseWriter, r *http.Request) (string, bool) {
	h := r.Header.Values("Authorization")
	if len(h) == 0 {
		w.Header().Set("WWW-Authenticate", "Bearer")
		jsonError(w, 401, "Missing Authorization header")
		return "", false
	}
	tok, ok := strings.CutPrefix(h[0], "Bearer ")
	claims := jwt.MapClaims{}
	if ok && len(h) == 1 {
		_, err := jwt.ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return []byte(f.secret.Value()), nil },
			jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
		ok = err == nil
	}
	sub, _ := claims["sub"].(string)
	if !ok || sub == "" {
		w.Header().Set("WWW-Authenticate", "Bearer")
		jsonError(w, 401, "Invalid authentication credentials")
		return "", false
	}
	return sub, true
}

func (f *fakeChatKit) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.headers = append(f.headers, r.Header.Clone())
	f.mu.Unlock()
	if r.Method != http.MethodPost || r.URL.Path != "/chatkit" {
		http.NotFound(w, r)
		return
	}
	user, ok := f.auth(w, r)
	if !ok {
		return
	}
	body, _ := io.ReadAll(r.Body)
	var req struct {
		Type   string `json:"type"`
		Params struct {
			ThreadID string `json:"thread_id"`
			Title    string `json:"title"`
			Limit    int    `json:"limit"`
			Order    string `json:"order"`
			After    string `json:"after"`
			Input    *struct {
				Content []struct {
					Text string `json:"text"`
				} `json:"content"`
				Attachments   []string       `json:"attachments"`
				InferenceOpts map[string]any `json:"inference_options"`
			} `json:"input"`
		} `json:"params"`
	}
	if err := json.Unmarshal(body, &req); err != nil {
		jsonError(w, 400, "Invalid request body")
		return
	}
	if req.Type == "boom-close" {
		uvicorn500(w)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	p := req.Params
	thread := f.threads[p.ThreadID]
	if thread != nil && thread.owner != user {
		thread = nil // another user's thread looks exactly like a missing one
	}
	switch req.Type {
	case "threads.create", "threads.add_user_message":
		if p.Input == nil || p.Input.Attachments == nil || p.Input.InferenceOpts == nil || len(p.Input.Content) == 0 {
			jsonError(w, 400, "input.content, attachments and inference_options are required")
			return
		}
		created := false
		if req.Type == "threads.create" {
			thread = &fThread{id: f.nextID("thr"), owner: user, created: time.Now()}
			f.threads[thread.id] = thread
			created = true
		} else if thread == nil {
			if f.mode == "sdk-missing-thread" {
				w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
				w.WriteHeader(200)
				w.(http.Flusher).Flush()
				panic(http.ErrAbortHandler)
			}
			if f.mode == "in-band-refusal" {
				w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
				_, _ = io.WriteString(w, `data: {"type":"error","code":"stream.error","allow_retry":false}`+"\n\n")
				return
			}
			jsonError(w, 404, "Thread not found")
			return
		}
		f.stream(w, thread, p.Input.Content[0].Text, created)
	case "threads.get_by_id":
		if thread == nil {
			jsonError(w, 404, "Thread not found")
			return
		}
		items := thread.items
		more := len(items) > 20
		if more {
			items = items[:20]
		}
		writeJSON(w, f.threadJSON(thread, items, more))
	case "threads.list":
		var mine []*fThread
		for _, t := range f.threads {
			if t.owner == user {
				mine = append(mine, t)
			}
		}
		slices.SortFunc(mine, func(a, b *fThread) int { return strings.Compare(a.id, b.id) })
		var data []any
		page, more := paginate(len(mine), func(i int) string { return mine[i].id }, p.Limit, p.Order, p.After)
		for _, i := range page {
			data = append(data, f.threadJSON(mine[i], nil, false))
		}
		writePage(w, data, more, page, func(i int) string { return mine[i].id })
	case "items.list":
		if thread == nil {
			writeJSON(w, map[string]any{"data": []any{}, "has_more": false})
			return
		}
		page, more := paginate(len(thread.items), func(i int) string { return thread.items[i]["id"].(string) }, p.Limit, p.Order, p.After)
		var data []any
		for _, i := range page {
			data = append(data, thread.items[i])
		}
		writePage(w, data, more, page, func(i int) string { return thread.items[i]["id"].(string) })
	case "threads.update":
		if thread == nil {
			jsonError(w, 404, "Thread not found")
			return
		}
		thread.title = p.Title
		writeJSON(w, f.threadJSON(thread, nil, false))
	case "threads.delete":
		if thread != nil {
			delete(f.threads, thread.id)
		}
		writeJSON(w, map[string]any{})
	case "boom":
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(500)
		_, _ = io.WriteString(w, "Internal Server Error")
	case "text-200":
		w.Header().Set("Content-Type", "text/html")
		_, _ = io.WriteString(w, "<html>login</html>")
	default:
		jsonError(w, 400, "unknown request type")
	}
}

// uvicorn500 answers like uvicorn after an unhandled exception: 500 text/plain, no Connection:
// close, and then the connection is closed. To lose the race every time, it waits (up to 2 s) for
// the client's next request on the connection and then resets it.
func uvicorn500(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Content-Length", "21")
	w.WriteHeader(500)
	_, _ = io.WriteString(w, "Internal Server Error")
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	conn, buf, err := rc.Hijack()
	if err != nil {
		panic(err)
	}
	_ = buf.Flush()
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, _ = conn.Read(make([]byte, 1))
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(v)
}

func writePage(w http.ResponseWriter, data []any, more bool, page []int, id func(int) string) {
	if data == nil {
		data = []any{}
	}
	out := map[string]any{"data": data, "has_more": more}
	if more {
		out["after"] = id(page[len(page)-1])
	}
	writeJSON(w, out)
}

// paginate returns the indexes of one page (ids sort in creation order).
func paginate(n int, id func(int) string, limit int, order, after string) ([]int, bool) {
	if limit <= 0 {
		limit = 20
	}
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	if order != "asc" {
		slices.Reverse(idx)
	}
	if after != "" {
		for k, i := range idx {
			if id(i) == after {
				idx = idx[k+1:]
				break
			}
		}
	}
	if len(idx) > limit {
		return idx[:limit], true
	}
	return idx, false
}

func (f *fakeChatKit) threadJSON(t *fThread, items []map[string]any, more bool) map[string]any {
	if items == nil {
		items = []map[string]any{}
	}
	m := map[string]any{"id": t.id, "created_at": f.naive(t.created), "status": map[string]string{"type": "active"},
		"metadata": map[string]any{}, "items": map[string]any{"data": items, "has_more": more}}
	if t.title != "" {
		m["title"] = t.title
	}
	return m
}

func reply(text string) string {
	if title, ok := strings.CutPrefix(text, "add task "); ok {
		return fmt.Sprintf("Added task %q.", title)
	}
	return "You said: " + text
}

// stream writes the SDK's event sequence for one turn.
func (f *fakeChatKit) stream(w http.ResponseWriter, t *fThread, text string, created bool) {
	if f.mode == "json-for-stream" {
		writeJSON(w, map[string]any{"ok": true})
		return
	}
	w.Header().Set("Content-Type", "text/event-stream; charset=utf-8")
	w.Header().Set("Cache-Control", "no-cache")
	w.WriteHeader(200)
	fl := w.(http.Flusher)
	n := 0
	send := func(v any) {
		b, _ := json.Marshal(v)
		if f.mode == "fancy-framing" {
			fmt.Fprintf(w, ": comment\r\nevent: message\r\nid: %d\r\ndata:%s\r\n\r\n", n, b)
		} else {
			fmt.Fprintf(w, "data: %s\n\n", b)
		}
		fl.Flush()
		n++
		if f.mode == "cut-between-events" && n == 3 {
			panic(http.ErrAbortHandler)
		}
	}
	now := f.naive(time.Now())
	if created {
		send(map[string]any{"type": "thread.created", "thread": f.threadJSON(t, nil, false)})
	}
	user := map[string]any{"id": f.nextID("msg"), "thread_id": t.id, "created_at": now, "type": "user_message",
		"content": []map[string]string{{"type": "input_text", "text": text}}, "attachments": []any{}, "inference_options": map[string]any{}}
	t.items = append(t.items, user)
	send(map[string]any{"type": "thread.item.done", "item": user})
	send(map[string]any{"type": "stream_options", "stream_options": map[string]bool{"allow_cancel": true}})
	if f.mode == "error-event" {
		send(map[string]any{"type": "error", "code": "custom", "message": "Quota exceeded", "allow_retry": false})
		return
	}
	id := f.nextID("msg")
	send(map[string]any{"type": "thread.item.added", "item": map[string]any{"id": id, "thread_id": t.id, "created_at": now,
		"type": "assistant_message", "content": []any{}}})
	send(map[string]any{"type": "thread.item.updated", "item_id": id, "update": map[string]any{
		"type": "assistant_message.content_part.added", "content_index": 0,
		"content": map[string]any{"type": "output_text", "text": "", "annotations": []any{}}}})
	if f.mode == "cut-mid-event" {
		_, _ = io.WriteString(w, `data: {"type":"thread.item.updated","item_id":"`+id+`","upd`)
		fl.Flush()
		panic(http.ErrAbortHandler)
	}
	if f.mode == "clean-mid-event" {
		_, _ = io.WriteString(w, `data: {"type":"thread.item.updated","item_id":"`+id+`"}`+"\n")
		return
	}
	full := reply(text)
	for _, d := range splitN(full, 3) {
		send(map[string]any{"type": "thread.item.updated", "item_id": id, "update": map[string]any{
			"type": "assistant_message.content_part.text_delta", "content_index": 0, "delta": d}})
	}
	part := map[string]any{"type": "output_text", "text": full, "annotations": []any{}}
	send(map[string]any{"type": "thread.item.updated", "item_id": id, "update": map[string]any{
		"type": "assistant_message.content_part.done", "content_index": 0, "content": part}})
	asst := map[string]any{"id": id, "thread_id": t.id, "created_at": now, "type": "assistant_message", "content": []any{part}}
	t.items = append(t.items, asst)
	send(map[string]any{"type": "thread.item.done", "item": asst})
	send(map[string]any{"type": "some.future.event", "whatever": []int{1}})
	if created {
		t.title = text
		send(map[string]any{"type": "thread.updated", "thread": f.threadJSON(t, nil, false)})
	}
}

func splitN(s string, n int) []string {
	r := []rune(s)
	var out []string
	size := (len(r) + n - 1) / n
	for len(r) > 0 {
		k := min(size, len(r))
		out = append(out, string(r[:k]))
		r = r[k:]
	}
	return out
}
