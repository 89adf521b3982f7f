package killmatrix

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/leak"
	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/internal/report"
)

// row is one line of the kill table.
type row struct {
	Fault, Models, Mode string
	Status              string
	Failed              []string
	Message             string
	Took                time.Duration
	order               int
}

// TestKillMatrix runs the clean stack once per token mode, then every fault in each of its modes, and
// writes the kill table.
//
// Children whose selection has browser tests (and the clean runs, the union of all selections) run
// one at a time, first; the others then run in parallel (go test -parallel: KILLMATRIX_PARALLEL in make):
// a stack that starts creates a network and veths, and Chromium aborts in-flight requests of a
// browser running beside it (net::ERR_NETWORK_CHANGED), while API-only children do not mind.
func TestKillMatrix(t *testing.T) {
	if testing.Short() {
		t.Skip("starts one stack per fault and mode")
	}
	start := time.Now()
	all := listE2E(t, ".")
	models := faultTable(t)
	art := artifacts.Default().KillMatrix() // emptied by TestMain, before every test of the package
	var (
		mu   sync.Mutex
		rows []row // indexed by declaration order, so the table reads the same whatever ran first
		seq  int
	)
	t.Cleanup(func() { // after every subtest, the parallel ones included
		mu.Lock()
		defer mu.Unlock()
		slices.SortStableFunc(rows, func(a, b row) int { return a.order - b.order })
		md := table(rows, time.Since(start))
		t.Logf("kill table:\n%s", md)
		t.Logf("kill matrix: %d child runs in %s", len(rows), time.Since(start).Round(time.Second))
		if err := os.WriteFile(artifacts.Default().KillTable(), []byte(md), 0o644); err != nil {
			t.Error(err)
		}
	})
	// run runs c as a subtest and adds the row body makes of it (not run: filtered out by -run).
	run := func(c *child, body func(t *testing.T) row) {
		seq++
		order := seq
		parallel := !selectsBrowser(c.Run, all)
		t.Run(c.Label, func(t *testing.T) {
			if parallel {
				t.Parallel()
			}
			r := body(t)
			r.order = order
			mu.Lock()
			rows = append(rows, r)
			mu.Unlock()
		})
	}

	for _, mode := range both {
		var sel []string
		for _, f := range faults {
			if slices.Contains(f.Modes, mode) {
				sel = append(sel, selection(f)...)
			}
		}
		if len(sel) == 0 {
			continue
		}
		c := &child{Label: "clean,mode=" + mode, Mode: mode, Run: runPattern(sel)}
		if from := os.Getenv(cleanFromEnv); from != "" {
			run(c, func(t *testing.T) row { return cleanFromE2E(t, c, paths.Resolve(from), sel) })
			continue
		}
		run(c, func(t *testing.T) row {
			c.run(t, art)
			checkClean(t, c)
			return cleanRow(c)
		})
	}

	// The profiles: a clean run of the union of their faults' selections, in the profile's mode.
	var profiles []string
	for _, f := range faults {
		for _, p := range f.Profiles {
			if !slices.Contains(profiles, p) {
				profiles = append(profiles, p)
			}
		}
	}
	for _, p := range profiles {
		var sel []string
		for _, f := range faults {
			if slices.Contains(f.Profiles, p) {
				sel = append(sel, selection(f)...)
			}
		}
		_, mode := profileSpec(p)
		c := profileChild(t, p, &child{Label: "clean,mode=" + mode, Mode: mode, Run: runPattern(sel)})
		run(c, func(t *testing.T) row {
			c.run(t, art)
			checkClean(t, c)
			r := cleanRow(c)
			r.Mode = c.Mode + " (" + profileName(p) + ")"
			return r
		})
	}

	for _, f := range faults {
		for _, p := range f.Profiles {
			_, mode := profileSpec(p)
			c := profileChild(t, p, &child{Label: "fault=" + f.Name + ",mode=" + mode, Fault: f.Name, Mode: mode, Run: runPattern(selection(f))})
			run(c, func(t *testing.T) row {
				requireExistingTests(t, f, all)
				c.run(t, art)
				r := checkFault(t, f, c)
				r.Models = models[f.Name]
				r.Mode = c.Mode + " (" + profileName(p) + ")"
				return r
			})
		}
		for _, mode := range f.Modes {
			c := &child{Label: "fault=" + f.Name + ",mode=" + mode, Fault: f.Name, Mode: mode, Run: runPattern(selection(f))}
			if r, ok := appRepoRows[c.Label]; ok { // run already, through authflow test in the app repository
				run(c, func(t *testing.T) row {
					r.Models = models[f.Name]
					r.Mode = c.Mode + " (app repository, authflow test)"
					return r
				})
				continue
			}
			run(c, func(t *testing.T) row {
				requireExistingTests(t, f, all)
				c.run(t, art)
				r := checkFault(t, f, c)
				r.Models = models[f.Name]
				return r
			})
		}
	}
}

