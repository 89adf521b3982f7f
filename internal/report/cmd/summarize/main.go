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
	failures, problems := s.Failures(), s.Problems()
	switch {
	case len(problems) > 0:
		fmt.Fprintf(os.Stderr, "summarize: %s (summary: %s)\n", problems[0], *out)
		code = 1
	case len(failures) > 0:
		f := failures[0]
		fmt.Fprintf(os.Stderr, "summarize: %d test(s) failed; first: %s (%s): %s (summary: %s)\n", len(failures), f.Test, f.Run, f.Message, *out)
		code = 1
	default:
		fmt.Fprintf(os.Stderr, "summarize: all tests passed (summary: %s)\n", *out)
	}
	return code
}
