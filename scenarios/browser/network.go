package browser

import (
	"fmt"
	"net/url"
	"strings"
	"sync"
	"time"

	playwright "github.com/mxschmitt/playwright-go"

	"github.com/authflow-e2e/authflow/internal/redact"
)

// Kinds of recorded requests.
const (
	KindAuth    = "auth"    // under the auth base path (sign-up, sign-in, get-session, sign-out, ...)
	KindToken   = "token"   // the token route
	KindChatKit = "chatkit" // the ChatKit endpoint
	KindApp     = "app"     // anything else of the web app (pages, scripts, config)
)

// Request is one recorded request. It never holds a header value, a cookie or a body.
type Request struct {
	Seq    int
	Kind   string
	Method string
	// URL is redacted: query values are replaced.
	URL string
	// Status is the HTTP status, 0 while the request is pending or when it failed.
	Status int
	// Failure is the network error (net::ERR_...), empty otherwise.
	Failure string
	// Bearer reports whether the request carried `Authorization: Bearer <non-empty credential>`.
	Bearer bool
	// Authorization reports whether it carried an Authorization header at all.
	Authorization bool
	// Page is the path of the page that sent it (redacted), empty for non-frame requests.
	Page string
	// At is when the request started, relative to the session's start; Took is until the response
	// headers (or the failure).
	At, Took time.Duration
}

// Done reports whether the request got an answer or failed.
func (r Request) Done() bool { return r.Status != 0 || r.Failure != "" }

// OK reports a 2xx answer.
func (r Request) OK() bool { return r.Status >= 200 && r.Status < 300 }

// String is one line of the network log: "#3 +1.20s chatkit POST <url> -> 200 [bearer] 35ms". (The
// markers are bracketed so that redaction, which masks the word after "Bearer ", leaves them alone.)
func (r Request) String() string {
	res := "pending"
	switch {
	case r.Failure != "":
		res = "failed: " + r.Failure
	case r.Status != 0:
		res = fmt.Sprint(r.Status)
	}
	auth := "[no-authz]"
	switch {
	case r.Bearer:
		auth = "[bearer]"
	case r.Authorization:
		auth = "[other-authz]"
	}
	s := fmt.Sprintf("#%d +%.2fs %-7s %s %s -> %s %s", r.Seq, r.At.Seconds(), r.Kind, r.Method, r.URL, res, auth)
	if r.Done() {
		s += fmt.Sprintf(" %dms", r.Took.Milliseconds())
	}
	if r.Page != "" {
		s += " (page " + r.Page + ")"
	}
	return s
}

// Recorder records the requests of one browser context to the app: the auth base path, the token
// route, the ChatKit endpoint and the web app's other URLs. It is safe for concurrent use.
type Recorder struct {
	app   *App
	start time.Time

	mu      sync.Mutex
	list    []*Request
	byReq   map[playwright.Request]*Request
	changed chan struct{}
}

func newRecorder(app *App, start time.Time) *Recorder {
	return &Recorder{app: app, start: start, byReq: map[playwright.Request]*Request{}, changed: make(chan struct{})}
}

// attach subscribes to the context's network events. The handlers run on playwright-go's dispatch
// goroutine, so they only use getters that need no round trip to the driver.
func (r *Recorder) attach(c playwright.BrowserContext) {
	c.OnRequest(r.onRequest)
	c.OnResponse(func(res playwright.Response) { r.finish(res.Request(), res.Status(), "") })
	c.OnRequestFailed(func(req playwright.Request) {
		msg := "failed"
		if err := req.Failure(); err != nil {
			msg = err.Error()
		}
		r.finish(req, 0, msg)
	})
}

// kind classifies a URL; "" means not the app's.
func (r *Recorder) kind(raw string) string {
	a := r.app
	noQuery, _, _ := strings.Cut(raw, "?")
	noQuery, _, _ = strings.Cut(noQuery, "#")
	switch {
	case noQuery == a.tokenURL:
		return KindToken
	case noQuery == a.chatkitURL || strings.HasPrefix(noQuery, a.chatkitURL+"/"):
		return KindChatKit
	case strings.HasPrefix(noQuery, a.authPrefix) || noQuery+"/" == a.authPrefix:
		return KindAuth
	case noQuery == a.WebOrigin() || strings.HasPrefix(noQuery, a.WebOrigin()+"/"):
		return KindApp
	case strings.HasPrefix(noQuery, a.chatOrigin+"/"):
		return KindChatKit
	}
	return ""
}

