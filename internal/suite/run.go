package suite

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/leak"
	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/internal/report"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/internal/shard"
)

// Package is the e2e suite's package, relative to the module root.
const Package = "./e2e/"

// Options is one run of the e2e suite.
type Options struct {
	Source    Source
	Target    string   // the target file, absolute
	Modes     []string // token modes, one go test run each, in order
	Run, Skip string   // go test -run / -skip patterns ("" for all)
	Shard     string   // AUTHFLOW_SHARD, i/n ("" for the whole suite)
	Artifacts string   // the artifacts directory, absolute
	Timeout   time.Duration
	Failfast  bool
	Title     string
	Baseline  string // the target's baseline file ("" for none)
	Stdout    io.Writer
	Stderr    io.Writer
}

// Run runs the suite once per mode and summarizes it: the exit status is report.Summarize's (1 when
// a test failed or no test ran at all) or 2 when the suite could not be started.
func Run(ctx context.Context, o Options) int {
	logf := func(format string, a ...any) { fmt.Fprintf(o.Stderr, "authflow test: "+format+"\n", a...) }
	if _, err := exec.LookPath("go"); err != nil {
		logf("the suites are Go tests and need the go command on PATH (Go %s or newer): %v", goVersion(o.Source.Dir), err)
		return 2
	}
	art := artifacts.Dir{Root: o.Artifacts}
	if err := os.MkdirAll(art.Root, 0o755); err != nil {
		logf("%v", err)
		return 2
	}
	logf("suites from %s (%s); target %s; artifacts %s", o.Source.Dir, o.Source.How, o.Target, art.Root)
	goExit, leaked := 0, false
	var runs, junits, checks []string
	for _, m := range o.Modes {
		junit, js := art.JUnit("e2e", m), art.JSON("e2e", m)
		_ = os.Remove(junit)
		_ = os.Remove(js)
		fmt.Fprintf(o.Stdout, "=== e2e, token mode %s%s\n", m, cond(o.Shard != "", ", shard "+o.Shard))
		args := []string{"tool", "gotestsum", "--format", "testname", "--junitfile", junit, "--jsonfile", js,
			"--junitfile-project-name", "authflow-e2e-" + m, "--"}
		args = append(args, goTestArgs(o)...)
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = o.Source.Dir
		cmd.Env = childEnv(o, m)
		canary, err := newCanary()
		if err != nil {
			logf("%v", err)
			return 2
		}
		if canary != "" {
			cmd.Env = append(cmd.Env, secret.CanaryEnv+"="+canary)
		}
		cmd.Stdout, cmd.Stderr = o.Stdout, o.Stderr
		// Ctrl-C reaches go test and the suite through the terminal's process group; the suite's
		// TestMain then tears its stack down, which WaitDelay leaves it time for.
		cmd.Cancel = func() error { return cmd.Process.Signal(os.Interrupt) }
		cmd.WaitDelay = time.Minute
		t0 := time.Now()
		err = cmd.Run()
		var exit *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &exit):
			goExit = 1
		default:
			logf("token mode %s: %v", m, err)
			goExit = 1
		}
		logf("token mode %s done in %s", m, time.Since(t0).Round(100*time.Millisecond))
		runs, junits = append(runs, js), append(junits, junit)
		if canary != "" {
			line, found := leakCheck(canary, art.Root, t0)
			_ = os.Remove(canary)
			logf("token mode %s: %s", m, line)
			checks = append(checks, m+": "+line)
			leaked = leaked || found
		}
	}
	code := report.Summarize(report.SummarizeOptions{
		Out: art.Summary(""), Title: o.Title, Shard: o.Shard, Baseline: o.Baseline, GoExit: goExit,
		JUnit: junits, Runs: runs, Checks: checks, Log: o.Stderr, Prefix: "authflow test",
	})
	if code == 0 && leaked {
		code = 1 // a leak fails the run even when every test passed or failed as the baseline knows
	}
	return code
}

