package report

import (
	"fmt"
	"os"
	"regexp"
	"slices"
	"strings"

	"github.com/goccy/go-yaml"
)

// Baseline is a target's list of known failures (the target's `baseline:` file): a listed failure is
// reported as known and does not fail the run; a failure not listed fails it and leads the summary;
// a listed test that now passes fails the run too, with "remove it from the baseline" (strict, like
// pytest's xfail(strict=True)), so the list never hides a fixed bug or outlives it.
//
//	known:
//	  - test: TestToken_ClaimsNameTheUserAndExpireWithinTheModesLifetime   # anchored regexp; "TestX/case=y" for a subtest
//	    reason: our token's sub is the e-mail until the migration lands
//	    link: https://github.com/org/app/issues/123                          # optional
//	    modes: [hs256]                                                         # optional: only runs of these token modes
type Baseline struct {
	File  string
	Known []KnownFailure `yaml:"known"`
}

// KnownFailure is one entry of a baseline.
type KnownFailure struct {
	Test   string   `yaml:"test"`
	Reason string   `yaml:"reason"`
	Link   string   `yaml:"link"`
	Modes  []string `yaml:"modes"`
	re     *regexp.Regexp
}

// LoadBaseline reads and checks a baseline file; every entry needs a test and a reason.
func LoadBaseline(path string) (*Baseline, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("baseline %s: %w", path, err)
	}
	bl := &Baseline{File: path}
	if err := yaml.UnmarshalWithOptions(b, bl, yaml.DisallowUnknownField()); err != nil {
		return nil, fmt.Errorf("baseline %s: %s", path, yaml.FormatError(err, false, false))
	}
	for i := range bl.Known {
		k := &bl.Known[i]
		if strings.TrimSpace(k.Test) == "" || strings.TrimSpace(k.Reason) == "" {
			return nil, fmt.Errorf("baseline %s: entry %d needs a test (name or regexp) and a reason", path, i+1)
		}
		re, err := regexp.Compile("^(?:" + k.Test + ")$")
		if err != nil {
			return nil, fmt.Errorf("baseline %s: entry %d: test %q is not a regexp: %v", path, i+1, k.Test, err)
		}
		k.re = re
	}
	return bl, nil
}

// matches reports whether the entry covers test in the run named run ("e2e-hs256").
func (k KnownFailure) matches(run, test string) bool {
	if len(k.Modes) > 0 && !slices.ContainsFunc(k.Modes, func(m string) bool { return strings.HasSuffix(run, "-"+m) }) {
		return false
	}
	return k.re.MatchString(test)
}

// known returns the entry that covers a failure, or nil.
func (b *Baseline) known(f Failure) *KnownFailure {
	if b == nil {
		return nil
	}
	for i := range b.Known {
		if b.Known[i].matches(f.Run, f.Test) {
			return &b.Known[i]
		}
	}
	return nil
}

// Fixed is a baseline entry whose tests ran and passed in a run: it must be removed.
type Fixed struct {
	Entry KnownFailure
	Run   string
	Tests []string
}

// fixed lists the entries that matched a test that ran in some run, where none of the tests it
// matches failed: the known failure is gone.
func (b *Baseline) fixed(runs []*Run) []Fixed {
	if b == nil {
		return nil
	}
	var out []Fixed
	for _, k := range b.Known {
		for _, r := range runs {
			name := RunName(r.Source)
			var passed []string
			failed := false
			for _, t := range r.Tests {
				if !k.matches(name, t.Name) {
					continue
				}
				switch {
				case t.Failed():
					failed = true
				case t.Result == Pass:
					passed = append(passed, t.Name)
				}
			}
			if !failed && len(passed) > 0 {
				out = append(out, Fixed{Entry: k, Run: name, Tests: passed})
			}
		}
	}
	return out
}
