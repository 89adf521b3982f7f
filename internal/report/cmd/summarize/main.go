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
	bl := *baseline
	if bl == "" && *target != "" {
		t, err := targets.Load(*target, "")
		if err != nil {
			fmt.Fprintf(os.Stderr, "summarize: %v\n", err)
			return 2
		}
		bl = t.BaselinePath()
	}
	return report.Summarize(report.SummarizeOptions{
		Out: *out, Title: *title, Artifacts: *artifacts, Extra: *extra, Shard: strings.TrimSpace(*shard),
		Baseline: bl, GoExit: *goExit, JUnit: junit, Runs: fs.Args(), Log: os.Stderr, Prefix: "summarize",
	})
}
