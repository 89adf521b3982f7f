package report

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// SummarizeOptions is one summary step after a suite ran: its go test -json files, the JUnit files to
// annotate and where the Markdown goes. `authflow test` (and so make e2e) and the summarize command
// (the kill matrix's) both end in Summarize, so a run is judged the same way everywhere.
type SummarizeOptions struct {
	Out       string   // the Markdown summary (artifacts/summary.md)
	Title     string   // its title
	Artifacts string   // the artifacts directory it points at (default: Out's directory)
	Extra     string   // a Markdown file appended to the summary; a missing file is skipped
	Checks    []string // run-level checks made besides the tests (one Markdown line each), under "Checks"
	Shard     string   // the AUTHFLOW_SHARD (i/n) the runs were made with: a run that ignored it fails
	Baseline  string   // a baseline file of known failures ("" for none)
	GoExit    int      // the exit status of the go test runs: non-zero while no test failed fails too
	JUnit     []string // JUnit files (gotestsum --junitfile) to annotate with failure messages
	Runs      []string // go test -json files
	Log       io.Writer
	Prefix    string // the log lines' prefix ("summarize", "authflow test")
}

// Summarize writes the summary (and appends it to $GITHUB_STEP_SUMMARY when that is set), puts each
// failed test's first failure message into the JUnit files, logs one verdict line and returns the
// exit status: 1 when a test failed, when no test ran at all (a run that tested nothing is never a
// green check), when a run file is missing, or when go test failed although no test did.
func Summarize(o SummarizeOptions) int {
	logf := func(format string, a ...any) { fmt.Fprintf(o.Log, o.Prefix+": "+format+"\n", a...) }
	s := &Summary{Title: o.Title, Artifacts: o.Artifacts, Shard: o.Shard}
	if o.Baseline != "" {
		b, err := LoadBaseline(o.Baseline)
		if err != nil {
			logf("%v", err)
			return 2
		}
		s.Baseline = b
	}
	if s.Artifacts == "" {
		s.Artifacts = filepath.Dir(o.Out)
	}
	code := 0
	for _, p := range o.Runs {
		r, err := ParseFile(p)
		if err != nil {
			// A missing result file means the suite never started: say so in the summary.
			logf("%v", err)
			r = &Run{Source: p}
			code = 1
		}
		s.Runs = append(s.Runs, r)
	}
	if len(o.Checks) > 0 {
		s.Extra = "## Checks\n\n- " + strings.Join(o.Checks, "\n- ") + "\n"
	}
	if o.Extra != "" {
		if b, err := os.ReadFile(o.Extra); err == nil {
			s.Extra += string(b)
		}
	}
	for _, j := range o.JUnit {
		if err := AnnotateJUnit(j, s.Runs); err != nil {
			logf("%v", err)
		}
	}
	md := s.Markdown()
	if err := os.MkdirAll(filepath.Dir(o.Out), 0o755); err == nil {
		if err := os.WriteFile(o.Out, []byte(md), 0o644); err != nil {
			logf("%v", err)
		}
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			_, _ = f.WriteString(md + "\n")
			f.Close()
		} else {
			logf("GITHUB_STEP_SUMMARY: %v", err)
		}
	}
	failures, problems, fixed, known := s.NewFailures(), s.Problems(), s.FixedKnown(), s.KnownFailures()
	switch {
	case len(problems) > 0:
		logf("%s (summary: %s)", problems[0], o.Out)
		code = 1
	case len(failures) > 0:
		f := failures[0]
		what := "test(s) failed"
		if s.Baseline != nil {
			what = "test(s) failed that the baseline does not list"
		}
		logf("%d %s; first: %s (%s): %s (summary: %s)", len(failures), what, f.Test, f.Run, f.Message, o.Out)
		code = 1
	case len(fixed) > 0:
		logf("%s passed in %s: remove it from the baseline %s (summary: %s)", fixed[0].Entry.Test, fixed[0].Run, s.Baseline.File, o.Out)
		code = 1
	case o.GoExit != 0 && len(known) == 0:
		logf("go test exited with status %d although no test failed; see its output above (summary: %s)", o.GoExit, o.Out)
		code = 1
	case len(known) > 0:
		logf("all tests passed but %d known failure(s) of the baseline %s (summary: %s)", len(known), s.Baseline.File, o.Out)
	default:
		logf("all tests passed (summary: %s)", o.Out)
	}
	return code
}
