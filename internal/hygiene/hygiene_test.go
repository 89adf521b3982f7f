// Package hygiene holds checks of the repository itself that `make lint` runs: what code may import
// and what its comments and docs may cite.
package hygiene

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
	"github.com/authflow-e2e/authflow/scenarios/dbprobe"
	"github.com/authflow-e2e/authflow/targets"
)

func root(t *testing.T) string {
	t.Helper()
	wd, err := os.Getwd()
	require.NoError(t, err)
	r := paths.ModuleRoot(wd)
	require.NotEmpty(t, r, "no go.mod of authflow above %s", wd)
	return r
}

// walk calls f for every file of the repository with one of exts, skipping node_modules, .git and
// build output.
func walk(t *testing.T, exts []string, f func(rel string, b []byte)) {
	t.Helper()
	r := root(t)
	require.NoError(t, filepath.WalkDir(r, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			switch d.Name() {
			case "node_modules", ".git", "artifacts", "bin":
				return filepath.SkipDir
			}
			return nil
		}
		for _, e := range exts {
			if strings.HasSuffix(p, e) {
				b, err := os.ReadFile(p)
				if err != nil {
					return err
				}
				rel, _ := filepath.Rel(r, p)
				f(filepath.ToSlash(rel), b)
			}
		}
		return nil
	}))
}

// The harness signs and verifies JWTs with one library, jwx. golang-jwt is the reference app's
// (refapp/) and may serve tests as an independent second verifier, nothing else.
func TestImports_TheHarnessUsesJwxNotGolangJWT(t *testing.T) {
	walk(t, []string{".go"}, func(rel string, b []byte) {
		if strings.HasPrefix(rel, "refapp/") || strings.HasSuffix(rel, "_test.go") {
			return
		}
		f, err := parser.ParseFile(token.NewFileSet(), rel, b, parser.ImportsOnly)
		require.NoError(t, err)
		for _, imp := range f.Imports {
			assert.NotContains(t, imp.Path.Value, "github.com/golang-jwt/", "%s imports golang-jwt; the harness uses jwx", rel)
		}
	})
}

// notesRef finds citations of the team's working notes, which live outside the repository (a
// research folder, the design and developer notes); readers of the code cannot open them.
var notesRef = regexp.MustCompile(`\b(` + "research" + `/[A-Za-z0-9_.-]+\.md|` + "DESIGN" + `\.md|` + "DEVELOPERS" + `\.md)\b`)

// Comments and docs cite public sources (RFCs, Better Auth's and ChatKit's docs, SDK source files) or
// files of this repository, never notes that are not in it.
func TestDocs_NoCitationOfNotesOutsideTheRepository(t *testing.T) {
	r := root(t)
	walk(t, []string{".go", ".md", ".yaml", ".yml", ".sh", "Makefile", ".mjs"}, func(rel string, b []byte) {
		for i, line := range strings.Split(string(b), "\n") {
			for _, m := range notesRef.FindAllStringSubmatch(line, -1) {
				_, errHere := os.Stat(filepath.Join(r, filepath.Dir(rel), m[1]))
				_, errRoot := os.Stat(filepath.Join(r, m[1]))
				assert.True(t, errHere == nil || errRoot == nil, "%s:%d cites %s, which is not in the repository; cite a public source: %s",
					rel, i+1, m[1], strings.TrimSpace(line))
			}
		}
	})
}

// Every Better Auth line a target may declare has its schema and its sign-up rules, and no more.
func TestBetterAuthLines_EveryDeclarableLineHasItsSchemaAndRules(t *testing.T) {
	lines := slices.Clone(targets.BetterAuthVersions)
	slices.Sort(lines)
	assert.Equal(t, lines, slices.Sorted(maps.Keys(dbprobe.BetterAuthSchemas)), "dbprobe.BetterAuthSchemas")
	assert.Equal(t, lines, slices.Sorted(maps.Keys(betterauth.Versions)), "betterauth.Versions")
	assert.Contains(t, lines, targets.DefaultBetterAuth)
	assert.NotContains(t, dbprobe.BetterAuthSchemas["1.4"]["jwks"], "alg", "1.4's jwks table has no alg column")
	assert.Contains(t, dbprobe.BetterAuthSchemas["1.7"]["jwks"], "alg")
}

