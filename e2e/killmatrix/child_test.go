package killmatrix

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/leak"
	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/internal/report"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/internal/shard"
)

// Timeouts of child runs.
const (
	buildTimeout = 5 * time.Minute // go test -c of the e2e package: ~40 s cold on 2 cores, ~2 s warm
	childTimeout = 8 * time.Minute // one child: stack start ~3-5 s, a full clean run of the selected tests ~1-2 min
)

// Variables a child run gets from the runner; inherited values are dropped, everything else passes
// through (AUTHFLOW_TARGET, AUTHFLOW_BROWSER*, AUTHFLOW_TIMEOUT_FACTOR, DOCKER_HOST, ...).
var childOwned = []string{paths.WorkdirEnv, "AUTHFLOW_FAULT", "AUTHFLOW_TOKEN_MODE", "AUTHFLOW_ARTIFACTS", secret.CanaryEnv, "AUTHFLOW_SHARD", "AUTHFLOW_KEEP"}

var (
	rootOnce sync.Once
	rootDir  string
	rootErr  error

	binOnce sync.Once
	binPath string
	t2jPath string
	binErr  error
)

// moduleRoot is the directory holding authflow's go.mod, found upwards from the working directory.
func moduleRoot(t testing.TB) string {
	rootOnce.Do(func() {
		d, err := os.Getwd()
		if err == nil {
			if rootDir = paths.ModuleRoot(d); rootDir == "" {
				err = fmt.Errorf("no go.mod of authflow above %s", d)
			}
		}
		rootErr = err
	})
	if rootErr != nil {
		t.Fatal(rootErr)
	}
	return rootDir
}

// e2eBinary builds the e2e test binary once per process and returns it with the test2json tool.
func e2eBinary(t testing.TB) (bin, test2json string) {
	binOnce.Do(func() {
		root := moduleRoot(t)
		dir, err := os.MkdirTemp("", "authflow-killmatrix-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "e2e.test")
		ctx, cancel := context.WithTimeout(context.Background(), buildTimeout)
		defer cancel()
		start := time.Now()
		// -trimpath as authflow test builds it: both then share the build cache
		cmd := exec.CommandContext(ctx, "go", "test", "-c", "-trimpath", "-o", binPath, "./e2e")
		cmd.Dir = root
		if out, err := cmd.CombinedOutput(); err != nil {
			binErr = fmt.Errorf("build the e2e test binary (go test -c ./e2e): %w\n%s", err, out)
			return
		}
		out, err := exec.Command("go", "tool", "-n", "test2json").Output()
		if err != nil {
			binErr = fmt.Errorf("find test2json (go tool -n test2json): %w", err)
			return
		}
		t2jPath = strings.TrimSpace(string(out))
		t.Logf("built the e2e test binary in %.1fs", time.Since(start).Seconds())
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath, t2jPath
}

var (
	cliOnce sync.Once
	cliPath string
	cliErr  error
)

// authflowBinary builds authflow from the checkout once per process (the installed kind is
// TestAppRepo's).
func authflowBinary(t testing.TB) string {
	cliOnce.Do(func() {
		dir, err := os.MkdirTemp("", "authflow-killmatrix-cli-")
		if err != nil {
			cliErr = err
			return
		}
		cliPath = filepath.Join(dir, "authflow")
		if out, err := exec.Command("go", "build", "-o", cliPath, filepath.Join(moduleRoot(t), "cmd", "authflow")).CombinedOutput(); err != nil {
			cliErr = fmt.Errorf("build authflow: %w\n%s", err, out)
		}
	})
	if cliErr != nil {
		t.Fatal(cliErr)
	}
	return cliPath
}

// TestMain empties the kill matrix's artifacts folder before the tests (each child, TestAppRepo and
// TestInit write their own folders there, the kill table's rows point at them) and removes the
// built binaries at the end.
func TestMain(m *testing.M) {
	art := artifacts.Default().KillMatrix().Root
	err := os.RemoveAll(art)
	if err == nil {
		err = os.MkdirAll(art, 0o755)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "killmatrix: %v\n", err)
		os.Exit(2)
	}
	code := m.Run()
	for _, p := range []string{binPath, cliPath} {
		if p != "" {
			os.RemoveAll(filepath.Dir(p))
		}
	}
	os.Exit(code)
}

// listE2E returns the top-level tests of the e2e suite (the binary's -test.list; no stack starts).
func listE2E(t testing.TB, pattern string, env ...string) []string {
	bin, _ := e2eBinary(t)
	cmd := exec.Command(bin, "-test.list", pattern)
	cmd.Dir = filepath.Join(moduleRoot(t), "e2e")
	cmd.Env = childEnv(env...)
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("list the e2e tests: %v\n%s", err, stderr.String())
	}
	return shard.Listed(out)
}

// childEnv is this process's environment without the variables the runner owns, plus extra.
func childEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		owned := false
		for _, k := range childOwned {
			if strings.HasPrefix(kv, k+"=") {
				owned = true
				break
			}
		}
		if !owned {
			env = append(env, kv)
		}
	}
	// the child runs in e2e/: relative paths the user gave (AUTHFLOW_TARGET) stay relative to the user's directory
	return append(append(env, paths.WorkdirEnv+"="+paths.UserDir()), extra...)
}

