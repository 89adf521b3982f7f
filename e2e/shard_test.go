package e2e

import (
	"bytes"
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/authflow-e2e/authflow/internal/shard"
)

// applyShard restricts this process to its part of the suite when AUTHFLOW_SHARD=i/n is set: it lists
// the tests by running its own binary with -test.list (honouring a -run given on the command line),
// keeps those whose top-level name hashes to shard i of n (internal/shard), and sets -test.run to an
// anchored alternation of their names. In list mode it narrows -test.list instead, so
// `AUTHFLOW_SHARD=2/3 go test ./e2e -list .` shows what shard 2/3 runs. TestMain calls it right after
// flag.Parse, before the stack starts; each shard then runs with its own stack.
func applyShard() error {
	spec := os.Getenv(shard.Env)
	if spec == "" {
		return nil
	}
	s, err := shard.Parse(spec)
	if err != nil {
		return fmt.Errorf("%s: %w", shard.Env, err)
	}
	name, top, rest := "test.run", "", ""
	if listOnly() {
		name = "test.list"
		top = flag.Lookup(name).Value.String()
	} else if f := flag.Lookup(name); f != nil {
		top, rest = splitRunPattern(f.Value.String())
	}
	if top == "" {
		top = "."
	}
	all, err := listTests(top)
	if err != nil {
		return fmt.Errorf("%s=%s: list the tests: %w", shard.Env, spec, err)
	}
	sel := s.Select(all)
	if len(sel) == 0 {
		return fmt.Errorf("%s=%s: this shard holds none of the %d tests matching %q, so it would run nothing; use fewer shards", shard.Env, spec, len(all), top)
	}
	pat := shard.RunPattern(sel)
	if rest != "" {
		pat += "/" + rest
	}
	if err := flag.Set(name, pat); err != nil {
		return fmt.Errorf("%s=%s: set -%s: %w", shard.Env, spec, name, err)
	}
	fmt.Fprintf(os.Stderr, "authflow: shard %s runs %d of %d tests\n", s, len(sel), len(all))
	return nil
}

// listTests runs this test binary with -test.list pattern (and without AUTHFLOW_SHARD, so the child
// lists everything) and returns the names it prints.
func listTests(pattern string) ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(exe, "-test.list", pattern)
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, shard.Env+"=") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		return nil, fmt.Errorf("%s -test.list %q: %w: %s", exe, pattern, err, strings.TrimSpace(stderr.String()))
	}
	return shard.Listed(out), nil
}

// splitRunPattern splits a -test.run pattern into its top-level part and the rest (the subtest levels),
// at the first slash outside brackets and parentheses, as the testing package does.
func splitRunPattern(p string) (top, rest string) {
	depth, inClass := 0, false
	for i := 0; i < len(p); i++ {
		switch c := p[i]; {
		case c == '\\':
			i++
		case inClass:
			if c == ']' {
				inClass = false
			}
		case c == '[':
			inClass = true
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == '/' && depth == 0:
			return p[:i], p[i+1:]
		}
	}
	return p, ""
}
