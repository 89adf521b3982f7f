// Package tools finds the programs the harness drives outside Go: the Playwright driver (playwright-core
// from npm, run by the system node) and the browser.
package tools

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
)

// DriverVersion is the playwright-core version that github.com/mxschmitt/playwright-go v0.6401.0 requires.
const DriverVersion = "1.64.1"

// MinNode is the oldest Node.js that Better Auth and playwright-core run on.
const MinNode = "20.19.0"

// DriverDir is where setup installs playwright-core: AUTHFLOW_DRIVER_DIR, else
// ~/.cache/authflow/playwright-driver-<version>. It holds package/cli.js and a node symlink.
func DriverDir() string {
	if d := os.Getenv("AUTHFLOW_DRIVER_DIR"); d != "" {
		return d
	}
	home, err := os.UserHomeDir()
	if err != nil {
		home = os.TempDir()
	}
	return filepath.Join(home, ".cache", "authflow", "playwright-driver-"+DriverVersion)
}

// NodePath is the node binary the driver runs on: PLAYWRIGHT_NODEJS_PATH, else node on PATH.
func NodePath() (string, error) {
	if p := os.Getenv("PLAYWRIGHT_NODEJS_PATH"); p != "" {
		return p, nil
	}
	return exec.LookPath("node")
}

// NodeVersion returns `node --version` without the v.
func NodeVersion(node string) (string, error) {
	out, err := exec.Command(node, "--version").Output()
	if err != nil {
		return "", err
	}
	return strings.TrimPrefix(strings.TrimSpace(string(out)), "v"), nil
}

// AtLeast reports whether dotted version v >= min.
func AtLeast(v, min string) bool {
	a, b := strings.Split(v, "."), strings.Split(min, ".")
	for i := 0; i < len(b); i++ {
		var x, y int
		if i < len(a) {
			x, _ = strconv.Atoi(a[i])
		}
		y, _ = strconv.Atoi(b[i])
		if x != y {
			return x > y
		}
	}
	return true
}

// Browser kinds for AUTHFLOW_BROWSER.
const (
	BrowserChromium   = "chromium"   // Debian's chromium package (default; works offline)
	BrowserPlaywright = "playwright" // Playwright's own build in ~/.cache/ms-playwright
)

// BrowserPath returns the executable to launch for AUTHFLOW_BROWSER (empty for Playwright's own build),
// or an error that says how to install it.
func BrowserPath() (string, error) {
	if p := os.Getenv("AUTHFLOW_BROWSER_PATH"); p != "" {
		if _, err := os.Stat(p); err != nil {
			return "", fmt.Errorf("AUTHFLOW_BROWSER_PATH=%s: %w", p, err)
		}
		return p, nil
	}
	switch kind := os.Getenv("AUTHFLOW_BROWSER"); kind {
	case "", BrowserChromium:
		for _, p := range []string{"/usr/bin/chromium", "/usr/lib/chromium/chromium", "/usr/bin/chromium-browser"} {
			if _, err := os.Stat(p); err == nil {
				return p, nil
			}
		}
		return "", fmt.Errorf("no chromium found; install it with `apt-get install chromium` (Debian) or `make setup`, or set AUTHFLOW_BROWSER=playwright after `go tool playwright install chromium`")
	case BrowserPlaywright:
		return "", nil
	default:
		return "", fmt.Errorf("AUTHFLOW_BROWSER=%q: allowed values are chromium (Debian's package) and playwright (Playwright's own build)", kind)
	}
}
