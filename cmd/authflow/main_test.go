package main

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/targets"
)

func TestMain(m *testing.M) {
	containers.RunReaperIfAsked()
	os.Exit(m.Run())
}

// capture runs f with os.Stdout and os.Stderr sent to one buffer, which it returns with f's result.
// The buffer is readable while f runs (through the returned syncBuffer).
func capture(t *testing.T, f func() int) (int, string) {
	t.Helper()
	out := &syncBuffer{}
	code := captureInto(t, out, f)
	return code, out.String()
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

func captureInto(t *testing.T, out *syncBuffer, f func() int) int {
	t.Helper()
	r, w, err := os.Pipe()
	require.NoError(t, err)
	oldOut, oldErr := os.Stdout, os.Stderr
	os.Stdout, os.Stderr = w, w
	done := make(chan struct{})
	go func() { _, _ = io.Copy(out, r); close(done) }()
	defer func() {
		os.Stdout, os.Stderr = oldOut, oldErr
		w.Close()
		<-done
	}()
	return f()
}

func TestUp_ABadTargetSaysWhichFileAndFieldToFix(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("name: x\npostgres: {image: [pg]}\nservices:\n  web: {image: w}\napp: {web_url: 'http://localhost:1', chatkit_url: 'http://localhost:1/c'}\n"), 0o644))
	code, out := capture(t, func() int { return cmdUp([]string{"-target", bad}) })
	assert.Equal(t, 2, code)
	assert.Contains(t, out, bad+": services.web.port: missing")
}

func TestUp_AnUnknownTokenModeIsRefused(t *testing.T) {
	code, out := capture(t, func() int { return cmdUp([]string{"-mode", "rs256"}) })
	assert.Equal(t, 2, code)
	assert.Contains(t, out, `"rs256" is not a token mode; allowed: hs256, jwks`)
}

func TestDoctor_NamesWhatIsMissingAndTheFix(t *testing.T) {
	t.Setenv("AUTHFLOW_DRIVER_DIR", filepath.Join(t.TempDir(), "no-driver"))
	code, out := capture(t, func() int { return cmdDoctor(nil) })
	assert.Equal(t, 1, code, out)
	assert.Regexp(t, `MISSING\s+playwright driver`, out)
	assert.Contains(t, out, "fix: make setup")
	assert.Regexp(t, `ok\s+docker daemon`, out, "the rest of the machine is set up by make setup")
}

func TestTrace_AMissingFileIsAnError(t *testing.T) {
	code, out := capture(t, func() int { return cmdTrace([]string{filepath.Join(t.TempDir(), "none.zip")}) })
	assert.Equal(t, 1, code)
	assert.Contains(t, out, "no such file")
}

