package browser

import (
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	playwright "github.com/mxschmitt/playwright-go"

	"github.com/authflow-e2e/authflow/internal/tools"
)

// closeTimeout bounds browser.Close and the driver's stop: both take ~0.15 s; a wedged driver must not
// hold up the stack's teardown.
const closeTimeout = 20 * time.Second

// scratchPrefix names the per-process scratch directory in os.TempDir() that is the driver's TMPDIR
// (Chromium profiles, trace and download artifacts): authflow-browser-<pid>-<random>.
const scratchPrefix = "authflow-browser-"

// Browser is one Playwright driver and one browser, shared by every test of a process.
type Browser struct {
	pw        *playwright.Playwright
	browser   playwright.Browser
	scratch   string
	stderr    *tailWriter
	restore   func()
	connected bool
	closeOnce sync.Once
	closeErr  error
}

// Launch starts the driver (node + playwright-core from cfg.DriverDir, with TMPDIR set to a scratch
// directory that Close removes) and launches the browser, or connects to cfg.WSEndpoint. It never
// downloads anything.
func Launch(cfg Config) (_ *Browser, err error) {
	sweepScratch()
	if cfg.LaunchTimeout <= 0 {
		cfg.LaunchTimeout = DefaultLaunchTimeout
	}
	b := &Browser{stderr: newTailWriter(40, cfg.Verbose)}
	defer func() {
		if err != nil {
			_ = b.Close()
		}
	}()
	b.scratch, err = os.MkdirTemp("", scratchPrefix+strconv.Itoa(os.Getpid())+"-")
	if err != nil {
		return nil, fmt.Errorf("browser: scratch directory: %w", err)
	}
	driverDir, err := b.driverShim(cfg.DriverDir)
	if err != nil {
		return nil, err
	}
	b.pw, err = playwright.Run(&playwright.RunOptions{
		DriverDirectory:     driverDir,
		SkipInstallBrowsers: true, // Run never downloads; this only documents the intent
		Verbose:             false,
		Stdout:              io.Discard,
		Stderr:              b.stderr,
		Logger:              slog.New(slog.NewTextHandler(io.Discard, nil)), // else Run redirects the global log
	})
	if err != nil {
		return nil, fmt.Errorf("browser: start the Playwright driver from %s (run `make setup`): %w%s", cfg.DriverDir, err, b.stderr.suffix())
	}
	timeout := float64(cfg.LaunchTimeout.Milliseconds())
	slowMo := float64(cfg.SlowMo.Milliseconds())
	if cfg.WSEndpoint != "" {
		b.connected = true
		b.browser, err = b.pw.Chromium.Connect(cfg.WSEndpoint, playwright.BrowserTypeConnectOptions{
			Timeout: &timeout, SlowMo: &slowMo,
		})
		if err != nil {
			return nil, fmt.Errorf("browser: connect to the Playwright browser server %s: %w", cfg.WSEndpoint, err)
		}
		return b, nil
	}
	opts := playwright.BrowserTypeLaunchOptions{
		Headless: playwright.Bool(!cfg.Headed),
		SlowMo:   &slowMo,
		Timeout:  &timeout,
		// Playwright already passes most of these; they are explicit so the launch does not depend on
		// its defaults (no network beyond the stack, no first-run or sync UI).
		Args: []string{"--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-background-networking",
			"--disable-component-update", "--disable-sync", "--no-first-run"},
	}
	if cfg.ExecutablePath != "" {
		opts.ExecutablePath = &cfg.ExecutablePath
	}
	b.browser, err = b.pw.Chromium.Launch(opts)
	if err != nil {
		what := cfg.ExecutablePath
		if what == "" {
			what = "Playwright's own Chromium (AUTHFLOW_BROWSER=playwright)"
		}
		return nil, fmt.Errorf("browser: launch %s: %w%s", what, err, b.stderr.suffix())
	}
	return b, nil
}

