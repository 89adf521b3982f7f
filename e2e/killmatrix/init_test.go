package killmatrix

import (
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"testing"

	"github.com/goccy/go-yaml"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/targets"
)

// TestInit_FindsWhatTheRealAppProfilesSay runs authflow init against the reference app in the
// profiles that behave like real apps and compares what it finds with what each profile's file says:
// the production profile's five-field sign-up form (steps, where it lands) and its own login, submit
// and error selectors, with Better Auth's rate limiter on; the Better Auth 1.4 profile's line. (The
// default profile is probed in jwks mode by TestAppRepo.)
func TestInit_FindsWhatTheRealAppProfilesSay(t *testing.T) {
	if testing.Short() {
		t.Skip("starts stacks")
	}
	root := moduleRoot(t)
	bin := authflowBinary(t)
	for _, profile := range []string{"reference-production", "reference-ba14"} {
		t.Run(profile, func(t *testing.T) {
			path := filepath.Join(root, "targets", profile+".yaml")
			want, err := targets.Load(path, hs256)
			require.NoError(t, err)
			var own struct {
				App struct {
					Selectors map[string]string `yaml:"selectors"`
				} `yaml:"app"`
			}
			b, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, yaml.Unmarshal(b, &own))

			dir := t.TempDir()
			held := filepath.Join(dir, "held.yaml")
			notes := artifacts.Default().KillMatrix().Child("init," + profile).Root
			up := exec.Command(bin, "up", "-target", path, "-mode", hs256, "-held-target", held)
			up.Dir, up.Env = root, appEnv()
			web, _ := holdStack(t, up, held, filepath.Join(notes, "authflow-up.stderr.txt"))

			out := filepath.Join(dir, "init.yaml")
			initCmd := exec.Command(bin, "init", "-url", web, "-o", out)
			initCmd.Dir, initCmd.Env = dir, appEnv()
			log, err := initCmd.CombinedOutput()
			_ = os.WriteFile(filepath.Join(notes, "authflow-init.txt"), log, 0o644)
			require.NoError(t, err, "authflow init against %s:\n%s", profile, log)
			b, err = os.ReadFile(out)
			require.NoError(t, err)
			_ = os.WriteFile(filepath.Join(notes, "init.yaml"), b, 0o644)
			var got struct {
				App targets.AppSpec `yaml:"app"`
			}
			require.NoError(t, yaml.Unmarshal(b, &got), "init.yaml parses as a target's app: section")

			assert.Equal(t, want.App.Pages, got.App.Pages, "pages (see %s)", notes)
			assert.Equal(t, want.App.BetterAuth, got.App.BetterAuth, "the Better Auth line")
			assert.Equal(t, want.App.Forms.SignUp, got.App.Forms.SignUp, "the sign-up form's steps and where it lands")
			keys := make([]string, 0, len(own.App.Selectors))
			for k := range own.App.Selectors {
				keys = append(keys, k)
			}
			slices.Sort(keys)
			for _, k := range keys {
				assert.Equal(t, want.App.Selectors[k], got.App.Selectors[k], "selector %s, which %s sets", k, filepath.Base(path))
			}
		})
	}
}
