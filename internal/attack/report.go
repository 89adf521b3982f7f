package attack

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authflow-e2e/authflow/internal/redact"
)

// Row is one case of the attack matrix.
type Row struct {
	Order                                         int
	Case, Group, Construction, Expected, Observed string
	Result                                        string // pass, FAIL, n/a, report
}

// Figure is one measured policy.
type Figure struct {
	Name, Value, Budget, Result, Note string
}

// Report collects every case and figure of a run's security suites; its methods are safe for
// concurrent tests.
type Report struct {
	Target, Mode, Fault string        // the header: what ran against what
	MaxRejectTime       time.Duration // the judge's limit, said in the header

	mu      sync.Mutex
	rows    []Row
	figures []Figure
	notes   []string
	write   sync.Mutex // render+write is one step, so the last writer writes everything recorded
}

// AddRow records a case.
func (r *Report) AddRow(row Row) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.rows = append(r.rows, row)
}

// AddFigure records a measured policy.
func (r *Report) AddFigure(f Figure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.figures = append(r.figures, f)
}

// AddNote records a note.
func (r *Report) AddNote(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.notes = append(r.notes, fmt.Sprintf(format, args...))
}

// cell makes s one redacted Markdown table cell.
func cell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(redact.String(s), "|", `\|`), "\n", " ")
}

// Markdown renders what was recorded so far, cases in their Order.
func (r *Report) Markdown(now time.Time) string {
	r.mu.Lock()
	rows := slices.Clone(r.rows)
	figures := slices.Clone(r.figures)
	notes := slices.Clone(r.notes)
	r.mu.Unlock()
	slices.SortStableFunc(rows, func(a, b Row) int { return a.Order - b.Order })

	var b strings.Builder
	fault := r.Fault
	if fault == "" {
		fault = "none"
	}
	fmt.Fprintf(&b, "# JWT attack matrix: target %s, token mode %s\n\n", r.Target, r.Mode)
	fmt.Fprintf(&b, "Generated %s; AUTHFLOW_FAULT=%s. Each token is sent on threads.list (JSON) and threads.create (stream).\n",
		now.UTC().Format(time.RFC3339), fault)
	fmt.Fprintf(&b, "Reject = 401 before any stream byte, body only {\"error\": ...}, no echo of token or user data, < %s, never 5xx.\n\n", r.MaxRejectTime)
	count := map[string]int{}
	for _, row := range rows {
		count[row.Result]++
	}
	fmt.Fprintf(&b, "Cases: %d (pass %d, FAIL %d, n/a %d, report-only %d)\n\n", len(rows), count["pass"], count["FAIL"], count["n/a"], count["report"])
	b.WriteString("| case | group | construction | expected | observed | result |\n|---|---|---|---|---|---|\n")
	for _, row := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", cell(row.Case), cell(row.Group), cell(row.Construction), cell(row.Expected), cell(row.Observed), row.Result)
	}
	if len(figures) > 0 {
		b.WriteString("\n## Policy figures (measured)\n\n| figure | value | budget | result | note |\n|---|---|---|---|---|\n")
		for _, f := range figures {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", cell(f.Name), cell(f.Value), cell(f.Budget), f.Result, cell(f.Note))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", cell(n))
		}
	}
	return b.String()
}

// WriteFile renders the report and writes it to path.
func (r *Report) WriteFile(path string) error {
	r.write.Lock()
	defer r.write.Unlock()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(r.Markdown(time.Now())), 0o644)
}