// driverShim builds <scratch>/driver: package -> the real driver's package, and node -> a script that
// sets TMPDIR to <scratch>/tmp and execs the real node. playwright-go gives the driver the process's
// environment, so this is how the driver (and the Chromium it starts) get their own TMPDIR without
// changing the test process's. PLAYWRIGHT_NODEJS_PATH, which playwright-go prefers to <dir>/node, is
// pointed at the script until Close.
func (b *Browser) driverShim(driverDir string) (string, error) {
	pkg := filepath.Join(driverDir, "package")
	if os.Getenv("PLAYWRIGHT_CLI_PATH") == "" {
		if _, err := os.Stat(filepath.Join(pkg, "cli.js")); err != nil {
			return "", fmt.Errorf("browser: no Playwright driver at %s (want package/cli.js of playwright-core@%s); run `make setup`", driverDir, tools.DriverVersion)
		}
	}
	node := os.Getenv("PLAYWRIGHT_NODEJS_PATH")
	if node == "" {
		node = filepath.Join(driverDir, "node")
		if _, err := os.Stat(node); err != nil {
			if node, err = tools.NodePath(); err != nil {
				return "", fmt.Errorf("browser: node not found (install Node.js >= %s): %w", tools.MinNode, err)
			}
		}
	}
	dir := filepath.Join(b.scratch, "driver")
	tmp := filepath.Join(b.scratch, "tmp")
	for _, d := range []string{dir, tmp} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return "", fmt.Errorf("browser: %w", err)
		}
	}
	abs, err := filepath.Abs(pkg)
	if err != nil {
		return "", fmt.Errorf("browser: %w", err)
	}
	if err := os.Symlink(abs, filepath.Join(dir, "package")); err != nil {
		return "", fmt.Errorf("browser: %w", err)
	}
	script := "#!/bin/sh\nTMPDIR=" + shellQuote(tmp) + "\nexport TMPDIR\nexec " + shellQuote(node) + " \"$@\"\n"
	wrapper := filepath.Join(dir, "node")
	if err := os.WriteFile(wrapper, []byte(script), 0o700); err != nil {
		return "", fmt.Errorf("browser: %w", err)
	}
	if old, ok := os.LookupEnv("PLAYWRIGHT_NODEJS_PATH"); ok {
		os.Setenv("PLAYWRIGHT_NODEJS_PATH", wrapper)
		b.restore = func() { os.Setenv("PLAYWRIGHT_NODEJS_PATH", old) }
	}
	return dir, nil
}

// Version is the browser's version.
func (b *Browser) Version() string { return b.browser.Version() }

// Connected reports whether the browser is a remote browser server (AUTHFLOW_BROWSER_WS).
func (b *Browser) Connected() bool { return b.connected }

// Playwright returns the underlying browser, for what this package does not wrap.
func (b *Browser) Playwright() playwright.Browser { return b.browser }

// Close closes the browser (or disconnects from a server), stops the driver and removes the scratch
// directory. It is safe to call more than once.
func (b *Browser) Close() error {
	b.closeOnce.Do(func() {
		var errs []error
		if b.browser != nil {
			if err := within(closeTimeout, func() error { return b.browser.Close() }); err != nil {
				errs = append(errs, fmt.Errorf("close the browser: %w", err))
			}
		}
		if b.pw != nil {
			if err := within(closeTimeout, b.pw.Stop); err != nil {
				errs = append(errs, fmt.Errorf("stop the Playwright driver: %w", err))
			}
		}
		if b.restore != nil {
			b.restore()
		}
		if b.scratch != "" {
			if err := os.RemoveAll(b.scratch); err != nil {
				errs = append(errs, err)
			}
		}
		b.closeErr = errors.Join(errs...)
	})
	return b.closeErr
}

// within runs f and gives up waiting after d.
func within(d time.Duration, f func() error) error {
	done := make(chan error, 1)
	go func() { done <- f() }()
	select {
	case err := <-done:
		return err
	case <-time.After(d):
		return fmt.Errorf("no answer within %s", d)
	}
}

// sweepScratch removes scratch directories of processes that no longer run (a test binary killed
// before Close).
func sweepScratch() {
	matches, _ := filepath.Glob(filepath.Join(os.TempDir(), scratchPrefix+"*"))
	for _, m := range matches {
		rest := strings.TrimPrefix(filepath.Base(m), scratchPrefix)
		pidStr, _, ok := strings.Cut(rest, "-")
		pid, err := strconv.Atoi(pidStr)
		if !ok || err != nil || pid <= 0 || pid == os.Getpid() {
			continue
		}
		if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
			_ = os.RemoveAll(m)
		}
	}
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// tailWriter keeps the last lines written to it (the driver's stderr), for error messages.
type tailWriter struct {
	mu      sync.Mutex
	max     int
	lines   []string
	partial string
	echo    bool
}

func newTailWriter(max int, echo bool) *tailWriter { return &tailWriter{max: max, echo: echo} }

func (w *tailWriter) Write(p []byte) (int, error) {
	if w.echo {
		_, _ = os.Stderr.Write(p)
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	s := w.partial + string(p)
	parts := strings.Split(s, "\n")
	w.partial = parts[len(parts)-1]
	for _, l := range parts[:len(parts)-1] {
		w.lines = append(w.lines, l)
	}
	if len(w.lines) > w.max {
		w.lines = append([]string(nil), w.lines[len(w.lines)-w.max:]...)
	}
	return len(p), nil
}

// suffix is "\ndriver stderr:\n<lines>" or "".
func (w *tailWriter) suffix() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	lines := append([]string(nil), w.lines...)
	if w.partial != "" {
		lines = append(lines, w.partial)
	}
	if len(lines) == 0 {
		return ""
	}
	return "\ndriver stderr (last lines):\n" + strings.Join(lines, "\n")
}
