package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
)

var postgresImages = []string{"postgres:17-alpine", "authflow.local/postgres:17"}

func TestMain(m *testing.M) {
	RunReaperIfAsked()
	PrepareEnv(false)
	if os.Getenv("CONTAINERS_CLIENT_CHILD") == "1" {
		_, err := Client(context.Background())
		fmt.Println(err)
		return
	}
	if os.Getenv("CONTAINERS_KILL_CHILD") == "1" {
		killChild()
		return
	}
	os.Exit(m.Run())
}

// echoContext builds the echo server for linux into a temp build context with a FROM scratch Dockerfile.
func echoContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(dir, "echo"), "./testdata/echo")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "build the echo server: %s", out)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"),
		[]byte("FROM scratch\nCOPY echo /echo\nEXPOSE 8080\nENTRYPOINT [\"/echo\"]\n"), 0o644))
	return dir
}

func dockerClient(t *testing.T) *testcontainers.DockerClient {
	t.Helper()
	cli, err := Client(context.Background())
	require.NoError(t, err, "these tests need a Docker daemon: run `make setup`")
	t.Cleanup(func() { cli.Close() })
	return cli
}

// runObjects counts the containers and networks labelled with a run id.
func runObjects(t *testing.T, cli client.APIClient, runID string) int {
	t.Helper()
	f := client.Filters{}.Add("label", LabelRun+"="+runID)
	ctrs, err := cli.ContainerList(context.Background(), client.ContainerListOptions{All: true, Filters: f})
	require.NoError(t, err)
	nets, err := cli.NetworkList(context.Background(), client.NetworkListOptions{Filters: f})
	require.NoError(t, err)
	return len(ctrs.Items) + len(nets.Items)
}

func get(t *testing.T, url string) (int, string) {
	t.Helper()
	resp, err := http.Get(url)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestStart_ServicesShareANetworkArePublishedOnLoopbackAndLeaveNothingBehind(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	ctx := context.Background()
	dir := echoContext(t)
	hostPort, err := FreePort()
	require.NoError(t, err)
	runID := NewRunID()
	var lines []string
	spec := Spec{
		Name:     "ctest",
		Postgres: PostgresSpec{Images: postgresImages, Alias: "db", Database: "app", User: "app", Password: "pw"},
		Services: []ServiceSpec{{
			Name: "echo", Alias: "echo", Build: &Build{Context: dir, Dockerfile: "Dockerfile"},
			ContainerPort: 8080, HostPort: hostPort, Env: map[string]string{"GREETING": "hello"},
			ReadyPath: "/ready", ReadyTimeout: 30 * time.Second,
		}},
		Progress: func(f string, a ...any) { lines = append(lines, fmt.Sprintf(f, a...)) },
	}
	st, err := Start(ctx, runID, spec)
	require.NoError(t, err)
	defer st.Close(ctx)

	echo := st.Services["echo"]
	require.NotNil(t, echo)
	assert.Equal(t, fmt.Sprintf("http://localhost:%d", hostPort), echo.PublicURL, "the pre-chosen host port is used")
	code, body := get(t, echo.PublicURL+"/env?k=GREETING")
	assert.Equal(t, 200, code)
	assert.Equal(t, "hello", body, "env reaches the service")
	code, body = get(t, echo.PublicURL+"/resolve?h=db")
	assert.Equal(t, 200, code, "the service resolves Postgres by its alias on the stack network: %s", body)

	insp, err := cli.ContainerInspect(ctx, echo.Container.GetContainerID(), client.ContainerInspectOptions{})
	require.NoError(t, err)
	for port, binds := range insp.Container.NetworkSettings.Ports {
		for _, b := range binds {
			assert.Equal(t, "127.0.0.1", b.HostIP.String(), "port %s must be published on loopback only", port)
		}
	}
	assert.Equal(t, runID, insp.Container.Config.Labels[LabelRun])
	assert.Contains(t, st.Postgres.DSN, "@127.0.0.1:")
	assert.NotEmpty(t, lines, "progress lines")

	require.NoError(t, st.Close(ctx))
	assert.Equal(t, 0, runObjects(t, cli, runID), "Close removes every container and the network")

	// Same context again: the image is reused by its content hash, not rebuilt.
	runID2 := NewRunID()
	spec.Services[0].HostPort = 0
	st2, err := Start(ctx, runID2, spec)
	require.NoError(t, err)
	assert.False(t, st2.Services["echo"].Built, "an unchanged build context is not rebuilt")
	require.NoError(t, st2.Close(ctx))
	assert.Equal(t, 0, runObjects(t, cli, runID2))
}

func TestStart_AServiceThatExitsAtStartIsNamedWithItsExitCodeAndLogs(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	ctx := context.Background()
	runID := NewRunID()
	_, err := Start(ctx, runID, Spec{
		Name:     "ctest",
		Postgres: PostgresSpec{Images: postgresImages, Alias: "db", Database: "app", User: "app", Password: "pw"},
		Services: []ServiceSpec{{
			Name: "crasher", Alias: "crasher", Build: &Build{Context: echoContext(t), Dockerfile: "Dockerfile"},
			ContainerPort: 8080, Env: map[string]string{"EXIT_CODE": "3"}, ReadyPath: "/ready", ReadyTimeout: 30 * time.Second,
		}},
	})
	require.Error(t, err)
	var se *StartError
	require.True(t, errors.As(err, &se), "a StartError: %v", err)
	assert.Equal(t, "crasher", se.Part)
	msg := err.Error()
	assert.Contains(t, msg, "start crasher: the container exited with code 3")
	assert.Contains(t, msg, "EXIT_CODE=3", "the error shows the service's last log lines")
	assert.Equal(t, 0, runObjects(t, cli, runID), "a failed start removes what it started")
}

func TestStart_ABuildFailureNamesTheServiceAndShowsTheBuildOutput(t *testing.T) {
	t.Parallel()
	dockerClient(t)
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "Dockerfile"), []byte("FROM scratch\nCOPY missing-file /x\n"), 0o644))
	runID := NewRunID()
	_, err := Start(context.Background(), runID, Spec{
		Name:     "ctest",
		Postgres: PostgresSpec{Images: postgresImages, Alias: "db", Database: "app", User: "app", Password: "pw"},
		Services: []ServiceSpec{{Name: "broken", Build: &Build{Context: dir, Dockerfile: "Dockerfile"}, ContainerPort: 80}},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "start broken: build ctest-broken")
	assert.Contains(t, err.Error(), "missing-file")
}

