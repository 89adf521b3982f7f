package e2e

// Self-tests of the browser harness: the guard that fails a test on an uncaught page error or a 5xx
// answer really reports them, and the artifacts of a failed test hold no password, cookie or token.

import (
	"archive/zip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	playwright "github.com/mxschmitt/playwright-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/scenarios/browser"
)

// guardReporter stands in for *testing.T so the guard's report can be checked without failing the run.
type guardReporter struct{ msgs []string }

func (r *guardReporter) Errorf(format string, args ...any) {
	r.msgs = append(r.msgs, fmt.Sprintf(format, args...))
}

// TestBrowser_HarnessGuardReportsPageErrorsAndServerErrors injects an uncaught page error and a 5xx
// answer into a context, checks that the guard reports each, then waives them so this test passes.
func TestBrowser_HarnessGuardReportsPageErrorsAndServerErrors(t *testing.T) {
	h := fixtures.Test(t)
	for _, c := range []struct {
		name, want string
		inject     func(t *testing.T, s *browser.Session)
	}{
		{"case=page-error", "authflow-guard-probe", func(t *testing.T, s *browser.Session) {
			_, err := s.Page.Evaluate(`() => { setTimeout(() => { throw new Error("authflow-guard-probe") }, 0) }`)
			require.NoError(t, err)
		}},
		{"case=server-error", "503", func(t *testing.T, s *browser.Session) {
			h := h.Sub(t)
			probe := s.App.URL(strings.TrimRight(h.Target.App.AuthBasePath, "/") + "/authflow-guard-probe")
			require.NoError(t, s.Context.Route(probe, func(r playwright.Route) {
				_ = r.Fulfill(playwright.RouteFulfillOptions{Status: playwright.Int(503), Body: "probe"})
			}))
			_, err := s.Page.Evaluate(`url => fetch(url).then(r => r.status)`, probe)
			require.NoError(t, err)
		}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := fixtures.Test(t)
			s := h.BrowserSession(t, "")
			require.NoError(t, s.LoginPage().Open())
			require.Empty(t, s.Problems(), "a clean page has no problems")

			c.inject(t, s)
			require.Eventually(t, func() bool { return len(s.Problems()) > 0 }, fixtures.BrowserSettle, 20*time.Millisecond,
				"the injected problem was not recorded:\nconsole:\n%s\nnetwork:\n%s", s.Console, s.Net)
			var r guardReporter
			problems := s.Guard(&r)
			require.Len(t, r.msgs, 1, "the guard reports once")
			assert.Contains(t, r.msgs[0], c.want, "the report names the problem")
			s.Waive(problems) // expected here; anything else still fails this test
		})
	}
}

// jwtLike finds anything shaped like a JWT.
var jwtLike = regexp.MustCompile(`eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]*\.`)

// TestBrowser_HarnessFailureArtifactsHoldNoSecrets walks login and chat with real tokens and cookies,
// writes the artifacts a failed test would keep, and searches every file (and every entry of the
// trace) for the password, the cookie values and anything shaped like a JWT.
func TestBrowser_HarnessFailureArtifactsHoldNoSecrets(t *testing.T) {
	h := fixtures.Test(t)
	a := h.NewUser("browser-redact")
	s := h.BrowserSession(t, "")
	require.NoError(t, s.LoginPage().LogIn(a.Persona))
	toChat(t, s, s.LoginPage().Landing())
	chat := s.ChatPage()
	require.NoError(t, chat.WaitReady())
	chatTurn(h, s, chat, "buy milk")
	s.WaitIdle(nil, fixtures.BrowserSettle)
	cookies, err := s.Context.Cookies()
	require.NoError(t, err)
	require.NotEmpty(t, cookies, "the login left cookies in the browser")

	dir := t.TempDir()
	files, err := s.WriteArtifacts(dir)
	require.NoError(t, err)
	for _, f := range []string{"screenshot.png", "trace.zip", "console.txt", "network.txt", "service-logs.txt"} {
		require.Contains(t, files, f)
	}

	texts := map[string]string{}
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		require.NoError(t, err)
		if f != "trace.zip" {
			texts[f] = string(b)
			continue
		}
		zr, err := zip.OpenReader(filepath.Join(dir, f))
		require.NoError(t, err)
		for _, e := range zr.File {
			rc, err := e.Open()
			require.NoError(t, err)
			b, _ := io.ReadAll(rc)
			rc.Close()
			texts["trace.zip:"+e.Name] = string(b)
		}
		zr.Close()
	}
	require.Contains(t, texts["trace.zip:trace.network"], h.Target.App.TokenPath, "the trace keeps the network")
	secrets := map[string]string{"password": a.Password.Value()}
	for _, c := range cookies {
		if len(c.Value) >= 8 {
			secrets["cookie "+c.Name] = c.Value
		}
	}
	for name, text := range texts {
		for what, v := range secrets {
			assert.NotContains(t, text, v, "%s holds the %s", name, what)
		}
		assert.False(t, jwtLike.MatchString(text), "%s holds a JWT", name)
	}
}