// TestExampleWorkflow_PinsThePlaywrightGoOfGoMod keeps the app repository's workflow installing the
// browser with the playwright-go that authflow's go.mod pins (its driver and browser must match).
func TestExampleWorkflow_PinsThePlaywrightGoOfGoMod(t *testing.T) {
	r := root(t)
	mod, err := os.ReadFile(filepath.Join(r, "go.mod"))
	require.NoError(t, err)
	m := regexp.MustCompile(`github\.com/mxschmitt/playwright-go (v\S+)`).FindSubmatch(mod)
	require.NotNil(t, m, "go.mod requires playwright-go")
	wf, err := os.ReadFile(filepath.Join(r, "examples", "app-repo", ".github", "workflows", "authflow.yml"))
	require.NoError(t, err)
	uses := regexp.MustCompile(`github\.com/mxschmitt/playwright-go/cmd/playwright@(v\S+)`).FindAllSubmatch(wf, -1)
	require.NotEmpty(t, uses, "the workflow installs the browser with playwright-go's cmd/playwright")
	for _, u := range uses {
		assert.Equal(t, string(m[1]), string(u[1]), "the example workflow's playwright-go is the one go.mod pins")
	}
}

// A subtest (any function literal of the e2e suites that takes a *testing.T) must not use its
// parent's fixture handle h: what h fails or skips is the parent, from the subtest's goroutine, and
// go test ends the whole run ("subtest may have called FailNow on a parent test"). It takes its
// own, `h := h.Sub(t)` or `h := fixtures.Test(t)`, before using h.
func TestE2E_SubtestsTakeTheirOwnFixtureHandle(t *testing.T) {
	dir := filepath.Join(root(t), "e2e")
	files, err := filepath.Glob(filepath.Join(dir, "*_test.go"))
	require.NoError(t, err)
	require.NotEmpty(t, files)
	fset := token.NewFileSet()
	var bad []string
	for _, f := range files {
		file, err := parser.ParseFile(fset, f, nil, 0)
		require.NoError(t, err)
		ast.Inspect(file, func(n ast.Node) bool {
			lit, ok := n.(*ast.FuncLit)
			if !ok || !takesTestingT(lit.Type) || declaresH(lit.Body) {
				return true
			}
			if pos, ok := usesH(lit.Body); ok {
				bad = append(bad, fset.Position(pos).String())
			}
			return true
		})
	}
	assert.Empty(t, bad, "a subtest uses its parent's fixture handle h; start it with h := h.Sub(t) (or h := fixtures.Test(t) when it is parallel)")
}

// takesTestingT reports whether a function type has a *testing.T parameter.
func takesTestingT(ft *ast.FuncType) bool {
	for _, p := range ft.Params.List {
		if st, ok := p.Type.(*ast.StarExpr); ok {
			if sel, ok := st.X.(*ast.SelectorExpr); ok && sel.Sel.Name == "T" {
				if x, ok := sel.X.(*ast.Ident); ok && x.Name == "testing" {
					return true
				}
			}
		}
	}
	return false
}

// declaresH reports whether the body's own statements define h (h := ...).
func declaresH(body *ast.BlockStmt) bool {
	for _, st := range body.List {
		if as, ok := st.(*ast.AssignStmt); ok && as.Tok == token.DEFINE {
			for _, l := range as.Lhs {
				if id, ok := l.(*ast.Ident); ok && id.Name == "h" {
					return true
				}
			}
		}
	}
	return false
}

// usesH finds a use of h in body, not looking into nested subtests (they are checked on their own).
func usesH(body *ast.BlockStmt) (token.Pos, bool) {
	var at token.Pos
	ast.Inspect(body, func(n ast.Node) bool {
		if at.IsValid() {
			return false
		}
		switch x := n.(type) {
		case *ast.FuncLit:
			return !takesTestingT(x.Type)
		case *ast.Ident:
			if x.Name == "h" {
				at = x.Pos()
			}
		}
		return true
	})
	return at, at.IsValid()
}
