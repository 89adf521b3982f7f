package killmatrix

import (
	"bufio"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"syscall"
	"testing"
	"time"

	"github.com/authflow-e2e/authflow/internal/artifacts"
)

// TestHeldStack_TheSuitePassesAgainstTheStackAuthflowUpHolds starts `authflow up` on the reference
// target, runs the whole e2e suite against the held-stack target it writes (nothing is started again
// but the suites' helper), then stops `authflow up` and checks that the file is gone.
func TestHeldStack_TheSuitePassesAgainstTheStackAuthflowUpHolds(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a stack")
	}
	root := moduleRoot(t)
	bin := filepath.Join(t.TempDir(), "authflow")
	build := exec.Command("go", "build", "-o", bin, "./cmd/authflow")
	build.Dir = root
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build authflow: %v\n%s", err, out)
	}
	held := filepath.Join(t.TempDir(), "held.yaml")
	up := exec.Command(bin, "up", "-mode", hs256, "-held-target", held)
	up.Dir = root
	up.Env = childEnv()
	stdout, err := up.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := up.Start(); err != nil {
		t.Fatal(err)
	}
	stopped := false
	stop := func() {
		if !stopped {
			stopped = true
			_ = up.Process.Signal(syscall.SIGINT)
			done := make(chan struct{})
			go func() { _ = up.Wait(); close(done) }()
			select {
			case <-done:
			case <-time.After(60 * time.Second):
				_ = up.Process.Kill()
			}
		}
	}
	defer stop()

	lines := make(chan string, 64)
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	cmdRE := regexp.MustCompile(`AUTHFLOW_TARGET=(\S+) make e2e`)
	deadline := time.After(3 * time.Minute)
	for printed := false; !printed; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("authflow up ended before it held a stack")
			}
			if m := cmdRE.FindStringSubmatch(l); m != nil {
				if m[1] != held {
					t.Fatalf("authflow up wrote the held target to %s, want %s", m[1], held)
				}
				printed = true
			}
		case <-deadline:
			t.Fatal("authflow up did not print the held-stack command within 3 minutes")
		}
	}
	go func() {
		for range lines { // keep draining: the QA user and password are not this test's business
		}
	}()

	c := &child{Label: "held-stack,mode=hs256", Mode: hs256, Run: ".", Env: []string{"AUTHFLOW_TARGET=" + held}}
	c.run(t, artifacts.Default().KillMatrix())
	checkClean(t, c)
	if n := c.Result.Count().Passed; n < 50 {
		t.Errorf("only %d tests passed against the held stack; the whole suite should run", n)
	}
	if c.Result.PackageOutputContains("stack: image ") {
		t.Errorf("the run against the held stack built or reused images: it must start nothing of the app (see %s)", c.Dir)
	}
	stop()
	if _, err := os.Stat(held); !os.IsNotExist(err) {
		t.Errorf("the held-stack target %s is still there after authflow up stopped", held)
	}
}
