// Package e2e is authflow's end-to-end suite: the tests, as stories, and one TestMain. One test
// binary, one stack per process; the lifecycle, the World and the per-test entry are the fixture
// layer's (package fixtures: `h := fixtures.Test(t)` hands a test its context, the target, the
// database probe, users by role and the browser). Test names are Test<Area>_<WhatMustHold>, the area
// being the summary's row and the kill matrix's vocabulary. The files:
//
//	main_test.go              TestMain (fixtures.Main) and the setup steps (helper services)
//	smoke_test.go             Smoke: sign-up, token, a task over ChatKit, the rows in Postgres
//	api_auth_test.go          SignUp, SignIn, Session, SignOut over HTTP
//	api_token_test.go         Token: issued for a live session only, claims, lifetime, the mode's key
//	api_schema_test.go        Schema: Better Auth's tables for the target's Better Auth line
//	api_chatkit_test.go       ChatKit: the protocol, paging, update/delete, history, refusals
//	api_isolation_test.go     Isolation: another user's threads and tasks, identity from sub only
//	api_unseen_test.go        judging answers about a thread the caller cannot see (app.not_found)
//	api_load_test.go          Load: 50 users at once, p50/p95 per step
//	api_helpers_test.go       helpers of the API suites (HTTP errors, token checks, ids, percentiles)
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
	"os"
	"testing"

	"github.com/authflow-e2e/authflow/fixtures"
)

// TestMain runs the suites in the fixture layer's lifecycle: the stack up, the setup steps, the
// tests, the teardown and the summary (fixtures.Main).
func TestMain(m *testing.M) { os.Exit(fixtures.Main(m, setupSteps()...)) }

// setupSteps are the helper services the suites need (fixtures.Step): started before any test when
// a test that uses them is selected.
func setupSteps() []fixtures.Step {
	return []fixtures.Step{{
		Name:  "the recording key server of the jku/x5u attacks",
		Tests: []func(*testing.T){TestSecurity_JWTAttackMatrix},
		Start: func(w *fixtures.World) error { _, err := keyServerStart(w); return err },
	}}
}