// cleanFromEnv names an artifacts folder holding make e2e's runs of the reference target (make test
// sets it: the e2e suite ran there minutes before, from the same tree). The reference target's clean
// rows are then read from those runs instead of run again: the whole suite passed in each mode,
// which is every selected test, and authflow test's leak check found none of the run's secrets in
// its output or artifacts. The profiles' clean rows still run here.
const cleanFromEnv = "KILLMATRIX_CLEAN_FROM"

// cleanFromE2E is the clean row of c's mode from make e2e's run in dir: that run must be of the
// reference target in that mode, every test of the selection sel must have run and passed, and its
// summary must show the passed leak check of that mode.
func cleanFromE2E(t *testing.T, c *child, dir string, sel []string) row {
	d := artifacts.Dir{Root: dir}
	r, err := report.ParseFile(d.JSON("e2e", c.Mode))
	if err != nil {
		t.Fatalf("%s=%s: %v (run make e2e first, or unset it to run the clean stack here)", cleanFromEnv, dir, err)
	}
	if want := fmt.Sprintf("authflow: starting target %q (token mode %s,", "reference", c.Mode); !r.PackageOutputContains(want) {
		t.Errorf("%s: %s is not a run of the reference target in token mode %s (no %q)", cleanFromEnv, r.Source, c.Mode, want)
	}
	for _, e := range sel {
		ran, failed := ranAndFailed(r, e)
		for _, tt := range failed {
			t.Errorf("the clean stack (mode %s, make e2e's run %s) does not pass %s: %s", c.Mode, r.Source, tt.Name, r.FailureMessage(tt.Name))
		}
		if !ran {
			t.Errorf("make e2e's run %s (mode %s) did not run %s, which the kill matrix selects", r.Source, c.Mode, e)
		}
	}
	for _, p := range r.Problems() {
		t.Errorf("the clean stack (mode %s, make e2e's run): %s", c.Mode, p)
	}
	sum, err := os.ReadFile(d.Summary(""))
	if err != nil || !strings.Contains(string(sum), "- "+c.Mode+": leak check: none of the ") {
		t.Errorf("make e2e's summary %s shows no passed leak check for mode %s (%v)", d.Summary(""), c.Mode, err)
	}
	c.Result, c.Dir = r, dir
	t.Logf("clean stack, mode %s: from make e2e's run %s (%d tests passed, leak-checked by authflow test)", c.Mode, r.Source, r.Count().Passed)
	rw := cleanRow(c)
	rw.Mode = c.Mode + " (make e2e's run)"
	return rw
}

// ranAndFailed looks up the tests of r that e (a regexp, anchored at both ends) names: whether any
// ran, and those that failed.
func ranAndFailed(r *report.Run, e string) (ran bool, failed []*report.Test) {
	re := anchored(e)
	for _, tt := range r.Tests {
		if re.MatchString(tt.Name) {
			ran = true
			if tt.Failed() {
				failed = append(failed, tt)
			}
		}
	}
	return ran, failed
}

// selectsBrowser reports whether a child's -test.run pattern selects a browser test of the suite
// (all: its top-level test names).
func selectsBrowser(run string, all []string) bool {
	re, err := regexp.Compile(run)
	if err != nil {
		return true // the child will report the bad pattern; run it alone
	}
	return slices.ContainsFunc(all, func(n string) bool { return strings.HasPrefix(n, "TestBrowser") && re.MatchString(n) })
}

