package main

import (
	"encoding/xml"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

type junitFile struct {
	Suites []struct {
		Cases []struct {
			Name    string `xml:"name,attr"`
			Failure *struct {
				Message string `xml:"message,attr"`
				Body    string `xml:",chardata"`
			} `xml:"failure"`
		} `xml:"testcase"`
	} `xml:"testsuite"`
}

// A deliberately failing suite, run through gotestsum as the Makefile runs the e2e suite, shows up in
// the JUnit file (one <testcase> per test and subtest, the first failure message in the failure's
// message attribute, the output in its body) and in the summary, and makes summarize exit non-zero.
func TestFailingTestShowsUpInJUnitAndSummaryWithItsMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on a fixture package")
	}
	dir := t.TempDir()
	junit, js, md, step := filepath.Join(dir, "junit-e2e-hs256.xml"), filepath.Join(dir, "e2e-hs256.json"), filepath.Join(dir, "summary.md"), filepath.Join(dir, "step-summary.md")
	cmd := exec.Command("go", "tool", "gotestsum", "--format", "testname", "--junitfile", junit, "--jsonfile", js,
		"--", "-count=1", "../../testdata/failing")
	out, err := cmd.CombinedOutput()
	if err == nil {
		t.Fatalf("gotestsum passed on a failing suite:\n%s", out)
	}
	t.Setenv("GITHUB_STEP_SUMMARY", step)
	if code := run([]string{"-o", md, "-junit", junit, js}); code != 1 {
		t.Fatalf("summarize exited %d on a failing run, want 1", code)
	}

	var j junitFile
	b, err := os.ReadFile(junit)
	if err != nil {
		t.Fatal(err)
	}
	if err := xml.Unmarshal(b, &j); err != nil {
		t.Fatalf("the annotated JUnit file does not parse: %v\n%s", err, b)
	}
	cases := map[string]string{}
	bodies := map[string]string{}
	for _, s := range j.Suites {
		for _, c := range s.Cases {
			cases[c.Name] = "pass"
			if c.Failure != nil {
				cases[c.Name] = c.Failure.Message
				bodies[c.Name] = c.Failure.Body
			}
		}
	}
	want := map[string]string{
		"TestSmoke_Passes":                                   "pass",
		"TestToken_ExpiredTokenIsRejected":                   "failing_test.go:16: POST /chatkit with an expired token: Not equal: expected: 401 actual : 200",
		"TestSession_ReloadKeepsTheSession":                  `failing_test.go:21: after reload the page shows "/login", want the chat; cookie better-auth.session_token=[REDACTED]`,
		"TestIsolation_UserBCannotSeeUserAsThread/case=list": "pass",
		"TestIsolation_UserBCannotSeeUserAsThread/case=get":  "failing_test.go:27: threads.get_by_id answered 200 for another user's thread, want 404",
		"TestIsolation_UserBCannotSeeUserAsThread":           "TestIsolation_UserBCannotSeeUserAsThread/case=get: failing_test.go:27: threads.get_by_id",
	}
	for name, msg := range want {
		got, ok := cases[name]
		if !ok {
			t.Errorf("no <testcase name=%q> in the JUnit file; cases: %v", name, cases)
			continue
		}
		if !strings.HasPrefix(got, msg) {
			t.Errorf("%s: failure message = %q, want it to start with %q", name, got, msg)
		}
	}
	if !strings.Contains(bodies["TestToken_ExpiredTokenIsRejected"], "Error Trace:") {
		t.Errorf("the failure body lost the test output: %q", bodies["TestToken_ExpiredTokenIsRejected"])
	}

	if strings.Contains(string(b), "signaturesignature") {
		t.Errorf("the JUnit file still holds a cookie value the test printed")
	}

	sum, err := os.ReadFile(md)
	if err != nil {
		t.Fatal(err)
	}
	s := string(sum)
	for _, w := range []string{
		"## authflow e2e: FAILED",
		"1 passed, 3 failed, 1 skipped",
		// the session comes before the token in the chain of the suites, so it leads
		"**First failure:** `TestSession_ReloadKeepsTheSession` (e2e-hs256): failing_test.go:21: after reload the page shows",
		"| e2e-hs256 | `TestToken_ExpiredTokenIsRejected` | failing_test.go:16: POST /chatkit with an expired token: Not equal",
		"| Token | **1 failed** |",
		"| Session | **1 failed** |",
		"| e2e-hs256 | `TestIsolation_UserBCannotSeeUserAsThread/case=get` | failing_test.go:27: threads.get_by_id answered 200",
		"session_token=[REDACTED]",
		"### Artifacts",
	} {
		w = strings.Replace(w, "| Token | **1 failed** |", "| Token | 0 passed, **1 failed** |", 1)
		w = strings.Replace(w, "| Session | **1 failed** |", "| Session | 0 passed, **1 failed** |", 1)
		if !strings.Contains(s, w) {
			t.Errorf("summary.md lacks %q:\n%s", w, s)
		}
	}
	if strings.Contains(s, "signaturesignature") {
		t.Errorf("summary.md leaks a cookie value:\n%s", s)
	}
	if st, err := os.ReadFile(step); err != nil || !strings.Contains(string(st), "## authflow e2e: FAILED") {
		t.Errorf("GITHUB_STEP_SUMMARY was not written: %v %q", err, st)
	}
}

// A run in which no test executed (a -run that matches nothing, a shard with no test) is a failure.
func TestNoTestRanIsAFailure(t *testing.T) {
	if testing.Short() {
		t.Skip("runs go test on a fixture package")
	}
	dir := t.TempDir()
	js := filepath.Join(dir, "e2e-hs256.json")
	out, err := exec.Command("go", "tool", "gotestsum", "--jsonfile", js, "--", "-count=1", "-run", "^TestNothingMatches$", "../../testdata/failing").CombinedOutput()
	if err != nil {
		t.Fatalf("gotestsum: %v\n%s", err, out)
	}
	md := filepath.Join(dir, "summary.md")
	t.Setenv("GITHUB_STEP_SUMMARY", "")
	if code := run([]string{"-o", md, js}); code != 1 {
		t.Fatalf("summarize exited %d on a run with no test, want 1", code)
	}
	b, _ := os.ReadFile(md)
	if !strings.Contains(string(b), "no test ran") || !strings.Contains(string(b), "FAILED") {
		t.Errorf("summary does not say that no test ran:\n%s", b)
	}
	if code := run([]string{"-o", md, filepath.Join(dir, "missing.json")}); code != 1 {
		t.Errorf("summarize exited %d for a missing result file, want 1", code)
	}
}
