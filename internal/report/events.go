// Package report reads `go test -json` output (as written by gotestsum's --jsonfile or test2json) and
// turns it into what a person reads after a run: per-area counts, the failed tests with the first
// failure message of each (one line, redacted), a Markdown run summary, and JUnit files whose failure
// message attributes carry that line. A run in which no test executed is a problem, never a pass.
package report

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"gotest.tools/gotestsum/testjson"

	"github.com/authflow-e2e/authflow/internal/redact"
)

// Event is one line of `go test -json` (cmd/test2json), as gotestsum's testjson reads it.
type Event = testjson.TestEvent

// Results of a test.
const (
	Pass    = "pass"
	Fail    = "fail"
	Skip    = "skip"
	Running = "" // started but never ended: the binary exited (timeout, panic, os.Exit)
)

// Test is one test or subtest of a run.
type Test struct {
	Package string
	Name    string
	Result  string
	Elapsed time.Duration
	Output  []string // output lines of this test, without the trailing newline
}

// Top reports whether t is a top-level test (not a subtest).
func (t *Test) Top() bool { return !strings.Contains(t.Name, "/") }

// Slowest returns the run's n slowest top-level tests, slowest first.
func (r *Run) Slowest(n int) []*Test {
	var top []*Test
	for _, t := range r.Tests {
		if t.Top() && t.Result != Running {
			top = append(top, t)
		}
	}
	sort.SliceStable(top, func(i, j int) bool { return top[i].Elapsed > top[j].Elapsed })
	return top[:min(n, len(top))]
}

// Phase is one step of the stack's life as the test process printed it ("stack: <name> <took>s").
type Phase struct {
	Name string
	Took time.Duration
}

// phaseLine is a line of the stack's progress: its name, padded, then its time in seconds.
var phaseLine = regexp.MustCompile(`^stack: (\S.*?)\s+(\d+\.\d+)s(?:\s|$)`)

// Phases returns the stack's phases from the run's package output (start-up and teardown), in order.
func (r *Run) Phases() []Phase {
	var out []Phase
	for _, pkg := range slices.Sorted(maps.Keys(r.PackageOutput)) {
		for _, l := range r.PackageOutput[pkg] {
			m := phaseLine.FindStringSubmatch(l)
			if m == nil {
				continue
			}
			d, err := time.ParseDuration(m[2] + "s")
			if err == nil {
				out = append(out, Phase{Name: m[1], Took: d})
			}
		}
	}
	return out
}

// Failed reports whether t failed or never finished.
func (t *Test) Failed() bool { return t.Result == Fail || t.Result == Running }

// Run is one `go test -json` stream.
type Run struct {
	Source string // file it came from, or a label
	Tests  []*Test
	// Package-level output (TestMain, stack start-up, panics) and results per package.
	PackageOutput map[string][]string
	PackageResult map[string]string
	BuildFailed   map[string][]string // import path -> build output
	Elapsed       time.Duration
	// Unparsed lines (a stream that is not pure JSON, e.g. stderr mixed in).
	Other []string

	byName map[string]*Test
}

// Parse reads a `go test -json` stream. Lines that are not JSON events are kept in Other.
//
// gotestsum's testjson scans and decodes the stream; its Execution is not used, because it keeps
// the output of failed tests only (a passing test's output is dropped), and the summary's Notes and
// the kill matrix read the output of every test. collector keeps it.
func Parse(source string, r io.Reader) (*Run, error) {
	run := &Run{Source: source, PackageOutput: map[string][]string{}, PackageResult: map[string]string{},
		BuildFailed: map[string][]string{}, byName: map[string]*Test{}}
	c := &collector{run: run, buildOut: map[string][]string{}, partial: map[string]string{}}
	events := eventLines(r, maxLine, func(line string) { run.Other = append(run.Other, line) })
	_, err := testjson.ScanTestOutput(testjson.ScanConfig{Stdout: events, Handler: c, IgnoreNonJSONOutputLines: true})
	c.flush()
	if err != nil {
		return run, fmt.Errorf("read %s: %w", source, err)
	}
	return run, nil
}

