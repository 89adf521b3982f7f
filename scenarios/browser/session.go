package browser

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	playwright "github.com/mxschmitt/playwright-go"

	"github.com/authflow-e2e/authflow/internal/redact"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
)

// Defaults of [SessionOptions].
const (
	// DefaultTimeout bounds one action or assertion: a page of the reference app is interactive in
	// ~0.3 s and a chat reply streams in < 1 s, ~3 s on a loaded 2-core machine running 12 contexts.
	DefaultTimeout = 15 * time.Second
	// artifactTimeout bounds the screenshot and the trace export of a failed test.
	artifactTimeout = 20 * time.Second
)

// SessionOptions configure a [Session].
type SessionOptions struct {
	// Name labels the session in messages when a test has more than one ("user-b").
	Name string
	// ArtifactsDir is where a failed test's artifacts go (replaced on failure, removed on success);
	// empty keeps none.
	ArtifactsDir string
	// Timeout is the default action, navigation and assertion timeout (DefaultTimeout).
	Timeout time.Duration
	// FailureFiles returns extra text files (name -> content) to write with the artifacts of a failed
	// test, e.g. the services' last log lines. They are redacted like everything else.
	FailureFiles func() map[string]string
	// NoTrace turns tracing off (it is on by default and kept only on failure).
	NoTrace bool
	// ClientAddrHeader and ClientAddr: every request of the context to the web app's origin carries
	// ClientAddr in that header (the client address the app's rate limiter counts), added by a
	// loopback proxy as a proxy in front of the app would (see addrProxy); the page sees no change.
	ClientAddrHeader, ClientAddr string
}

// Session is one browser context for one test: its first page, network recorder, console, guard and
// failure artifacts. Create it with [Browser.NewSession]; its cleanup runs when the test ends.
type Session struct {
	App     *App
	Context playwright.BrowserContext
	// Page is the context's first page.
	Page    playwright.Page
	Net     *Recorder
	Console *Console
	// Expect makes web-first assertions with the session's timeout.
	Expect playwright.PlaywrightAssertions

	t       testing.TB
	opts    SessionOptions
	start   time.Time
	timeout time.Duration

	mu      sync.Mutex
	tracing bool
	secrets map[string]bool
	watched map[string]bool
	seen    map[string]bool
	waived  map[string]bool // problems a self-test has looked at
	proxy   *addrProxy      // the client-address proxy, when the session has an address
}

// NewSession opens a fresh browser context and page for t, with tracing (screenshots + snapshots),
// the network recorder and the console attached. When t ends, the session's cleanup
//  1. fails t on uncaught page errors and 5xx answers of the app (the guard),
//  2. if t failed, writes the artifacts to opts.ArtifactsDir and logs where they are, else discards
//     the trace,
//  3. closes the context.
func (b *Browser) NewSession(t testing.TB, app *App, opts SessionOptions) (*Session, error) {
	t.Helper()
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	s := &Session{
		App: app, t: t, opts: opts, start: time.Now(), timeout: opts.Timeout,
		secrets: map[string]bool{}, watched: map[string]bool{}, seen: map[string]bool{}, waived: map[string]bool{},
	}
	copts := playwright.BrowserNewContextOptions{
		Locale:     playwright.String("en-US"),
		TimezoneId: playwright.String("UTC"),
		Viewport:   &playwright.Size{Width: 1280, Height: 800},
	}
	if opts.ClientAddrHeader != "" && opts.ClientAddr != "" {
		u, err := url.Parse(app.WebOrigin())
		if err != nil {
			return nil, fmt.Errorf("browser: web origin: %w", err)
		}
		p, err := startAddrProxy(u.Host, opts.ClientAddrHeader, opts.ClientAddr)
		if err != nil {
			return nil, fmt.Errorf("browser: start the client-address proxy: %w", err)
		}
		s.proxy = p
		// "<-loopback>" removes Chromium's implicit bypass of localhost, so the web app's traffic goes
		// through; the ChatKit origin, when it is another one, bypasses the proxy: its answers are
		// long streams, and nothing is added to them anyway.
		bypass := "<-loopback>"
		if ck, err := url.Parse(app.chatOrigin); err == nil && ck.Host != "" && !strings.EqualFold(ck.Host, u.Host) {
			bypass += "," + ck.Host
		}
		copts.Proxy = &playwright.Proxy{Server: p.url, Bypass: playwright.String(bypass)}
	}
	var err error
	s.Context, err = b.browser.NewContext(copts)
	if err != nil {
		if s.proxy != nil {
			s.proxy.close()
		}
		return nil, fmt.Errorf("browser: new context: %w", err)
	}
	t.Cleanup(s.cleanup)
	ms := float64(opts.Timeout.Milliseconds())
	s.Context.SetDefaultTimeout(ms)
	s.Context.SetDefaultNavigationTimeout(ms)
	s.Expect = playwright.NewPlaywrightAssertions(ms)
	s.Net = newRecorder(app, s.start)
	s.Net.attach(s.Context)
	s.Console = newConsole(s.start)
	s.Console.attach(s.Context)
	if err := s.Context.ExposeFunction("__authflowSawText", s.sawText); err != nil {
		return nil, fmt.Errorf("browser: expose the text watcher: %w", err)
	}
	if !opts.NoTrace {
		title := t.Name()
		if opts.Name != "" {
			title += " (" + opts.Name + ")"
		}
		if err := s.Context.Tracing().Start(playwright.TracingStartOptions{
			Screenshots: playwright.Bool(true), Snapshots: playwright.Bool(true), Title: &title,
		}); err != nil {
			return nil, fmt.Errorf("browser: start tracing: %w", err)
		}
		s.tracing = true
	}
	if s.Page, err = s.Context.NewPage(); err != nil {
		return nil, fmt.Errorf("browser: new page: %w", err)
	}
	return s, nil
}

