package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/internal/suite"
	"github.com/authflow-e2e/authflow/targets"
)

// appTarget is the target file of an app repository when neither -target nor AUTHFLOW_TARGET names one.
const appTarget = "authflow.yaml"

// cmdTest runs the e2e suite against a target, in every token mode it supports (or -mode), and
// writes JUnit XML, go test -json and the summary under the artifacts folder. make e2e runs this too.
func cmdTest(args []string) int {
	fs := flag.NewFlagSet("test", flag.ContinueOnError)
	target := fs.String("target", targetPath(), "target file (AUTHFLOW_TARGET; default: authflow.yaml here, or the reference target inside authflow's checkout)")
	modes := fs.String("mode", os.Getenv("AUTHFLOW_TOKEN_MODE"), "token mode(s), comma- or space-separated (AUTHFLOW_TOKEN_MODE; default: every mode the target lists in token.modes)")
	run := fs.String("run", "", "run only the tests matching this go test -run pattern")
	skip := fs.String("skip", "", "skip the tests matching this go test -skip pattern (the summary's title says so)")
	shard := fs.String("shard", os.Getenv("AUTHFLOW_SHARD"), "run shard i of n (i/n) of the suite (AUTHFLOW_SHARD)")
	art := fs.String("artifacts", paths.Artifacts(), "reports and failure artifacts go here (AUTHFLOW_ARTIFACTS)")
	timeout := fs.Duration("timeout", 0, "go test -timeout of each mode's run (default 20m)")
	failfast := fs.Bool("failfast", false, "start no new test after the first failure")
	title := fs.String("title", "authflow e2e", "the summary's title")
	list := fs.Bool("list", false, "print the suite's test names and exit (nothing is started)")
	setup := fs.Bool("setup", true, "run `authflow setup` first (installs only what is missing; < 5 s when nothing is)")
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), "usage: authflow test [flags]\n\nRuns the e2e suite against a target's stack; exits 1 when a test failed or none ran.\n\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "authflow test: unexpected argument %q (flags only; see authflow test -h)\n", fs.Arg(0))
		return 2
	}
	src, err := suite.FindSource()
	if err != nil {
		fmt.Fprintf(os.Stderr, "authflow test: %v\n", err)
		return 2
	}
	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	if *list {
		names, err := suite.List(ctx, src)
		if err != nil {
			fmt.Fprintf(os.Stderr, "authflow test: %v\n", err)
			return 1
		}
		fmt.Println(strings.Join(names, "\n"))
		return 0
	}

	path := paths.Resolve(*target)
	t, err := targets.Load(path, "")
	if err != nil {
		fmt.Fprintf(os.Stderr, "authflow test: %v\n", err)
		if _, serr := os.Stat(path); os.IsNotExist(serr) && *target == appTarget {
			fmt.Fprintf(os.Stderr, "authflow test: write one with `authflow init -url <your running app>` or name one with -target\n")
		}
		return 2
	}
	ms := strings.FieldsFunc(*modes, func(r rune) bool { return r == ',' || r == ' ' })
	if len(ms) == 0 {
		ms = t.Token.Modes
	}
	if len(ms) == 0 {
		ms = []string{t.Token.Mode}
	}
	for _, m := range ms {
		if _, err := targets.Load(path, m); err != nil {
			fmt.Fprintf(os.Stderr, "authflow test: token mode %s: %v\n", m, err)
			return 2
		}
	}
	if *setup {
		if code := runSetup(src, nil); code != 0 {
			fmt.Fprintf(os.Stderr, "authflow test: setup failed (above); nothing was run\n")
			return code
		}
	}
	ttl := *title
	if *skip != "" {
		ttl += " (not run: " + *skip + ")"
	}
	return suite.Run(ctx, suite.Options{
		Source: src, Target: path, Modes: ms, Run: *run, Skip: *skip, Shard: strings.TrimSpace(*shard),
		Artifacts: paths.Resolve(*art), Timeout: *timeout, Failfast: *failfast, Title: ttl,
		Baseline: t.BaselinePath(), Stdout: os.Stdout, Stderr: os.Stderr,
	})
}
