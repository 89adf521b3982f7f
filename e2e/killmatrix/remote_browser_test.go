package killmatrix

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/tools"
)

// serverStartTimeout bounds the browser server's start: Chromium launches in ~1 s on a loaded 2-core
// machine; node loading playwright-core takes ~0.5 s.
const serverStartTimeout = 60 * time.Second

// browserServer is a Playwright browser server (`cli.js launch-server`) on loopback.
type browserServer struct {
	WS  string
	cmd *exec.Cmd
	mu  sync.Mutex
	log strings.Builder // its stderr: DEBUG=pw:server lines
}

// Log returns what the server printed to stderr so far.
func (s *browserServer) Log() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.log.String()
}

// startBrowserServer starts the installed driver's browser server with the browser the suite would
// launch itself (tools.BrowserPath), headless, on 127.0.0.1 and a free port, and stops it (its whole
// process group: node and Chromium) when t ends.
func startBrowserServer(t *testing.T) *browserServer {
	t.Helper()
	node, err := tools.NodePath()
	if err != nil {
		t.Fatalf("node for the Playwright driver: %v (run `make setup`)", err)
	}
	cli := filepath.Join(tools.DriverDir(), "package", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		t.Fatalf("no Playwright driver at %s: %v (run `make setup`)", tools.DriverDir(), err)
	}
	exe, err := tools.BrowserPath()
	if err != nil {
		t.Fatal(err)
	}
	// A short TMPDIR: Chromium's singleton socket path must fit in 108 bytes, t.TempDir() is too long.
	tmp, err := os.MkdirTemp("", "authflow-bs-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(tmp) }) // after the server stopped (cleanups run last-first)
	cfg := map[string]any{
		"headless": true,
		"host":     "127.0.0.1",
		"port":     0,
		// As scenarios/browser launches it: no sandbox (root in a container), no network beyond the stack.
		"args": []string{"--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run"},
	}
	if exe != "" {
		cfg["executablePath"] = exe
	}
	b, _ := json.Marshal(cfg)
	cfgPath := filepath.Join(tmp, "launch-server.json")
	if err := os.WriteFile(cfgPath, b, 0o600); err != nil {
		t.Fatal(err)
	}

	s := &browserServer{}
	s.cmd = exec.Command(node, cli, "launch-server", "--browser", "chromium", "--config", cfgPath)
	s.cmd.Env = append(os.Environ(), "DEBUG=pw:server", "TMPDIR="+tmp)
	s.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	stdout, err := s.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	stderr, err := s.cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := s.cmd.Start(); err != nil {
		t.Fatalf("start the browser server: %v", err)
	}
	// done closes when the server closed both its outputs (it exited).
	var readers sync.WaitGroup
	readers.Add(2)
	done := make(chan struct{})
	go func() { readers.Wait(); close(done) }()
	t.Cleanup(func() { s.stop(t, done) })
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			s.mu.Lock()
			s.log.WriteString(sc.Text() + "\n")
			s.mu.Unlock()
		}
	}()
	ws := make(chan string, 1)
	go func() {
		defer readers.Done()
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			if l := strings.TrimSpace(sc.Text()); strings.HasPrefix(l, "ws://") {
				select {
				case ws <- l:
				default:
				}
			}
		}
	}()
	select {
	case s.WS = <-ws:
	case <-done:
		t.Fatalf("the browser server exited before it printed its endpoint:\n%s", s.Log())
	case <-time.After(serverStartTimeout):
		t.Fatalf("the browser server printed no ws:// endpoint within %s:\n%s", serverStartTimeout, s.Log())
	}
	u, err := url.Parse(s.WS)
	if err != nil || u.Hostname() != "127.0.0.1" {
		t.Fatalf("the browser server listens on %q, want ws://127.0.0.1:<port>/...", s.WS)
	}
	return s
}

func (s *browserServer) stop(t *testing.T, done <-chan struct{}) {
	if s.cmd.Process == nil {
		return
	}
	pgid := s.cmd.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM) // launch-server closes the browser on SIGTERM
	exited := make(chan error, 1)
	go func() { <-done; exited <- s.cmd.Wait() }()
	select {
	case <-exited:
	case <-time.After(10 * time.Second):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-exited
		t.Logf("the browser server did not stop on SIGTERM within 10 s; killed it")
	}
}

// TestRemoteBrowser_BrowserSuitePassesThroughABrowserServerOnLoopback runs the browser suite in a
// child process that connects to a Playwright browser server (AUTHFLOW_BROWSER_WS) instead of
// launching a browser, as a CI job with a browser service container or a remote browser grid would.
func TestRemoteBrowser_BrowserSuitePassesThroughABrowserServerOnLoopback(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a stack and a browser server")
	}
	srv := startBrowserServer(t)
	c := &child{Label: "remote-browser,mode=" + hs256, Mode: hs256, Run: "^TestBrowser_", Env: []string{"AUTHFLOW_BROWSER_WS=" + srv.WS}}
	c.run(t, artifacts.Default().KillMatrix())
	r := c.Result
	for _, p := range r.Problems() {
		t.Errorf("browser suite through %s: %s", redactWS(srv.WS), p)
	}
	for _, f := range r.Failed() {
		if f.Top() {
			t.Errorf("browser suite through the browser server: %s failed: %s", f.Name, r.FailureMessage(f.Name))
		}
	}
	checkLeaks(t, c)
	if log := srv.Log(); !strings.Contains(log, "Connected client") || !strings.Contains(log, "engaged pre-launched (browser) mode") {
		u, _ := url.Parse(srv.WS)
		t.Errorf("the browser server saw no client, so the suite did not run through it; its log:\n%s", strings.ReplaceAll(log, u.Path, "/..."))
	}
	t.Logf("browser suite through a browser server on %s: %d passed, %d failed in %s",
		redactWS(srv.WS), r.Count().Passed, r.Count().Failed, c.Took.Round(100*time.Millisecond))
}

// redactWS drops the endpoint's random path: it is the server's only access control.
func redactWS(ws string) string {
	u, err := url.Parse(ws)
	if err != nil {
		return "the browser server"
	}
	return fmt.Sprintf("%s://%s/...", u.Scheme, u.Host)
}
