package report

import (
	"bufio"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gotest.tools/gotestsum/testjson"
)

func stream(events ...Event) string {
	var b strings.Builder
	for _, e := range events {
		j, _ := json.Marshal(e)
		b.Write(j)
		b.WriteByte('\n')
	}
	return b.String()
}

const pkg = "github.com/authflow-e2e/authflow/e2e"

func out(test, s string) Event {
	return Event{Action: "output", Package: pkg, Test: test, Output: s + "\n"}
}

func TestStackThatDidNotStartIsAProblem(t *testing.T) {
	r, err := Parse("e2e-jwks.json", strings.NewReader(stream(
		Event{Action: "start", Package: pkg},
		out("", "stack: postgres  1.2s"),
		out("", "authflow: the stack did not start, so no test ran."),
		out("", "start web: build reference-web: COPY failed"),
		out("", "FAIL\t"+pkg+"\t3.1s"),
		Event{Action: "fail", Package: pkg, Elapsed: 3.1},
	)))
	if err != nil {
		t.Fatal(err)
	}
	ps := r.Problems()
	if len(ps) != 2 || !strings.Contains(ps[0], "failed outside any test: authflow: the stack did not start") || !strings.HasPrefix(ps[1], "no test ran") {
		t.Fatalf("problems = %q", ps)
	}
}

func TestTestThatNeverEndedFailed(t *testing.T) {
	r, _ := Parse("x", strings.NewReader(stream(
		Event{Action: "run", Package: pkg, Test: "TestLoad_FiftyUsers"},
		out("TestLoad_FiftyUsers", "=== RUN   TestLoad_FiftyUsers"),
		out("", "panic: test timed out after 20m0s"),
		Event{Action: "fail", Package: pkg, Elapsed: 1200},
	)))
	if c := r.Count(); c.Failed != 1 {
		t.Fatalf("counts = %+v", c)
	}
	if m := r.FailureMessage("TestLoad_FiftyUsers"); !strings.Contains(m, "did not finish") {
		t.Errorf("message = %q", m)
	}
	if len(r.Problems()) != 0 {
		t.Errorf("a failed test is not a run problem: %q", r.Problems())
	}
}

func TestBuildFailureIsAProblem(t *testing.T) {
	r, _ := Parse("x", strings.NewReader(stream(
		Event{Action: "build-output", ImportPath: pkg + " [" + pkg + ".test]", Output: "# " + pkg + "\n"},
		Event{Action: "build-output", ImportPath: pkg + " [" + pkg + ".test]", Output: "e2e/x_test.go:3:2: undefined: foo\n"},
		Event{Action: "build-fail", ImportPath: pkg + " [" + pkg + ".test]"},
		Event{Action: "start", Package: pkg},
		out("", "FAIL\t"+pkg+" [build failed]"),
		Event{Action: "fail", Package: pkg},
	)))
	ps := r.Problems()
	if len(ps) != 1 || !strings.Contains(ps[0], "did not build") || !strings.Contains(ps[0], "undefined: foo") {
		t.Fatalf("problems = %q", ps)
	}
}

func TestFailureMessageIsOneRedactedLine(t *testing.T) {
	r, _ := Parse("x", strings.NewReader(stream(
		Event{Action: "run", Package: pkg, Test: "TestToken_X"},
		out("TestToken_X", "=== RUN   TestToken_X"),
		out("TestToken_X", "    token_test.go:10: fetched a token"),
		out("TestToken_X", "    token_test.go:12: "),
		out("TestToken_X", "        \tError Trace:\t/w/e2e/token_test.go:12"),
		out("TestToken_X", "        \tError:      \tReceived unexpected error:"),
		out("TestToken_X", "        \t            \tGET /api/auth/token: 401 {\"token\":\"eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.c2ln\"}"),
		out("TestToken_X", "        \tTest:       \tTestToken_X"),
		out("TestToken_X", "        \tMessages:   \tthe token route"),
		out("TestToken_X", "        \t            \t--- last 10 log lines of web ---"),
		out("TestToken_X", "--- FAIL: TestToken_X (0.10s)"),
		Event{Action: "fail", Package: pkg, Test: "TestToken_X", Elapsed: 0.1},
	)))
	got := r.FailureMessage("TestToken_X")
	want := `token_test.go:12: the token route: Received unexpected error: GET /api/auth/token: 401 {"token":"[REDACTED-JWT]"}`
	if got != want {
		t.Errorf("message\n got %q\nwant %q", got, want)
	}
	if Area("TestToken_X/case=alg-none") != "Token" || Area("TestSmoke") != "Smoke" {
		t.Error("Area")
	}
}