// requireExistingTests fails when an expectation of f names a test the e2e suite does not have.
func requireExistingTests(t *testing.T, f fault, all []string) {
	for _, e := range append(slices.Clone(f.MustFail), f.MustPass...) {
		if !matchesAny(topLevel(e), all) {
			t.Errorf("fault %s: the expectation names %s, but the e2e suite has no such test (not written yet, or renamed?)", f.Name, e)
		}
	}
}

// selection is what runs for a fault: the top-level tests of its expectations plus the smoke set.
func selection(f fault) []string {
	sel := []string{smoke}
	for _, e := range append(slices.Clone(f.MustFail), f.MustPass...) {
		if top := topLevel(e); !slices.Contains(sel, top) {
			sel = append(sel, top)
		}
	}
	return sel
}

// topLevel is the part of a test-name regexp before the subtest separator.
func topLevel(e string) string {
	top, _, _ := strings.Cut(e, "/")
	return top
}

// runPattern joins top-level name regexps into one anchored -test.run pattern.
func runPattern(sel []string) string {
	var uniq []string
	for _, s := range sel {
		if !slices.Contains(uniq, s) {
			uniq = append(uniq, s)
		}
	}
	return "^(?:" + strings.Join(uniq, "|") + ")$"
}

func anchored(e string) *regexp.Regexp { return regexp.MustCompile("^(?:" + e + ")$") }

func matchesAny(e string, names []string) bool {
	re := anchored(e)
	for _, n := range names {
		if re.MatchString(n) {
			return true
		}
	}
	return false
}

// checkClean requires that every selected test passes on the clean stack and that nothing leaked.
func checkClean(t *testing.T, c *child) {
	r := c.Result
	for _, p := range r.Problems() {
		t.Errorf("the clean stack (mode %s): %s", c.Mode, p)
	}
	for _, ft := range r.Failed() {
		if ft.Top() {
			t.Errorf("the clean stack (mode %s) does not pass %s: %s", c.Mode, ft.Name, r.FailureMessage(ft.Name))
		}
	}
	if c.ExitErr != nil && len(r.Failed()) == 0 && len(r.Problems()) == 0 {
		t.Errorf("the clean run (mode %s) exited with %v; see %s", c.Mode, c.ExitErr, c.Dir)
	}
	checkLeaks(t, c)
	if c.Secrets == 0 && r.Count().Total() > 0 {
		t.Errorf("the clean run (mode %s) recorded no secret in the leak canary, so the leak check proves nothing (is AUTHFLOW_LEAK_CANARY still honoured by internal/secret?)", c.Mode)
	}
	t.Logf("clean stack, mode %s: %d tests passed, %d secrets searched for in %s, %s",
		c.Mode, r.Count().Passed, c.Secrets, c.Dir, c.Took.Round(100*time.Millisecond))
}

// checkLeaks fails t when a secret the child created appears anywhere in what it wrote.
func checkLeaks(t *testing.T, c *child) {
	if c.LeakError != nil {
		t.Errorf("leak check of %s: %v", c.Label, c.LeakError)
	}
	if len(c.Leaks) > 0 {
		t.Errorf("run %s leaked %d secret(s) into its output or artifacts (%s):\n%s", c.Label, len(c.Leaks), c.Dir, leak.Report(c.Leaks, 20))
	}
}

// findText returns where (the output stream, or an artifact file) the child's output or artifacts
// contain text, or "".
func findText(t *testing.T, c *child, text string) string {
	if b, err := os.ReadFile(c.JSONFile); err != nil {
		t.Errorf("read %s: %v", c.JSONFile, err)
	} else if strings.Contains(string(b), text) {
		return "the go test output (" + c.JSONFile + ")"
	}
	found := ""
	err := filepath.WalkDir(c.Dir, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || found != "" {
			return err
		}
		if b, err := os.ReadFile(path); err == nil && strings.Contains(string(b), text) {
			found = path
		}
		return nil
	})
	if err != nil {
		t.Errorf("search %s: %v", c.Dir, err)
	}
	return found
}

