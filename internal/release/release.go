// Package release makes authflow installable with `go install .../cmd/authflow@version` without a
// public registry: it writes a file-system module proxy (GOPROXY=file://DIR) that serves one commit
// of a checkout the way proxy.golang.org serves a tagged release (the module zip, its go.mod and its
// .info), so an app repository installs exactly what a release would give it. The zip is made from
// the commit, not the working tree, by golang.org/x/mod/zip (the go command's own module zip rules:
// nested modules such as refapp/ are left out, file names are checked).
package release

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/mod/module"
	"golang.org/x/mod/semver"
	"golang.org/x/mod/zip"
)

// Module is authflow's module path.
const Module = "github.com/authflow-e2e/authflow"

// Proxy is a written proxy: where it is and the version it serves.
type Proxy struct {
	Dir     string
	Version string // a pseudo-version of the commit, e.g. v0.0.0-20261201135859-93fa480c1d2e
	Rev     string
	Dirty   bool // the checkout had uncommitted changes, which the served version does not have
}

// GOPROXY is the GOPROXY value that serves this proxy first and the user's usual proxy for everything
// else (authflow's dependencies).
func (p Proxy) GOPROXY(fallback string) string {
	u := "file://" + filepath.ToSlash(p.Dir)
	if fallback == "" || fallback == "off" {
		return u
	}
	return u + "," + fallback
}

// Env is what `go install` needs to install from the proxy: its GOPROXY, and no checksum database
// lookup for authflow (the database knows only published versions; the dependencies stay checked).
func (p Proxy) Env(fallbackProxy string) []string {
	return []string{"GOPROXY=" + p.GOPROXY(fallbackProxy), "GONOSUMDB=" + Module}
}

// InstallCommand is the command an app team runs, with the proxy's environment.
func (p Proxy) InstallCommand(fallbackProxy string) string {
	return strings.Join(p.Env(fallbackProxy), " ") + " go install " + Module + "/cmd/authflow@" + p.Version
}

// Write writes the proxy for commit rev ("" for HEAD) of the checkout at root into dir.
func Write(dir, root, rev string) (Proxy, error) {
	if rev == "" {
		rev = "HEAD"
	}
	full, err := git(root, "rev-parse", "--verify", rev+"^{commit}")
	if err != nil {
		return Proxy{}, err
	}
	unix, err := git(root, "show", "-s", "--format=%ct", full)
	if err != nil {
		return Proxy{}, err
	}
	secs, err := strconv.ParseInt(unix, 10, 64)
	if err != nil {
		return Proxy{}, fmt.Errorf("commit time of %s: %w", full, err)
	}
	when := time.Unix(secs, 0).UTC()
	status, _ := git(root, "status", "--porcelain", "--untracked-files=no")
	p := Proxy{Dir: dir, Rev: full, Version: module.PseudoVersion("v0", "", when, full[:12]), Dirty: status != ""}

	base := filepath.Join(dir, filepath.FromSlash(Module), "@v")
	if err := os.MkdirAll(base, 0o755); err != nil {
		return Proxy{}, err
	}
	mod, err := gitShow(root, full+":go.mod")
	if err != nil {
		return Proxy{}, err
	}
	info, _ := json.Marshal(struct {
		Version string
		Time    time.Time
	}{p.Version, when})
	var zbuf bytes.Buffer
	if err := zip.CreateFromVCS(&zbuf, module.Version{Path: Module, Version: p.Version}, root, full, ""); err != nil {
		return Proxy{}, fmt.Errorf("module zip of %s: %w", full[:12], err)
	}
	files := map[string][]byte{
		p.Version + ".info": info,
		p.Version + ".mod":  mod,
		p.Version + ".zip":  zbuf.Bytes(),
	}
	for name, b := range files {
		if err := os.WriteFile(filepath.Join(base, name), b, 0o644); err != nil {
			return Proxy{}, err
		}
	}
	// @latest: the go command asks it when list names no tagged release (only pseudo-versions here),
	// so @latest is the commit written last
	if err := os.WriteFile(filepath.Join(dir, filepath.FromSlash(Module), "@latest"), info, 0o644); err != nil {
		return Proxy{}, err
	}
	versions := []string{p.Version}
	if old, err := os.ReadFile(filepath.Join(base, "list")); err == nil {
		for _, v := range strings.Fields(string(old)) {
			if v != p.Version {
				versions = append(versions, v)
			}
		}
	}
	semver.Sort(versions)
	return p, os.WriteFile(filepath.Join(base, "list"), []byte(strings.Join(versions, "\n")+"\n"), 0o644)
}

func git(dir string, args ...string) (string, error) {
	out, err := gitShow(dir, args...)
	return strings.TrimSpace(string(out)), err
}

// gitShow runs git in dir; with one argument it is `git show <arg>`.
func gitShow(dir string, args ...string) ([]byte, error) {
	if len(args) == 1 {
		args = []string{"show", args[0]}
	}
	cmd := exec.Command("git", args...)
	cmd.Dir = dir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("git %s in %s: %v: %s", strings.Join(args, " "), dir, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return out, nil
}