func (r *Recorder) onRequest(req playwright.Request) {
	k := r.kind(req.URL())
	if k == "" {
		return
	}
	e := &Request{Kind: k, Method: req.Method(), URL: redact.URLString(req.URL()), At: time.Since(r.start)}
	// Headers() are the provisional request headers, available without a round trip; they include
	// headers set by page scripts (fetch's Authorization).
	if v, ok := req.Headers()["authorization"]; ok {
		e.Authorization = true
		scheme, cred, _ := strings.Cut(strings.TrimSpace(v), " ")
		e.Bearer = strings.EqualFold(scheme, "bearer") && strings.TrimSpace(cred) != ""
	}
	if f := req.Frame(); f != nil {
		if u, err := url.Parse(f.URL()); err == nil && u.Host != "" {
			e.Page = redact.URLString(u.Path + queryOf(u))
		}
	}
	r.mu.Lock()
	e.Seq = len(r.list) + 1
	r.list = append(r.list, e)
	r.byReq[req] = e
	r.notifyLocked()
	r.mu.Unlock()
}

func queryOf(u *url.URL) string {
	if u.RawQuery == "" {
		return ""
	}
	return "?" + u.RawQuery
}

func (r *Recorder) finish(req playwright.Request, status int, failure string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	e, ok := r.byReq[req]
	if !ok || e.Done() {
		return
	}
	e.Status, e.Failure = status, failure
	e.Took = time.Since(r.start) - e.At
	delete(r.byReq, req)
	r.notifyLocked()
}

func (r *Recorder) notifyLocked() {
	close(r.changed)
	r.changed = make(chan struct{})
}

// All returns a copy of every recorded request, in order.
func (r *Recorder) All() []Request { return r.Filter(func(Request) bool { return true }) }

// Filter returns the recorded requests for which keep is true.
func (r *Recorder) Filter(keep func(Request) bool) []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []Request
	for _, e := range r.list {
		if keep(*e) {
			out = append(out, *e)
		}
	}
	return out
}

// Kind returns the requests of one kind (KindAuth, KindToken, KindChatKit, KindApp).
func (r *Recorder) Kind(kind string) []Request {
	return r.Filter(func(e Request) bool { return e.Kind == kind })
}

// ChatKit returns the requests to the ChatKit endpoint.
func (r *Recorder) ChatKit() []Request { return r.Kind(KindChatKit) }

// Auth returns the requests under the auth base path and to the token route.
func (r *Recorder) Auth() []Request {
	return r.Filter(func(e Request) bool { return e.Kind == KindAuth || e.Kind == KindToken })
}

// ServerErrors returns the requests that got a 5xx answer.
func (r *Recorder) ServerErrors() []Request {
	return r.Filter(func(e Request) bool { return e.Status >= 500 })
}

// FailedRequests are ChatKit, token and auth requests that got no answer at all: the browser blocked
// them (CORS: a 500 without Access-Control-Allow-Origin reaches the page as a network error), the
// connection failed, or they were aborted.
func (r *Recorder) FailedRequests() []Request {
	return r.Filter(func(e Request) bool {
		return e.Failure != "" && (e.Kind == KindChatKit || e.Kind == KindToken || e.Kind == KindAuth)
	})
}

// WaitSettled waits until every recorded request matching keep (nil: all) has an answer or failed,
// and nothing new started for quiet. It returns the still pending ones when timeout passes first.
func (r *Recorder) WaitSettled(keep func(Request) bool, quiet, timeout time.Duration) []Request {
	if keep == nil {
		keep = func(Request) bool { return true }
	}
	deadline := time.Now().Add(timeout)
	for {
		_, pending, changed := r.waitNonePending(keep, deadline)
		if pending != nil {
			return pending
		}
		select {
		case <-changed: // something changed: look again
		case <-time.After(quiet):
			return nil
		case <-time.After(time.Until(deadline)):
			return nil
		}
	}
}

// waitNonePending waits until no recorded request matching keep is pending and returns the number of
// requests recorded then and the channel that closes on the next change; at the deadline it returns
// the pending ones.
func (r *Recorder) waitNonePending(keep func(Request) bool, deadline time.Time) (int, []Request, <-chan struct{}) {
	for {
		r.mu.Lock()
		ch := r.changed
		var pending []Request
		for _, e := range r.list {
			if keep(*e) && !e.Done() {
				pending = append(pending, *e)
			}
		}
		n := len(r.list)
		r.mu.Unlock()
		if len(pending) == 0 {
			return n, nil, ch
		}
		select {
		case <-ch:
		case <-time.After(time.Until(deadline)):
			return n, pending, ch
		}
	}
}

// WaitFor waits until a recorded request matches ok, and returns it.
func (r *Recorder) WaitFor(ok func(Request) bool, timeout time.Duration) (Request, bool) {
	deadline := time.After(timeout)
	for {
		r.mu.Lock()
		ch := r.changed
		for _, e := range r.list {
			if ok(*e) {
				found := *e
				r.mu.Unlock()
				return found, true
			}
		}
		r.mu.Unlock()
		select {
		case <-ch:
		case <-deadline:
			return Request{}, false
		}
	}
}

// String is the network log, one request per line (redacted).
func (r *Recorder) String() string {
	var b strings.Builder
	for _, e := range r.All() {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}
