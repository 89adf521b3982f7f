// Command summarize reads `go test -json` files (gotestsum --jsonfile), writes a Markdown run summary
// to -o (artifacts/summary.md) and appends it to $GITHUB_STEP_SUMMARY when that is set, puts each
// failed test's first failure message into the JUnit files given with -junit, and exits non-zero when a
// test failed or when no test ran at all (a run that tested nothing is never a green check).
//
//	go run ./internal/report/cmd/summarize -o artifacts/summary.md -junit artifacts/junit-e2e-hs256.xml artifacts/e2e-hs256.json
package main

import (
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/authflow-e2e/authflow/internal/report"
	"github.com/authflow-e2e/authflow/targets"
)

type list []string

func (l *list) String() string     { return strings.Join(*l, ",") }
func (l *list) Set(s string) error { *l = append(*l, s); return nil }

func main() { os.Exit(run(os.Args[1:])) }

func run(args []string) int {
	fs := flag.NewFlagSet("summarize", flag.ContinueOnError)
	out := fs.String("o", "artifacts/summary.md", "write the Markdown summary to this file")
	title := fs.String("title", "authflow e2e", "summary title")
	artifacts := fs.String("artifacts", "", "artifacts directory to point at (default: the directory of -o)")
	extra := fs.String("extra", "", "a Markdown file appended to the summary (e.g. the kill table); a missing file is skipped")
	shard := fs.String("shard", "", "the AUTHFLOW_SHARD (i/n) the runs were made with: fail a run that did not apply it")
	baseline := fs.String("baseline", "", "a baseline file of known failures (report.Baseline); overrides the target's")
	target := fs.String("target", "", "the target file the runs used: its baseline: field names the known failures")
	goExit := fs.Int("go-exit", 0, "the exit status of the go test runs: non-zero while no test failed is a failure too")
	var junit list
	fs.Var(&junit, "junit", "a JUnit file (gotestsum --junitfile) to annotate with failure messages; repeatable")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: summarize [flags] RUN.json...\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	s := &report.Summary{Title: *title, Artifacts: *artifacts, Shard: strings.TrimSpace(*shard)}
	if *baseline == "" && *target != "" {
		t, err := targets.Load(*target, "")
		if err != nil {
			fmt.Fprintf(os.Stderr, "summarize: %v\n", err)
			return 2
		}
		*baseline = t.BaselinePath()
	}
	if *baseline != "" {
		b, err := report.LoadBaseline(*baseline)
		if err != nil {
			fmt.Fprintf(os.Stderr, "summarize: %v\n", err)
			return 2
		}
		s.Baseline = b
	}
	if s.Artifacts == "" {
		s.Artifacts = filepath.Dir(*out)
	}
	code := 0
	for _, p := range fs.Args() {
		r, err := report.ParseFile(p)
		if err != nil {
			// A missing result file means the suite never started: say so in the summary.
			fmt.Fprintf(os.Stderr, "summarize: %v\n", err)
			r = &report.Run{Source: p}
			code = 1
		}
		s.Runs = append(s.Runs, r)
	}
	if *extra != "" {
		if b, err := os.ReadFile(*extra); err == nil {
			s.Extra = string(b)
		}
	}
	for _, j := range junit {
		if err := report.AnnotateJUnit(j, s.Runs); err != nil {
			fmt.Fprintf(os.Stderr, "summarize: %v\n", err)
		}
	}
	md := s.Markdown()
	if err := os.MkdirAll(filepath.Dir(*out), 0o755); err == nil {
		err = os.WriteFile(*out, []byte(md), 0o644)
		if err != nil {
			fmt.Fprintf(os.Stderr, "summarize: %v\n", err)
		}
	}
	if p := os.Getenv("GITHUB_STEP_SUMMARY"); p != "" {
		if f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644); err == nil {
			_, _ = f.WriteString(md + "\n")
			f.Close()
		} else {
			fmt.Fprintf(os.Stderr, "summarize: GITHUB_STEP_SUMMARY: %v\n", err)
		}
	}
	failures, problems, fixed, known := s.NewFailures(), s.Problems(), s.FixedKnown(), s.KnownFailures()
	switch {
	case len(problems) > 0:
		fmt.Fprintf(os.Stderr, "summarize: %s (summary: %s)\n", problems[0], *out)
		code = 1
	case len(failures) > 0:
		f := failures[0]
		what := "test(s) failed"
		if s.Baseline != nil {
			what = "test(s) failed that the baseline does not list"
		}
		fmt.Fprintf(os.Stderr, "summarize: %d %s; first: %s (%s): %s (summary: %s)\n", len(failures), what, f.Test, f.Run, f.Message, *out)
		code = 1
	case len(fixed) > 0:
		fmt.Fprintf(os.Stderr, "summarize: %s passed in %s: remove it from the baseline %s (summary: %s)\n",
			fixed[0].Entry.Test, fixed[0].Run, s.Baseline.File, *out)
		code = 1
	case *goExit != 0 && len(known) == 0:
		fmt.Fprintf(os.Stderr, "summarize: go test exited with status %d although no test failed; see its output above (summary: %s)\n", *goExit, *out)
		code = 1
	case len(known) > 0:
		fmt.Fprintf(os.Stderr, "summarize: all tests passed but %d known failure(s) of the baseline %s (summary: %s)\n", len(known), s.Baseline.File, *out)
	default:
		fmt.Fprintf(os.Stderr, "summarize: all tests passed (summary: %s)\n", *out)
	}
	return code
}
