package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/report"
)

// runRecord is every top-level test (and parallel subtest) that called track, for the run summary,
// and their run times (report.RunTimes: waits for a parallel slot excluded). The World holds it.
type runRecord struct {
	sync.Mutex
	list  []result
	times report.RunTimes
}

type result struct {
	name            string
	took            time.Duration
	failed, skipped bool
}

// track records t's outcome and run time for the summary printed after the run; use it as
// `defer track(t)()` after t.Parallel(), in tests and in their parallel subtests.
func track(t *testing.T) (bodyDone func()) { return world.track(t) }

func (w *World) track(t *testing.T) (bodyDone func()) {
	r := &w.run
	r.times.Start(t.Name(), time.Now())
	t.Cleanup(func() {
		took := r.times.Done(t.Name(), time.Now())
		r.Lock()
		r.list = append(r.list, result{t.Name(), took, t.Failed(), t.Skipped()})
		r.Unlock()
	})
	return func() { r.times.BodyDone(t.Name(), time.Now()) }
}

// area is the part of a test name before the first underscore: TestToken_X -> Token.
func area(name string) string {
	name = strings.TrimPrefix(name, "Test")
	if i := strings.IndexAny(name, "_/"); i > 0 {
		name = name[:i]
	}
	return name
}

// printSummary prints tests per area, the slowest tests and the phase timings.
func (w *World) printSummary(logf func(string, ...any)) {
	env := w.Env
	w.run.Lock()
	list := append([]result(nil), w.run.list...)
	w.run.Unlock()
	var b strings.Builder
	fmt.Fprintf(&b, "\n=== authflow summary: target %s, token mode %s\n", env.Rendered.Name, env.Rendered.TokenMode)
	type counts struct{ pass, fail, na int }
	areas := map[string]*counts{}
	var names []string
	for _, r := range list {
		if strings.Contains(r.name, "/") {
			continue
		}
		a := area(r.name)
		if areas[a] == nil {
			areas[a] = &counts{}
			names = append(names, a)
		}
		switch {
		case r.failed:
			areas[a].fail++
		case r.skipped:
			areas[a].na++
		default:
			areas[a].pass++
		}
	}
	sort.Strings(names)
	fmt.Fprintf(&b, "%-16s %6s %6s %6s\n", "area", "passed", "failed", "n/a")
	for _, a := range names {
		fmt.Fprintf(&b, "%-16s %6d %6d %6d\n", a, areas[a].pass, areas[a].fail, areas[a].na)
	}
	sort.Slice(list, func(i, j int) bool { return list[i].took > list[j].took })
	fmt.Fprintf(&b, "slowest tests (run time, without waits for a parallel slot):\n")
	shown := 0
	for _, r := range list {
		if strings.Contains(r.name, "/") {
			continue // counted in its test
		}
		if shown++; shown > 5 {
			break
		}
		fmt.Fprintf(&b, "  %6.2fs  %s\n", r.took.Seconds(), r.name)
	}
	fmt.Fprintf(&b, "phase timings:\n")
	for _, p := range env.Timings {
		fmt.Fprintf(&b, "  %6.2fs  %s\n", p.Duration.Seconds(), p.Name)
	}
	for _, p := range env.Stack.Timings {
		if p.Name == "teardown" {
			fmt.Fprintf(&b, "  %6.2fs  %s\n", p.Duration.Seconds(), p.Name)
		}
	}
	logf("%s", b.String())
	if p := artifacts.Default().Timings(env.Rendered.TokenMode); p != "" {
		_ = os.MkdirAll(filepath.Dir(p), 0o755)
		_ = os.WriteFile(p, []byte(b.String()), 0o644)
	}
}
