// Package paths resolves the file and folder names a user gives authflow (AUTHFLOW_TARGET,
// AUTHFLOW_ARTIFACTS, -target, -artifacts) the same way for make, go test and the CLI: a relative
// path is relative to the directory the user ran the command in.
//
// That directory is not always the process's own: `go test ./e2e/` runs the test binary inside e2e/
// and sets PWD to it. The order is: AUTHFLOW_WORKDIR when set (make sets it to the directory it was
// started in); else, when this process was started by the go command (go test, go run), the go
// command's working directory; else the process's own. Go's toolchain offers no way to learn the
// invoking directory, so the parent's working directory is read from /proc by hand (Linux; elsewhere
// the process's own directory is used).
package paths

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// WorkdirEnv names the variable that pins the user's directory for child processes.
const WorkdirEnv = "AUTHFLOW_WORKDIR"

// UserDir is the directory relative paths given by the user are taken from.
func UserDir() string {
	if d := os.Getenv(WorkdirEnv); d != "" && filepath.IsAbs(d) {
		return d
	}
	if d, ok := goCommandDir(os.Getppid()); ok {
		return d
	}
	wd, err := os.Getwd()
	if err != nil {
		return "."
	}
	return wd
}

// goCommandDir is the working directory of process pid when that process is the go command.
func goCommandDir(pid int) (string, bool) {
	proc := "/proc/" + strconv.Itoa(pid)
	exe, err := os.Readlink(proc + "/exe")
	if err != nil {
		return "", false
	}
	if b := filepath.Base(exe); b != "go" && !strings.HasPrefix(b, "go1.") {
		return "", false
	}
	cwd, err := os.Readlink(proc + "/cwd")
	if err != nil || !filepath.IsAbs(cwd) {
		return "", false
	}
	return cwd, true
}

// Resolve makes a user-given path absolute, relative to UserDir. An empty path stays empty.
func Resolve(p string) string {
	if p == "" || filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(UserDir(), p)
}

// ModuleRoot walks up from dir to the folder that holds authflow's go.mod ("" when there is none).
func ModuleRoot(dir string) string {
	for d := dir; ; {
		if b, err := os.ReadFile(filepath.Join(d, "go.mod")); err == nil && strings.Contains(string(b), "module github.com/authflow-e2e/authflow\n") {
			return d
		}
		parent := filepath.Dir(d)
		if parent == d {
			return ""
		}
		d = parent
	}
}

// Artifacts is AUTHFLOW_ARTIFACTS resolved, else artifacts/ at the module root when the process runs
// inside authflow's tree, else artifacts/ in UserDir.
func Artifacts() string {
	if d := os.Getenv("AUTHFLOW_ARTIFACTS"); d != "" {
		return Resolve(d)
	}
	if wd, err := os.Getwd(); err == nil {
		if root := ModuleRoot(wd); root != "" {
			return filepath.Join(root, "artifacts")
		}
	}
	return filepath.Join(UserDir(), "artifacts")
}

// Target is AUTHFLOW_TARGET resolved, else def (a path relative to the module root) when the process
// runs inside authflow's tree, else def as given.
func Target(def string) string {
	if p := os.Getenv("AUTHFLOW_TARGET"); p != "" {
		return Resolve(p)
	}
	if wd, err := os.Getwd(); err == nil {
		if root := ModuleRoot(wd); root != "" {
			return filepath.Join(root, def)
		}
	}
	return def
}
