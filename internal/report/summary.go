package report

import (
	"fmt"
	"os"
	"sort"
	"strings"

	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/redact"
)

// Summary is the Markdown run summary of one or more `go test -json` runs.
type Summary struct {
	Title     string
	Runs      []*Run
	Artifacts string // the artifacts directory, as it should be shown
	Extra     string // Markdown appended at the end (e.g. the kill table)
	// Shard, when set ("i/n"), is the AUTHFLOW_SHARD the runs were made with: a run whose process did
	// not report applying it ("authflow: shard i/n runs ...") ran every test, which is a problem.
	Shard string
	// Baseline, when set, is the target's list of known failures (see [Baseline]).
	Baseline *Baseline
	// Getenv reads GITHUB_SERVER_URL, GITHUB_REPOSITORY and GITHUB_RUN_ID for a link to the run's
	// uploaded artifacts (default os.Getenv).
	Getenv func(string) string
}

// MaxListed bounds the failed tests listed in the summary.
const MaxListed = 30

// Failure is a failed test of a run with its first failure message.
type Failure struct {
	Run     string
	Test    string
	Message string
}

// NewFailures are the failures the baseline does not list (all of them without a baseline).
func (s *Summary) NewFailures() []Failure {
	var out []Failure
	for _, f := range s.Failures() {
		if s.Baseline.known(f) == nil {
			out = append(out, f)
		}
	}
	return out
}

// KnownFailures are the failures the baseline lists, each with its entry.
func (s *Summary) KnownFailures() []KnownFailed {
	var out []KnownFailed
	for _, f := range s.Failures() {
		if k := s.Baseline.known(f); k != nil {
			out = append(out, KnownFailed{Failure: f, Entry: *k})
		}
	}
	return out
}

// KnownFailed is a failure the baseline lists.
type KnownFailed struct {
	Failure
	Entry KnownFailure
}

// FixedKnown lists baseline entries whose tests now pass: each fails the run until it is removed.
func (s *Summary) FixedKnown() []Fixed { return s.Baseline.fixed(s.Runs) }

// Failures lists the failed leaf tests (a failed parent whose failure is a failed subtest is listed
// through that subtest) of every run, ordered from the root of the chain (see [ChainRank]), so the
// first one names the cause: a wrong token is listed before the task rows it breaks.
func (s *Summary) Failures() []Failure {
	out := s.failures()
	sort.SliceStable(out, func(i, j int) bool { return ChainRank(out[i].Test) < ChainRank(out[j].Test) })
	return out
}

// chain is the order in which the suites' areas depend on each other: the schema before sign-up,
// sign-up and sign-in before the token, the token before ChatKit, ChatKit before isolation and the
// attacks on it, then the app's own features (tasks), the load run and the browser, which needs all.
var chain = []string{"Schema", "SignUp", "SignIn", "Session", "SignOut", "Token", "ChatKit", "Isolation", "Security", "Smoke", "", "Load", "Browser"}

// ChainRank is a test's place in the dependency chain of the suites (lower comes first). ChatKit
// tests of the app's task feature rank after isolation, security and the smoke test, before load
// and browser.
func ChainRank(test string) int {
	name := strings.TrimPrefix(test, "Test")
	area, rest, _ := strings.Cut(name, "_")
	if area == "ChatKit" && strings.Contains(rest, "Task") {
		area = ""
	}
	for i, a := range chain {
		if a == area {
			return i
		}
	}
	return len(chain)
}

func (s *Summary) failures() []Failure {
	var out []Failure
	for _, r := range s.Runs {
		failed := r.Failed()
		for _, t := range failed {
			leaf := true
			for _, u := range failed {
				if strings.HasPrefix(u.Name, t.Name+"/") {
					leaf = false
					break
				}
			}
			if leaf {
				out = append(out, Failure{Run: RunName(r.Source), Test: t.Name, Message: r.FailureMessage(t.Name)})
			}
		}
	}
	return out
}

