package release

import (
	"archive/zip"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// gitRepo makes a checkout with authflow's module path, a nested module and a second commit.
func gitRepo(t *testing.T) (dir, first string) {
	t.Helper()
	dir = t.TempDir()
	run := func(args ...string) string {
		cmd := exec.Command("git", args...)
		cmd.Dir = dir
		cmd.Env = append(os.Environ(), "GIT_AUTHOR_NAME=t", "GIT_AUTHOR_EMAIL=t@example.test",
			"GIT_COMMITTER_NAME=t", "GIT_COMMITTER_EMAIL=t@example.test")
		out, err := cmd.CombinedOutput()
		require.NoError(t, err, "git %v: %s", args, out)
		return strings.TrimSpace(string(out))
	}
	write := func(name, body string) {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	run("init", "-q")
	write("go.mod", "module "+Module+"\n\ngo 1.26\n")
	write("cmd/authflow/main.go", "package main\n\nfunc main() {}\n")
	write("e2e/suite_test.go", "package e2e\n")
	write("refapp/go.mod", "module "+Module+"/refapp\n\ngo 1.26\n")
	write("refapp/main.go", "package main\n")
	run("add", "-A")
	run("commit", "-q", "-m", "one")
	first = run("rev-parse", "HEAD")
	write("e2e/later_test.go", "package e2e\n")
	run("add", "-A")
	run("commit", "-q", "-m", "two")
	return dir, first
}

func zipNames(t *testing.T, path string) []string {
	t.Helper()
	zr, err := zip.OpenReader(path)
	require.NoError(t, err)
	defer zr.Close()
	var names []string
	for _, f := range zr.File {
		names = append(names, f.Name)
	}
	return names
}

func TestWrite_ServesTheCommitAsAPseudoVersionWithoutNestedModules(t *testing.T) {
	root, first := gitRepo(t)
	dir := filepath.Join(t.TempDir(), "proxy")
	p, err := Write(dir, root, first)
	require.NoError(t, err)
	assert.Equal(t, first, p.Rev)
	assert.Regexp(t, `^v0\.0\.0-\d{14}-`+first[:12]+`$`, p.Version)
	assert.False(t, p.Dirty, "a clean checkout is not dirty")

	base := filepath.Join(dir, filepath.FromSlash(Module), "@v")
	names := zipNames(t, filepath.Join(base, p.Version+".zip"))
	prefix := Module + "@" + p.Version + "/"
	assert.Contains(t, names, prefix+"go.mod")
	assert.Contains(t, names, prefix+"e2e/suite_test.go", "test files are part of the module: the suites ship with it")
	assert.NotContains(t, names, prefix+"e2e/later_test.go", "the zip is the commit asked for, not HEAD")
	for _, n := range names {
		assert.False(t, strings.HasPrefix(n, prefix+"refapp/"), "the nested module refapp/ is not part of authflow's: %s", n)
	}
	mod, err := os.ReadFile(filepath.Join(base, p.Version+".mod"))
	require.NoError(t, err)
	assert.Contains(t, string(mod), "module "+Module)

	var info struct{ Version string }
	b, err := os.ReadFile(filepath.Join(dir, filepath.FromSlash(Module), "@latest"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &info))
	assert.Equal(t, p.Version, info.Version)

	// a second commit is listed beside the first, and becomes @latest
	p2, err := Write(dir, root, "HEAD")
	require.NoError(t, err)
	assert.NotEqual(t, p.Version, p2.Version)
	list, err := os.ReadFile(filepath.Join(base, "list"))
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{p.Version, p2.Version}, strings.Fields(string(list)))
	b, err = os.ReadFile(filepath.Join(dir, filepath.FromSlash(Module), "@latest"))
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(b, &info))
	assert.Equal(t, p2.Version, info.Version)
}

func TestWrite_AnUnknownCommitFails(t *testing.T) {
	root, _ := gitRepo(t)
	_, err := Write(t.TempDir(), root, "0123456789abcdef0123456789abcdef01234567")
	assert.Error(t, err)
}

func TestWrite_ADirtyCheckoutIsSaid(t *testing.T) {
	root, _ := gitRepo(t)
	require.NoError(t, os.WriteFile(filepath.Join(root, "e2e", "suite_test.go"), []byte("package e2e\n// edited\n"), 0o644))
	p, err := Write(t.TempDir(), root, "HEAD")
	require.NoError(t, err)
	assert.True(t, p.Dirty, "uncommitted edits are not in the served version, and Write says so")
}

// The go command installs from the proxy: go mod download of the version finds the module, with the
// environment InstallCommand gives (here with no fallback proxy: nothing else is needed).
func TestWrite_TheGoCommandDownloadsFromIt(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the go command")
	}
	root, first := gitRepo(t)
	dir := filepath.Join(t.TempDir(), "proxy")
	p, err := Write(dir, root, first)
	require.NoError(t, err)
	assert.Equal(t, "GOPROXY=file://"+filepath.ToSlash(dir)+",https://proxy.example.test GONOSUMDB="+Module+
		" go install "+Module+"/cmd/authflow@"+p.Version, p.InstallCommand("https://proxy.example.test"))

	cmd := exec.Command("go", "mod", "download", "-json", Module+"@"+p.Version)
	cmd.Dir = t.TempDir()
	cmd.Env = append(os.Environ(), append(p.Env("off"), "GOMODCACHE="+t.TempDir(), "GOFLAGS=-modcacherw", "GOWORK=off")...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	var got struct{ Version, Dir string }
	require.NoError(t, json.Unmarshal(out, &got), "%s", out)
	assert.Equal(t, p.Version, got.Version)
	_, err = os.Stat(filepath.Join(got.Dir, "e2e", "suite_test.go"))
	assert.NoError(t, err, "the module cache holds the suites")
}
