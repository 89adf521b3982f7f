package artifacts

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLayout_NamesEveryFile(t *testing.T) {
	d := Dir{Root: "/a"}
	assert.Equal(t, "/a/junit-e2e-hs256.xml", d.JUnit("e2e", "hs256"))
	assert.Equal(t, "/a/e2e-jwks.json", d.JSON("e2e", "jwks"))
	assert.Equal(t, "/a/summary.md", d.Summary(""))
	assert.Equal(t, "/a/summary-killmatrix.md", d.Summary("killmatrix"))
	assert.Equal(t, "/a/security-report-jwks.md", d.SecurityReport("jwks"))
	assert.Equal(t, "/a/TestBrowser_X_case=y/hs256", d.TestDir("TestBrowser_X/case=y", "hs256", ""))
	assert.Equal(t, "/a/TestBrowser_X/hs256/user-b", d.TestDir("TestBrowser_X", "hs256", "user-b"))
	assert.Equal(t, "/a/kill-matrix/fault=slow-reply,mode=hs256", d.KillMatrix().Child("fault=slow-reply,mode=hs256").Root)
	assert.Equal(t, "/a/kill-matrix.md", d.KillTable())
	assert.Equal(t, "/a/profiles/reference-sdk", d.Profile("reference-sdk").Root)
	assert.Equal(t, "/a/held/reference.yaml", d.Held("reference"))
	assert.Equal(t, "TestX_case=a_b", Name("TestX/case=a b"))
}

func TestFailureDirs_FindsATestsFoldersAtEveryLevel(t *testing.T) {
	root := t.TempDir()
	d := Dir{Root: root}
	want := []string{
		d.TestDir("TestBrowser_A", "hs256", ""),
		d.TestDir("TestBrowser_A/case=b", "hs256", ""),
		d.KillMatrix().Child("clean,mode=hs256").TestDir("TestBrowser_A", "hs256", ""),
		d.Profile("reference-sdk").TestDir("TestBrowser_A", "jwks", ""),
	}
	for _, p := range append(want, d.TestDir("TestBrowser_AB", "hs256", "")) {
		require.NoError(t, os.MkdirAll(p, 0o755))
	}
	var got []string
	for _, g := range d.FailureDirs("TestBrowser_A") {
		got = append(got, strings.TrimSuffix(g, "/"))
	}
	var wantTop []string
	for _, w := range want {
		wantTop = append(wantTop, filepath.Dir(w)) // the test's folder, above its mode
	}
	assert.ElementsMatch(t, wantTop, got, "TestBrowser_AB is another test")
}

// TestMakefile_WritesTheSameNames keeps the Makefile, which names the go test reports in shell, on
// this layout. make e2e's own reports are named here already: it runs authflow test (internal/suite).
func TestMakefile_WritesTheSameNames(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("..", "..", "Makefile"))
	require.NoError(t, err)
	mk := string(b)
	d := Dir{Root: "$(ART)"}
	for _, name := range []string{
		d.Summary("killmatrix"), d.KillTable(),
		d.JUnit("unit", "browser"), d.Profile("$$n").Root,
	} {
		assert.Contains(t, mk, name, "the Makefile writes %s", name)
	}
}