// Secret registers a literal (a password, a cookie value) that must never appear in an artifact: it
// is replaced in the trace, the logs and every other file written for a failed test.
func (s *Session) Secret(v string) {
	if len(v) < 4 { // too short to replace safely; such values are not secrets of this harness
		return
	}
	s.mu.Lock()
	s.secrets[v] = true
	s.mu.Unlock()
}

// scrub redacts text for an artifact: registered secrets, then redact.String's patterns (JWTs, Bearer
// credentials, session cookies, token/password fields).
func (s *Session) scrub(text string) string {
	s.mu.Lock()
	secrets := make([]string, 0, len(s.secrets))
	for v := range s.secrets {
		secrets = append(secrets, v)
	}
	s.mu.Unlock()
	sort.Slice(secrets, func(i, j int) bool { return len(secrets[i]) > len(secrets[j]) })
	for _, v := range secrets {
		text = strings.ReplaceAll(text, v, redact.Marker)
	}
	return redact.String(text)
}

// secretList returns the registered secrets.
func (s *Session) secretList() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]string, 0, len(s.secrets))
	for v := range s.secrets {
		out = append(out, v)
	}
	return out
}

// AddCookies puts cookies of an HTTP session (betterauth.Client.Cookies) into the context, so the
// browser starts signed in without going through the UI. Their values are registered as secrets.
func (s *Session) AddCookies(cookies []betterauth.Cookie) error {
	for _, c := range cookies {
		s.Secret(c.Value.Value())
	}
	if err := s.Context.AddCookies(playwrightCookies(s.App, cookies)); err != nil {
		return fmt.Errorf("browser: add %d cookies: %w", len(cookies), err)
	}
	return nil
}

// SignInWith adds the cookies of a signed-in Better Auth client to the context.
func (s *Session) SignInWith(c *betterauth.Client) error {
	cookies := c.Cookies()
	if len(cookies) == 0 {
		return errors.New("browser: the client holds no cookies (sign it in first)")
	}
	return s.AddCookies(cookies)
}

// playwrightCookies converts cookies to Playwright's form: host-only cookies by URL (so they stay
// host-only), others by domain and path; Expires in Unix seconds, -1 for a session cookie.
func playwrightCookies(app *App, cookies []betterauth.Cookie) []playwright.OptionalCookie {
	out := make([]playwright.OptionalCookie, 0, len(cookies))
	for _, c := range cookies {
		pc := playwright.OptionalCookie{
			Name: c.Name, Value: c.Value.Value(),
			HttpOnly: playwright.Bool(c.HTTPOnly), Secure: playwright.Bool(c.Secure),
			Expires: playwright.Float(-1),
		}
		if !c.Expires.IsZero() {
			pc.Expires = playwright.Float(float64(c.Expires.Unix()))
		}
		path := c.Path
		if path == "" {
			path = "/"
		}
		if c.HostOnly {
			pc.URL = playwright.String(app.web.Scheme + "://" + c.Domain + path)
		} else {
			pc.Domain = playwright.String("." + strings.TrimPrefix(c.Domain, "."))
			pc.Path = playwright.String(path)
		}
		switch c.SameSite {
		case "Lax":
			pc.SameSite = playwright.SameSiteAttributeLax
		case "Strict":
			pc.SameSite = playwright.SameSiteAttributeStrict
		case "None":
			pc.SameSite = playwright.SameSiteAttributeNone
		}
		out = append(out, pc)
	}
	return out
}

