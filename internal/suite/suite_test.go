package suite

import (
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/internal/paths"
)

func checkout(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "go.mod"), []byte("module "+Module+"\n\ngo 1.26\n"), 0o644))
	return dir
}

func TestFindSource_AUTHFLOW_SOURCEComesFirstAndMustBeACheckout(t *testing.T) {
	dir := checkout(t)
	t.Setenv(SourceEnv, dir)
	src, err := FindSource()
	require.NoError(t, err)
	assert.Equal(t, Source{Dir: dir, How: SourceEnv}, src)

	t.Setenv(SourceEnv, t.TempDir())
	_, err = FindSource()
	assert.ErrorContains(t, err, "is not a checkout of "+Module)
}

func TestFindSource_TheCheckoutAroundTheWorkingDirectory(t *testing.T) {
	dir := checkout(t)
	sub := filepath.Join(dir, "e2e", "deep")
	require.NoError(t, os.MkdirAll(sub, 0o755))
	t.Chdir(sub)
	src, err := FindSource()
	require.NoError(t, err)
	assert.Equal(t, Source{Dir: dir, How: "checkout"}, src)
}

// Outside any checkout, a test binary (a devel build of this package) finds the checkout it was
// compiled from through the compiled-in path (case 4); a -trimpath build has none and says where
// the suites can come from.
func TestFindSource_ADevelBuildFindsTheCheckoutItWasBuiltFrom(t *testing.T) {
	t.Chdir(t.TempDir())
	src, err := FindSource()
	if _, file, _, _ := runtime.Caller(0); !filepath.IsAbs(file) {
		assert.ErrorContains(t, err, "cannot find authflow's suites", "a -trimpath build")
		assert.ErrorContains(t, err, SourceEnv)
		return
	}
	require.NoError(t, err)
	assert.Equal(t, "build checkout", src.How)
	wd, _ := os.Getwd()
	assert.NotEqual(t, wd, src.Dir)
	_, err = os.Stat(filepath.Join(src.Dir, "internal", "suite", "source.go"))
	assert.NoError(t, err, "the found checkout holds this package")
}

func TestChildEnv_TheRunsOwnSettingsWinOverInheritedOnes(t *testing.T) {
	t.Setenv("AUTHFLOW_TARGET", "/elsewhere.yaml")
	t.Setenv("AUTHFLOW_TOKEN_MODE", "jwks")
	t.Setenv("AUTHFLOW_SHARD", "2/3")
	t.Setenv("AUTHFLOW_BROWSER", "chromium")
	t.Setenv(paths.WorkdirEnv, "/the/user")
	env := childEnv(Options{Target: "/app/authflow.yaml", Artifacts: "/app/artifacts"}, "hs256")
	get := func(k string) []string {
		var vs []string
		for _, kv := range env {
			if v, ok := strings.CutPrefix(kv, k+"="); ok {
				vs = append(vs, v)
			}
		}
		return vs
	}
	assert.Equal(t, []string{"/app/authflow.yaml"}, get("AUTHFLOW_TARGET"))
	assert.Equal(t, []string{"hs256"}, get("AUTHFLOW_TOKEN_MODE"))
	assert.Equal(t, []string{"/app/artifacts"}, get("AUTHFLOW_ARTIFACTS"))
	assert.Empty(t, get("AUTHFLOW_SHARD"), "no -shard: the inherited shard is dropped, not applied by accident")
	assert.Equal(t, []string{"/the/user"}, get(paths.WorkdirEnv), "relative paths stay the user's")
	assert.Equal(t, []string{"off"}, get("GOWORK"))
	assert.Equal(t, []string{"chromium"}, get("AUTHFLOW_BROWSER"), "everything else passes through")
}

func TestGoTestArgs(t *testing.T) {
	assert.Equal(t, []string{Package, "-count=1", "-trimpath", "-timeout", "20m0s"}, goTestArgs(Options{}))
	args := goTestArgs(Options{Run: "TestToken_", Skip: "TestBrowser_", Failfast: true, Timeout: time.Minute})
	assert.Equal(t, []string{Package, "-count=1", "-trimpath", "-timeout", "1m0s", "-run", "TestToken_", "-skip", "TestBrowser_", "-failfast"}, args)
	assert.False(t, slices.Contains(goTestArgs(Options{}), "-run"))
}

func TestGoVersion_ReadsTheGoDirective(t *testing.T) {
	dir := checkout(t)
	assert.Equal(t, "1.26", goVersion(dir))
}

func TestLeakCheck_FindsThisRunsSecretsInWhatItWroteOnly(t *testing.T) {
	root := t.TempDir()
	canary := filepath.Join(t.TempDir(), "canary")
	secret := "s3cret-value-of-this-run-0123456789"
	require.NoError(t, os.WriteFile(canary, []byte(secret+"\n"), 0o600))
	start := time.Now()
	old := filepath.Join(root, "kill-matrix", "old.json")
	require.NoError(t, os.MkdirAll(filepath.Dir(old), 0o755))
	require.NoError(t, os.WriteFile(old, []byte(secret), 0o644))
	require.NoError(t, os.Chtimes(old, start.Add(-time.Hour), start.Add(-time.Hour)))
	require.NoError(t, os.WriteFile(filepath.Join(root, "e2e-hs256.json"), []byte(`{"Output":"all fine"}`), 0o644))

	line, leaked := leakCheck(canary, root, start)
	assert.False(t, leaked, "a file of an earlier run is not this run's output: %s", line)
	assert.Contains(t, line, "none of the 1 secrets this run created")
	assert.Contains(t, line, "the 1 files it wrote")

	trace := filepath.Join(root, "TestBrowser_X", "hs256", "console.txt")
	require.NoError(t, os.MkdirAll(filepath.Dir(trace), 0o755))
	require.NoError(t, os.WriteFile(trace, []byte("token="+secret+"\n"), 0o644))
	line, leaked = leakCheck(canary, root, start)
	assert.True(t, leaked)
	assert.Contains(t, line, "a secret this run created is in its output or artifacts")
	assert.Contains(t, line, "console.txt")
	assert.NotContains(t, line, secret, "the report never shows the secret")
}

func TestNewCanary_AParentsCanaryIsLeftToIt(t *testing.T) {
	t.Setenv("AUTHFLOW_LEAK_CANARY", "/parent/canary")
	p, err := newCanary()
	require.NoError(t, err)
	assert.Empty(t, p, "the parent records and checks")

	t.Setenv("AUTHFLOW_LEAK_CANARY", "")
	p, err = newCanary()
	require.NoError(t, err)
	defer os.Remove(p)
	info, err := os.Stat(p)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), info.Mode().Perm(), "it holds live credentials")
}
