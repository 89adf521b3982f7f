package containers

import (
	"bytes"
	"strings"
	"sync"

	"github.com/testcontainers/testcontainers-go"
)

// ring keeps the last n lines written to it, redacted, for messages and artifacts; and every line
// as the service wrote it, in memory only, for the leak scan (RawLog). It is an io.Writer and a
// testcontainers LogConsumer.
type ring struct {
	mu      sync.Mutex
	n       int
	lines   []string
	partial []byte
	redact  func(string) string

	raw        []string // every line, unredacted; never written anywhere
	rawDropped int      // lines beyond maxRawLines
}

// maxRawLines bounds the raw log kept per service (a run writes a few thousand lines).
const maxRawLines = 500_000

func newRing(n int) *ring { return &ring{n: n} }

func (r *ring) Write(p []byte) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.partial = append(r.partial, p...)
	for {
		i := bytes.IndexByte(r.partial, '\n')
		if i < 0 {
			break
		}
		r.add(string(r.partial[:i]))
		r.partial = r.partial[i+1:]
	}
	return len(p), nil
}

func (r *ring) add(line string) {
	line = strings.TrimRight(line, "\r")
	if len(r.raw) < maxRawLines {
		r.raw = append(r.raw, line)
	} else {
		r.rawDropped++
	}
	if r.redact != nil {
		line = r.redact(line)
	}
	r.lines = append(r.lines, line)
	if len(r.lines) > r.n {
		r.lines = r.lines[len(r.lines)-r.n:]
	}
}

// Accept implements testcontainers.LogConsumer.
func (r *ring) Accept(l testcontainers.Log) { _, _ = r.Write(l.Content) }

// Lines returns the kept lines, oldest first, including an unterminated last line.
func (r *ring) Lines() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := append([]string(nil), r.lines...)
	if len(r.partial) > 0 {
		out = append(out, string(r.partial))
	}
	return out
}

func (r *ring) String() string { return strings.Join(r.Lines(), "\n") }

// Tail returns the last n lines.
func (r *ring) Tail(n int) []string {
	l := r.Lines()
	if len(l) > n {
		l = l[len(l)-n:]
	}
	return l
}

// rawLog returns every line as written (the last one even if unterminated), joined by newlines, and
// how many lines were not kept.
func (r *ring) rawLog() ([]byte, int) {
	r.mu.Lock()
	defer r.mu.Unlock()
	lines := r.raw
	if len(r.partial) > 0 {
		lines = append(lines[:len(lines):len(lines)], string(r.partial))
	}
	return []byte(strings.Join(lines, "\n")), r.rawDropped
}