// child is one run of the e2e binary against its own stack.
type child struct {
	Label string   // "fault=no-auth-header,mode=hs256"
	Fault string   // "" for the clean stack
	Mode  string   // hs256 or jwks
	Run   string   // -test.run pattern
	Env   []string // extra environment
	// CLI, when set, runs the child through an installed authflow's `authflow test` in an app
	// repository instead of the e2e binary: the way an app team runs the suite.
	CLI *viaCLI

	// Results.
	Result    *report.Run
	Took      time.Duration
	ExitErr   error
	Dir       string // the child's own artifacts dir (AUTHFLOW_ARTIFACTS)
	JSONFile  string // its go test -json stream
	Secrets   int    // number of secrets it recorded in the leak canary
	Leaks     []leak.Finding
	LeakError error
}

// run executes the child: test2json around the e2e binary in the e2e directory, or authflow test in
// the app repository (CLI), with its own artifacts directory and leak canary; then parses the events
// and scans everything it wrote for the recorded secrets.
func (c *child) run(t testing.TB, art artifacts.Dir) {
	c.Dir = art.Child(c.Label).Root
	if err := os.RemoveAll(c.Dir); err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		t.Fatal(err)
	}
	// The canary holds live credentials: keep it out of the artifacts, remove it afterwards.
	canaryDir, err := os.MkdirTemp("", "authflow-canary-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(canaryDir)
	canary := filepath.Join(canaryDir, "secrets")
	own := append([]string{
		"AUTHFLOW_FAULT=" + c.Fault,
		"AUTHFLOW_TOKEN_MODE=" + c.Mode,
		"AUTHFLOW_ARTIFACTS=" + c.Dir,
		secret.CanaryEnv + "=" + canary,
	}, c.Env...)

	ctx, cancel := context.WithTimeout(context.Background(), childTimeout+30*time.Second)
	defer cancel()
	var cmd *exec.Cmd
	var stdoutPath string // what the command prints: the event stream itself, or authflow test's console
	if c.CLI == nil {
		bin, t2j := e2eBinary(t)
		c.JSONFile = filepath.Join(c.Dir, "go-test.json")
		stdoutPath = c.JSONFile
		cmd = exec.CommandContext(ctx, t2j, "-t", "-p", "e2e", bin,
			"-test.v=test2json", "-test.run", c.Run, "-test.count=1", "-test.timeout", childTimeout.String())
		cmd.Dir = filepath.Join(moduleRoot(t), "e2e")
		cmd.Env = childEnv(own...)
	} else {
		c.JSONFile = artifacts.Dir{Root: c.Dir}.JSON("e2e", c.Mode) // written by authflow test
		stdoutPath = filepath.Join(c.Dir, "authflow-test.txt")
		cmd = exec.CommandContext(ctx, c.CLI.Bin, "test", "-setup=false", "-target", c.CLI.Target, "-mode", c.Mode,
			"-run", c.Run, "-artifacts", c.Dir, "-timeout", childTimeout.String())
		cmd.Dir = c.CLI.Dir
		// the app team's shell: relative paths are relative to the app repository, not to authflow
		cmd.Env = append(appEnv(), own...)
	}
	stdout, err := os.Create(stdoutPath)
	if err != nil {
		t.Fatal(err)
	}
	defer stdout.Close()
	var stderr bytes.Buffer
	cmd.Stdout = stdout
	cmd.Stderr = &stderr
	// On timeout, interrupt test2json and the e2e binary (its own process group): TestMain then tears
	// the stack down; WaitDelay bounds that.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGINT) }
	cmd.WaitDelay = 30 * time.Second
	start := time.Now()
	c.ExitErr = cmd.Run()
	c.Took = time.Since(start)
	if err := stdout.Close(); err != nil {
		t.Fatal(err)
	}
	if stderr.Len() > 0 {
		if err := os.WriteFile(filepath.Join(c.Dir, "stderr.txt"), stderr.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c.Result, err = report.ParseFile(c.JSONFile)
	if err != nil {
		t.Fatal(err)
	}

	secrets, err := leak.ReadCanaries(canary)
	if err != nil {
		c.LeakError = err
		return
	}
	c.Secrets = len(secrets)
	c.Leaks, c.LeakError = leakCheck(secrets, c.Dir)
}

// viaCLI is an installed authflow and the app repository it runs in.
type viaCLI struct {
	Bin    string // the installed authflow
	Dir    string // the app repository: its working directory
	Target string // -target, relative to Dir or absolute
}

// leakCheck scans a child's whole output for the secrets it recorded: its go test -json stream and
// stderr (both saved in dir) and every file under dir, its artifacts directory.
func leakCheck(secrets []string, dir string) ([]leak.Finding, error) {
	return leak.NewScanner(secrets).Dir(dir)
}

// failedNames returns the failed tests of a run (subtests included).
func failedNames(r *report.Run) []string {
	var out []string
	for _, t := range r.Failed() {
		out = append(out, t.Name)
	}
	return out
}
