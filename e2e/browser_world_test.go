package e2e

// The browser layer of the World: one Playwright driver and browser per test process, started by the
// first browser test and stopped at teardown (World.OnClose); a fresh context per test with its
// failure artifacts under artifacts/<test>/<token mode>/.

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/scenarios/browser"
	"github.com/authflow-e2e/authflow/targets"
)

// Timeouts of the browser suites, scaled by AUTHFLOW_TIMEOUT_FACTOR.
var (
	// browserTimeout bounds one action, navigation or assertion: a page is interactive in ~0.3 s and a
	// reply streams in < 1 s; 12 contexts on 2 shared cores stretch that to a few seconds.
	browserTimeout = containers.Scaled(15 * time.Second)
	// browserSettle bounds waiting for a context's requests to the app to finish.
	browserSettle = containers.Scaled(10 * time.Second)
)

// browserServiceLogLines is how many log lines of each service a failed browser test keeps.
const browserServiceLogLines = 80

// browserState is the World's browser: one per process, launched on first use.
type browserState struct {
	sync.Mutex
	started bool
	b       *browser.Browser
	app     *browser.App
	err     error
}

// Browser returns the process's browser and the target's app (pages and selectors), launching the
// browser on first use. A launch error fails every browser test with the same message.
func (w *World) Browser(t *testing.T) (*browser.Browser, *browser.App) {
	t.Helper()
	bs := &w.browser
	bs.Lock()
	defer bs.Unlock()
	if !bs.started {
		bs.started = true
		bs.b, bs.app, bs.err = w.launchBrowser()
	}
	if bs.err != nil {
		t.Fatalf("browser: %v", bs.err)
	}
	return bs.b, bs.app
}

func (w *World) launchBrowser() (*browser.Browser, *browser.App, error) {
	a := w.T.App
	app, err := browser.NewApp(browser.AppConfig{
		Source: w.T.File, WebURL: a.WebURL, AuthBasePath: a.AuthBasePath, TokenPath: a.TokenPath,
		ChatKitURL: a.ChatKitURL, Pages: a.Pages, Selectors: a.Selectors,
		SignUpForm: browserForm(a.Forms.SignUp), LoginForm: browserForm(a.Forms.Login),
	})
	if err != nil {
		return nil, nil, err
	}
	cfg, err := browser.ConfigFromEnv()
	if err != nil {
		return nil, nil, err
	}
	t0 := time.Now()
	b, err := browser.Launch(cfg)
	if err != nil {
		return nil, nil, err
	}
	w.OnClose(func() {
		if err := b.Close(); err != nil {
			fmt.Fprintf(os.Stderr, "authflow: browser: %v\n", err)
		}
	})
	how := "launched " + cfg.ExecutablePath
	if b.Connected() {
		how = "connected to " + cfg.WSEndpoint
	}
	fmt.Fprintf(os.Stderr, "authflow: browser %s %s in %.2fs\n", how, b.Version(), time.Since(t0).Seconds())
	// Parse every selector once, so a target with a selector the browser cannot read fails with the key.
	page, err := b.Playwright().NewPage()
	if err != nil {
		return nil, nil, fmt.Errorf("check the target's selectors: %w", err)
	}
	defer page.Context().Close()
	if err := app.CheckSelectors(page); err != nil {
		return nil, nil, err
	}
	return b, app, nil
}

// BrowserSession opens a fresh browser context for t. name labels a second context of the same test
// ("user-b"); its artifacts go to a subdirectory of that name.
func (w *World) BrowserSession(t *testing.T, name string) *browser.Session {
	t.Helper()
	needs(t, targets.FeatureBrowser)
	return w.browserSessionAs(t, name, data.NewClientAddr())
}

// browserSessionAs is BrowserSession for a context whose requests to the web app carry addr as the
// client address (app.client_ip_header).
func (w *World) browserSessionAs(t *testing.T, name, addr string) *browser.Session {
	t.Helper()
	b, app := w.Browser(t)
	art := artifacts.Default()
	modeDir := art.TestDir(t.Name(), w.T.TokenMode, "")
	testDir := filepath.Dir(modeDir)
	dir := art.TestDir(t.Name(), w.T.TokenMode, name)
	// Runs after the session's cleanup: drop the directories a passing test left empty.
	t.Cleanup(func() {
		_ = os.Remove(modeDir)
		_ = os.Remove(testDir)
	})
	opts := browser.SessionOptions{Name: name, ArtifactsDir: dir, Timeout: browserTimeout,
		ClientAddrHeader: w.T.App.ClientIPHeader, ClientAddr: addr}
	if name == "" {
		opts.FailureFiles = func() map[string]string {
			return map[string]string{"service-logs.txt": w.serviceLogs(browserServiceLogLines)}
		}
	}
	s, err := b.NewSession(t, app, opts)
	require.NoError(t, err)
	return s
}

// SignedInBrowserSession is a new user signed up and in over HTTP, and a browser context holding that
// session's cookies: for tests that are not about the sign-in UI.
func (w *World) SignedInBrowserSession(t *testing.T, role, name string) (*browser.Session, *Actor) {
	t.Helper()
	needs(t, targets.FeatureBrowser)
	a := w.NewActor(t, role)
	s := w.browserSessionAs(t, name, a.ClientAddr)
	require.NoError(t, s.SignInWith(a.Auth), "inject the session cookies of %s", a.Persona)
	return s, a
}

// browserGet sends a GET with the context's cookies (not through a page) and returns status and body.
func browserGet(t *testing.T, s *browser.Session, url string) (int, string) {
	t.Helper()
	res, err := s.Context.Request().Get(url)
	require.NoError(t, err, "GET %s with the browser's cookies", url)
	defer res.Dispose()
	body, err := res.Body()
	require.NoError(t, err)
	return res.Status(), string(body)
}

// browserSignedIn reports whether the context's cookies carry a valid session, by asking Better Auth's
// get-session (it answers null without one).
func browserSignedIn(t *testing.T, s *browser.Session) bool {
	t.Helper()
	status, body := browserGet(t, s, s.App.URL(strings.TrimRight(world.T.App.AuthBasePath, "/")+"/get-session"))
	require.Equal(t, http.StatusOK, status, "get-session")
	return strings.TrimSpace(body) != "null" && strings.Contains(body, `"user"`)
}

// browserSessionCount is the number of rows in the session table for the user.
func browserSessionCount(t *testing.T, userID string) int {
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	rows, err := world.DB.SessionsForUser(c, userID)
	require.NoError(t, err)
	return len(rows)
}

// browserForm is a target's form description as the page objects take it.
func browserForm(f targets.FormSpec) browser.Form {
	out := browser.Form{LandsOn: f.LandsOn}
	for _, st := range f.Steps {
		out.Steps = append(out.Steps, browser.FormStep{Fill: st.Fill, Check: st.Check, Select: st.Select, Value: st.Value})
	}
	return out
}
