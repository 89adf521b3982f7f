// Package suite runs authflow's e2e suite the one way `make e2e` and `authflow test` share: go test of
// the e2e package inside authflow's module source, once per token mode, through gotestsum (JUnit XML
// and go test -json under the artifacts directory), then report.Summarize on the result.
//
//	source.go  where the suites' source is: a checkout, or the module cache for an installed release
//	run.go     one run of the suite (modes, filters, shard, artifacts) and its verdict
//
// The suites stay ordinary Go tests (e2e/*_test.go, one test binary and one stack per process), so
// `go test ./e2e/` keeps working; an installed `authflow` compiles and runs exactly the source of its
// own version, so the CLI and the suites cannot drift apart.
package suite

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"runtime/debug"

	"github.com/authflow-e2e/authflow/internal/paths"
)

// Module is authflow's module path.
const Module = "github.com/authflow-e2e/authflow"

// SourceEnv names the variable that points at a checkout of authflow to take the suites from.
const SourceEnv = "AUTHFLOW_SOURCE"

// Source is where the suites' source was found and why there.
type Source struct {
	Dir string // the module root: its go.mod is authflow's
	How string // "AUTHFLOW_SOURCE", "checkout", "module cache (v1.2.3)" or "build checkout"
}

// FindSource locates authflow's module source, in this order:
//  1. AUTHFLOW_SOURCE, when set (a checkout the user names);
//  2. the checkout around the working directory (make e2e, go run ./cmd/authflow);
//  3. the module cache, for a binary installed with `go install .../cmd/authflow@version`: its build
//     info names the version, and `go mod download` of that version gives the directory (it is
//     already there after go install, so this is local);
//  4. the checkout the binary was built from (go install ./cmd/authflow in a clone), read from the
//     compiled-in path of this file; -trimpath builds have none.
func FindSource() (Source, error) {
	if d := os.Getenv(SourceEnv); d != "" {
		d = paths.Resolve(d)
		if paths.ModuleRoot(d) != d {
			return Source{}, fmt.Errorf("%s=%s is not a checkout of %s (no go.mod of it there)", SourceEnv, d, Module)
		}
		return Source{Dir: d, How: SourceEnv}, nil
	}
	if wd, err := os.Getwd(); err == nil {
		if root := paths.ModuleRoot(wd); root != "" {
			return Source{Dir: root, How: "checkout"}, nil
		}
	}
	var tried []string
	if bi, ok := debug.ReadBuildInfo(); ok && bi.Main.Path == Module {
		if v := bi.Main.Version; v != "" && v != "(devel)" {
			dir, err := moduleCacheDir(Module + "@" + v)
			if err == nil {
				return Source{Dir: dir, How: "module cache (" + v + ")"}, nil
			}
			tried = append(tried, err.Error())
		}
	}
	if _, file, _, ok := runtime.Caller(0); ok && filepath.IsAbs(file) {
		if root := paths.ModuleRoot(filepath.Dir(file)); root != "" {
			return Source{Dir: root, How: "build checkout"}, nil
		}
	}
	msg := fmt.Sprintf("cannot find authflow's suites: install a release (go install %s/cmd/authflow@latest), "+
		"run inside a checkout, or set %s to one", Module, SourceEnv)
	if len(tried) > 0 {
		msg += " (" + tried[0] + ")"
	}
	return Source{}, errors.New(msg)
}

// moduleCacheDir asks the go command where module@version is extracted (downloading it if needed).
func moduleCacheDir(modVersion string) (string, error) {
	cmd := exec.Command("go", "mod", "download", "-json", modVersion)
	cmd.Dir = os.TempDir() // outside any module: the download must not touch the user's go.mod
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var info struct{ Dir, Error string }
	if jerr := json.Unmarshal(out, &info); jerr == nil && info.Error != "" {
		return "", fmt.Errorf("go mod download %s: %s", modVersion, info.Error)
	}
	if err != nil {
		return "", fmt.Errorf("go mod download %s: %v: %s", modVersion, err, bytes.TrimSpace(stderr.Bytes()))
	}
	if info.Dir == "" || paths.ModuleRoot(info.Dir) != info.Dir {
		return "", fmt.Errorf("go mod download %s gave no module directory", modVersion)
	}
	return info.Dir, nil
}