// collector is the testjson.EventHandler that builds a Run: every test's result, time and output.
type collector struct {
	run      *Run
	buildOut map[string][]string // build output per import path, until its build-fail
	partial  map[string]string   // output pieces without a newline yet, per test
}

// Err gets the lines testjson could not decode (eventLines passes it only lines that start like an
// event, so these are broken events).
func (c *collector) Err(text string) error {
	c.run.Other = append(c.run.Other, text)
	return nil
}

func (c *collector) Event(e testjson.TestEvent, _ *testjson.Execution) error {
	if e.Bytes() == nil {
		// An event testjson made up at the end for a test that never ended (it calls it failed):
		// the Run keeps such a test Running, so the summary can say it did not finish.
		return nil
	}
	run := c.run
	switch e.Action {
	case testjson.ActionBuild:
		c.buildOut[e.ImportPath] = append(c.buildOut[e.ImportPath], strings.TrimRight(e.Output, "\n"))
		return nil
	case "build-fail":
		run.BuildFailed[e.ImportPath] = c.buildOut[e.ImportPath]
		return nil
	}
	if e.Test == "" {
		switch e.Action {
		case testjson.ActionOutput:
			run.PackageOutput[e.Package] = append(run.PackageOutput[e.Package], strings.TrimRight(e.Output, "\n"))
		case testjson.ActionPass, testjson.ActionFail, testjson.ActionSkip:
			run.PackageResult[e.Package] = string(e.Action)
			if d := time.Duration(e.Elapsed * float64(time.Second)); d > run.Elapsed {
				run.Elapsed = d
			}
		}
		return nil
	}
	t := run.test(e.Package, e.Test)
	switch e.Action {
	case testjson.ActionOutput:
		key := e.Package + "\x00" + e.Test
		s := c.partial[key] + e.Output
		for {
			i := strings.IndexByte(s, '\n')
			if i < 0 {
				break
			}
			t.Output = append(t.Output, s[:i])
			s = s[i+1:]
		}
		c.partial[key] = s
	case testjson.ActionPass, testjson.ActionFail, testjson.ActionSkip:
		t.Result = string(e.Action)
		t.Elapsed = time.Duration(e.Elapsed * float64(time.Second))
	}
	return nil
}

// flush ends the output lines that had no newline yet.
func (c *collector) flush() {
	for key, s := range c.partial {
		if s != "" {
			pkg, name, _ := strings.Cut(key, "\x00")
			t := c.run.test(pkg, name)
			t.Output = append(t.Output, s)
		}
	}
}

// maxLine is the longest line passed to testjson, whose scanner stops the whole scan at a line of
// bufio.MaxScanTokenSize (64 KiB) or more.
const maxLine = bufio.MaxScanTokenSize - 1024

// eventLines passes on the lines of r that start like a JSON event, each shorter than limit (an
// event's Output is cut to fit, and says how much was cut), and hands every other line, as it is,
// to other. Written by hand, for two limits of testjson: its scanner offers no buffer size, so one
// long line (a test that logs a response body) would lose the whole run's results; and it logs a
// warning with the raw text of a line that starts with "FAIL" (go test's own, on a build failure).
// It is read by testjson's scanning goroutine, which also calls the handler's Err: other and Err
// run in turn, in the stream's order.
func eventLines(r io.Reader, limit int, other func(string)) io.Reader {
	return &eventReader{br: bufio.NewReaderSize(r, 64<<10), limit: limit, other: other}
}

type eventReader struct {
	br    *bufio.Reader
	limit int
	other func(string)
	buf   []byte // what is left of the current line
	err   error  // the read error that ends the stream, once the buffer is empty
}

