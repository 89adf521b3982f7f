package containers

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
)

// allowListContext is a build context like refapp/web's: a .dockerignore that ignores everything and
// then names the files to send, with an ignored file inside a sent folder.
func allowListContext(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	files := map[string]string{
		".dockerignore":     "*\n!package.json\n!server.mjs\n!public/\npublic/*.map\n!public/app.js.map\n",
		"Dockerfile":        "FROM scratch\nCOPY . /app\n",
		"package.json":      `{"name":"x"}`,
		"server.mjs":        "export const lifetime = 900\n",
		"public/app.js":     "console.log(1)\n",
		"public/app.js.map": "{}\n",
		"public/other.map":  "{}\n",
		"README.md":         "not sent\n",
		"src/index.ts":      "not sent\n",
	}
	for name, body := range files {
		p := filepath.Join(dir, name)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	}
	return dir
}

func TestContextHash_AllowListDockerignoreCoversExactlyTheSentFiles(t *testing.T) {
	dir := allowListContext(t)
	args := map[string]string{"BASE_IMAGE": "node:22"}
	base, err := newBuildContext(dir, "Dockerfile", args)
	require.NoError(t, err)
	base.close()
	// package.json, server.mjs, public/app.js, public/app.js.map, and the always-sent Dockerfile and .dockerignore
	assert.Equal(t, 6, base.Files, "files in the context Docker would receive")

	edit := func(t *testing.T, name, body string) string {
		t.Helper()
		p := filepath.Join(dir, name)
		old, err := os.ReadFile(p)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		t.Cleanup(func() { _ = os.WriteFile(p, old, 0o644) })
		h, err := contextHash(dir, "Dockerfile", args)
		require.NoError(t, err)
		return h
	}
	for _, name := range []string{"server.mjs", "package.json", "public/app.js", "public/app.js.map", "Dockerfile"} {
		t.Run("sent="+name, func(t *testing.T) {
			assert.NotEqual(t, base.Hash, edit(t, name, "edited\n"), "an edit of a file Docker sends must change the tag")
		})
	}
	for _, name := range []string{"README.md", "src/index.ts", "public/other.map"} {
		t.Run("ignored="+name, func(t *testing.T) {
			assert.Equal(t, base.Hash, edit(t, name, "edited\n"), "an edit of an ignored file must not force a rebuild")
		})
	}
	t.Run("build-arg", func(t *testing.T) {
		h, err := contextHash(dir, "Dockerfile", map[string]string{"BASE_IMAGE": "node:20"})
		require.NoError(t, err)
		assert.NotEqual(t, base.Hash, h)
	})
	t.Run("mtime-only", func(t *testing.T) {
		later := time.Now().Add(time.Hour)
		require.NoError(t, os.Chtimes(filepath.Join(dir, "server.mjs"), later, later))
		h, err := contextHash(dir, "Dockerfile", args)
		require.NoError(t, err)
		assert.Equal(t, base.Hash, h, "a checkout of the same files must reuse the image")
	})
	t.Run("new-sent-file", func(t *testing.T) {
		p := filepath.Join(dir, "public", "new.js")
		require.NoError(t, os.WriteFile(p, []byte("x"), 0o644))
		t.Cleanup(func() { _ = os.Remove(p) })
		h, err := contextHash(dir, "Dockerfile", args)
		require.NoError(t, err)
		assert.NotEqual(t, base.Hash, h)
	})
}

func TestShortErr_ATimeoutNamesWhatTimedOutAndItsRealBudget(t *testing.T) {
	err := shortErr(context.DeadlineExceeded, "postgres start", 60*time.Second)
	assert.EqualError(t, err, "postgres start: no answer within 1m0s (raise AUTHFLOW_TIMEOUT_FACTOR on a slow machine)")
	assert.True(t, errors.Is(err, context.DeadlineExceeded))
	assert.Contains(t, shortErr(context.DeadlineExceeded, "pull postgres:17", 20*time.Second).Error(), "pull postgres:17: no answer within 20s")
	assert.Contains(t, shortErr(context.DeadlineExceeded, "start container web", 0).Error(), "the run's own deadline")
	assert.EqualError(t, shortErr(errors.New("first\nsecond"), "x", time.Second), "first")
}

