package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/scenarios/browser"
	"github.com/authflow-e2e/authflow/scenarios/probe"
)

// cmdInit probes a running app (Better Auth's API, its token and JWKS routes, its pages in the
// browser, the ChatKit requests of its chat page) and writes a first target file for it: every
// found value with how it was found, a TODO for the rest. Progress goes to stderr, one line per
// step; the file never holds a secret.
func cmdInit(args []string) int {
	fs := flag.NewFlagSet("init", flag.ContinueOnError)
	rawURL := fs.String("url", "", "the running web app's URL, as the browser opens it (required), e.g. http://localhost:3000")
	out := fs.String("o", "authflow.yaml", "the target file to write (relative to the current directory)")
	force := fs.Bool("force", false, "overwrite the file if it exists")
	timeout := fs.Duration("timeout", 3*time.Minute, "give up the whole probe after this long")
	noBrowser := fs.Bool("no-browser", false, "probe the HTTP API only (the pages and selectors stay TODOs)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }
	if *rawURL == "" || fs.NArg() > 0 {
		logf("authflow init: -url is required (the running web app, e.g. -url http://localhost:3000)")
		fs.Usage()
		return 2
	}
	path := paths.Resolve(*out)
	if _, err := os.Stat(path); err == nil && !*force {
		logf("authflow init: %s exists; pass -force to overwrite it, or -o another file", path)
		return 2
	} else if err != nil && !errors.Is(err, os.ErrNotExist) {
		logf("authflow init: %v", err)
		return 2
	}
	cfg, err := browser.ConfigFromEnv()
	if err != nil && !*noBrowser {
		logf("authflow init: browser: %v (or pass -no-browser)", err)
		return 2
	}

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	ctx, tcancel := context.WithTimeout(ctx, *timeout)
	defer tcancel()
	start := time.Now()
	res, err := probe.Run(ctx, probe.Options{
		URL: *rawURL, Browser: cfg, NoBrowser: *noBrowser,
		Progress: func(s string) { fmt.Fprintln(os.Stderr, s) },
	})
	if err != nil {
		logf("authflow init: %v", err)
		return 1
	}
	took := time.Since(start).Round(100 * time.Millisecond).String()
	cmdline := "authflow init -url " + *rawURL
	data := probe.Render(res, probe.RenderOptions{Command: cmdline, Took: took})
	if err := os.WriteFile(path, data, 0o644); err != nil {
		logf("authflow init: %v", err)
		return 1
	}
	foundList, missing := res.Summary()
	logf("\nauthflow init: probed %s in %s; wrote %s", res.WebURL, took, path)
	logf("found (%d):", len(foundList))
	for _, f := range foundList {
		logf("  %s", f)
	}
	logf("not found (%d, TODO in the file):", len(missing))
	for _, m := range missing {
		logf("  %s", m)
	}
	logf("always TODO: secret (hs256), postgres.dsn, probes or features, budgets, logs")
	if len(res.Notes) > 0 {
		logf("notes:\n  %s", strings.Join(res.Notes, "\n  "))
	}
	return 0
}