func TestClient_AnUnreachableDaemonSaysWhatToFix(t *testing.T) {
	// testcontainers reads DOCKER_HOST once per process: ask a fresh child.
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CONTAINERS_CLIENT_CHILD=1", "DOCKER_HOST=unix:///nonexistent/docker.sock")
	b, err := cmd.CombinedOutput()
	require.NoError(t, err)
	msg := string(b)
	assert.Contains(t, msg, "the Docker daemon at")
	assert.Contains(t, msg, "unix:///nonexistent/docker.sock")
	assert.Contains(t, msg, "Fix: run `make setup`")
	assert.Contains(t, msg, "DOCKER_HOST")
}

func TestResolveImage_MissingImagesSayHowToBuildThem(t *testing.T) {
	cli := dockerClient(t)
	_, err := ResolveImage(context.Background(), cli, []string{"authflow.local/does-not-exist:1"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "authflow.local/does-not-exist:1")
	assert.Contains(t, err.Error(), "make setup")
}

func TestSweep_RemovesLeftoversOfDeadRunsButNotKeptOnes(t *testing.T) {
	// not parallel: every Start sweeps dead runs too, and another test's sweep of this test's dead
	// run could still be removing it when this one counts
	cli := dockerClient(t)
	ctx := context.Background()
	img, err := ResolveImage(ctx, cli, postgresImages)
	require.NoError(t, err)
	host, _ := os.Hostname()
	mk := func(pid int, extra ...string) string {
		run := NewRunID()
		labels := map[string]string{LabelManaged: "true", LabelRun: run, LabelPID: fmt.Sprint(pid), LabelHost: host}
		for i := 0; i+1 < len(extra); i += 2 {
			labels[extra[i]] = extra[i+1]
		}
		c, err := testcontainers.Run(ctx, img,
			testcontainers.WithEnv(map[string]string{"POSTGRES_PASSWORD": "x"}),
			testcontainers.WithLabels(labels))
		require.NoError(t, err)
		testcontainers.CleanupContainer(t, c)
		return run
	}
	deadRun := mk(999999999) // no such pid
	liveRun := mk(os.Getpid())
	keptRun := mk(999999999, LabelKeep, "true")
	_, err = Sweep(ctx, cli, "")
	require.NoError(t, err)
	assert.Equal(t, 0, runObjects(t, cli, deadRun), "a dead run's container is swept")
	assert.Equal(t, 1, runObjects(t, cli, liveRun), "a live run's container is left alone")
	assert.Equal(t, 1, runObjects(t, cli, keptRun), "a stack kept with AUTHFLOW_KEEP is left alone")
}

// killChild starts a stack, prints its run id and waits to be killed.
func killChild() {
	ctx := context.Background()
	runID := os.Getenv("CONTAINERS_KILL_RUN")
	r, err := StartReaper(runID)
	if err != nil {
		fmt.Println("reaper:", err)
		os.Exit(1)
	}
	_ = r
	// a host process too: "sleep" under a marker argument the test looks for
	_, err = Start(ctx, runID, Spec{Name: "ctest", Postgres: PostgresSpec{Images: postgresImages, Alias: "db", Database: "app", User: "app", Password: "pw"},
		Services: []ServiceSpec{{Name: "sleeper", Process: &Process{Shell: "exec sleep 3600 # authflow-ctest-" + runID}}}})
	if err != nil {
		fmt.Println("start:", err)
		os.Exit(1)
	}
	fmt.Println("STARTED")
	time.Sleep(time.Hour)
}

func TestReaper_ASIGKILLedRunLeavesNothingBehind(t *testing.T) {
	// not parallel: every Start sweeps dead runs too, and another test's sweep of this test's dead
	// run could still be removing it when this one counts
	cli := dockerClient(t)
	runID := NewRunID()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), "CONTAINERS_KILL_CHILD=1", "CONTAINERS_KILL_RUN="+runID)
	out, err := cmd.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	buf := make([]byte, 4096)
	var got strings.Builder
	deadline := time.Now().Add(Scaled(90 * time.Second))
	for !strings.Contains(got.String(), "STARTED") {
		require.True(t, time.Now().Before(deadline), "the child did not start its stack: %s", got.String())
		n, err := out.Read(buf)
		got.Write(buf[:n])
		if err != nil {
			break
		}
	}
	require.Contains(t, got.String(), "STARTED")
	require.Greater(t, runObjects(t, cli, runID), 0, "the child's stack runs")
	require.NoError(t, cmd.Process.Signal(syscall.SIGKILL))
	_ = cmd.Wait()
	require.Eventually(t, func() bool { return runObjects(t, cli, runID) == 0 }, Scaled(30*time.Second), 200*time.Millisecond,
		"the reaper removes the killed run's containers and network")
	require.Eventually(t, func() bool { return !processRunning("authflow-ctest-" + runID) }, Scaled(30*time.Second), 200*time.Millisecond,
		"the reaper ends the killed run's host processes")
}