// checkFault requires that the fault is killed by the declared tests and leaves the declared ones
// green; it returns the table row.
func checkFault(t *testing.T, f fault, c *child) row {
	r := c.Result
	if f.FirstFailure != "" {
		s := &report.Summary{Runs: []*report.Run{r}}
		if fs := s.Failures(); len(fs) == 0 {
			t.Errorf("fault %s: no failure to lead the summary", f.Name)
		} else if !anchored(f.FirstFailure).MatchString(fs[0].Test) || !strings.Contains(fs[0].Message, f.FirstMessage) {
			t.Errorf("fault %s: the summary's first failure is %s (%s); want %s, naming %q", f.Name, fs[0].Test, fs[0].Message, f.FirstFailure, f.FirstMessage)
		}
	}
	failed := leafFailures(r)
	rw := row{Fault: f.Name, Mode: c.Mode, Took: c.Took, Failed: failed}
	var missed []string
	for _, e := range f.MustFail {
		re := anchored(e)
		hit := ""
		for _, n := range failed {
			if re.MatchString(n) {
				hit = n
				break
			}
		}
		if hit == "" {
			for _, tt := range r.Failed() { // a failed parent whose subtests passed
				if re.MatchString(tt.Name) {
					hit = tt.Name
					break
				}
			}
		}
		if hit == "" {
			missed = append(missed, e)
			t.Errorf("fault %s is no longer caught by %s (mode %s): %s", f.Name, e, c.Mode, outcome(r, re))
			continue
		}
		msg := r.FailureMessage(hit)
		if f.MustSay != "" && !strings.Contains(msg, f.MustSay) {
			t.Errorf("fault %s: %s fails, but its message (as the summary shows it) does not name the fix %q: %s", f.Name, hit, f.MustSay, msg)
		}
		if rw.Message == "" {
			rw.Message = msg
		}
	}
	if f.MustNotSay != "" {
		if where := findText(t, c, f.MustNotSay); where != "" {
			t.Errorf("fault %s (mode %s): %q appears in %s: a misleading error where the cause must be named", f.Name, c.Mode, f.MustNotSay, where)
		}
	}
	for _, e := range f.MustPass {
		ran, failed := ranAndFailed(r, e)
		for _, tt := range failed {
			t.Errorf("fault %s must leave %s green (mode %s), but it failed: %s", f.Name, tt.Name, c.Mode, r.FailureMessage(tt.Name))
		}
		if !ran {
			t.Errorf("fault %s: %s must run and pass (mode %s), but it did not run", f.Name, e, c.Mode)
		}
	}
	reported := ""
	for _, p := range r.Problems() {
		t.Logf("fault %s (mode %s): %s", f.Name, c.Mode, p)
		if f.MustReport != "" && reported == "" && strings.Contains(p, f.MustReport) {
			reported = p
		}
	}
	if f.MustReport != "" {
		if reported == "" {
			missed = append(missed, "the run report "+strconv.Quote(f.MustReport))
			t.Errorf("fault %s is no longer reported by the run (mode %s): no problem says %q", f.Name, c.Mode, f.MustReport)
		} else if rw.Message == "" {
			rw.Message = reported
		}
	}
	checkLeaks(t, c)
	switch {
	case len(failed) == 0 && reported == "":
		rw.Status = "**survived**"
		why := "no test failed"
		if ps := r.Problems(); len(ps) > 0 {
			why += "; " + ps[0]
		}
		t.Errorf("fault %s survived (mode %s): %s (%d tests ran)", f.Name, c.Mode, why, r.Count().Total())
	case len(missed) > 0:
		rw.Status = "killed, **not by** " + strings.Join(missed, ", ")
	case t.Failed():
		rw.Status = "killed, **check failed**"
	default:
		rw.Status = "killed"
	}
	if rw.Message == "" && len(failed) > 0 {
		rw.Message = r.FailureMessage(failed[0])
	}
	if rw.Message == "" {
		if ps := r.Problems(); len(ps) > 0 {
			rw.Message = ps[0]
		}
	}
	return rw
}

// outcome says what happened to the tests matching re in a run that should have failed them.
func outcome(r *report.Run, re *regexp.Regexp) string {
	var parts []string
	for _, tt := range r.Tests {
		if !re.MatchString(tt.Name) {
			continue
		}
		switch tt.Result {
		case report.Pass:
			parts = append(parts, tt.Name+" passed")
		case report.Skip:
			parts = append(parts, tt.Name+" was skipped: "+tt.FailureMessage())
		}
	}
	if len(parts) == 0 {
		msg := "it did not run"
		if ps := r.Problems(); len(ps) > 0 {
			msg += " (" + ps[0] + ")"
		}
		return msg
	}
	return strings.Join(parts, "; ")
}

