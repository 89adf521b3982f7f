// Package e2e is authflow's end-to-end suite: one test binary, one stack per process (TestMain starts
// the target, the tests share it, teardown runs on exit, panic or signal). Tests read as stories;
// their names are Test<Area>_<WhatMustHold>, the area being the summary's row and the kill matrix's
// vocabulary. The files:
//
//	main_test.go              TestMain: the target, the stack's lifecycle, the setup steps (helper
//	                          services), the raw-log leak scan
//	world_test.go             the World, the run's only state (stack, database probe, shared users by
//	                          role, actors with sessions, tokens and ChatKit clients, the browser, the
//	                          security report, the run record), the per-test context, needs()
//	summary_test.go           the run summary and timings printed after the tests (track)
//	shard_test.go             AUTHFLOW_SHARD: this process runs one shard of the suite
//	smoke_test.go             Smoke: sign-up, token, a task over ChatKit, the rows in Postgres
//	api_auth_test.go          SignUp, SignIn, Session, SignOut over HTTP
//	api_token_test.go         Token: issued for a live session only, claims, lifetime, the mode's key
//	api_schema_test.go        Schema: Better Auth's tables for the target's Better Auth line
//	api_chatkit_test.go       ChatKit: the protocol, paging, update/delete, history, refusals
//	api_isolation_test.go     Isolation: another user's threads and tasks, identity from sub only
//	api_unseen_test.go        judging answers about a thread the caller cannot see (app.not_found)
//	api_load_test.go          Load: 50 users at once, p50/p95 per step
//	api_helpers_test.go       helpers of the API suites (HTTP errors, token checks, ids, percentiles)
//	browser_world_test.go     the browser: one Chromium per process, a context per session, artifacts
//	browser_journey_test.go   Browser: the user's journey through the forms and the chat page
//	browser_harness_test.go   Browser: self-tests of the page-error and 5xx guard and the artifacts
//	security_env_test.go      Security: the keys (shared secret, the web's recovered key), sending
//	                          (judging, budgets and the report: internal/attack)
//	security_matrix_test.go   Security: the JWT attack matrix (alg, keys, header keys, claims, malformed)
//	security_policy_test.go   Security: measured policies (token after sign-out or deletion, leeway)
//	security_keyserver_test.go the recording key server the jku/x5u attacks point at
//	killmatrix/               the kill matrix: the suite against every fault switch of the reference app
package e2e

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"reflect"
	"regexp"
	"runtime"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/internal/leak"
	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/internal/redact"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/internal/stack"
	"github.com/authflow-e2e/authflow/targets"
)

// world is the stack every test of this process runs against; TestMain owns it.
var world *World

// Timeouts, scaled by AUTHFLOW_TIMEOUT_FACTOR.
var (
	stackStartTimeout = containers.Scaled(5 * time.Minute)  // a cold image build of the web service takes ~1 min
	teardownTimeout   = containers.Scaled(30 * time.Second) // stop+remove of a few containers takes ~1 s
)

func TestMain(m *testing.M) {
	containers.RunReaperIfAsked()
	os.Exit(runMain(m))
}

func runMain(m *testing.M) (code int) {
	flag.Parse()
	logf := func(format string, args ...any) { fmt.Fprintf(os.Stderr, format+"\n", args...) }
	if err := applyShard(); err != nil {
		logf("authflow: %v", err)
		return 2
	}
	if listOnly() {
		return m.Run()
	}
	containers.PrepareEnv(os.Getenv("AUTHFLOW_VERBOSE") == "1")

	path := paths.Target(stack.DefaultTarget)
	t, err := targets.Load(path, os.Getenv("AUTHFLOW_TOKEN_MODE"))
	if err != nil {
		logf("authflow: %v", err)
		return 2
	}

	runID := containers.NewRunID()
	reaper, err := containers.StartReaper(runID)
	if err != nil {
		logf("authflow: %v (leftovers of this run will be swept by the next one)", err)
	}
	keep := os.Getenv("AUTHFLOW_KEEP") == "1"
	defer func() {
		if keep && world != nil {
			reaper.Keep()
		}
		reaper.Stop()
	}()

	// Ctrl-C or SIGTERM: cancel the start, or tear the stack down and exit, within teardownTimeout.
	ctx, cancel := context.WithTimeout(context.Background(), stackStartTimeout)
	defer cancel()
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)

	logf("authflow: starting target %q (token mode %s, run %s)", t.Name, t.Token.Mode, runID)
	var env *stack.Env
	started := make(chan error, 1)
	go func() {
		var err error
		env, err = stack.Up(ctx, t, runID, stack.Options{Progress: logf, Redact: redact.String, Keep: keep})
		started <- err
	}()
	select {
	case err = <-started:
	case s := <-sigs:
		logf("authflow: %v during start: cleaning up", s)
		cancel()
		<-started
		return 130
	}
	if err != nil {
		logf("authflow: the stack did not start, so no test ran.\n%v", err)
		return 1
	}

	world, err = newWorld(env)
	var once sync.Once
	teardown := func() {
		once.Do(func() {
			tctx, tcancel := context.WithTimeout(context.Background(), teardownTimeout)
			defer tcancel()
			if world != nil {
				world.close()
			}
			if err := env.Stack.Close(tctx); err != nil {
				logf("authflow: teardown: %v", err)
			}
		})
	}
	if err == nil {
		err = runBeforeTests(logf)
	}
	if err != nil {
		logf("authflow: %v", err)
		teardown()
		return 1
	}
	go func() {
		s, ok := <-sigs
		if !ok {
			return
		}
		logf("authflow: %v: tearing the stack down", s)
		teardown()
		reaper.Stop()
		os.Exit(130)
	}()
	defer func() {
		if r := recover(); r != nil {
			logf("authflow: panic: %v\n%s", r, debug.Stack())
			code = 2
		}
		teardown()
		if world != nil {
			world.printSummary(logf)
		}
	}()
	code = m.Run()
	if leaks := scanServiceLogs(env); leaks != "" {
		logf("authflow: %s", leaks)
		code = 1
	}
	return code
}