// processRunning reports whether a process whose command line contains marker runs.
func processRunning(marker string) bool {
	out, _ := exec.Command("pgrep", "-f", marker).Output()
	return strings.TrimSpace(string(out)) != ""
}

// A removal another cleaner has (gone, or in progress) is not a sweep error; anything else is.
func TestSweep_ARemovalAnotherCleanerHasIsNoError(t *testing.T) {
	assert.True(t, takenCareOf(fmt.Errorf("removal of container x is already in progress: %w", cerrdefs.ErrConflict)))
	assert.True(t, takenCareOf(fmt.Errorf("no such container: %w", cerrdefs.ErrNotFound)))
	assert.False(t, takenCareOf(fmt.Errorf("daemon: %w", cerrdefs.ErrInternal)))
	assert.False(t, takenCareOf(errors.New("connection refused")))
}

// FreePort picks below the kernel's ephemeral range (where the source ports of connections and
// Docker's own host ports come from) and never hands out a port it holds already.
func TestFreePort_BelowTheEphemeralRangeAndHeldOnce(t *testing.T) {
	lo, hi := portRange()
	require.NotZero(t, lo, "this machine's ephemeral range leaves room below it")
	seen := map[int]bool{}
	for range 50 {
		p, err := FreePort()
		require.NoError(t, err)
		assert.GreaterOrEqual(t, p, lo)
		assert.Less(t, p, hi, "below the ephemeral range")
		assert.False(t, seen[p], "port %d handed out twice", p)
		seen[p] = true
		assert.NoError(t, PortFree(p), "a reserved port is still free to bind for the service")
	}
}
