package paths

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// As the child of the tests below (PATHS_CHILD=1), the test binary prints UserDir and what relative
// names resolve to, and runs no test.
func TestMain(m *testing.M) {
	if os.Getenv("PATHS_CHILD") == "1" {
		os.Stdout.WriteString("userdir=" + UserDir() + "\nartifacts=" + Artifacts() + "\ntarget=" + Target("targets/reference.yaml") + "\n")
		return
	}
	os.Exit(m.Run())
}

func childOutput(t *testing.T, cmd *exec.Cmd, env ...string) map[string]string {
	t.Helper()
	cmd.Env = append(append(os.Environ(), "PATHS_CHILD=1", WorkdirEnv+"="), env...)
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", out)
	m := map[string]string{}
	for _, l := range strings.Split(string(out), "\n") {
		if k, v, ok := strings.Cut(l, "="); ok && (k == "userdir" || k == "artifacts" || k == "target") {
			m[k] = v
		}
	}
	require.Len(t, m, 3, "child output: %s", out)
	return m
}

func moduleRootHere(t *testing.T) string {
	wd, err := os.Getwd()
	require.NoError(t, err)
	root := ModuleRoot(wd)
	require.NotEmpty(t, root)
	return root
}

// `go test ./internal/paths/` from the module root runs the binary in internal/paths, yet relative
// names the user gave are relative to the module root, where the user typed the command.
func TestResolve_UnderGoTestRelativePathsAreFromWhereTheUserRanTheCommand(t *testing.T) {
	root := moduleRootHere(t)
	goBin := filepath.Join(os.Getenv("GOROOT"), "bin", "go")
	if _, err := os.Stat(goBin); err != nil {
		goBin = "go"
	}
	cmd := exec.Command(goBin, "test", "-count=1", "-v", "-run", "^$", "./internal/paths/")
	cmd.Dir = root
	m := childOutput(t, cmd, "AUTHFLOW_ARTIFACTS=out", "AUTHFLOW_TARGET=targets/my.yaml")
	assert.Equal(t, root, m["userdir"])
	assert.Equal(t, filepath.Join(root, "out"), m["artifacts"])
	assert.Equal(t, filepath.Join(root, "targets", "my.yaml"), m["target"])
}

// A binary started directly (the kill matrix's children, a compiled e2e.test) takes its own working
// directory, unless AUTHFLOW_WORKDIR pins the user's.
func TestResolve_ADirectChildUsesItsDirectoryOrTheWorkdirItWasGiven(t *testing.T) {
	dir := t.TempDir()
	cmd := exec.Command(os.Args[0])
	cmd.Dir = dir
	m := childOutput(t, cmd, "AUTHFLOW_ARTIFACTS=out", "AUTHFLOW_TARGET=")
	assert.Equal(t, dir, m["userdir"])
	assert.Equal(t, filepath.Join(dir, "out"), m["artifacts"])
	assert.Equal(t, "targets/reference.yaml", m["target"], "outside authflow's tree the default stays as given")

	pinned := t.TempDir()
	cmd = exec.Command(os.Args[0])
	cmd.Dir = dir
	m = childOutput(t, cmd, WorkdirEnv+"="+pinned, "AUTHFLOW_ARTIFACTS=out", "AUTHFLOW_TARGET=/abs/t.yaml")
	assert.Equal(t, pinned, m["userdir"])
	assert.Equal(t, filepath.Join(pinned, "out"), m["artifacts"])
	assert.Equal(t, "/abs/t.yaml", m["target"])
}