// leafFailures are the failed tests whose failure is not explained by a failed subtest.
func leafFailures(r *report.Run) []string {
	s := report.Summary{Runs: []*report.Run{r}}
	var out []string
	for _, f := range s.Failures() {
		out = append(out, f.Test)
	}
	return out
}

func cleanRow(c *child) row {
	r := c.Result
	cnt := r.Count()
	status := fmt.Sprintf("clean: %d passed", cnt.Passed)
	if cnt.Skipped > 0 {
		status += fmt.Sprintf(", %d skipped", cnt.Skipped)
	}
	rw := row{Fault: "(none)", Models: "the clean stack passes every selected test; no secret in its output", Mode: c.Mode, Took: c.Took}
	if cnt.Failed > 0 || len(r.Problems()) > 0 || cnt.Total() == 0 || len(c.Leaks) > 0 || c.LeakError != nil {
		status = fmt.Sprintf("**FAILED**: %d passed, %d failed", cnt.Passed, cnt.Failed)
		if len(c.Leaks) > 0 {
			status += fmt.Sprintf(", %d leaked secrets", len(c.Leaks))
		}
		rw.Failed = leafFailures(r)
		if len(rw.Failed) > 0 {
			rw.Message = r.FailureMessage(rw.Failed[0])
		} else if ps := r.Problems(); len(ps) > 0 {
			rw.Message = ps[0]
		} else if len(c.Leaks) > 0 {
			rw.Message = c.Leaks[0].String()
		}
	}
	rw.Status = status
	return rw
}

// table renders the kill table.
func table(rows []row, total time.Duration) string {
	var b strings.Builder
	b.WriteString("## Kill matrix\n\n")
	killed, all := 0, 0
	for _, r := range rows {
		if r.Fault == "(none)" {
			continue
		}
		all++
		if r.Status == "killed" {
			killed++
		}
	}
	fmt.Fprintf(&b, "%d of %d fault runs killed as declared; %d child runs in %s.\n\n", killed, all, len(rows), total.Round(time.Second))
	b.WriteString("| fault | regression it models | mode | result | tests that failed | first failure message | time |\n")
	b.WriteString("|---|---|---|---|---|---|---|\n")
	for _, r := range rows {
		failed := r.Failed
		more := ""
		if len(failed) > 5 {
			more = fmt.Sprintf(" +%d more", len(failed)-5)
			failed = failed[:5]
		}
		names := make([]string, len(failed))
		for i, n := range failed {
			names[i] = "`" + n + "`"
		}
		msg := report.OneLine(r.Message)
		if len(msg) > 200 {
			msg = strings.ToValidUTF8(msg[:197], "") + "..."
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s | %.1fs |\n", cellText(r.Fault), cellText(r.Models), r.Mode, r.Status,
			strings.Join(names, ", ")+more, cellText(msg), r.Took.Seconds())
	}
	return b.String()
}

func cellText(s string) string {
	s = strings.ReplaceAll(s, "|", `\|`)
	return strings.ReplaceAll(s, "`", "'")
}

// faultRowRE matches a row of the fault table in refapp/README.md: | `name` | service | regression |.
var faultRowRE = regexp.MustCompile("^\\|\\s*`([a-z0-9-]+)`\\s*\\|\\s*(web|backend)\\s*\\|\\s*(.+?)\\s*\\|\\s*$")

// faultTable reads the fault switches and the regression each models from refapp/README.md.
func faultTable(t testing.TB) map[string]string {
	f, err := os.Open(filepath.Join(moduleRoot(t), "refapp", "README.md"))
	if err != nil {
		t.Fatalf("read the fault switches: %v", err)
	}
	defer f.Close()
	out := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if m := faultRowRE.FindStringSubmatch(sc.Text()); m != nil {
			out[m[1]] = strings.ReplaceAll(m[3], "`", "")
		}
	}
	if len(out) == 0 {
		t.Fatal("refapp/README.md has no fault table (| `fault` | service | regression |)")
	}
	return out
}