// SkippedTest is a skipped test of a run and its reason; the e2e suites skip only what the target declares
// it lacks ("n/a: ..."), so this is the list of what was not applicable.
type SkippedTest struct {
	Run, Test, Reason string
}

// Skipped lists the skipped tests of every run whose parent test was not skipped as a whole.
func (s *Summary) Skipped() []SkippedTest {
	var out []SkippedTest
	for _, r := range s.Runs {
		for _, t := range r.Tests {
			if t.Result != Skip {
				continue
			}
			if i := strings.LastIndex(t.Name, "/"); i >= 0 {
				if p := r.Test(t.Name[:i]); p != nil && p.Result == Skip {
					continue
				}
			}
			out = append(out, SkippedTest{Run: RunName(r.Source), Test: t.Name, Reason: t.SkipReason()})
		}
	}
	return out
}

// NotePrefix starts a test's log line that the summary lists under "Notes": an answer the suites
// accept as conformant although another is preferred (e.g. an empty page where 404 is preferred).
const NotePrefix = "authflow note: "

// Note is one such line of a test.
type Note struct {
	Run, Test, Text string
}

// Notes lists the notes of every run, each distinct text once per run and test.
func (s *Summary) Notes() []Note {
	var out []Note
	seen := map[Note]bool{}
	for _, r := range s.Runs {
		for _, t := range r.Tests {
			for _, l := range t.Output {
				_, text, ok := strings.Cut(l, NotePrefix)
				if !ok {
					continue
				}
				n := Note{Run: RunName(r.Source), Test: t.Name, Text: OneLine(text)}
				if !seen[n] {
					seen[n] = true
					out = append(out, n)
				}
			}
		}
	}
	return out
}

// Problems lists run-level problems (no test ran, the stack did not start, a build failure).
func (s *Summary) Problems() []string {
	var out []string
	if len(s.Runs) == 0 {
		return []string{"no test result file was given, so no test ran"}
	}
	for _, r := range s.Runs {
		for _, p := range r.Problems() {
			out = append(out, RunName(r.Source)+": "+p)
		}
		if s.Shard != "" && len(r.Tests) > 0 && !r.PackageOutputContains("authflow: shard "+s.Shard+" runs") {
			out = append(out, fmt.Sprintf("%s: AUTHFLOW_SHARD=%s is set, but the test process did not apply it, so this shard ran every test (does TestMain call fixtures.Main?)", RunName(r.Source), s.Shard))
		}
	}
	return out
}

// OK reports whether every run ran at least one test, none failed but those the baseline lists, and
// no listed one passed.
func (s *Summary) OK() bool {
	return len(s.NewFailures()) == 0 && len(s.FixedKnown()) == 0 && len(s.Problems()) == 0
}