// Goto opens a page of the app by key (signup, login, chat).
func (s *Session) Goto(page string) error {
	if _, err := s.Page.Goto(s.App.PageURL(page)); err != nil {
		return fmt.Errorf("open the %s page (%s): %w", page, s.App.PagePath(page), err)
	}
	return nil
}

// WaitForPage waits until the page's URL is the given page of the app (query ignored): redirects of
// this app are client-side, so the URL changes some time after the load.
func (s *Session) WaitForPage(page string) error {
	err := s.Page.WaitForURL(func(u string) bool { return s.App.IsPage(u, page) })
	if err != nil {
		return fmt.Errorf("wait for the %s page (%s); the page is at %s: %w", page, s.App.PagePath(page), redact.URLString(s.Page.URL()), err)
	}
	return nil
}

// OnPage reports whether the page is currently the given page of the app.
func (s *Session) OnPage(page string) bool { return s.App.IsPage(s.Page.URL(), page) }

// Locator returns the locator of a selector key of the target, on the session's page.
func (s *Session) Locator(key string) playwright.Locator { return locate(s.Page, s.App.Selector(key)) }

// Cookie returns the context's cookie of that name for the web app, or nil.
func (s *Session) Cookie(name string) (*playwright.Cookie, error) {
	cs, err := s.Context.Cookies(s.App.WebOrigin())
	if err != nil {
		return nil, err
	}
	for i := range cs {
		if cs[i].Name == name {
			return &cs[i], nil
		}
	}
	return nil, nil
}

// WatchText records, from now on and across navigations, whether text ever appears in a page of this
// context; ask with SawText. Call it before opening the page.
func (s *Session) WatchText(text string) error {
	s.mu.Lock()
	s.watched[text] = true
	s.mu.Unlock()
	script := fmt.Sprintf(`(() => {
  const needle = %q;
  let done = false;
  const check = () => {
    if (done || !document.documentElement) return;
    if ((document.documentElement.textContent || "").includes(needle)) {
      done = true;
      window.__authflowSawText(needle);
    }
  };
  new MutationObserver(check).observe(document, { subtree: true, childList: true, characterData: true });
  document.addEventListener("DOMContentLoaded", check);
})();`, text)
	if err := s.Context.AddInitScript(playwright.Script{Content: &script}); err != nil {
		return fmt.Errorf("browser: watch for %q: %w", text, err)
	}
	return nil
}

func (s *Session) sawText(args ...any) any {
	if len(args) > 0 {
		if v, ok := args[0].(string); ok {
			s.mu.Lock()
			s.seen[v] = true
			s.mu.Unlock()
		}
	}
	return nil
}

// SawText reports whether a watched text appeared in a page of this context.
func (s *Session) SawText(text string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.seen[text]
}

// idleProbe resolves after the page has painted a frame and run one more task: the moment by which
// effects of the last answer (a React effect, a then-callback) have started their requests. The
// fallback timer covers a page that paints no frames.
const idleProbe = `() => new Promise(r => { requestAnimationFrame(() => setTimeout(r, 0)); setTimeout(r, 100) })`

// WaitIdle waits until no request matching keep (nil: all) is pending and no request at all started
// across a round trip to the page (idleProbe). That is the event a fixed "network quiet" window
// guesses at: it returns as soon as the page is done, not a fixed time later. Events reach the
// recorder in the order the driver sends them, so a request the page started before the round trip
// is recorded by the time it returns. At timeout it returns the requests still pending.
func (s *Session) WaitIdle(keep func(Request) bool, timeout time.Duration) []Request {
	if keep == nil {
		keep = func(Request) bool { return true }
	}
	deadline := time.Now().Add(timeout)
	for {
		n, pending, _ := s.Net.waitNonePending(keep, deadline)
		if pending != nil {
			return pending
		}
		_, err := s.Page.Evaluate(idleProbe)
		m, pending, _ := s.Net.waitNonePending(keep, time.Now()) // a look, no wait
		if err == nil && m == n && pending == nil {
			return nil
		}
		if time.Now().After(deadline) {
			return pending
		}
		if err != nil { // the page is navigating: its new document starts its own requests
			time.Sleep(20 * time.Millisecond)
		}
	}
}

