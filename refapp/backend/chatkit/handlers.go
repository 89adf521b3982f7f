package chatkit

import (
	"context"
	"errors"
	"net/http"
	"time"
)

func (s *Server) dispatch(req *request, env envelope) {
	var apiErr *apiError
	switch env.Type {
	case typeThreadsCreate:
		apiErr = s.threadsCreate(req, env)
	case typeAddUserMessage:
		apiErr = s.addUserMessage(req, env)
	case typeThreadsGetByID:
		apiErr = s.threadsGetByID(req, env)
	case typeThreadsList:
		apiErr = s.threadsList(req, env)
	case typeItemsList:
		apiErr = s.itemsList(req, env)
	case typeThreadsUpdate:
		apiErr = s.threadsUpdate(req, env)
	case typeThreadsDelete:
		apiErr = s.threadsDelete(req, env)
	}
	switch {
	case apiErr == nil:
	case apiErr.uvicorn:
		writeUvicorn500(req.w)
	default:
		writeError(req.w, apiErr.status, apiErr.msg)
	}
}

var errThreadNotFound = &apiError{status: http.StatusNotFound, msg: "Thread not found"}

// internal logs err (never request headers) and answers 500.
func (s *Server) internal(req *request, err error) *apiError {
	s.cfg.Logger.Printf("internal error in %s for user %s: %v", logSafe(req.typ), logSafe(req.user), err)
	return &apiError{status: http.StatusInternalServerError, msg: "Internal server error"}
}

// storeError turns a store error into the answer: a missing (or foreign) thread is 404, an unknown
// paging cursor 400, anything else 500 with a log line.
func (s *Server) storeError(req *request, err error) *apiError {
	switch {
	case errors.Is(err, ErrNotFound) && s.cfg.Faults[FaultNotFound500]:
		s.cfg.Logger.Printf("unhandled NotFoundError in %s for user %s: thread not found", logSafe(req.typ), logSafe(req.user))
		return &apiError{status: http.StatusInternalServerError, msg: "Internal Server Error", uvicorn: true}
	case errors.Is(err, ErrNotFound):
		return errThreadNotFound
	case errors.Is(err, errBadCursor):
		return badRequest("Invalid field params.after: unknown cursor")
	default:
		return s.internal(req, err)
	}
}

// readOwner is the user filter for reads; the no-user-scoping fault drops it ("" = any user).
func (s *Server) readOwner(req *request) string {
	if s.cfg.Faults[FaultNoUserScoping] {
		return ""
	}
	return req.user
}

func (s *Server) threadsCreate(req *request, env envelope) *apiError {
	var p struct {
		Input *messageIn `json:"input"`
	}
	if e := decodeParams(env.Params, &p); e != nil {
		return e
	}
	th := threadRow{ID: newID("thr"), UserID: req.user, CreatedAt: now()}
	item, e := p.Input.userItem(th.ID)
	if e != nil {
		return e
	}
	ctx := req.r.Context()
	if err := s.store.CreateThread(ctx, th, item); err != nil {
		return s.internal(req, err)
	}
	st := startStream(req.w)
	if st.send(threadEvent{Type: "thread.created", Thread: th.wire(Page[Item]{})}) != nil {
		return nil
	}
	s.respond(req, st, th, item, "")
	return nil
}

func (s *Server) addUserMessage(req *request, env envelope) *apiError {
	var p struct {
		ThreadID *string    `json:"thread_id"`
		Input    *messageIn `json:"input"`
	}
	if e := decodeParams(env.Params, &p); e != nil {
		return e
	}
	threadID, e := requireThreadID(p.ThreadID)
	if e != nil {
		return e
	}
	item, e := p.Input.userItem(threadID)
	if e != nil {
		return e
	}
	ctx := req.r.Context()
	var st *stream
	if s.cfg.Faults[FaultThreadLookupInStream] {
		st = startStream(req.w) // as the SDK's process(): the stream starts, then the thread is loaded
	}
	// The thread is loaded (and owned) before any stream byte, so a foreign or missing thread is a 404.
	th, err := s.store.GetThread(ctx, req.user, threadID)
	if err != nil && st != nil {
		s.cfg.Logger.Printf("stream aborted in %s for user %s: thread not found", logSafe(req.typ), logSafe(req.user))
		panic(http.ErrAbortHandler) // the connection is cut: 0 body bytes, no error event
	}
	if err != nil {
		return s.storeError(req, err)
	}
	var prevText string
	prev, err := s.store.LastUserMessage(ctx, th.ID)
	if err != nil {
		return s.internal(req, err)
	}
	if prev != nil {
		prevText = prev.Text()
	}
	if err := s.store.AddItem(ctx, req.user, item); err != nil {
		return s.internal(req, err)
	}
	if st == nil {
		st = startStream(req.w)
	}
	s.respond(req, st, th, item, prevText)
	return nil
}