// Markdown renders the summary.
func (s *Summary) Markdown() string {
	var b strings.Builder
	title := s.Title
	if title == "" {
		title = "authflow"
	}
	failures, problems := s.NewFailures(), s.Problems()
	known, fixed := s.KnownFailures(), s.FixedKnown()
	var total Counts
	var names []string
	for _, r := range s.Runs {
		c := r.Count()
		total.Passed += c.Passed
		total.Failed += c.Failed
		total.Skipped += c.Skipped
		names = append(names, RunName(r.Source))
	}
	status := "passed"
	if !s.OK() {
		status = "FAILED"
	} else if len(known) > 0 {
		status = fmt.Sprintf("passed (%d known failure(s) of the baseline)", len(known))
	}
	fmt.Fprintf(&b, "## %s: %s\n\n", title, status)
	fmt.Fprintf(&b, "%d passed, %d failed, %d skipped (top-level tests) in %d run(s): %s.\n\n",
		total.Passed, total.Failed, total.Skipped, len(s.Runs), strings.Join(names, ", "))

	switch {
	case len(failures) > 0:
		f := failures[0]
		label := "First failure"
		if s.Baseline != nil {
			label = "First new failure (not in the baseline)"
		}
		fmt.Fprintf(&b, "**%s:** `%s` (%s): %s\n\n", label, f.Test, f.Run, cell(f.Message))
	case len(problems) > 0:
		fmt.Fprintf(&b, "**First problem:** %s\n\n", cell(problems[0]))
	case len(fixed) > 0:
		fmt.Fprintf(&b, "**Fixed, remove it from the baseline:** `%s` passed in %s (%s)\n\n", fixed[0].Entry.Test, fixed[0].Run, s.Baseline.File)
	}

	// Per area, one column per run.
	areas := map[string]bool{}
	for _, r := range s.Runs {
		for a := range r.ByArea() {
			areas[a] = true
		}
	}
	if len(areas) > 0 {
		var list []string
		for a := range areas {
			list = append(list, a)
		}
		sort.Strings(list)
		b.WriteString("| area |")
		for _, n := range names {
			fmt.Fprintf(&b, " %s |", n)
		}
		b.WriteString("\n|---|")
		for range names {
			b.WriteString("---|")
		}
		b.WriteString("\n")
		for _, a := range list {
			fmt.Fprintf(&b, "| %s |", a)
			for _, r := range s.Runs {
				fmt.Fprintf(&b, " %s |", countCell(r.ByArea()[a]))
			}
			b.WriteString("\n")
		}
		b.WriteString("\n")
	}

	if len(failures) > 0 {
		b.WriteString("### Failed tests\n\n| run | test | first failure message |\n|---|---|---|\n")
		for i, f := range failures {
			if i == MaxListed {
				fmt.Fprintf(&b, "| | ... and %d more | |\n", len(failures)-MaxListed)
				break
			}
			fmt.Fprintf(&b, "| %s | `%s` | %s |\n", f.Run, f.Test, cell(f.Message))
		}
		b.WriteString("\n")
	}
	if len(fixed) > 0 {
		fmt.Fprintf(&b, "### Fixed: remove it from the baseline (%s)\n\n| run | entry | passed | reason it was listed |\n|---|---|---|---|\n", s.Baseline.File)
		for _, f := range fixed {
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s |\n", f.Run, f.Entry.Test, cell(strings.Join(f.Tests, ", ")), cell(f.Entry.Reason))
		}
		b.WriteString("\n")
	}
	if len(known) > 0 {
		fmt.Fprintf(&b, "### Known failures (baseline %s)\n\n| run | test | reason | link | failure message |\n|---|---|---|---|---|\n", s.Baseline.File)
		for _, k := range known {
			fmt.Fprintf(&b, "| %s | `%s` | %s | %s | %s |\n", k.Run, k.Test, cell(k.Entry.Reason), cell(k.Entry.Link), cell(k.Message))
		}
		b.WriteString("\n")
	}
	var skipped, notes [][3]string
	for _, k := range s.Skipped() {
		skipped = append(skipped, [3]string{k.Run, k.Test, k.Reason})
	}
	for _, n := range s.Notes() {
		notes = append(notes, [3]string{n.Run, n.Test, n.Text})
	}
	testTable(&b, "Not applicable (skipped)", "reason", skipped)
	testTable(&b, "Notes (accepted, but not the preferred answer)", "note", notes)
	timings(&b, s.Runs)
	if len(problems) > 0 {
		b.WriteString("### Problems\n\n")
		for _, p := range problems {
			fmt.Fprintf(&b, "- %s\n", cell(p))
		}
		b.WriteString("\n")
	}

	if s.Artifacts != "" {
		b.WriteString("### Artifacts\n\n")
		fmt.Fprintf(&b, "- `%s/`: JUnit XML (`junit-*.xml`), `go test -json` output (`*.json`), the run summaries (`summary*.md`)\n", s.Artifacts)
		seen := map[string]bool{}
		for _, f := range failures {
			top, _, _ := strings.Cut(f.Test, "/")
			for _, d := range (artifacts.Dir{Root: s.Artifacts}).FailureDirs(top) {
				if !seen[d] {
					seen[d] = true
					fmt.Fprintf(&b, "- `%s`: trace, screenshot, console and network log of `%s`\n", d, top)
				}
			}
		}
		if url := s.runURL(); url != "" {
			fmt.Fprintf(&b, "- on GitHub: the artifacts of a failed job are uploaded with [this workflow run](%s)\n", url)
		}
		b.WriteString("\n")
	}
	if s.Extra != "" {
		b.WriteString(strings.TrimRight(s.Extra, "\n"))
		b.WriteString("\n")
	}
	return b.String()
}