// Problems are what the guard fails a test for: uncaught page errors, 5xx and 429 answers of the app, ChatKit
// and auth requests that failed without an answer (CORS-blocked, connection failed, aborted), and
// console reports of requests blocked by CORS policy.
func (s *Session) Problems() []string {
	var out []string
	for _, e := range s.Console.PageErrors() {
		out = append(out, "uncaught page error: "+e.Text+" (page "+e.Where+")")
	}
	for _, r := range s.Net.ServerErrors() {
		out = append(out, "server error: "+r.String())
	}
	for _, r := range s.Net.Filter(func(r Request) bool { return r.Status == http.StatusTooManyRequests }) {
		addr := "no client address"
		if s.opts.ClientAddr != "" {
			addr = "client address " + s.opts.ClientAddr + " in " + s.opts.ClientAddrHeader + ", this context's alone"
		}
		out = append(out, "rate limited (429, "+addr+"): "+r.String())
	}
	for _, r := range s.Net.FailedRequests() {
		out = append(out, "request failed without an answer (CORS-blocked, connection failed or aborted): "+r.String())
	}
	for _, e := range s.Console.Errors() {
		if strings.Contains(e.Text, "blocked by CORS policy") {
			out = append(out, "CORS: "+e.Text+" (page "+e.Where+")")
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	kept := out[:0]
	for _, p := range out {
		if !s.waived[p] {
			kept = append(kept, p)
		}
	}
	return kept
}

// Reporter is what the guard reports to (a *testing.T, or a recorder in a self-test).
type Reporter interface {
	Errorf(format string, args ...any)
}

// Guard reports the session's problems to r, one Errorf for all, and returns them.
func (s *Session) Guard(r Reporter) []string {
	ps := s.Problems()
	if len(ps) > 0 {
		label := ""
		if s.opts.Name != "" {
			label = " (" + s.opts.Name + ")"
		}
		r.Errorf("browser guard%s: %d problem(s) the test did not expect:\n  %s\nconsole:\n%s", label, len(ps),
			strings.Join(ps, "\n  "), indent(s.scrub(s.Console.String())))
	}
	return ps
}

// Waive marks the current problems as expected, so the cleanup's guard does not report them: for the
// harness's own self-test of the guard.
func (s *Session) Waive(problems []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range problems {
		s.waived[p] = true
	}
}

func (s *Session) cleanup() {
	t := s.t
	t.Helper()
	s.Guard(t)
	if t.Failed() && s.opts.ArtifactsDir != "" {
		files, err := s.WriteArtifacts(s.opts.ArtifactsDir)
		label := ""
		if s.opts.Name != "" {
			label = " of " + s.opts.Name
		}
		if err != nil {
			t.Logf("browser artifacts%s: %v", label, err)
		}
		if note := s.networkChangedNote(); note != "" {
			t.Log(note)
		}
		if len(files) > 0 {
			msg := fmt.Sprintf("browser artifacts%s: %s\n  %s", label, s.opts.ArtifactsDir, strings.Join(files, "\n  "))
			if trace := filepath.Join(s.opts.ArtifactsDir, "trace.zip"); contains(files, "trace.zip") {
				msg += "\n  open the trace: go run ./cmd/authflow trace " + trace
			}
			t.Log(msg)
		}
	} else {
		s.stopTracing("")
		if s.opts.ArtifactsDir != "" && !t.Failed() {
			_ = os.RemoveAll(s.opts.ArtifactsDir) // a stale directory of an earlier failed run
		}
	}
	if err := within(closeTimeout, func() error { return s.Context.Close() }); err != nil {
		t.Logf("browser: close the context: %v", err)
	}
	if s.proxy != nil {
		s.proxy.close()
	}
}

// networkChangedNote explains requests that Chromium aborted with net::ERR_NETWORK_CHANGED: it does
// that to connections being set up when the host's network configuration changes, e.g. when Docker
// creates or removes a container or network while the test runs. That is the environment, not the app.
func (s *Session) networkChangedNote() string {
	failed := s.Net.Filter(func(r Request) bool { return strings.Contains(r.Failure, "ERR_NETWORK_CHANGED") })
	if len(failed) == 0 {
		return ""
	}
	lines := make([]string, len(failed))
	for i, r := range failed {
		lines[i] = r.String()
	}
	return fmt.Sprintf("browser: note: %d request(s) failed with net::ERR_NETWORK_CHANGED. Chromium aborts connections "+
		"being set up when the host's network changes (Docker started or removed a container or network during the "+
		"test); if the failure follows from these, it is the environment, not the app:\n  %s", len(failed), strings.Join(lines, "\n  "))
}

// stopTracing stops the trace into path ("" discards it).
func (s *Session) stopTracing(path string) error {
	s.mu.Lock()
	on := s.tracing
	s.tracing = false
	s.mu.Unlock()
	if !on {
		return errors.New("no trace (tracing was off or already stopped)")
	}
	if path == "" {
		return within(artifactTimeout, func() error { return s.Context.Tracing().Stop() })
	}
	return within(artifactTimeout, func() error { return s.Context.Tracing().Stop(path) })
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func indent(s string) string {
	s = strings.TrimRight(s, "\n")
	if s == "" {
		return "  (empty)"
	}
	return "  " + strings.ReplaceAll(s, "\n", "\n  ")
}