// newCanary is a fresh leak canary file for one go test run (secret.CanaryEnv: the suite records
// every secret it creates there), or "" when a parent process records the secrets already (the kill
// matrix running authflow test): that parent then makes the check. The file holds live credentials
// of the run: it is the user's alone and removed after the check.
func newCanary() (string, error) {
	if os.Getenv(secret.CanaryEnv) != "" {
		return "", nil
	}
	f, err := os.CreateTemp("", "authflow-canary-")
	if err != nil {
		return "", fmt.Errorf("leak canary: %w", err)
	}
	return f.Name(), f.Close()
}

// leakCheck searches everything the run wrote for every secret it created: the files under the
// artifacts folder written since start (the go test -json stream, which holds all test output, the
// JUnit file, the failure artifacts and traces, the reports). It returns the summary's line and
// whether a secret was found.
func leakCheck(canary, root string, start time.Time) (string, bool) {
	secrets, err := leak.ReadCanaries(canary)
	if err != nil {
		return fmt.Sprintf("**leak check failed**: %v", err), true
	}
	sc := leak.NewScanner(secrets)
	// 2 s of slack: file times come from the kernel's coarse clock, a little behind time.Now
	findings, files, err := sc.DirSince(root, start.Add(-2*time.Second))
	switch {
	case err != nil:
		return fmt.Sprintf("**leak check failed**: %v", err), true
	case len(findings) > 0:
		return fmt.Sprintf("**a secret this run created is in its output or artifacts** (%d finding(s)):\n%s",
			len(findings), leak.Report(findings, 10)), true
	}
	return fmt.Sprintf("leak check: none of the %d secrets this run created (passwords, tokens, cookies, keys) is in its output or the %d files it wrote", sc.Len(), files), false
}

// goTestArgs are the go test flags of a run. -trimpath keeps compiled packages independent of where
// the source lies, so a checkout and the module cache share the build cache.
func goTestArgs(o Options) []string {
	timeout := o.Timeout
	if timeout == 0 {
		timeout = 20 * time.Minute
	}
	args := []string{Package, "-count=1", "-trimpath", "-timeout", timeout.String()}
	if o.Run != "" {
		args = append(args, "-run", o.Run)
	}
	if o.Skip != "" {
		args = append(args, "-skip", o.Skip)
	}
	if o.Failfast {
		args = append(args, "-failfast")
	}
	return args
}

// childEnv is the environment of a mode's go test: the user's, with the run's own settings fixed.
// Paths are absolute and AUTHFLOW_WORKDIR pins the user's directory, because go test runs inside the
// module source (perhaps a read-only module cache), not where the user is.
func childEnv(o Options, mode string) []string {
	own := map[string]string{
		"AUTHFLOW_TARGET":     o.Target,
		"AUTHFLOW_ARTIFACTS":  o.Artifacts,
		"AUTHFLOW_TOKEN_MODE": mode,
		"AUTHFLOW_SHARD":      o.Shard,
		paths.WorkdirEnv:      paths.UserDir(),
		"GOWORK":              "off",
	}
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if _, ok := own[k]; !ok {
			env = append(env, kv)
		}
	}
	for k, v := range own {
		if v != "" {
			env = append(env, k+"="+v)
		}
	}
	return env
}

// List is the suite's test names (go test -list), in source order, without running anything.
func List(ctx context.Context, src Source) ([]string, error) {
	cmd := exec.CommandContext(ctx, "go", "test", "-trimpath", "-list", ".", Package)
	cmd.Dir = src.Dir
	cmd.Env = append(os.Environ(), "GOWORK=off")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("go test -list in %s: %v: %s", src.Dir, err, bytes.TrimSpace(stderr.Bytes()))
	}
	return shard.Listed(out), nil
}

// goVersion is the go directive of the module's go.mod, for the message when go is missing.
func goVersion(dir string) string {
	b, _ := os.ReadFile(dir + "/go.mod")
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "go "); ok {
			return strings.TrimSpace(v)
		}
	}
	return "1.26"
}

func cond(ok bool, s string) string {
	if ok {
		return s
	}
	return ""
}