// copyTree copies src into dst (regular files and folders; symlinks as symlinks).
func copyTree(t *testing.T, src, dst string) {
	t.Helper()
	require.NoError(t, filepath.WalkDir(src, func(p string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(src, p)
		out := filepath.Join(dst, rel)
		info, err := d.Info()
		if err != nil {
			return err
		}
		switch {
		case d.IsDir():
			return os.MkdirAll(out, 0o755)
		case info.Mode()&os.ModeSymlink != 0:
			target, err := os.Readlink(p)
			if err != nil {
				return err
			}
			return os.Symlink(target, out)
		default:
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(out, b, info.Mode().Perm())
		}
	}))
}

// The reference web service's real context (an allow-list .dockerignore): a copy is built, then reused,
// then rebuilt after an edit of server.mjs, and the rebuilt image holds the edit.
func TestBuildImage_AnEditedWebContextIsRebuiltAndTheImageHoldsTheEdit(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	src := filepath.Join("..", "refapp", "web")
	if _, err := os.Stat(filepath.Join(src, "node_modules")); err != nil {
		t.Fatalf("refapp/web/node_modules is missing: run `make setup` (%v)", err)
	}
	ctx := context.Background()
	base, err := ResolveImage(ctx, cli, []string{"node:22-bookworm-slim", "authflow.local/node:20"})
	require.NoError(t, err)
	dir := filepath.Join(t.TempDir(), "web")
	copyTree(t, src, dir)
	prov, err := testcontainers.NewDockerProvider()
	require.NoError(t, err)
	defer prov.Close()
	name := "ctest-web-" + NewRunID()
	args := map[string]string{"BASE_IMAGE": base}
	t.Cleanup(func() { removeRepo(t, cli, "authflow.local/build-"+name) })
	// a context no earlier run has built (an unedited copy is the reference target's web image)
	appendTo(t, filepath.Join(dir, "server.mjs"), "\n// TestBuildImage, service "+name+"\n")

	first, err := buildImage(ctx, prov, name, dir, "Dockerfile", args, false)
	require.NoError(t, err)
	assert.True(t, first.Fresh, "a new context is built: %s", first.How())
	assert.Contains(t, first.How(), "built "+first.Hash)
	assert.Greater(t, first.Files, 100, "node_modules, server.mjs, public/ are sent")

	again, err := buildImage(ctx, prov, name, dir, "Dockerfile", args, false)
	require.NoError(t, err)
	assert.False(t, again.Fresh, "an unchanged context is reused: %s", again.How())
	assert.Equal(t, first.Ref, again.Ref)

	// another service (or target) with the same context, Dockerfile and args gets the same image,
	// tagged, not built again
	other := name + "-other"
	t.Cleanup(func() { removeRepo(t, cli, "authflow.local/build-"+other) })
	shared, err := buildImage(ctx, prov, other, dir, "Dockerfile", args, false)
	require.NoError(t, err)
	assert.False(t, shared.Fresh, "the same build under another name is reused: %s", shared.How())
	assert.Equal(t, "authflow.local/build-"+other+":"+first.Hash, shared.Ref)
	a, err := cli.ImageInspect(ctx, first.Ref)
	require.NoError(t, err)
	b, err := cli.ImageInspect(ctx, shared.Ref)
	require.NoError(t, err)
	assert.Equal(t, a.ID, b.ID, "both names are one image")

	appendTo(t, filepath.Join(dir, "server.mjs"), "\n// edited by TestBuildImage\n")
	edited, err := buildImage(ctx, prov, name, dir, "Dockerfile", args, false)
	require.NoError(t, err)
	assert.True(t, edited.Fresh, "an edited server.mjs is rebuilt: %s", edited.How())
	assert.NotEqual(t, first.Hash, edited.Hash)

	ctr, err := testcontainers.GenericContainer(ctx, testcontainers.GenericContainerRequest{
		ContainerRequest: testcontainers.ContainerRequest{Image: edited.Ref, Labels: map[string]string{LabelManaged: "true"}},
	})
	require.NoError(t, err)
	defer func() { _ = ctr.Terminate(ctx) }()
	rc, err := ctr.CopyFileFromContainer(ctx, "/app/server.mjs")
	require.NoError(t, err)
	defer rc.Close()
	inImage, err := io.ReadAll(rc)
	require.NoError(t, err)
	assert.Contains(t, string(inImage), "edited by TestBuildImage", "the image holds the edited file")

	forced, err := buildImage(ctx, prov, name, dir, "Dockerfile", args, true)
	require.NoError(t, err)
	assert.True(t, forced.Fresh, "force (AUTHFLOW_REBUILD=1) builds even an existing tag")
}