// scanServiceLogs searches every service's raw log (as the service wrote it, before the harness
// redacts it for output) for every credential the run created: a service must not log a password, a
// token or a cookie value, whatever the harness would hide later. It returns a report naming the
// service and the line (shown with the secret replaced), or "" when nothing leaked.
func scanServiceLogs(env *stack.Env) string {
	sc := leak.NewScanner(secret.Created())
	if sc.Len() == 0 {
		return ""
	}
	var findings []leak.Finding
	var notes []string
	scan := func(name string, log []byte, dropped int) {
		findings = append(findings, sc.Bytes(name+" log", log)...)
		if dropped > 0 {
			notes = append(notes, fmt.Sprintf("%s: %d log lines beyond the first were not scanned", name, dropped))
		}
	}
	for name, s := range env.Stack.Services {
		log, dropped := s.RawLog()
		scan(name, log, dropped)
	}
	if env.Stack.Postgres != nil {
		log, dropped := env.Stack.Postgres.RawLog()
		scan("postgres", log, dropped)
	}
	for _, n := range notes {
		fmt.Fprintln(os.Stderr, "authflow: leak scan:", n)
	}
	if len(findings) == 0 {
		return ""
	}
	return fmt.Sprintf("a service logged a credential this run created (%d finding(s)); a service must never log a password, token or cookie value:\n%s",
		len(findings), redact.String(leak.Report(findings, 20)))
}

// listOnly reports whether go test only lists tests (-test.list): no stack is needed for that.
func listOnly() bool {
	f := flag.Lookup("test.list")
	return f != nil && f.Value.String() != ""
}

// setupSteps are the helper services the suites need, started by TestMain once the stack is up and
// before any test runs, when a test that uses them is selected: starting a container mid-run changes
// the host's network (a new veth), and Chromium then aborts in-flight requests of parallel browser
// tests with net::ERR_NETWORK_CHANGED. A step names its tests by function, not by a string, so a
// renamed test cannot silently lose its step.
func setupSteps() []setupStep {
	return []setupStep{{
		name:  "the recording key server of the jku/x5u attacks",
		tests: []func(*testing.T){TestSecurity_JWTAttackMatrix},
		start: func() error { _, err := secKeyServerStart(); return err },
	}}
}

type setupStep struct {
	name  string
	tests []func(*testing.T) // the top-level tests that need it
	start func() error
}

func runBeforeTests(logf func(string, ...any)) error {
	for _, s := range setupSteps() {
		var names []string
		for _, f := range s.tests {
			if n := testName(f); selected(n) {
				names = append(names, n)
			}
		}
		if len(names) == 0 {
			continue
		}
		t0 := time.Now()
		if err := s.start(); err != nil {
			return fmt.Errorf("start %s (for %s): %w", s.name, strings.Join(names, ", "), err)
		}
		logf("authflow: started %s for %s (%s)", s.name, strings.Join(names, ", "), time.Since(t0).Round(10*time.Millisecond))
	}
	return nil
}

// testName is a test function's name, as go test lists it.
func testName(f func(*testing.T)) string {
	n := runtime.FuncForPC(reflect.ValueOf(f).Pointer()).Name()
	return n[strings.LastIndex(n, ".")+1:]
}

// selected reports whether -test.run may select the top-level test name.
func selected(name string) bool {
	f := flag.Lookup("test.run")
	if f == nil || f.Value.String() == "" {
		return true
	}
	top, _ := splitRunPattern(f.Value.String())
	re, err := regexp.Compile(top)
	return err != nil || re.MatchString(name)
}