func (e *eventReader) Read(p []byte) (int, error) {
	for len(e.buf) == 0 {
		if e.err != nil {
			return 0, e.err
		}
		line, err := e.br.ReadBytes('\n')
		e.err = err
		body := bytes.TrimRight(line, "\r\n")
		switch {
		case len(body) == 0:
			continue
		case body[0] != '{':
			e.other(string(body))
			continue
		case len(line) >= e.limit:
			line = capEvent(body, e.limit)
		}
		e.buf = line
	}
	n := copy(p, e.buf)
	e.buf = e.buf[n:]
	return n, nil
}

// capEvent shortens one event line to less than limit bytes with its newline (see eventLines):
// the Output keeps its start, valid UTF-8, and ends with how many bytes were cut. A line that is
// no event, or whose Output is not what makes it long, is cut as it is.
func capEvent(line []byte, limit int) []byte {
	var e Event
	if json.Unmarshal(line, &e) == nil && e.Action != "" && e.Output != "" {
		orig := e.Output
		n := len(orig) * (limit - 256) / len(line) // encoding escapes make a byte of Output worth more than one byte of line
		for range 16 {
			keep := orig[:n]
			for !utf8.ValidString(keep) && keep != "" {
				keep = keep[:len(keep)-1]
			}
			e.Output = fmt.Sprintf("%s… [%d bytes cut]\n", keep, len(orig)-len(keep))
			if b, err := json.Marshal(e); err == nil && len(b) < limit {
				return append(b, '\n')
			}
			n = n * 9 / 10
		}
	}
	return append(line[:limit-1:limit-1], '\n')
}

// ParseFile parses a `go test -json` file.
func ParseFile(path string) (*Run, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return Parse(path, f)
}

func (r *Run) test(pkg, name string) *Test {
	key := pkg + "\x00" + name
	if t, ok := r.byName[key]; ok {
		return t
	}
	t := &Test{Package: pkg, Name: name}
	r.byName[key] = t
	r.Tests = append(r.Tests, t)
	return t
}

// Test returns the test called name (in any package), or nil.
func (r *Run) Test(name string) *Test {
	for _, t := range r.Tests {
		if t.Name == name {
			return t
		}
	}
	return nil
}

// PackageOutputContains reports whether any package-level output line (TestMain, start-up) contains sub.
func (r *Run) PackageOutputContains(sub string) bool {
	for _, lines := range r.PackageOutput {
		for _, l := range lines {
			if strings.Contains(l, sub) {
				return true
			}
		}
	}
	return false
}

// Failed returns the failed tests (subtests included) in the order they started.
func (r *Run) Failed() []*Test {
	var out []*Test
	for _, t := range r.Tests {
		if t.Failed() {
			out = append(out, t)
		}
	}
	return out
}

// Counts are numbers of top-level tests.
type Counts struct{ Passed, Failed, Skipped int }

// Total is the number of top-level tests that ran.
func (c Counts) Total() int { return c.Passed + c.Failed + c.Skipped }

// Count counts top-level tests.
func (r *Run) Count() Counts {
	var c Counts
	for _, t := range r.Tests {
		if !t.Top() {
			continue
		}
		switch {
		case t.Failed():
			c.Failed++
		case t.Result == Skip:
			c.Skipped++
		default:
			c.Passed++
		}
	}
	return c
}

// Area is the part of a test name between "Test" and the first underscore: TestToken_X -> Token.
func Area(name string) string {
	name, _, _ = strings.Cut(name, "/")
	name = strings.TrimPrefix(name, "Test")
	if i := strings.Index(name, "_"); i > 0 {
		name = name[:i]
	}
	return name
}

// ByArea counts top-level tests per area.
func (r *Run) ByArea() map[string]Counts {
	out := map[string]Counts{}
	for _, t := range r.Tests {
		if !t.Top() {
			continue
		}
		c := out[Area(t.Name)]
		switch {
		case t.Failed():
			c.Failed++
		case t.Result == Skip:
			c.Skipped++
		default:
			c.Passed++
		}
		out[Area(t.Name)] = c
	}
	return out
}