// respond streams the rest of a turn: the user item, stream_options, the assistant message and,
// when the thread got its title, thread.updated.
func (s *Server) respond(req *request, st *stream, th threadRow, userItem Item, prevText string) {
	ctx := req.r.Context()
	if st.send(itemEvent{Type: "thread.item.done", Item: userItem}) != nil {
		return
	}
	var opts streamOptionsEvent
	opts.Type = "stream_options"
	opts.StreamOptions.AllowCancel = true
	if st.send(opts) != nil {
		return
	}
	if s.cfg.Faults[FaultSlowReply] {
		if !sleepCtx(ctx, s.cfg.SlowReplyDelay) {
			return
		}
	}

	var tasks taskStore = s.store
	if s.cfg.NoTasks {
		tasks = nil
	}
	text, err := assistantReply(ctx, tasks, req.user, userItem.Text(), prevText)
	if err != nil {
		s.streamFailed(req, st, err)
		return
	}
	asst := Item{ID: newID("msg"), ThreadID: th.ID, CreatedAt: now(), Type: itemAssistantMessage, AssistantContent: []OutputText{}}
	if st.send(itemEvent{Type: "thread.item.added", Item: asst}) != nil {
		return
	}
	if st.send(itemUpdatedEvent{Type: "thread.item.updated", ItemID: asst.ID, Update: contentPartUpdate{
		Type: "assistant_message.content_part.added", Content: outputText(""),
	}}) != nil {
		return
	}
	var sent string
	for i, d := range splitDeltas(text) {
		if i > 0 && s.cfg.DeltaDelay > 0 && !sleepCtx(ctx, s.cfg.DeltaDelay) {
			s.savePartial(req, asst, sent)
			return
		}
		if st.send(itemUpdatedEvent{Type: "thread.item.updated", ItemID: asst.ID, Update: textDeltaUpdate{
			Type: "assistant_message.content_part.text_delta", Delta: d,
		}}) != nil {
			s.savePartial(req, asst, sent)
			return
		}
		sent += d
	}
	if st.send(itemUpdatedEvent{Type: "thread.item.updated", ItemID: asst.ID, Update: contentPartUpdate{
		Type: "assistant_message.content_part.done", Content: outputText(text),
	}}) != nil {
		s.savePartial(req, asst, sent)
		return
	}
	asst.AssistantContent = []OutputText{outputText(text)}
	// Stored before done is sent, so a read right after the stream sees it.
	if err := s.store.AddItem(context.WithoutCancel(ctx), req.user, asst); err != nil {
		s.streamFailed(req, st, err)
		return
	}
	if st.send(itemEvent{Type: "thread.item.done", Item: asst}) != nil {
		return
	}
	if th.Title == nil {
		if title := titleFrom(userItem.Text()); title != "" {
			updated, err := s.store.SetTitle(ctx, req.user, th.ID, title)
			if err != nil {
				s.streamFailed(req, st, err)
				return
			}
			_ = st.send(threadEvent{Type: "thread.updated", Thread: updated.wire(Page[Item]{})})
		}
	}
}

// savePartial keeps the assistant text already streamed when the client went away (as the SDK does).
func (s *Server) savePartial(req *request, asst Item, sent string) {
	if sent == "" {
		return
	}
	asst.AssistantContent = []OutputText{outputText(sent)}
	if err := s.store.AddItem(context.WithoutCancel(req.r.Context()), req.user, asst); err != nil {
		s.cfg.Logger.Printf("saving partial reply for user %s: %v", logSafe(req.user), err)
	}
}

// streamFailed ends a started stream with an in-band error event.
func (s *Server) streamFailed(req *request, st *stream, err error) {
	if req.r.Context().Err() != nil {
		return // client gone
	}
	s.cfg.Logger.Printf("stream error in %s for user %s: %v", logSafe(req.typ), logSafe(req.user), err)
	_ = st.send(errorEvent{Type: "error", Code: "stream.error", AllowRetry: true})
}

