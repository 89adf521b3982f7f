package browser

import (
	"archive/zip"
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures/data"
)

// These tests drive the real browser against a tiny in-process app; they skip when the driver or the
// browser is not installed (`make setup`).

var shared struct {
	once sync.Once
	b    *Browser
	err  error
}

func TestMain(m *testing.M) {
	code := m.Run()
	if shared.b != nil {
		if err := shared.b.Close(); err != nil {
			fmt.Fprintln(os.Stderr, "close the browser:", err)
			code = 1
		}
	}
	os.Exit(code)
}

func testBrowser(t *testing.T) *Browser {
	t.Helper()
	shared.once.Do(func() {
		cfg, err := ConfigFromEnv()
		if err != nil {
			shared.err = err
			return
		}
		if _, err := os.Stat(filepath.Join(cfg.DriverDir, "package", "cli.js")); err != nil && cfg.WSEndpoint == "" {
			shared.err = fmt.Errorf("no Playwright driver at %s: run `make setup`", cfg.DriverDir)
			return
		}
		shared.b, shared.err = Launch(cfg)
	})
	if shared.err != nil {
		t.Fatal(shared.err)
	}
	return shared.b
}

const fakeJWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJl"

// fakeApp serves a login page that posts a password, a chat page that fetches a token and calls
// /chatkit with it, and /api/auth/boom that answers 500.
func fakeApp(t *testing.T) (*httptest.Server, *App) {
	mux := http.NewServeMux()
	page := func(body string) http.HandlerFunc {
		return func(w http.ResponseWriter, r *http.Request) {
			w.Header().Set("Content-Type", "text/html; charset=utf-8")
			fmt.Fprintf(w, `<!doctype html><html><head><link rel="icon" href="data:,"></head><body>%s</body></html>`, body)
		}
	}
	mux.HandleFunc("/login", page(`<form id=f><label>Email <input name=email></label>
<label>Password <input name=password type=password></label><button>Sign in</button></form>
<div role=alert id=err hidden></div>
<script>document.getElementById("f").addEventListener("submit", async (e) => { e.preventDefault();
  const res = await fetch("/api/auth/sign-in/email", {method:"POST", headers:{"Content-Type":"application/json"},
    body: JSON.stringify({email: e.target.email.value, password: e.target.password.value})});
  const err = document.getElementById("err"); err.textContent = "Invalid email or password"; err.hidden = false; });</script>`))
	mux.HandleFunc("/chat", page(`<div id=root></div><script>(async () => {
  const {token} = await (await fetch("/api/auth/token")).json();
  await fetch("/chatkit", {method:"POST", headers:{Authorization: "Bearer " + token}, body: "{}"});
  await fetch("/chatkit", {method:"POST", body: "{}"});
  document.getElementById("root").dataset.chatReady = "true";
})();</script>`))
	mux.HandleFunc("/api/auth/sign-in/email", func(w http.ResponseWriter, r *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "better-auth.session_token", Value: "sessiontokenvalue.sig", HttpOnly: true, Path: "/"})
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(401)
		io.WriteString(w, `{"code":"INVALID_EMAIL_OR_PASSWORD","token":"sessiontokenvalue"}`)
	})
	mux.HandleFunc("/api/auth/token", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"token":%q}`, fakeJWT)
	})
	mux.HandleFunc("/api/auth/boom", func(w http.ResponseWriter, r *http.Request) { http.Error(w, "boom", 500) })
	mux.HandleFunc("/chatkit", func(w http.ResponseWriter, r *http.Request) {
		if !strings.HasPrefix(r.Header.Get("Authorization"), "Bearer ") {
			http.Error(w, `{"error":"Missing Authorization header"}`, 401)
			return
		}
		io.WriteString(w, `{}`)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	cfg := refConfig()
	cfg.WebURL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	cfg.ChatKitURL = cfg.WebURL + "/chatkit"
	cfg.Selectors[SelLoginEmail] = "label=Email"
	cfg.Selectors[SelLoginPassword] = "label=Password"
	cfg.Selectors[SelLoginSubmit] = "role=button[name='Sign in']"
	cfg.Selectors[SelError] = "role=alert"
	cfg.Selectors[SelChatReady] = "[data-chat-ready=true]"
	app, err := NewApp(cfg)
	require.NoError(t, err)
	return srv, app
}

type recordingReporter struct{ msgs []string }

func (r *recordingReporter) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

func TestSession_RecorderSeesBearerStatusAndToken(t *testing.T) {
	t.Parallel()
	b := testBrowser(t)
	_, app := fakeApp(t)
	s, err := b.NewSession(t, app, SessionOptions{})
	require.NoError(t, err)
	chat := s.ChatPage()
	require.NoError(t, chat.Open())
	require.NoError(t, chat.WaitReady())
	assert.Empty(t, s.Net.WaitSettled(nil, 100*time.Millisecond, 5*time.Second))

	tok, ok := s.Net.WaitFor(func(r Request) bool { return r.Kind == KindToken }, time.Second)
	require.True(t, ok, s.Net.String())
	assert.Equal(t, 200, tok.Status)
	ck := s.Net.ChatKit()
	require.Len(t, ck, 2, s.Net.String())
	assert.True(t, ck[0].Bearer && ck[0].Status == 200, ck[0].String())
	assert.True(t, !ck[1].Bearer && !ck[1].Authorization && ck[1].Status == 401, ck[1].String())
	assert.NotContains(t, s.Net.String(), fakeJWT)
}

func TestSession_GuardReportsPageErrorsAnd5xx(t *testing.T) {
	t.Parallel()
	b := testBrowser(t)
	_, app := fakeApp(t)
	s, err := b.NewSession(t, app, SessionOptions{})
	require.NoError(t, err)
	require.NoError(t, s.LoginPage().Open())
	_, err = s.Page.Evaluate(`() => { setTimeout(() => { throw new Error("guard-probe") }, 0); return fetch("/api/auth/boom").then(r => r.status) }`)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(s.Problems()) == 2 }, 5*time.Second, 20*time.Millisecond, "%v", s.Problems())
	var r recordingReporter
	ps := s.Guard(&r)
	require.Len(t, r.msgs, 1)
	assert.Contains(t, r.msgs[0], "guard-probe")
	assert.Contains(t, r.msgs[0], "500")
	s.Waive(ps)
	assert.Empty(t, s.Problems())
}

func TestSession_WatchTextSurvivesNavigation(t *testing.T) {
	t.Parallel()
	b := testBrowser(t)
	_, app := fakeApp(t)
	s, err := b.NewSession(t, app, SessionOptions{})
	require.NoError(t, err)
	require.NoError(t, s.WatchText("Invalid email or password"))
	require.NoError(t, s.WatchText("never there"))
	u := data.NewPersona("w", "W")
	require.NoError(t, s.LoginPage().LogIn(u))
	require.NoError(t, s.Expect.Locator(s.LoginPage().Error()).ToHaveText("Invalid email or password"))
	require.NoError(t, s.Goto(PageChat))
	assert.True(t, s.SawText("Invalid email or password"))
	assert.False(t, s.SawText("never there"))
}

func TestSession_FailureArtifactsAreRedacted(t *testing.T) {
	t.Parallel()
	b := testBrowser(t)
	_, app := fakeApp(t)
	s, err := b.NewSession(t, app, SessionOptions{FailureFiles: func() map[string]string {
		return map[string]string{"service-logs.txt": "web: Authorization: Bearer " + fakeJWT}
	}})
	require.NoError(t, err)
	u := data.NewPersona("a", "A")
	require.NoError(t, s.LoginPage().LogIn(u))
	require.NoError(t, s.Expect.Locator(s.LoginPage().Error()).ToBeVisible())
	require.NoError(t, s.Goto(PageChat))
	require.NoError(t, s.ChatPage().WaitReady())
	s.Net.WaitSettled(nil, 100*time.Millisecond, 5*time.Second)

	dir := t.TempDir()
	files, err := s.WriteArtifacts(dir)
	require.NoError(t, err)
	for _, f := range []string{"screenshot.png", "trace.zip", "console.txt", "network.txt", "session.txt", "service-logs.txt"} {
		assert.Contains(t, files, f)
	}
	png, err := os.ReadFile(filepath.Join(dir, "screenshot.png"))
	require.NoError(t, err)
	assert.True(t, bytes.HasPrefix(png, []byte("\x89PNG")), "screenshot is a PNG")

	leaks := []string{u.Password.Value(), fakeJWT, "sessiontokenvalue"}
	all := map[string][]byte{}
	zr, err := zip.OpenReader(filepath.Join(dir, "trace.zip"))
	require.NoError(t, err)
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		rc, err := f.Open()
		require.NoError(t, err)
		b, _ := io.ReadAll(rc)
		rc.Close()
		all["trace.zip:"+f.Name] = b
		names = append(names, f.Name)
	}
	assert.Contains(t, names, "trace.trace")
	assert.Contains(t, names, "trace.network")
	assert.Contains(t, string(all["trace.zip:trace.network"]), "/chatkit", "the network of the trace is kept")
	for _, f := range files {
		if f != "trace.zip" && f != "screenshot.png" {
			b, err := os.ReadFile(filepath.Join(dir, f))
			require.NoError(t, err)
			all[f] = b
		}
	}
	for name, b := range all {
		for _, leak := range leaks {
			assert.NotContains(t, string(b), leak, "%s leaks a secret", name)
		}
	}
}

func TestApp_CheckSelectorsNamesTheKeyTheBrowserCannotParse(t *testing.T) {
	t.Parallel()
	b := testBrowser(t)
	_, app := fakeApp(t)
	s, err := b.NewSession(t, app, SessionOptions{NoTrace: true})
	require.NoError(t, err)
	require.NoError(t, app.CheckSelectors(s.Page))

	cfg := app.Config()
	cfg.Selectors = map[string]string{}
	for k, v := range app.Config().Selectors {
		cfg.Selectors[k] = v
	}
	cfg.Selectors[SelComposer] = "lable=Message"
	bad, err := NewApp(cfg)
	require.NoError(t, err)
	err = bad.CheckSelectors(s.Page)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `app.selectors.composer "lable=Message"`)
	assert.Contains(t, err.Error(), "targets/x.yaml")
}

// Two sessions of one test: the second (user-b) writes into a folder inside the first's, and its
// cleanup runs first; the first session's artifacts must not remove it.
func TestSession_ASecondSessionsArtifactsSurviveTheFirstSessions(t *testing.T) {
	t.Parallel()
	b := testBrowser(t)
	_, app := fakeApp(t)
	dir := t.TempDir()
	a, err := b.NewSession(t, app, SessionOptions{})
	require.NoError(t, err)
	userB, err := b.NewSession(t, app, SessionOptions{Name: "user-b"})
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "stale.txt"), []byte("from an earlier run"), 0o644))
	bFiles, err := userB.WriteArtifacts(filepath.Join(dir, "user-b"))
	require.NoError(t, err)
	require.Contains(t, bFiles, "trace.zip")
	_, err = a.WriteArtifacts(dir)
	require.NoError(t, err)
	for _, f := range bFiles {
		assert.FileExists(t, filepath.Join(dir, "user-b", f), "user-b's artifacts are kept")
	}
	assert.FileExists(t, filepath.Join(dir, "network.txt"))
	assert.NoFileExists(t, filepath.Join(dir, "stale.txt"), "stale files of an earlier run are replaced")
}

// A ChatKit backend on another origin that answers a request with 500 and no CORS headers: the page
// sees only a network error. The guard must count it (the request and the console's CORS report).
func TestSession_GuardReportsCORSBlockedChatKitRequests(t *testing.T) {
	t.Parallel()
	b := testBrowser(t)
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodOptions { // the preflight passes; the answer itself carries no CORS headers
			w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
			w.Header().Set("Access-Control-Allow-Headers", "authorization, content-type")
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		http.Error(w, "Internal Server Error", http.StatusInternalServerError)
	}))
	t.Cleanup(backend.Close)
	_, app := fakeApp(t)
	cfg := app.Config()
	cfg.ChatKitURL = strings.Replace(backend.URL, "127.0.0.1", "localhost", 1) + "/chatkit"
	app, err := NewApp(cfg)
	require.NoError(t, err)
	s, err := b.NewSession(t, app, SessionOptions{NoTrace: true})
	require.NoError(t, err)
	require.NoError(t, s.LoginPage().Open())
	res, err := s.Page.Evaluate(`(u) => fetch(u, {method: "POST", headers: {Authorization: "Bearer x.y.z", "Content-Type": "application/json"}, body: "{}"})
		.then(r => "answered " + r.status, e => "rejected: " + e.message)`, cfg.ChatKitURL)
	require.NoError(t, err)
	assert.Contains(t, res, "rejected", "the page sees a network error")
	require.Eventually(t, func() bool { return len(s.Problems()) >= 2 }, 5*time.Second, 20*time.Millisecond, "%v\n%s", s.Problems(), s.Net.String())
	var r recordingReporter
	ps := s.Guard(&r)
	require.Len(t, r.msgs, 1)
	assert.Contains(t, r.msgs[0], "request failed without an answer")
	assert.Contains(t, r.msgs[0], "/chatkit")
	assert.Contains(t, r.msgs[0], "CORS: ")
	s.Waive(ps)
}

// A session's client address goes to the web app's origin only, and the browser still makes its own
// CORS checks: a cross-origin ChatKit backend that allows Authorization works, one that does not is
// refused (a Playwright route would answer every preflight itself and hide that).
func TestSession_ClientAddrGoesToTheWebOriginOnlyAndCORSStillApplies(t *testing.T) {
	t.Parallel()
	b := testBrowser(t)
	var mu sync.Mutex
	var backendSaw []string
	allowAuthz := true
	backend := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		backendSaw = append(backendSaw, r.Method+" "+r.Header.Get("Access-Control-Request-Headers")+" "+r.Header.Get("X-Forwarded-For"))
		allow := allowAuthz
		mu.Unlock()
		w.Header().Set("Access-Control-Allow-Origin", r.Header.Get("Origin"))
		if r.Method == http.MethodOptions {
			if allow {
				w.Header().Set("Access-Control-Allow-Headers", "authorization, content-type")
			} else {
				w.Header().Set("Access-Control-Allow-Headers", "content-type")
			}
			w.Header().Set("Access-Control-Allow-Methods", "POST")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		io.WriteString(w, "{}")
	}))
	t.Cleanup(backend.Close)
	var webSaw []string
	web := http.NewServeMux()
	web.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		webSaw = append(webSaw, r.URL.Path+" "+r.Header.Get("X-Forwarded-For"))
		mu.Unlock()
		io.WriteString(w, "<!doctype html><title>x</title>")
	})
	srv := httptest.NewServer(web)
	t.Cleanup(srv.Close)
	cfg := refConfig()
	cfg.WebURL = strings.Replace(srv.URL, "127.0.0.1", "localhost", 1)
	cfg.ChatKitURL = strings.Replace(backend.URL, "127.0.0.1", "localhost", 1) + "/chatkit"
	app, err := NewApp(cfg)
	require.NoError(t, err)
	s, err := b.NewSession(t, app, SessionOptions{NoTrace: true, ClientAddrHeader: "X-Forwarded-For", ClientAddr: "198.18.0.42"})
	require.NoError(t, err)
	_, err = s.Page.Goto(app.URL("/login"))
	require.NoError(t, err)
	const call = `(u) => fetch("/api/auth/get-session").then(() => fetch(u, {method: "POST", headers: {Authorization: "Bearer x.y.z", "Content-Type": "application/json"}, body: "{}"}))
		.then(r => "answered " + r.status, e => "rejected: " + e.message)`
	res, err := s.Page.Evaluate(call, cfg.ChatKitURL)
	require.NoError(t, err)
	assert.Equal(t, "answered 200", res, "the cross-origin ChatKit request works: %v", backendSaw)

	mu.Lock()
	allowAuthz = false
	mu.Unlock()
	res, err = s.Page.Evaluate(call, cfg.ChatKitURL+"?no-authz")
	require.NoError(t, err)
	assert.Contains(t, res, "rejected", "a preflight that does not allow Authorization still blocks the request")
	// the blocked request and the console's CORS error are this test's point: wait for both, then waive them
	require.Eventually(t, func() bool { return len(s.Problems()) >= 2 }, 5*time.Second, 20*time.Millisecond, "%v", s.Problems())
	s.Waive(s.Problems())

	mu.Lock()
	defer mu.Unlock()
	assert.Contains(t, webSaw, "/login 198.18.0.42", "the page load carries the address")
	webHost := strings.TrimPrefix(cfg.WebURL, "http://")
	ckHost := strings.TrimPrefix(strings.TrimSuffix(cfg.ChatKitURL, "/chatkit"), "http://")
	assert.Positive(t, s.proxy.forwarded(webHost), "the web app's requests go through the client-address proxy")
	assert.Zero(t, s.proxy.forwarded(ckHost), "ChatKit requests (long streams) bypass it")
	assert.Contains(t, webSaw, "/api/auth/get-session 198.18.0.42", "the page's own fetch carries it too")
	for _, r := range backendSaw {
		assert.NotContains(t, r, "198.18.0.42", "the backend gets no client address")
		assert.NotContains(t, r, "x-forwarded-for", "no preflight asks for it")
	}
}