// TestKillMatrix_DeclaresEveryFaultSwitch keeps the table above and refapp/README.md in step: every
// fault switch has a declared expectation and every expectation a fault switch.
func TestKillMatrix_DeclaresEveryFaultSwitch(t *testing.T) {
	readme := faultTable(t)
	declared := map[string]bool{}
	for _, f := range faults {
		if declared[f.Name] {
			t.Errorf("fault %s is declared twice", f.Name)
		}
		declared[f.Name] = true
		if _, ok := readme[f.Name]; !ok {
			t.Errorf("fault %s is declared here but refapp/README.md has no such fault switch", f.Name)
		}
		if len(f.Modes)+len(f.Profiles) == 0 || (len(f.MustFail) == 0 && f.MustReport == "") {
			t.Errorf("fault %s: declare the modes (or profiles) it applies to and at least one test it must fail (or the run report that must name it)", f.Name)
		}
		for _, m := range f.Modes {
			if m != hs256 && m != jwks {
				t.Errorf("fault %s: mode %q, want hs256 or jwks", f.Name, m)
			}
		}
		for _, p := range f.Profiles {
			file, m := profileSpec(p)
			if m != hs256 && m != jwks {
				t.Errorf("fault %s: profile %s: mode %q, want hs256 or jwks", f.Name, p, m)
			}
			if _, err := os.Stat(filepath.Join(moduleRoot(t), file)); err != nil {
				t.Errorf("fault %s: profile %s: %v", f.Name, p, err)
			}
		}
		if strings.Contains(readme[f.Name], "hs256 only") && !slices.Equal(f.Modes, []string{hs256}) {
			t.Errorf("fault %s applies to hs256 only (refapp/README.md), but runs in %v", f.Name, f.Modes)
		}
		for _, e := range append(slices.Clone(f.MustFail), f.MustPass...) {
			if _, err := regexp.Compile("^(?:" + e + ")$"); err != nil {
				t.Errorf("fault %s: expectation %q: %v", f.Name, e, err)
			}
		}
	}
	for name := range readme {
		if !declared[name] {
			t.Errorf("fault switch %s (refapp/README.md) has no declared expectation in the kill matrix", name)
		}
	}
}

// TestKillMatrix_ExpectationsNameExistingTests fails fast (no stack) when a declared test was renamed
// or removed: the matrix would then report the fault as no longer caught.
func TestKillMatrix_ExpectationsNameExistingTests(t *testing.T) {
	all := listE2E(t, ".")
	for _, f := range faults {
		for _, e := range append(slices.Clone(f.MustFail), f.MustPass...) {
			if !matchesAny(topLevel(e), all) {
				t.Errorf("fault %s: the expectation names %s, but the e2e suite has no such test (renamed or removed?)", f.Name, e)
			}
		}
	}
}

// profileSpec splits a Profiles entry, "file[:mode]" (mode hs256 by default).
func profileSpec(p string) (file, mode string) {
	file, mode, _ = strings.Cut(p, ":")
	if mode == "" {
		mode = hs256
	}
	return file, mode
}

// profileName is a profile target's file name without .yaml, as the kill table shows it.
func profileName(p string) string {
	file, _ := profileSpec(p)
	return strings.TrimSuffix(filepath.Base(file), ".yaml")
}

// profileChild points c at the profile target of the entry p (its label and artifacts name it).
func profileChild(t *testing.T, p string, c *child) *child {
	file, _ := profileSpec(p)
	abs := filepath.Join(moduleRoot(t), file)
	if _, err := os.Stat(abs); err != nil {
		t.Fatalf("kill matrix profile %s: %v", p, err)
	}
	c.Label += ",target=" + profileName(p)
	c.Env = append(c.Env, "AUTHFLOW_TARGET="+abs)
	return c
}

func TestSelectsBrowser(t *testing.T) {
	all := []string{"TestSmoke_A", "TestBrowser_ChatWidgetMounts", "TestToken_X"}
	for run, want := range map[string]bool{
		runPattern([]string{smoke, "TestToken_X"}):                  false,
		runPattern([]string{smoke, "TestBrowser_ChatWidgetMounts"}): true,
		".":                       true,
		"^(?:TestBrowser_Other)$": false,
		"[":                       true,
	} {
		if got := selectsBrowser(run, all); got != want {
			t.Errorf("selectsBrowser(%q) = %t, want %t", run, got, want)
		}
	}
}
