package killmatrix

import (
	"bufio"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/internal/release"
)

// appRepoFault is the regression planted in the app repository for the red run: the backend stops
// checking token signatures, the gate's reason to exist.
const appRepoFault = "skip-signature-check"

// appRepoRows are the kill-table rows of the fault runs TestAppRepo made through authflow test, by
// child label: TestKillMatrix (after it, in file order) takes them instead of running the same fault,
// mode and selection again.
var appRepoRows = map[string]row{}

// TestAppRepo_TheInstalledCLIIsGreenOnTheAppAndRedWithAFault follows the README's "From an app
// repository" section in a scratch folder outside authflow's tree, as an app team would:
//
//  1. make app-repo: the reference app as a repository of its own (web/, backend/, authflow.yaml,
//     the CI workflow of examples/app-repo);
//  2. make proxy, then its go install ...@version: authflow installed the way a release is, into a
//     GOBIN of its own; the suites then come from the module cache, not from this checkout;
//  3. the app built by the workflow's own "Build the app" step;
//  4. authflow test -list names the same tests as the checkout's suite;
//  5. authflow up holds the app's stack in jwks mode (its tokens carry iss and aud, and the keys are
//     published: the most to find), and authflow init -url writes a target file by probing it: every
//     field targets/reference.yaml sets is found, but the secret, the budgets and the probes (the
//     app's own policy and data, which no probe can see), and what only the other mode shows (its
//     lifetime, that it exists at all); how to start the app (images, postgres, services) is the
//     app team's to write, and init writes the running services as url: services;
//  6. that file, completed with them (the held stack's secret and database, the reference's budgets
//     and probes), passes the whole suite through authflow test against the held stack, which starts
//     nothing of the app; when authflow up stops, its held target is gone;
//  7. with a fault switch on, authflow test -target authflow.yaml fails for the reasons the kill
//     matrix declares for that fault; that run is the kill table's row for the fault in hs256.
func TestAppRepo_TheInstalledCLIIsGreenOnTheAppAndRedWithAFault(t *testing.T) {
	if testing.Short() {
		t.Skip("installs authflow and starts stacks")
	}
	root := moduleRoot(t)
	art := artifacts.Default().KillMatrix()
	notes := art.Child("app-repo").Root
	if err := os.MkdirAll(notes, 0o755); err != nil {
		t.Fatal(err)
	}
	scratch := t.TempDir()
	repo := filepath.Join(scratch, "app")
	step := func(name string, dir string, env []string, args ...string) string {
		t.Helper()
		t0 := time.Now()
		cmd := exec.Command(args[0], args[1:]...)
		cmd.Dir = dir
		cmd.Env = append(appEnv(), env...)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("%s (%s): %v\n%s", name, strings.Join(args, " "), err, out)
		}
		t.Logf("app repo: %s: %s", name, time.Since(t0).Round(100*time.Millisecond))
		return string(out)
	}

	// 1. the app repository
	step("make app-repo", root, nil, "make", "-s", "app-repo", "DIR="+repo)

	// 2. authflow, installed as from a release
	proxy, err := release.Write(filepath.Join(scratch, "goproxy"), root, "HEAD")
	if err != nil {
		t.Fatal(err)
	}
	if proxy.Dirty {
		t.Logf("app repo: the checkout has uncommitted changes; authflow is installed from its commit %s without them", proxy.Rev[:12])
	}
	fallback := strings.TrimSpace(step("go env GOPROXY", root, nil, "go", "env", "GOPROXY"))
	gobin := filepath.Join(scratch, "bin")
	installEnv := append(proxy.Env(fallback), "GOBIN="+gobin)
	step("go install authflow@"+proxy.Version, repo, installEnv, "go", "install", release.Module+"/cmd/authflow@"+proxy.Version)
	bin := filepath.Join(gobin, "authflow")

	// 3. the app, built as the workflow builds it
	step("the workflow's build step", repo, nil, "bash", "-euo", "pipefail", "-c", workflowStep(t, repo, "Build the app"))

	// 4. the same tests as the checkout's suite
	listed := strings.Fields(step("authflow test -list", repo, proxy.Env(fallback), bin, "test", "-list"))
	if want := listE2E(t, "."); !slices.Equal(sorted(listed), sorted(want)) {
		t.Errorf("authflow test -list in the app repository names other tests than the checkout's suite:\n got %v\nwant %v", listed, want)
	}

	// 5. authflow up holds the stack; authflow init probes it
	held := filepath.Join(scratch, "held.yaml")
	up := exec.Command(bin, "up", "-mode", jwks, "-held-target", held)
	up.Dir = repo
	up.Env = append(appEnv(), proxy.Env(fallback)...)
	web, stop := holdStack(t, up, held, filepath.Join(notes, "authflow-up.stderr.txt"))

	initOut := step("authflow init", repo, proxy.Env(fallback), bin, "init", "-url", web, "-o", "init.yaml")
	if err := os.WriteFile(filepath.Join(notes, "authflow-init.txt"), []byte(initOut), 0o644); err != nil {
		t.Fatal(err)
	}
	found := readYAML(t, filepath.Join(repo, "init.yaml"))
	if b, err := os.ReadFile(filepath.Join(repo, "init.yaml")); err == nil {
		_ = os.WriteFile(filepath.Join(notes, "init.yaml"), b, 0o644)
	}
	ref := readYAML(t, filepath.Join(root, "targets", "reference.yaml"))
	for _, missing := range missingFields(ref, found, "", "secret", "app.budgets", "app.probes", "images", "postgres", "services", "name", "token.modes", "token.lifetime.hs256") {
		t.Errorf("authflow init did not find %s, which targets/reference.yaml sets (see %s)", missing, filepath.Join(notes, "init.yaml"))
	}
	if svcs, _ := found["services"].(map[string]any); len(svcs) == 0 {
		t.Errorf("authflow init wrote no services: (the running app's url: services)")
	}
	if g := dig(found, "token", "mode"); g != jwks {
		t.Errorf("authflow init found token mode %v against a stack in jwks mode", g)
	}
	for _, k := range []string{"auth_base_path", "token_path", "jwks_path", "not_found"} {
		if g, w := dig(found, "app", k), dig(ref, "app", k); g != w {
			t.Errorf("authflow init found app.%s = %v; the reference app's is %v", k, g, w)
		}
	}
	for _, k := range []string{"signup", "login", "chat"} {
		if g, w := dig(found, "app", "pages", k), dig(ref, "app", "pages", k); g != w {
			t.Errorf("authflow init found the %s page at %v; the reference app's is %v", k, g, w)
		}
	}

	// 6. the completed file passes the whole suite against the held stack
	h := readYAML(t, held)
	completed := found
	completed["secret"] = h["secret"]
	completed["postgres"] = map[string]any{"dsn": dig(h, "postgres", "dsn")}
	app, _ := completed["app"].(map[string]any)
	if app == nil {
		t.Fatalf("init.yaml has no app: section")
	}
	app["budgets"], app["probes"] = dig(ref, "app", "budgets"), dig(ref, "app", "probes")
	b, err := yaml.Marshal(completed)
	if err != nil {
		t.Fatal(err)
	}
	completedPath := filepath.Join(repo, "authflow.init-completed.yaml") // holds the held stack's secret: 0600, in the temp dir only
	if err := os.WriteFile(completedPath, b, 0o600); err != nil {
		t.Fatal(err)
	}
	green := &child{Label: "app-repo,init-target,mode=" + jwks, Mode: jwks, Run: ".",
		Env: proxy.Env(fallback), CLI: &viaCLI{Bin: bin, Dir: repo, Target: filepath.Base(completedPath)}}
	green.run(t, art)
	checkClean(t, green)
	if n := green.Result.Count().Passed; n < 50 {
		t.Errorf("only %d tests passed through authflow test against the held stack; the whole suite should run (see %s)", n, green.Dir)
	}
	if green.Result.PackageOutputContains("stack: image ") {
		t.Errorf("the run against the held stack built or reused images: it must start nothing of the app (see %s)", green.Dir)
	}
	stop()
	if _, err := os.Stat(held); !os.IsNotExist(err) {
		t.Errorf("the held-stack target %s is still there after authflow up stopped", held)
	}

	// 7. red with a fault switch on, for the declared reasons
	i := slices.IndexFunc(faults, func(f fault) bool { return f.Name == appRepoFault })
	if i < 0 {
		t.Fatalf("the kill matrix declares no fault %s", appRepoFault)
	}
	f := faults[i]
	red := &child{Label: "fault=" + f.Name + ",mode=" + hs256, Fault: f.Name, Mode: hs256, Run: runPattern(selection(f)),
		Env: proxy.Env(fallback), CLI: &viaCLI{Bin: bin, Dir: repo, Target: "authflow.yaml"}}
	red.run(t, art)
	if red.ExitErr == nil {
		t.Errorf("authflow test exited 0 with the fault %s on (see %s)", f.Name, red.Dir)
	}
	rw := checkFault(t, f, red)
	if rw.Status != "killed" {
		t.Errorf("through authflow test in the app repository, fault %s: %s (see %s)", f.Name, rw.Status, red.Dir)
	}
	t.Logf("app repo: fault %s, mode %s, through authflow test: %s by %d failed tests in %s", f.Name, red.Mode, rw.Status, len(rw.Failed), red.Took.Round(100*time.Millisecond))
	if !t.Failed() {
		appRepoRows[red.Label] = rw
	}
	if _, err := os.Stat(artifacts.Dir{Root: red.Dir}.Summary("")); err != nil {
		t.Errorf("the red run wrote no summary: %v", err)
	}
}