// Problems are reasons the run failed other than failed tests: a package that did not build, failed
// outside any test (the stack did not start, TestMain exited) or ran no test at all.
func (r *Run) Problems() []string {
	var out []string
	var paths []string
	for p := range r.BuildFailed {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	for _, p := range paths {
		out = append(out, fmt.Sprintf("%s did not build: %s", p, OneLine(strings.Join(firstN(r.BuildFailed[p], 3), " "))))
	}
	var pkgs []string
	for p := range r.PackageResult {
		pkgs = append(pkgs, p)
	}
	sort.Strings(pkgs)
	for _, p := range pkgs {
		if r.PackageResult[p] != Fail || r.buildFailed(p) {
			continue
		}
		failedTests := 0
		for _, t := range r.testsOf(p) {
			if t.Failed() {
				failedTests++
			}
		}
		if failedTests == 0 {
			out = append(out, fmt.Sprintf("%s failed outside any test: %s", p, packageMessage(r.PackageOutput[p])))
		}
	}
	if r.Count().Total() == 0 && len(r.BuildFailed) == 0 {
		why := "no test ran"
		if len(r.PackageResult) == 0 && len(r.Tests) == 0 {
			why = "no test ran: the stream holds no test event (did go test start at all?)"
		} else {
			for _, p := range pkgs {
				if m := packageMessage(r.PackageOutput[p]); m != "" && r.PackageResult[p] != Fail {
					why += ": " + m
					break
				}
			}
		}
		out = append(out, why)
	}
	return out
}

func (r *Run) buildFailed(pkg string) bool {
	for p := range r.BuildFailed {
		if p == pkg || strings.HasPrefix(p, pkg+" ") {
			return true
		}
	}
	return false
}

func (r *Run) testsOf(pkg string) []*Test {
	var out []*Test
	for _, t := range r.Tests {
		if t.Package == pkg {
			out = append(out, t)
		}
	}
	return out
}

func firstN(s []string, n int) []string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// packageMessage picks the informative lines of package-level output (TestMain's "authflow: ..."
// lines, a panic, "no tests to run") as one line.
func packageMessage(lines []string) string {
	var keep []string
	for _, l := range lines {
		t := strings.TrimSpace(l)
		switch {
		case t == "", t == "PASS", t == "FAIL", strings.HasPrefix(t, "ok "), strings.HasPrefix(t, "FAIL\t"),
			strings.HasPrefix(t, "ok\t"), strings.HasPrefix(t, "exit status"), strings.HasPrefix(t, "stack:"):
			continue
		case strings.HasPrefix(t, "authflow:"), strings.HasPrefix(t, "panic:"), strings.Contains(t, "no tests to run"),
			strings.HasPrefix(t, "testing:"), strings.Contains(t, "timed out"):
			keep = append(keep, t)
		}
	}
	if len(keep) == 0 {
		for _, l := range lines {
			if t := strings.TrimSpace(l); t != "" && t != "FAIL" && !strings.HasPrefix(t, "FAIL\t") && !strings.HasPrefix(t, "exit status") {
				keep = append(keep, t)
			}
		}
	}
	return OneLine(strings.Join(lastN(keep, 3), " "))
}

func lastN(s []string, n int) []string {
	if len(s) > n {
		return s[len(s)-n:]
	}
	return s
}

var (
	locRE     = regexp.MustCompile(`^\s*([\w.-]+\.go:\d+): ?(.*)$`)
	framingRE = regexp.MustCompile(`^\s*(=== (RUN|PAUSE|CONT|NAME)|--- (FAIL|PASS|SKIP):)`)
	fieldRE   = regexp.MustCompile(`^\s*(Error Trace|Error|Test|Messages):\s*(.*)$`)
	spaceRE   = regexp.MustCompile(`\s+`)
)

// MaxMessage is the length of a one-line message.
const MaxMessage = 240

// OneLine collapses s into one redacted line of at most MaxMessage bytes.
func OneLine(s string) string {
	s = strings.TrimSpace(spaceRE.ReplaceAllString(redact.String(s), " "))
	if len(s) > MaxMessage {
		cut := MaxMessage
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		s = s[:cut] + "..."
	}
	return s
}

// block is one t.Log/t.Error call: its file:line and the lines it printed.
type block struct {
	loc   string
	lines []string
}

func blocks(output []string) []block {
	var out []block
	for _, l := range output {
		if framingRE.MatchString(l) {
			continue
		}
		if m := locRE.FindStringSubmatch(l); m != nil && leadingSpaces(l) <= 8 {
			out = append(out, block{loc: m[1], lines: []string{m[2]}})
			continue
		}
		if len(out) > 0 {
			out[len(out)-1].lines = append(out[len(out)-1].lines, l)
		} else if t := strings.TrimSpace(l); t != "" {
			out = append(out, block{lines: []string{t}})
		}
	}
	return out
}

func leadingSpaces(s string) int { return len(s) - len(strings.TrimLeft(s, " \t")) }

// FailureMessage is the first failure message of t as one redacted line: for a testify failure its
// location, Messages and Error; for t.Fatal/t.Error the last message the test printed; for a test with
// failed subtests the first failed subtest's message (see Run.FailureMessage). Empty when t printed
// nothing.
func (t *Test) FailureMessage() string {
	bs := blocks(t.Output)
	for _, b := range bs {
		if m := testifyMessage(b); m != "" {
			return OneLine(m)
		}
	}
	for i := len(bs) - 1; i >= 0; i-- {
		b := bs[i]
		text := strings.TrimSpace(strings.Join(b.lines, " "))
		if text == "" {
			continue
		}
		if b.loc != "" {
			text = b.loc + ": " + text
		}
		return OneLine(text)
	}
	if t.Result == Running {
		return "did not finish: the test binary exited while it ran (timeout, panic or os.Exit)"
	}
	return ""
}

// SkipReason is what a skipped test said last (its t.Skip message).
func (t *Test) SkipReason() string {
	if t.Result != Skip {
		return ""
	}
	bs := blocks(t.Output)
	for i := len(bs) - 1; i >= 0; i-- {
		if text := strings.TrimSpace(strings.Join(bs[i].lines, " ")); text != "" {
			return OneLine(text)
		}
	}
	return "skipped without a reason"
}

func testifyMessage(b block) string {
	fields := map[string][]string{}
	cur := ""
	for _, l := range b.lines {
		if m := fieldRE.FindStringSubmatch(l); m != nil {
			cur = m[1]
			if m[2] != "" {
				fields[cur] = append(fields[cur], strings.TrimSpace(m[2]))
			}
			continue
		}
		if cur != "" && strings.TrimSpace(l) != "" {
			fields[cur] = append(fields[cur], strings.TrimSpace(l))
		}
	}
	if _, ok := fields["Error Trace"]; !ok || len(fields["Error"]) == 0 {
		return ""
	}
	msg := strings.Join(fields["Error"], " ")
	if m := fields["Messages"]; len(m) > 0 {
		msg = m[0] + ": " + msg
	}
	return b.loc + ": " + msg
}

// FailureMessage is the first failure message of the test called name: its own, or that of its first
// failed subtest (prefixed with the subtest's name).
func (r *Run) FailureMessage(name string) string {
	t := r.Test(name)
	if t == nil {
		return ""
	}
	for _, s := range r.Tests {
		if s.Failed() && strings.HasPrefix(s.Name, name+"/") {
			if m := r.FailureMessage(s.Name); m != "" {
				if strings.HasPrefix(m, s.Name+": ") {
					return m
				}
				return s.Name + ": " + m
			}
		}
	}
	if m := t.FailureMessage(); m != "" {
		return m
	}
	if t.Result == Fail {
		return "failed without a message"
	}
	return ""
}

// RunName is a short label for a -json file: its base name without the extension (e2e-hs256).
func RunName(path string) string {
	return strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
}
