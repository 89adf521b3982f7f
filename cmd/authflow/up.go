package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/internal/redact"
	"github.com/authflow-e2e/authflow/internal/stack"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
	"github.com/authflow-e2e/authflow/targets"
)

// cmdUp starts a target's stack for manual QA, prints where everything is and a ready test user,
// waits for Ctrl-C and removes the stack.
func cmdUp(args []string) int {
	fs := flag.NewFlagSet("up", flag.ContinueOnError)
	target := fs.String("target", targetPath(), "target file (AUTHFLOW_TARGET; default: authflow.yaml here, or the reference target inside authflow's checkout)")
	mode := fs.String("mode", os.Getenv("AUTHFLOW_TOKEN_MODE"), "token mode: hs256 or jwks (AUTHFLOW_TOKEN_MODE; default: the target's)")
	held := fs.String("held-target", "", "where to write the target file of the held stack (default: <artifacts>/held/<name>.yaml)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logf := func(format string, a ...any) { fmt.Fprintf(os.Stderr, format+"\n", a...) }
	containers.PrepareEnv(os.Getenv("AUTHFLOW_VERBOSE") == "1")
	t, err := targets.Load(*target, *mode)
	if err != nil {
		logf("authflow up: %v", err)
		return 2
	}
	runID := containers.NewRunID()
	reaper, err := containers.StartReaper(runID)
	if err != nil {
		logf("authflow up: %v", err)
	}
	defer reaper.Stop()

	ctx, cancel := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer cancel()
	env, err := stack.Up(ctx, t, runID, stack.Options{Progress: logf, Redact: redact.String})
	if err != nil {
		logf("authflow up: %v", err)
		return 1
	}
	defer func() {
		tctx, tcancel := context.WithTimeout(context.Background(), containers.Scaled(30*time.Second))
		defer tcancel()
		if err := env.Stack.Close(tctx); err != nil {
			logf("authflow up: teardown: %v", err)
		}
	}()

	r := env.Rendered
	p := data.NewPersona("qa", "QA User")
	auth, err := betterauth.New(betterauth.Options{BaseURL: r.App.WebURL, AuthPath: r.App.AuthBasePath, TokenPath: r.App.TokenPath})
	if err == nil {
		sctx, scancel := context.WithTimeout(ctx, containers.Scaled(30*time.Second))
		_, err = auth.SignUpAs(sctx, p)
		scancel()
	}
	fmt.Printf("\nauthflow: stack %q is up (token mode %s, run %s)\n", r.Name, r.TokenMode, runID)
	fmt.Printf("  web (open this)   %s\n", r.App.WebURL)
	for _, name := range []string{"signup", "login", "chat"} {
		if path, ok := r.App.Pages[name]; ok {
			fmt.Printf("  %-17s %s%s\n", name+" page", r.App.WebURL, path)
		}
	}
	fmt.Printf("  token route       %s%s\n", r.App.WebURL, r.App.TokenPath)
	if r.TokenMode == targets.ModeJWKS {
		fmt.Printf("  jwks              %s%s\n", r.App.WebURL, r.App.JWKSPath)
	}
	fmt.Printf("  chatkit           %s\n", r.App.ChatKitURL)
	for _, s := range r.Services {
		if svc := env.Stack.Services[s.Name]; svc != nil {
			fmt.Printf("  service %-9s %s\n", s.Name, svc.PublicURL)
		}
	}
	fmt.Printf("  postgres          %s\n", env.Stack.Postgres.DSN)
	if err != nil {
		fmt.Printf("  test user         could not be created: %v\n", err)
	} else {
		fmt.Printf("  test user         %s\n  password          %s\n", p.Email, p.Password.Value())
	}
	heldPath := *held
	if heldPath == "" {
		heldPath = artifacts.Default().Held(r.Name)
	}
	heldPath = paths.Resolve(heldPath)
	if err := writeHeldTarget(heldPath, env); err != nil {
		fmt.Printf("\n  held-stack target could not be written: %v\n", err)
	} else {
		defer os.Remove(heldPath)
		fmt.Printf("\nRun the suites against this stack (nothing is started again):\n  authflow test -target %s -mode %s\n", heldPath, r.TokenMode)
		if wd, err := os.Getwd(); err == nil && paths.ModuleRoot(wd) != "" {
			fmt.Printf("  or, in authflow's checkout: AUTHFLOW_TARGET=%s make e2e MODES=%s\n", heldPath, r.TokenMode)
		}
	}
	fmt.Printf("\nCtrl-C stops and removes the stack.\n")
	<-ctx.Done()
	fmt.Fprintln(os.Stderr, "\nauthflow up: stopping")
	return 0
}