// appEnv is the environment of a command an app team runs in its repository: the runner's, without
// AUTHFLOW_WORKDIR (relative paths are the app repository's).
func appEnv() []string {
	return slices.DeleteFunc(childEnv(), func(kv string) bool { return strings.HasPrefix(kv, paths.WorkdirEnv+"=") })
}

// holdStack starts up (an `authflow up ... -held-target held` command), its stderr into stderrLog,
// and waits until it holds the stack; it returns the web URL and stop, which interrupts authflow up
// and waits for its teardown (a minute at most, then it is killed). stop is idempotent and also runs
// at the test's end.
func holdStack(t *testing.T, up *exec.Cmd, held, stderrLog string) (web string, stop func()) {
	t.Helper()
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(stderrLog), 0o755); err != nil {
		t.Fatal(err)
	}
	logFile, err := os.Create(stderrLog)
	if err != nil {
		t.Fatal(err)
	}
	up.Stderr = logFile
	if err := up.Start(); err != nil {
		logFile.Close()
		t.Fatal(err)
	}
	var once sync.Once
	stop = func() {
		once.Do(func() {
			_ = up.Process.Signal(syscall.SIGINT)
			done := make(chan struct{})
			go func() { _ = up.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				_ = up.Process.Kill()
			}
			logFile.Close()
		})
	}
	t.Cleanup(stop)
	return waitForHeldStack(t, stdout, held), stop
}

