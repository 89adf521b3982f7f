// Package artifacts owns the layout of the artifacts directory: every file and folder a run writes
// there is named here, so the e2e suite, the browser sessions, the kill matrix, the CLI and the run
// summary agree on where things are (the Makefile writes the go test reports under the same names,
// which this package's tests check).
//
//	<root>/                                 AUTHFLOW_ARTIFACTS, else <module>/artifacts (internal/paths)
//	  junit-<suite>-<mode>.xml              go test results as JUnit (make e2e: suite "e2e")
//	  <suite>-<mode>.json                   go test -json
//	  summary.md, summary-<name>.md         run summaries (internal/report/cmd/summarize)
//	  security-report-<mode>.md             the JWT attack matrix and the measured policies
//	  <Test>/<mode>/[<session>/]            a failed browser test's trace, screenshot and logs
//	  kill-matrix/<child>/, kill-matrix.md  the kill matrix's child runs (each such a layout) and table
//	  profiles/<target>/                    make e2e-profiles: one such layout per profile
//	  held/<target>.yaml                    the target file of the stack authflow up holds
package artifacts

import (
	"os"
	"path/filepath"
	"strings"

	"github.com/authflow-e2e/authflow/internal/paths"
)

// Dir is an artifacts directory.
type Dir struct{ Root string }

// Default is the run's artifacts directory: AUTHFLOW_ARTIFACTS (relative to where the user ran the
// command), else artifacts/ at the module root.
func Default() Dir { return Dir{Root: paths.Artifacts()} }

func (d Dir) join(elem ...string) string { return filepath.Join(append([]string{d.Root}, elem...)...) }

// JUnit is the JUnit report of a suite in a token mode (make e2e: junit-e2e-hs256.xml).
func (d Dir) JUnit(suite, mode string) string { return d.join("junit-" + suite + "-" + mode + ".xml") }

// JSON is the go test -json stream of a suite in a token mode (make e2e: e2e-hs256.json).
func (d Dir) JSON(suite, mode string) string { return d.join(suite + "-" + mode + ".json") }

// Summary is the run summary ("" for summary.md, else summary-<name>.md).
func (d Dir) Summary(name string) string {
	if name == "" {
		return d.join("summary.md")
	}
	return d.join("summary-" + name + ".md")
}

// SecurityReport is the security report of an e2e run in a token mode.
func (d Dir) SecurityReport(mode string) string { return d.join("security-report-" + mode + ".md") }

// TestDir is the folder of a test's failure artifacts in a token mode, and of one of its sessions
// when session is not "" (several browser contexts in one test).
func (d Dir) TestDir(test, mode, session string) string {
	if session == "" {
		return d.join(Name(test), mode)
	}
	return d.join(Name(test), mode, Name(session))
}

// KillMatrix is the folder of the kill matrix's child runs.
func (d Dir) KillMatrix() Dir { return Dir{Root: d.join("kill-matrix")} }

// KillTable is the kill table (kill-matrix.md).
func (d Dir) KillTable() string { return d.join("kill-matrix.md") }

// Child is the artifacts directory of a child run (a kill matrix row), named by its label.
func (d Dir) Child(label string) Dir { return Dir{Root: d.join(Name(label))} }

// Profile is the artifacts directory of the run against a profile target (make e2e-profiles).
func (d Dir) Profile(target string) Dir { return Dir{Root: d.join("profiles", target)} }

// Held is the target file authflow up writes for the stack it holds.
func (d Dir) Held(target string) string { return d.join("held", Name(target)+".yaml") }

// FailureDirs lists the folders that hold failure artifacts of the top-level test (its own and its
// subtests'), in this directory and in the directories of child and profile runs one and two levels
// below.
func (d Dir) FailureDirs(test string) []string {
	var out []string
	n := Name(test)
	for _, base := range []string{d.Root, d.join("*"), d.join("*", "*")} {
		for _, pattern := range []string{filepath.Join(base, n), filepath.Join(base, n+"_*")} {
			ms, _ := filepath.Glob(pattern)
			for _, m := range ms {
				if fi, err := os.Stat(m); err == nil && fi.IsDir() {
					out = append(out, m+"/")
				}
			}
		}
	}
	return out
}

// Name makes a test, session or run name usable as one directory name: letters, digits and _-.=,
// stay, anything else (the "/" of a subtest) becomes "_".
func Name(name string) string {
	return strings.Map(func(r rune) rune {
		switch {
		case r >= 'a' && r <= 'z', r >= 'A' && r <= 'Z', r >= '0' && r <= '9', r == '_', r == '-', r == '.', r == '=', r == ',':
			return r
		}
		return '_'
	}, name)
}