// appendTo appends text to the file at p.
func appendTo(t *testing.T, p, text string) {
	t.Helper()
	b, err := os.ReadFile(p)
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(p, append(b, []byte(text)...), 0o644))
}

// removeRepo removes every tag of repo.
func removeRepo(t *testing.T, cli client.APIClient, repo string) {
	res, err := cli.ImageList(context.Background(), client.ImageListOptions{Filters: client.Filters{}.Add("reference", repo)})
	if err != nil {
		t.Log(err)
		return
	}
	for _, img := range res.Items {
		for _, tag := range img.RepoTags {
			_, _ = cli.ImageRemove(context.Background(), tag, client.ImageRemoveOptions{PruneChildren: true})
		}
	}
}

// Pruning keeps the newest builds besides the one just made: a concurrent run's fresh build survives.
func TestPruneOldBuilds_KeepsTheNewestBuildsOfOtherRuns(t *testing.T) {
	t.Parallel()
	cli := dockerClient(t)
	ctx := context.Background()
	base, err := ResolveImage(ctx, cli, postgresImages)
	require.NoError(t, err)
	repo := "authflow.local/build-ctest-prune-" + NewRunID()
	t.Cleanup(func() { removeRepo(t, cli, repo) })
	for i := range 6 {
		_, err := cli.ImageTag(ctx, client.ImageTagOptions{Source: base, Target: fmt.Sprintf("%s:t%d", repo, i)})
		require.NoError(t, err)
	}
	pruneOldBuilds(ctx, cli, repo, repo+":t5")
	res, err := cli.ImageList(ctx, client.ImageListOptions{Filters: client.Filters{}.Add("reference", repo)})
	require.NoError(t, err)
	n := 0
	kept := false
	for _, img := range res.Items {
		for _, tag := range img.RepoTags {
			n++
			kept = kept || tag == repo+":t5"
		}
	}
	assert.True(t, kept, "the build just made stays")
	assert.Equal(t, keptBuilds+1, n, "the newest %d other builds stay besides it", keptBuilds)
}

// A fixed host port that is taken is refused with what holds it.
func TestPortFree_ATakenPortNamesItsHolder(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	port := l.Addr().(*net.TCPAddr).Port
	err = PortFree(port)
	require.Error(t, err)
	assert.Contains(t, err.Error(), fmt.Sprintf("port %d on 127.0.0.1 is taken", port))
	assert.Contains(t, err.Error(), fmt.Sprintf("held by pid %d", os.Getpid()), "this test process holds it")
	l.Close()
	assert.NoError(t, PortFree(port), "a free port is free")
}