// waitForHeldStack reads authflow up's output until it names the held target (which must be held)
// and returns the web URL it printed; the rest of the output is drained unread (the QA user's
// password is in it).
func waitForHeldStack(t *testing.T, stdout io.Reader, held string) string {
	t.Helper()
	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	webRE := regexp.MustCompile(`^\s*web \(open this\)\s+(\S+)`)
	cmdRE := regexp.MustCompile(`authflow test -target (\S+) -mode`)
	deadline := time.After(3 * time.Minute)
	web := ""
	for {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("authflow up ended before it held a stack (its stderr is in the artifacts)")
			}
			if m := webRE.FindStringSubmatch(l); m != nil {
				web = m[1]
			}
			if m := cmdRE.FindStringSubmatch(l); m != nil {
				if m[1] != held {
					t.Fatalf("authflow up wrote the held target to %s, want %s", m[1], held)
				}
				if web == "" {
					t.Fatal("authflow up printed no web URL")
				}
				go func() {
					for range lines {
					}
				}()
				return web
			}
		case <-deadline:
			t.Fatal("authflow up did not hold a stack within 3 minutes")
		}
	}
}

// workflowStep is the run: script of the step called name in the app repository's workflow.
func workflowStep(t *testing.T, repo, name string) string {
	t.Helper()
	var wf struct {
		Jobs map[string]struct {
			Steps []struct {
				Name string `yaml:"name"`
				Run  string `yaml:"run"`
			} `yaml:"steps"`
		} `yaml:"jobs"`
	}
	b, err := os.ReadFile(filepath.Join(repo, ".github", "workflows", "authflow.yml"))
	if err != nil {
		t.Fatal(err)
	}
	if err := yaml.Unmarshal(b, &wf); err != nil {
		t.Fatal(err)
	}
	for _, j := range wf.Jobs {
		for _, s := range j.Steps {
			if s.Name == name && s.Run != "" {
				return s.Run
			}
		}
	}
	t.Fatalf("the app repository's workflow has no step %q with a run: script", name)
	return ""
}

func readYAML(t *testing.T, path string) map[string]any {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	m := map[string]any{}
	if err := yaml.Unmarshal(b, &m); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return m
}

// dig is the value at keys in nested maps (nil when a key is missing).
func dig(m map[string]any, keys ...string) any {
	var v any = m
	for _, k := range keys {
		mm, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		v = mm[k]
	}
	return v
}

// missingFields lists the dotted keys that want sets (recursively, to its leaves) and got does not
// set (nil, "" or absent), but those listed in except (a prefix excepts the subtree).
func missingFields(want, got map[string]any, prefix string, except ...string) []string {
	var out []string
	for k, v := range want {
		key := prefix + k
		if slices.ContainsFunc(except, func(e string) bool { return key == e || strings.HasPrefix(key, e+".") }) {
			continue
		}
		g := got[k]
		if sub, ok := v.(map[string]any); ok {
			gm, _ := g.(map[string]any)
			if gm == nil {
				gm = map[string]any{}
			}
			out = append(out, missingFields(sub, gm, key+".", except...)...)
			continue
		}
		if g == nil || g == "" {
			out = append(out, key)
		}
	}
	slices.Sort(out)
	return out
}

func sorted(s []string) []string {
	s = slices.Clone(s)
	slices.Sort(s)
	return s
}