func TestShardThatWasNotAppliedIsAProblem(t *testing.T) {
	ran := func(lines ...string) *Run {
		evs := []Event{{Action: "start", Package: pkg}}
		for _, l := range lines {
			evs = append(evs, out("", l))
		}
		evs = append(evs, Event{Action: "run", Package: pkg, Test: "TestA_B"}, Event{Action: "pass", Package: pkg, Test: "TestA_B"},
			Event{Action: "pass", Package: pkg})
		r, _ := Parse("e2e-hs256.json", strings.NewReader(stream(evs...)))
		return r
	}
	s := &Summary{Runs: []*Run{ran("authflow: starting target")}, Shard: "2/3"}
	if ps := s.Problems(); len(ps) != 1 || !strings.Contains(ps[0], "did not apply it") {
		t.Fatalf("problems = %q", ps)
	}
	s = &Summary{Runs: []*Run{ran("authflow: shard 2/3 runs 4 of 12 tests")}, Shard: "2/3"}
	if ps := s.Problems(); len(ps) != 0 {
		t.Fatalf("problems = %q", ps)
	}
}

func TestSummary_FirstFailureIsTheRootOfTheChainAndSkipsAreListed(t *testing.T) {
	fail := func(name, msg string) []Event {
		return []Event{
			{Action: "run", Package: pkg, Test: name},
			out(name, "    x_test.go:1: "+msg),
			{Action: "fail", Package: pkg, Test: name},
		}
	}
	var evs []Event
	evs = append(evs, fail("TestSmoke_SignUpTokenAndChatCreateATaskForThatUser", "task rows differ")...)
	evs = append(evs, fail("TestBrowser_AddTaskShowsTheReplyAndStoresTheTaskForThatUser", "no reply")...)
	evs = append(evs, fail("TestIsolation_UserBCannotSeeOrChangeUserAsTasks", "B saw A's task")...)
	evs = append(evs, fail("TestToken_ClaimsNameTheUserAndExpireWithinTheModesLifetime", "sub is not the user id")...)
	evs = append(evs,
		Event{Action: "run", Package: pkg, Test: "TestChatKit_TaskCommandsChangeOnlyThatUsersTasks"},
		out("TestChatKit_TaskCommandsChangeOnlyThatUsersTasks", "    api_chatkit_test.go:9: n/a: target x.yaml sets app.features.tasks: false (no tasks)"),
		Event{Action: "skip", Package: pkg, Test: "TestChatKit_TaskCommandsChangeOnlyThatUsersTasks"},
		Event{Action: "fail", Package: pkg},
	)
	r, err := Parse("e2e-hs256.json", strings.NewReader(stream(evs...)))
	if err != nil {
		t.Fatal(err)
	}
	s := &Summary{Runs: []*Run{r}}
	var order []string
	for _, f := range s.Failures() {
		order = append(order, strings.SplitN(strings.TrimPrefix(f.Test, "Test"), "_", 2)[0])
	}
	if got := strings.Join(order, ","); got != "Token,Isolation,Smoke,Browser" {
		t.Errorf("failure order = %s, want the token first and the browser last", got)
	}
	md := s.Markdown()
	if !strings.Contains(md, "**First failure:** `TestToken_ClaimsNameTheUserAndExpireWithinTheModesLifetime`") {
		t.Errorf("the first failure is not the token test:\n%s", md)
	}
	if !strings.Contains(md, "### Not applicable (skipped)") || !strings.Contains(md, "n/a: target x.yaml sets app.features.tasks: false") {
		t.Errorf("the n/a test and its reason are not listed:\n%s", md)
	}
}

