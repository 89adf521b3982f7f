// Package shard splits a test suite into n deterministic parts by test name, so that CI can run the
// parts on n machines, each with its own stack. A test's shard depends only on its top-level name (a
// SHA-256 of it, mod n), never on the order or number of the other tests: adding a test moves no other
// test to another shard.
package shard

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// Env is the environment variable that selects a shard: "i/n", 1 <= i <= n.
const Env = "AUTHFLOW_SHARD"

// Shard is part Index (1-based) of Count parts.
type Shard struct {
	Index, Count int
}

// Parse reads "i/n" (for example "2/3"). Spaces around the numbers are allowed.
func Parse(s string) (Shard, error) {
	const form = `want "i/n" with whole numbers 1 <= i <= n, e.g. "2/3"`
	if strings.TrimSpace(s) == "" {
		return Shard{}, fmt.Errorf("shard %q: empty; %s", s, form)
	}
	a, b, ok := strings.Cut(s, "/")
	if !ok {
		return Shard{}, fmt.Errorf("shard %q: no \"/\"; %s", s, form)
	}
	i, err := strconv.Atoi(strings.TrimSpace(a))
	if err != nil {
		return Shard{}, fmt.Errorf("shard %q: index %q is not a whole number; %s", s, a, form)
	}
	n, err := strconv.Atoi(strings.TrimSpace(b))
	if err != nil {
		return Shard{}, fmt.Errorf("shard %q: count %q is not a whole number; %s", s, b, form)
	}
	if n < 1 {
		return Shard{}, fmt.Errorf("shard %q: count must be at least 1; %s", s, form)
	}
	if i < 1 || i > n {
		return Shard{}, fmt.Errorf("shard %q: index must be between 1 and %d (shards are numbered from 1); %s", s, n, form)
	}
	return Shard{Index: i, Count: n}, nil
}

// String returns "i/n".
func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

// Of returns the 1-based shard (of n) that the test called name belongs to. Only the top-level part of
// name counts: a subtest is always in its parent's shard.
func Of(name string, n int) int {
	if n <= 1 {
		return 1
	}
	top, _, _ := strings.Cut(name, "/")
	sum := sha256.Sum256([]byte(top))
	return int(binary.BigEndian.Uint64(sum[:8])%uint64(n)) + 1
}

// Contains reports whether the test called name belongs to this shard.
func (s Shard) Contains(name string) bool { return Of(name, s.Count) == s.Index }

// Select returns the names that belong to this shard, in their original order.
func (s Shard) Select(names []string) []string {
	var out []string
	for _, n := range names {
		if s.Contains(n) {
			out = append(out, n)
		}
	}
	return out
}

// RunPattern returns a -test.run pattern that matches exactly the given top-level test names:
// "^(A|B|C)$". With no names it returns a pattern that matches no test name.
func RunPattern(names []string) string {
	if len(names) == 0 {
		return "^$"
	}
	q := make([]string, len(names))
	for i, n := range names {
		q[i] = regexp.QuoteMeta(n)
	}
	return "^(" + strings.Join(q, "|") + ")$"
}

var listedName = regexp.MustCompile(`^(Test|Example|Fuzz|Benchmark)\w*$`)

// Listed returns the names a test binary printed for -test.list, skipping any other line (such as
// the "ok" a `go test -list` adds).
func Listed(out []byte) []string {
	var names []string
	for _, line := range strings.Split(string(out), "\n") {
		if line = strings.TrimSpace(line); listedName.MatchString(line) {
			names = append(names, line)
		}
	}
	return names
}