// TestUp_StartsTheStackPrintsAReadyUserAndCleansUpOnInterrupt runs `authflow up` against the reference
// target: it must print the web URL and a test user, serve the app, and remove everything on Ctrl-C.
func TestUp_StartsTheStackPrintsAReadyUserAndCleansUpOnInterrupt(t *testing.T) {
	t.Chdir("../..") // the module root, where `authflow up` finds targets/reference.yaml
	out := &syncBuffer{}
	result := make(chan int, 1)
	go func() { result <- captureInto(t, out, func() int { return cmdUp(nil) }) }()

	deadline := time.Now().Add(containers.Scaled(3 * time.Minute))
	for !strings.Contains(out.String(), "Ctrl-C stops") {
		select {
		case code := <-result:
			t.Fatalf("authflow up ended with %d before the stack was up:\n%s", code, scrub(out.String()))
		default:
		}
		require.True(t, time.Now().Before(deadline), "the stack did not come up:\n%s", scrub(out.String()))
		time.Sleep(100 * time.Millisecond)
	}
	text := out.String()
	web := regexp.MustCompile(`web \(open this\)\s+(http://localhost:\d+)`).FindStringSubmatch(text)
	require.Len(t, web, 2, "the web URL is printed:\n%s", scrub(text))
	assert.Regexp(t, `test user\s+qa-`, text, "a ready test user is printed")
	assert.NotContains(t, text, "could not be created")
	run := regexp.MustCompile(`run ([0-9a-f]{12})\)`).FindStringSubmatch(text)
	require.Len(t, run, 2)

	resp, err := http.Get(web[1] + "/login")
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode, "the login page is served")

	// the held-stack target: every service a url: service with its logs, the stack's Postgres as dsn
	held := regexp.MustCompile(`authflow test -target (\S+) -mode`).FindStringSubmatch(text)
	require.Len(t, held, 2, "the command to run the suites against the held stack is printed:\n%s", scrub(text))
	ht, err := targets.Load(held[1], "")
	require.NoError(t, err, "the held-stack target loads")
	for _, name := range ht.Order {
		s := ht.Services[name]
		assert.NotEmpty(t, s.URL, "service %s of the held stack is a url: service", name)
		assert.Nil(t, s.Build, "service %s is not built again", name)
		require.NotNil(t, s.Logs, "service %s's logs come from its container", name)
		assert.Equal(t, "docker", s.Logs.Command[0])
	}
	assert.Contains(t, ht.Postgres.DSN, "127.0.0.1", "the held stack's Postgres is its dsn")
	assert.Len(t, ht.Secret, 48, "the held stack's secret is fixed")
	fi, err := os.Stat(held[1])
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "the file holds the stack's secret: owner only")

	require.NoError(t, syscall.Kill(os.Getpid(), syscall.SIGINT))
	select {
	case code := <-result:
		assert.Equal(t, 0, code)
	case <-time.After(containers.Scaled(60 * time.Second)):
		t.Fatal("authflow up did not stop on Ctrl-C")
	}
	_, err = os.Stat(held[1])
	assert.True(t, os.IsNotExist(err), "the held-stack target is removed with the stack")
	cli, err := containers.Client(t.Context())
	require.NoError(t, err)
	defer cli.Close()
	n, err := containers.Sweep(t.Context(), cli, run[1])
	require.NoError(t, err)
	assert.Zero(t, n, "authflow up left %d containers/networks of its run behind", n)
}

// scrub hides the test user's password that `authflow up` prints, for failure messages.
func scrub(s string) string {
	return regexp.MustCompile(`(?m)^(\s*password\s+)\S+`).ReplaceAllString(s, "${1}[REDACTED]")
}

func TestScrub_HidesThePrintedPassword(t *testing.T) {
	assert.Equal(t, "  test user  a@b\n  password   [REDACTED]\n", scrub("  test user  a@b\n  password   s3cret-Value\n"))
}

// authflow clean removes a dead run's leftovers but not a live run's (a concurrent run), and -run
// removes one given run's.
func TestClean_RemovesOnlyDeadRunsLeftoversAndOneRunOnRequest(t *testing.T) {
	containers.PrepareEnv(false)
	ctx := context.Background()
	cli, err := containers.Client(ctx)
	require.NoError(t, err, "this test needs a Docker daemon: run `make setup`")
	defer cli.Close()
	img, err := containers.ResolveImage(ctx, cli, []string{"postgres:17-alpine", "authflow.local/postgres:17"})
	require.NoError(t, err)
	host, _ := os.Hostname()
	count := func(run string) int {
		res, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true,
			Filters: client.Filters{}.Add("label", containers.LabelRun+"="+run)})
		require.NoError(t, err)
		return len(res.Items)
	}
	mk := func(pid int) string {
		run := containers.NewRunID()
		c, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{ContainerRequest: testcontainers.ContainerRequest{
			Image: img, Labels: map[string]string{containers.LabelManaged: "true", containers.LabelRun: run,
				containers.LabelPID: strconv.Itoa(pid), containers.LabelHost: host},
		}})
		require.NoError(t, err)
		testcontainers.CleanupContainer(t, c)
		require.Equal(t, 1, count(run))
		return run
	}
	dead, live := mk(999999999), mk(os.Getpid())

	code, out := capture(t, func() int { return cmdClean(nil) })
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "authflow clean: removed")
	assert.Equal(t, 0, count(dead), "the dead run's container is removed")
	assert.Equal(t, 1, count(live), "a live run's container is left alone")

	code, out = capture(t, func() int { return cmdClean([]string{"-run", live}) })
	require.Equal(t, 0, code, out)
	assert.Contains(t, out, "removed 1 containers and networks of run "+live)
	assert.Equal(t, 0, count(live))

	code, out = capture(t, func() int { return cmdClean([]string{"extra"}) })
	assert.Equal(t, 2, code, out)
}
