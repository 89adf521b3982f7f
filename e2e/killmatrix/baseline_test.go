package killmatrix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/report"
	"github.com/authflow-e2e/authflow/targets"
)

// TestBaseline_AKnownFailingFaultPassesAndAFixedOneMustBeRemoved proves a target's baseline on real
// runs: with a fault whose failure the baseline lists, the run passes with the failure reported as
// known (that run goes through authflow test, which then exits 0); with the entry removed the same run fails;
// with the fault off and the entry kept it fails with "remove it from the baseline".
func TestBaseline_AKnownFailingFaultPassesAndAFixedOneMustBeRemoved(t *testing.T) {
	if testing.Short() {
		t.Skip("starts two stacks")
	}
	dir := t.TempDir()
	const test = "TestBrowser_UnauthenticatedChatVisitRedirectsToLogin"
	known := filepath.Join(dir, "known-failures.yaml")
	if err := os.WriteFile(known, []byte("known:\n  - test: "+test+"\n    reason: the app redirects only after the widget loads\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	target := filepath.Join(dir, "myapp.yaml")
	ref := filepath.Join(moduleRoot(t), "targets", "reference.yaml")
	if err := os.WriteFile(target, []byte("extends: "+ref+"\nname: reference-baseline\nbaseline: known-failures.yaml\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tg, err := targets.Load(target, "")
	if err != nil {
		t.Fatal(err)
	}
	bl, err := report.LoadBaseline(tg.BaselinePath())
	if err != nil {
		t.Fatal(err)
	}
	empty := &report.Baseline{File: "empty"}

	art := artifacts.Default().KillMatrix()
	run := "^" + test + "$"
	// the faulty run goes through authflow test, make e2e's way: it must exit 0, the failure known
	faulty := &child{Label: "baseline,fault=no-login-redirect,mode=hs256", Fault: "no-login-redirect", Mode: hs256, Run: run,
		CLI: &viaCLI{Bin: authflowBinary(t), Dir: dir, Target: filepath.Base(target)}}
	faulty.run(t, art)
	if faulty.ExitErr != nil {
		t.Errorf("authflow test failed a run whose only failure the baseline lists: %v (see %s)", faulty.ExitErr, faulty.Dir)
	}
	if b, err := os.ReadFile(artifacts.Dir{Root: faulty.Dir}.Summary("")); err != nil || !strings.Contains(string(b), "Known failures (baseline ") {
		t.Errorf("authflow test's summary does not report the known failure (%v):\n%s", err, b)
	}
	clean := &child{Label: "baseline,clean,mode=hs256", Mode: hs256, Run: run, Env: []string{"AUTHFLOW_TARGET=" + target}}
	clean.run(t, art)
	for _, c := range []*child{faulty, clean} {
		if n := c.Result.Count().Total(); n != 1 {
			t.Fatalf("%s: ran %d tests, want 1 (%s)", c.Label, n, c.Dir)
		}
	}
	name := func(r *report.Run) *report.Run { r.Source = "e2e-hs256.json"; return r }

	s := &report.Summary{Runs: []*report.Run{name(faulty.Result)}, Baseline: bl}
	if !s.OK() || len(s.KnownFailures()) != 1 {
		t.Errorf("the listed failure must be known and the run pass: new %v, problems %v", s.NewFailures(), s.Problems())
	}
	if md := s.Markdown(); !strings.Contains(md, "Known failures (baseline "+bl.File+")") {
		t.Errorf("the summary does not report the known failure:\n%s", md)
	}
	s = &report.Summary{Runs: []*report.Run{faulty.Result}, Baseline: empty}
	if s.OK() {
		t.Errorf("with the entry removed, the fault's failure must fail the run")
	}
	s = &report.Summary{Runs: []*report.Run{name(clean.Result)}, Baseline: bl}
	if s.OK() || !strings.Contains(s.Markdown(), "remove it from the baseline") {
		t.Errorf("with the fault off and the entry kept, the run must fail with 'remove it from the baseline':\n%s", s.Markdown())
	}
}