func sleepCtx(ctx context.Context, d time.Duration) bool {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

func (s *Server) threadsGetByID(req *request, env envelope) *apiError {
	var p struct {
		ThreadID *string `json:"thread_id"`
	}
	if e := decodeParams(env.Params, &p); e != nil {
		return e
	}
	threadID, e := requireThreadID(p.ThreadID)
	if e != nil {
		return e
	}
	ctx := req.r.Context()
	th, err := s.store.GetThread(ctx, s.readOwner(req), threadID)
	if err != nil {
		return s.storeError(req, err)
	}
	items, err := s.store.ListItems(ctx, th.ID, pageParams{Limit: getByIDItemsInPage})
	if err != nil {
		return s.internal(req, err)
	}
	writeJSON(req.w, http.StatusOK, th.wire(items))
	return nil
}

func (s *Server) threadsList(req *request, env envelope) *apiError {
	var p pageIn
	if e := decodeParams(env.Params, &p); e != nil {
		return e
	}
	pp, e := p.params(true)
	if e != nil {
		return e
	}
	page, err := s.store.ListThreads(req.r.Context(), s.readOwner(req), pp)
	if err != nil {
		return s.storeError(req, err)
	}
	out := Page[Thread]{Data: make([]Thread, 0, len(page.Data)), HasMore: page.HasMore, After: page.After}
	for _, t := range page.Data {
		out.Data = append(out.Data, t.wire(Page[Item]{}))
	}
	writeJSON(req.w, http.StatusOK, out)
	return nil
}

func (s *Server) itemsList(req *request, env envelope) *apiError {
	var p struct {
		ThreadID *string `json:"thread_id"`
		pageIn
	}
	if e := decodeParams(env.Params, &p); e != nil {
		return e
	}
	threadID, e := requireThreadID(p.ThreadID)
	if e != nil {
		return e
	}
	pp, e := p.params(true)
	if e != nil {
		return e
	}
	ctx := req.r.Context()
	th, err := s.store.GetThread(ctx, s.readOwner(req), threadID)
	if errors.Is(err, ErrNotFound) && s.cfg.Profile == ProfileSDK {
		// The SDK's store answers a thread it cannot see with an empty page (it never loads it).
		writeJSON(req.w, http.StatusOK, Page[Item]{Data: []Item{}})
		return nil
	}
	if err != nil {
		return s.storeError(req, err)
	}
	page, err := s.store.ListItems(ctx, th.ID, pp)
	if err != nil {
		return s.storeError(req, err)
	}
	writeJSON(req.w, http.StatusOK, page)
	return nil
}

func (s *Server) threadsUpdate(req *request, env envelope) *apiError {
	var p struct {
		ThreadID *string `json:"thread_id"`
		Title    *string `json:"title"`
	}
	if e := decodeParams(env.Params, &p); e != nil {
		return e
	}
	threadID, e := requireThreadID(p.ThreadID)
	if e != nil {
		return e
	}
	if p.Title == nil {
		return badRequest("Missing required field: params.title")
	}
	if len([]rune(*p.Title)) > maxTitleRunes {
		return badRequest("Invalid field params.title: at most %d characters", maxTitleRunes)
	}
	th, err := s.store.SetTitle(req.r.Context(), req.user, threadID, *p.Title)
	if err != nil {
		return s.storeError(req, err)
	}
	writeJSON(req.w, http.StatusOK, th.wire(Page[Item]{}))
	return nil
}

func (s *Server) threadsDelete(req *request, env envelope) *apiError {
	var p struct {
		ThreadID *string `json:"thread_id"`
	}
	if e := decodeParams(env.Params, &p); e != nil {
		return e
	}
	threadID, e := requireThreadID(p.ThreadID)
	if e != nil {
		return e
	}
	err := s.store.DeleteThread(req.r.Context(), req.user, threadID)
	if errors.Is(err, ErrNotFound) && s.cfg.Profile == ProfileSDK {
		err = nil // the SDK's delete_thread of a thread the caller cannot see does nothing
	}
	if err != nil {
		return s.storeError(req, err)
	}
	writeJSON(req.w, http.StatusOK, struct{}{})
	return nil
}