func (s *Summary) runURL() string {
	get := s.Getenv
	if get == nil {
		get = os.Getenv
	}
	srv, repo, id := get("GITHUB_SERVER_URL"), get("GITHUB_REPOSITORY"), get("GITHUB_RUN_ID")
	if srv == "" || repo == "" || id == "" {
		return ""
	}
	return fmt.Sprintf("%s/%s/actions/runs/%s", srv, repo, id)
}

// testTable writes a section of (run, test, text) rows, at most MaxListed of them; nothing without rows.
// SlowestListed is how many of a run's slowest tests the summary names.
const SlowestListed = 5

// timings writes, per run, its slowest top-level tests and the stack's phases (Run.Phases).
func timings(b *strings.Builder, runs []*Run) {
	var out strings.Builder
	for _, r := range runs {
		var slow []string
		for _, t := range r.Slowest(SlowestListed) {
			slow = append(slow, fmt.Sprintf("`%s` %.1fs", t.Name, t.Elapsed.Seconds()))
		}
		if len(slow) == 0 {
			continue
		}
		fmt.Fprintf(&out, "- %s\n  - slowest: %s\n", RunName(r.Source), strings.Join(slow, ", "))
		if ph := r.Phases(); len(ph) > 0 {
			var parts []string
			for _, p := range ph {
				parts = append(parts, fmt.Sprintf("%s %.2fs", p.Name, p.Took.Seconds()))
			}
			fmt.Fprintf(&out, "  - stack: %s\n", redact.String(strings.Join(parts, ", ")))
		}
	}
	if out.Len() == 0 {
		return
	}
	b.WriteString("### Timings\n\nThe slowest top-level tests as go test timed them (a parallel test's wait for a slot excluded, its subtests included), and the stack's phases.\n\n")
	b.WriteString(out.String())
	b.WriteString("\n")
}

func testTable(b *strings.Builder, title, column string, rows [][3]string) {
	if len(rows) == 0 {
		return
	}
	fmt.Fprintf(b, "### %s\n\n| run | test | %s |\n|---|---|---|\n", title, column)
	for i, r := range rows {
		if i == MaxListed {
			fmt.Fprintf(b, "| | ... and %d more | |\n", len(rows)-MaxListed)
			break
		}
		fmt.Fprintf(b, "| %s | `%s` | %s |\n", r[0], r[1], cell(r[2]))
	}
	b.WriteString("\n")
}

func countCell(c Counts) string {
	if c.Total() == 0 {
		return "-"
	}
	parts := []string{fmt.Sprintf("%d passed", c.Passed)}
	if c.Failed > 0 {
		parts = append(parts, fmt.Sprintf("**%d failed**", c.Failed))
	}
	if c.Skipped > 0 {
		parts = append(parts, fmt.Sprintf("%d skipped", c.Skipped))
	}
	return strings.Join(parts, ", ")
}

// cell makes s safe inside a Markdown table cell.
func cell(s string) string {
	s = strings.ReplaceAll(OneLine(s), "|", `\|`)
	return strings.ReplaceAll(s, "`", "'")
}
