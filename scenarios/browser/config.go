package browser

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/internal/tools"
)

// Config says which driver runs which browser, and how.
type Config struct {
	// DriverDir holds package/cli.js (playwright-core) and, optionally, a node symlink: tools.DriverDir().
	DriverDir string
	// ExecutablePath is the browser to launch; empty means Playwright's own build in ~/.cache/ms-playwright.
	ExecutablePath string
	// Headed shows the browser window (needs a display).
	Headed bool
	// SlowMo slows every Playwright operation down by this much.
	SlowMo time.Duration
	// WSEndpoint, when set, connects to a running Playwright browser server (ws://...) instead of
	// launching a browser; ExecutablePath and Headed are then the server's business.
	WSEndpoint string
	// LaunchTimeout bounds the browser launch or connect.
	LaunchTimeout time.Duration
	// Verbose copies the driver's stderr to the process's stderr (it is always kept for error messages).
	Verbose bool
}

// DefaultLaunchTimeout bounds a launch: Chromium starts in ~0.3 s, ~1 s on a loaded 2-core machine.
const DefaultLaunchTimeout = 60 * time.Second

// ConfigFromEnv reads the configuration from the environment:
//
//	AUTHFLOW_DRIVER_DIR     driver directory (default ~/.cache/authflow/playwright-driver-<version>)
//	AUTHFLOW_BROWSER        chromium (Debian's package, default) or playwright (Playwright's own build)
//	AUTHFLOW_BROWSER_PATH   browser executable, overrides AUTHFLOW_BROWSER
//	AUTHFLOW_HEADED=1       show the browser window
//	AUTHFLOW_SLOWMO=<ms>    slow every operation down
//	AUTHFLOW_BROWSER_WS     ws://... of a running Playwright browser server to connect to
//	AUTHFLOW_VERBOSE=1      copy the driver's stderr to stderr
func ConfigFromEnv() (Config, error) {
	c := Config{
		DriverDir:     tools.DriverDir(),
		Headed:        os.Getenv("AUTHFLOW_HEADED") == "1",
		WSEndpoint:    strings.TrimSpace(os.Getenv("AUTHFLOW_BROWSER_WS")),
		LaunchTimeout: DefaultLaunchTimeout,
		Verbose:       os.Getenv("AUTHFLOW_VERBOSE") == "1",
	}
	if v := strings.TrimSpace(os.Getenv("AUTHFLOW_SLOWMO")); v != "" {
		ms, err := strconv.Atoi(v)
		if err != nil || ms < 0 {
			return c, fmt.Errorf("AUTHFLOW_SLOWMO=%q: want a number of milliseconds >= 0", v)
		}
		c.SlowMo = time.Duration(ms) * time.Millisecond
	}
	if c.WSEndpoint != "" {
		if !strings.HasPrefix(c.WSEndpoint, "ws://") && !strings.HasPrefix(c.WSEndpoint, "wss://") {
			return c, fmt.Errorf("AUTHFLOW_BROWSER_WS=%q: want a ws:// or wss:// endpoint of a Playwright browser server", c.WSEndpoint)
		}
		return c, nil
	}
	p, err := tools.BrowserPath()
	if err != nil {
		return c, err
	}
	c.ExecutablePath = p
	return c, nil
}
