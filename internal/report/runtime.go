package report

import (
	"strings"
	"sync"
	"time"
)

// RunTimes measures how long tests run, not how long they exist: `go test` pauses a parallel test
// until a slot is free, and a parent's cleanup runs only after its parallel subtests, which wait for
// slots too. A test's run time is its body's time (Start to BodyDone) plus the run time of its
// subtests that started after the body returned (the parallel ones; sequential subtests are inside
// the body's time already). Names are testing.T names ("TestX/case=y"). Safe for concurrent use.
type RunTimes struct {
	mu sync.Mutex
	m  map[string]*runTimer
}

type runTimer struct {
	start, bodyEnd time.Time
	sub            time.Duration
}

// Start marks the moment a test starts running (after t.Parallel returned).
func (r *RunTimes) Start(name string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.m == nil {
		r.m = map[string]*runTimer{}
	}
	r.m[name] = &runTimer{start: now}
}

// BodyDone marks the moment the test's function returned.
func (r *RunTimes) BodyDone(name string, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if tm := r.m[name]; tm != nil {
		tm.bodyEnd = now
	}
}

// Done ends a test (from its cleanup, after its subtests) and returns its run time.
func (r *RunTimes) Done(name string, now time.Time) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	tm := r.m[name]
	if tm == nil {
		return 0
	}
	delete(r.m, name)
	end := tm.bodyEnd
	if end.IsZero() {
		end = now
	}
	took := end.Sub(tm.start) + tm.sub
	if i := strings.LastIndex(name, "/"); i >= 0 {
		if p := r.m[name[:i]]; p != nil && !p.bodyEnd.IsZero() && tm.start.After(p.bodyEnd) {
			p.sub += took
		}
	}
	return took
}