func TestBaseline_KnownFailuresPassNewOnesFailAndFixedOnesMustBeRemoved(t *testing.T) {
	dir := t.TempDir()
	write := func(body string) *Baseline {
		t.Helper()
		p := dir + "/known.yaml"
		if err := os.WriteFile(p, []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
		b, err := LoadBaseline(p)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	run := func(redirectFails bool) *Run {
		result := "pass"
		if redirectFails {
			result = "fail"
		}
		r, err := Parse("e2e-hs256.json", strings.NewReader(stream(
			Event{Action: "run", Package: pkg, Test: "TestBrowser_UnauthenticatedChatVisitRedirectsToLogin"},
			out("TestBrowser_UnauthenticatedChatVisitRedirectsToLogin", "    b_test.go:9: stays on /chat"),
			Event{Action: testjson.Action(result), Package: pkg, Test: "TestBrowser_UnauthenticatedChatVisitRedirectsToLogin"},
			Event{Action: "run", Package: pkg, Test: "TestToken_IsIssuedAfterSignIn"},
			Event{Action: "pass", Package: pkg, Test: "TestToken_IsIssuedAfterSignIn"},
			Event{Action: "pass", Package: pkg},
		)))
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	listed := write("known:\n  - test: TestBrowser_Unauthenticated.*\n    reason: the app redirects on the server\n    link: https://example.test/1\n")

	s := &Summary{Runs: []*Run{run(true)}, Baseline: listed}
	if !s.OK() || len(s.KnownFailures()) != 1 {
		t.Errorf("a listed failure must be known and pass: ok=%v known=%v new=%v", s.OK(), s.KnownFailures(), s.NewFailures())
	}
	if md := s.Markdown(); !strings.Contains(md, "### Known failures") || !strings.Contains(md, "the app redirects on the server") {
		t.Errorf("the known failure is not reported:\n%s", md)
	}

	s = &Summary{Runs: []*Run{run(true)}, Baseline: write("known: []\n")}
	if s.OK() || len(s.NewFailures()) != 1 || !strings.Contains(s.Markdown(), "First new failure (not in the baseline)") {
		t.Errorf("an unlisted failure must fail the run and lead the summary")
	}

	s = &Summary{Runs: []*Run{run(false)}, Baseline: listed}
	if s.OK() || len(s.FixedKnown()) != 1 || !strings.Contains(s.Markdown(), "remove it from the baseline") {
		t.Errorf("a listed test that passes must fail the run with 'remove it from the baseline':\n%s", s.Markdown())
	}

	for _, bad := range []string{"known:\n  - test: TestX\n", "known:\n  - test: '('\n    reason: r\n", "known:\n  - tset: TestX\n    reason: r\n"} {
		p := dir + "/bad.yaml"
		_ = os.WriteFile(p, []byte(bad), 0o644)
		if _, err := LoadBaseline(p); err == nil {
			t.Errorf("baseline %q must be refused", bad)
		}
	}
}

func TestSummary_NotesAreListedOncePerTest(t *testing.T) {
	name := "TestIsolation_UserBCannotReachUserAsThread/case=items.list"
	r, err := Parse("e2e-hs256.json", strings.NewReader(stream(
		Event{Action: "run", Package: pkg, Test: name},
		out(name, "    api_isolation_test.go:9: "+NotePrefix+"items.list answered 200 with an empty page; 404 is preferred"),
		out(name, "    api_isolation_test.go:9: "+NotePrefix+"items.list answered 200 with an empty page; 404 is preferred"),
		out(name, "    api_isolation_test.go:12: an ordinary log line"),
		Event{Action: "pass", Package: pkg, Test: name},
		Event{Action: "pass", Package: pkg},
	)))
	if err != nil {
		t.Fatal(err)
	}
	s := &Summary{Runs: []*Run{r}}
	notes := s.Notes()
	if len(notes) != 1 || notes[0].Test != name || notes[0].Text != "items.list answered 200 with an empty page; 404 is preferred" {
		t.Fatalf("notes = %+v", notes)
	}
	if md := s.Markdown(); !strings.Contains(md, "### Notes") || !strings.Contains(md, "404 is preferred") {
		t.Errorf("the note is not in the summary:\n%s", md)
	}
	if empty := (&Summary{}).Notes(); len(empty) != 0 {
		t.Errorf("notes of no run = %v", empty)
	}
}

// A line longer than testjson's scanner takes (64 KiB) is shortened, not fatal: the events after it
// are read, the long output keeps its start and says how much was cut. A quote-heavy output (each
// '"' doubles when encoded) is cut to fit too. A non-JSON line never reaches testjson and is kept.
func TestParse_LongLinesAreCutNotFatal(t *testing.T) {
	long := strings.Repeat("x", 200<<10)
	quotes := strings.Repeat(`"`, 100<<10)
	raw := stream(
		Event{Action: "run", Package: pkg, Test: "TestA"},
		out("TestA", "start "+long),
		out("TestA", quotes),
		Event{Action: "fail", Package: pkg, Test: "TestA", Elapsed: 1},
	) + "FAIL " + long + "\n" + stream(
		Event{Action: "run", Package: pkg, Test: "TestB"},
		Event{Action: "pass", Package: pkg, Test: "TestB"},
		Event{Action: "fail", Package: pkg},
	)
	r, err := Parse("long.json", strings.NewReader(raw))
	require.NoError(t, err)
	a, b := r.Test("TestA"), r.Test("TestB")
	require.NotNil(t, a)
	require.NotNil(t, b, "the events after the long lines are read")
	assert.Equal(t, Fail, a.Result)
	assert.Equal(t, Pass, b.Result)
	require.Equal(t, 2, len(a.Output), "both long output lines are kept")
	assert.True(t, strings.HasPrefix(a.Output[0], "start xxx"), "the output keeps its start")
	assert.True(t, strings.HasSuffix(a.Output[0], " bytes cut]"), "and says it was cut: %.40q", a.Output[0][len(a.Output[0])-40:])
	assert.Less(t, len(a.Output[0]), bufio.MaxScanTokenSize)
	assert.True(t, strings.HasPrefix(a.Output[1], `"""`))
	assert.True(t, strings.HasSuffix(a.Output[1], " bytes cut]"), "a quote-heavy line is cut to fit too")
	require.Equal(t, 1, len(r.Other))
	assert.Equal(t, "FAIL "+long, r.Other[0], "a line that is no event is kept whole, beside testjson")
}

// Slowest orders the top-level tests by go test's time and leaves out subtests and unfinished
// tests; Phases reads the stack's progress lines from the package output, and the summary shows both.
func TestRun_SlowestAndPhases(t *testing.T) {
	r, err := Parse("e2e-hs256.json", strings.NewReader(stream(
		out("", "stack: resolve                        0.04s  target reference.yaml, token mode hs256"),
		out("", "stack: service web                    1.46s  http://localhost:20690"),
		out("", "stack: removed 2 leftovers of killed runs"),
		Event{Action: "run", Package: pkg, Test: "TestA"},
		Event{Action: "pass", Package: pkg, Test: "TestA", Elapsed: 1.5},
		Event{Action: "run", Package: pkg, Test: "TestB"},
		Event{Action: "run", Package: pkg, Test: "TestB/sub"},
		Event{Action: "pass", Package: pkg, Test: "TestB/sub", Elapsed: 9},
		Event{Action: "pass", Package: pkg, Test: "TestB", Elapsed: 3.25},
		Event{Action: "run", Package: pkg, Test: "TestC"},
		Event{Action: "pass", Package: pkg, Test: "TestC", Elapsed: 0.5},
		Event{Action: "run", Package: pkg, Test: "TestNeverEnded"},
		out("", "stack: teardown                       0.59s"),
		Event{Action: "fail", Package: pkg, Elapsed: 10},
	)))
	require.NoError(t, err)
	var names []string
	for _, x := range r.Slowest(2) {
		names = append(names, x.Name)
	}
	assert.Equal(t, []string{"TestB", "TestA"}, names)
	assert.Len(t, r.Slowest(10), 3, "top-level tests that ended only")
	assert.Equal(t, []Phase{{"resolve", 40 * time.Millisecond}, {"service web", 1460 * time.Millisecond}, {"teardown", 590 * time.Millisecond}}, r.Phases())
	md := (&Summary{Runs: []*Run{r}}).Markdown()
	assert.Contains(t, md, "### Timings")
	assert.Contains(t, md, "slowest: `TestB` 3.2s, `TestA` 1.5s, `TestC` 0.5s")
	assert.Contains(t, md, "stack: resolve 0.04s, service web 1.46s, teardown 0.59s")
}