// A process service is started on the host, answers its readiness, writes its logs, and is ended with
// its process group on Close; one that exits before it is ready is named with its exit code and logs.
func TestStart_AProcessServiceRunsOnTheHostAndStopsWithItsGroup(t *testing.T) {
	t.Parallel()
	dockerClient(t)
	port, err := FreePort()
	require.NoError(t, err)
	runID := NewRunID()
	marker := "authflow-ctest-proc-" + runID
	// a shell that starts a child in the background (the group must end with it), then the echo server
	echo := filepath.Join(t.TempDir(), "echo")
	out, err := exec.Command("go", "build", "-o", echo, "./testdata/echo").CombinedOutput()
	require.NoError(t, err, "%s", out)
	st, err := Start(context.Background(), runID, Spec{
		Name:     "ctest",
		Postgres: PostgresSpec{Images: postgresImages, Alias: "db", Database: "app", User: "app", Password: "pw"},
		Services: []ServiceSpec{{Name: "proc", HostPort: port, ReadyPath: "/ready",
			Process: &Process{Shell: "sleep 3601 & exec " + echo + " " + marker},
			Env:     map[string]string{"PORT": fmt.Sprint(port)}}},
	})
	require.NoError(t, err)
	svc := st.Services["proc"]
	assert.Equal(t, fmt.Sprintf("http://localhost:%d", port), svc.PublicURL)
	require.True(t, processRunning(marker), "the process runs")
	require.True(t, processRunning("sleep 3601"), "its background child runs")
	require.NoError(t, st.Close(context.Background()))
	assert.False(t, processRunning(marker), "Close ends the process")
	assert.False(t, processRunning("sleep 3601"), "Close ends the process's whole group")
	assert.NoError(t, PortFree(port), "the port is free again")

	_, err = Start(context.Background(), NewRunID(), Spec{
		Name:     "ctest",
		Postgres: PostgresSpec{Images: postgresImages, Alias: "db", Database: "app", User: "app", Password: "pw"},
		Services: []ServiceSpec{{Name: "crash", HostPort: port, ReadyPath: "/", Process: &Process{Shell: "echo starting; echo boom >&2; exit 3"}}},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exited with code 3")
	assert.Contains(t, err.Error(), "boom", "the error shows the process's last log lines")
}

// postgres.init runs SQL files and host commands in order before the services; a failing step is
// named with its output. A stack on the app's own database (DSN) starts no Postgres, runs its init
// there, and an unreachable DSN is refused before anything starts.
func TestStart_InitStepsAndTheAppsOwnDatabase(t *testing.T) {
	t.Parallel()
	dockerClient(t)
	ctx := context.Background()
	dir := t.TempDir()
	sql := filepath.Join(dir, "schema.sql")
	require.NoError(t, os.WriteFile(sql, []byte("create table if not exists tasks (id serial primary key, title text);\ninsert into tasks (title) values ('seeded');\n"), 0o644))
	bad := filepath.Join(dir, "bad.sql")
	require.NoError(t, os.WriteFile(bad, []byte("create tabel oops;"), 0o644))
	pgSpec := PostgresSpec{Images: postgresImages, Alias: "db", Database: "app", User: "app", Password: "pw"}

	spec := pgSpec
	spec.Init = []InitStep{
		{SQL: sql},
		{Shell: `case "$DATABASE_URL" in postgres://*) echo "migrating $MIGRATION";; *) exit 9;; esac`, Env: map[string]string{"MIGRATION": "v1"}},
	}
	owner, err := Start(ctx, NewRunID(), Spec{Name: "ctest", Postgres: spec})
	require.NoError(t, err)
	defer owner.Close(ctx)
	assert.Contains(t, strings.Join(owner.Postgres.Logs(20), "\n"), "migrating v1", "a command step's output is in the logs")
	count := func(dsn string) int {
		conn, err := pgx.Connect(ctx, dsn)
		require.NoError(t, err)
		defer conn.Close(ctx)
		var n int
		require.NoError(t, conn.QueryRow(ctx, "select count(*) from tasks").Scan(&n))
		return n
	}
	require.Equal(t, 1, count(owner.Postgres.DSN), "the SQL step ran")

	// the same database as the app's own one: no Postgres is started, init runs there
	own, err := Start(ctx, NewRunID(), Spec{Name: "ctest", Postgres: PostgresSpec{DSN: owner.Postgres.DSN, Init: []InitStep{{SQL: sql}}}})
	require.NoError(t, err)
	assert.Nil(t, own.Postgres.Container, "nothing is started for postgres.dsn")
	assert.Equal(t, 2, count(owner.Postgres.DSN), "the init ran on the app's own database")
	require.NoError(t, own.Close(ctx))

	_, err = Start(ctx, NewRunID(), Spec{Name: "ctest", Postgres: PostgresSpec{DSN: "postgres://app:secretpw@127.0.0.1:1/app?sslmode=disable"}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "is not reachable")
	assert.NotContains(t, err.Error(), "secretpw", "the DSN's password is hidden")

	for _, tc := range []struct {
		step InitStep
		want []string
	}{
		{InitStep{SQL: bad}, []string{"postgres.init[0] (sql bad.sql)", "syntax error"}},
		{InitStep{Shell: "echo the migration broke >&2; exit 3"}, []string{"postgres.init[0] (sh -c", "exit status 3", "the migration broke"}},
	} {
		_, err := Start(ctx, NewRunID(), Spec{Name: "ctest", Postgres: PostgresSpec{DSN: owner.Postgres.DSN, Init: []InitStep{tc.step}}})
		require.Error(t, err)
		for _, w := range tc.want {
			assert.Contains(t, err.Error(), w)
		}
	}
}

// A url: service's logs come from a command (or a followed file): they show in its logs, the command
// stops at Close, and a command that fails at once stops the start naming it.
func TestStart_AURLServicesLogsComeFromItsLogCommand(t *testing.T) {
	t.Parallel()
	dockerClient(t)
	ctx := context.Background()
	app := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { io.WriteString(w, "ok") }))
	defer app.Close()
	logFile := filepath.Join(t.TempDir(), "app.log")
	require.NoError(t, os.WriteFile(logFile, []byte("old line before the run\n"), 0o644))
	marker := "authflow-ctest-logs-" + NewRunID()
	pg := PostgresSpec{Images: postgresImages, Alias: "db", Database: "app", User: "app", Password: "pw"}
	st, err := Start(ctx, NewRunID(), Spec{Name: "ctest", Postgres: pg, Services: []ServiceSpec{
		{Name: "cmdlogs", URL: app.URL, ReadyPath: "/", Logs: &Process{Shell: "echo hello from the log command; sleep 3602; : " + marker}},
		{Name: "filelogs", URL: app.URL, ReadyPath: "/", Logs: &Process{Command: []string{"tail", "-F", "-n", "0", logFile}}},
	}})
	require.NoError(t, err)
	f, err := os.OpenFile(logFile, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, _ = f.WriteString("new line during the run\n")
	f.Close()
	require.Eventually(t, func() bool {
		return strings.Contains(strings.Join(st.Services["cmdlogs"].Logs(10), "\n"), "hello from the log command") &&
			strings.Contains(strings.Join(st.Services["filelogs"].Logs(10), "\n"), "new line during the run")
	}, 5*time.Second, 50*time.Millisecond, "cmd: %v file: %v", st.Services["cmdlogs"].Logs(10), st.Services["filelogs"].Logs(10))
	assert.NotContains(t, strings.Join(st.Services["filelogs"].Logs(10), "\n"), "old line", "a file is followed from the run's start")
	require.NoError(t, st.Close(ctx))
	assert.False(t, processRunning(marker), "the log command stops with the stack")

	_, err = Start(ctx, NewRunID(), Spec{Name: "ctest", Postgres: pg, Services: []ServiceSpec{
		{Name: "badlogs", URL: app.URL, ReadyPath: "/", Logs: &Process{Shell: "echo 'Error: No such container: myapp' >&2; exit 1"}},
	}})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "the log command of this url: service (sh -c")
	assert.Contains(t, err.Error(), "No such container: myapp")
}
