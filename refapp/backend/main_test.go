package main

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/containerd/errdefs"
	"github.com/golang-jwt/jwt/v5"
	"github.com/jackc/pgx/v5"
	"github.com/moby/moby/client"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/network"
	"github.com/testcontainers/testcontainers-go/wait"
)

func TestMain(m *testing.M) {
	for k, v := range map[string]string{
		"TESTCONTAINERS_RYUK_DISABLED": "true",      // the ryuk image cannot be pulled offline
		"TESTCONTAINERS_HOST_OVERRIDE": "127.0.0.1", // /.dockerenv on the CI VM -> wrong host otherwise
	} {
		if _, ok := os.LookupEnv(k); !ok {
			os.Setenv(k, v)
		}
	}
	os.Exit(m.Run())
}

const secret = "container-test-secret-0123456789abcdef"

func postgresImage(t *testing.T, ctx context.Context) string {
	t.Helper()
	if img := os.Getenv("AUTHFLOW_POSTGRES_IMAGE"); img != "" {
		return img
	}
	cli, err := client.New(client.FromEnv)
	require.NoError(t, err)
	defer cli.Close()
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		t.Fatalf("Docker is unreachable (%v): this test needs a running Docker daemon", err)
	}
	for _, img := range []string{"postgres:17-alpine", "authflow.local/postgres:17"} {
		if _, err := cli.ImageInspect(ctx, img); err == nil {
			return img
		} else if !errdefs.IsNotFound(err) {
			t.Fatalf("inspecting image %s: %v", img, err)
		}
	}
	t.Fatalf("no Postgres image: neither postgres:17-alpine nor authflow.local/postgres:17 exists locally " +
		"(build authflow.local/postgres:17 or set AUTHFLOW_POSTGRES_IMAGE)")
	return ""
}

// TestContainer builds the static binary and the FROM scratch image exactly as documented, runs it
// next to Postgres and checks env handling, the schema, a streamed turn, the log and a clean SIGTERM.
func TestContainer(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()

	buildCtx := t.TempDir()
	goBin := filepath.Join(runtime.GOROOT(), "bin", "go")
	build := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", filepath.Join(buildCtx, "bin", "backend"), ".")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	dockerfile, err := os.ReadFile("Dockerfile")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(buildCtx, "Dockerfile"), dockerfile, 0o644))

	nw, err := network.New(ctx)
	require.NoError(t, err, "docker network (is Docker running?)")
	testcontainers.CleanupNetwork(t, nw)

	pg, err := postgres.Run(ctx, postgresImage(t, ctx),
		postgres.WithDatabase("app"), postgres.WithUsername("app"), postgres.WithPassword("app-pw"),
		postgres.BasicWaitStrategies(),
		testcontainers.WithTmpfs(map[string]string{"/var/lib/postgresql/data": "rw"}),
		network.WithNetwork([]string{"db"}, nw),
	)
	testcontainers.CleanupContainer(t, pg)
	require.NoError(t, err)

	app, err := testcontainers.Run(ctx, "",
		testcontainers.WithDockerfile(testcontainers.FromDockerfile{Context: buildCtx, Dockerfile: "Dockerfile"}),
		testcontainers.WithEnv(map[string]string{
			"DATABASE_URL":       "postgres://app:app-pw@db:5432/app?sslmode=disable",
			"BETTER_AUTH_SECRET": secret,
			"CORS_ORIGINS":       "http://localhost:3000",
			"AUTHFLOW_FAULT":     "ignore-expiry,no-auth-header,bogus-fault",
		}),
		testcontainers.WithExposedPorts("8000/tcp"),
		network.WithNetwork([]string{"backend"}, nw),
		testcontainers.WithWaitStrategy(wait.ForHTTP("/health").WithPort("8000/tcp").WithStartupTimeout(60*time.Second)),
	)
	testcontainers.CleanupContainer(t, app)
	require.NoError(t, err)
	base, err := app.PortEndpoint(ctx, "8000/tcp", "http")
	require.NoError(t, err)

	resp, err := http.Get(base + "/health")
	require.NoError(t, err)
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `{"status":"ok"}`, string(body))

	// An expired token is accepted: proves AUTHFLOW_FAULT reached the process.
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{
		"sub": "container-user", "email": "c@example.test", "name": "C", "type": "access",
		"iat": now.Add(-2 * time.Hour).Unix(), "exp": now.Add(-time.Hour).Unix(),
	}).SignedString([]byte(secret))
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodPost, base+"/chatkit", strings.NewReader(
		`{"type":"threads.create","params":{"input":{"content":[{"type":"input_text","text":"add task ship it"}],"attachments":[],"inference_options":{}}}}`))
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("Origin", "http://localhost:3000")
	resp, err = http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "http://localhost:3000", resp.Header.Get("Access-Control-Allow-Origin"))
	var types []string
	var last map[string]any
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
			var ev map[string]any
			require.NoError(t, json.Unmarshal([]byte(data), &ev))
			types = append(types, ev["type"].(string))
			if ev["type"] == "thread.item.done" {
				last = ev
			}
		}
	}
	resp.Body.Close()
	require.NoError(t, sc.Err())
	assert.Equal(t, "thread.created", types[0])
	assert.Equal(t, "thread.updated", types[len(types)-1])
	require.NotNil(t, last)
	assert.Equal(t, `Added task "ship it".`, last["item"].(map[string]any)["content"].([]any)[0].(map[string]any)["text"])

	// The tasks table was created by the binary and written for the token's user.
	dsn, err := pg.ConnectionString(ctx, "sslmode=disable")
	require.NoError(t, err)
	conn, err := pgx.Connect(ctx, dsn)
	require.NoError(t, err)
	defer conn.Close(context.Background())
	var owner, title string
	var completed bool
	require.NoError(t, conn.QueryRow(ctx, `SELECT user_id, title, completed FROM tasks`).Scan(&owner, &title, &completed))
	assert.Equal(t, []any{"container-user", "ship it", false}, []any{owner, title, completed})

	// Missing header: 401 with the contract body.
	resp, err = http.Post(base+"/chatkit", "application/json", strings.NewReader(`{"type":"threads.list","params":{}}`))
	require.NoError(t, err)
	body, _ = io.ReadAll(resp.Body)
	resp.Body.Close()
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.Equal(t, `{"error":"Missing Authorization header"}`, string(body))

	// SIGTERM: graceful exit with status 0.
	stopTimeout := 10 * time.Second
	require.NoError(t, app.Stop(ctx, &stopTimeout))
	state, err := app.State(ctx)
	require.NoError(t, err)
	assert.Equal(t, 0, state.ExitCode, "graceful shutdown on SIGTERM")

	logs, err := app.Logs(ctx)
	require.NoError(t, err)
	logText, _ := io.ReadAll(logs)
	text := string(logText)
	assert.Contains(t, text, "active faults: ignore-expiry")
	assert.Contains(t, text, "ignoring unknown fault names: bogus-fault")
	assert.NotContains(t, text, "no-auth-header") // web faults are ignored silently
	assert.Contains(t, text, "database schema ready")
	assert.Contains(t, text, "listening on :8000")
	assert.Contains(t, text, "JWT validation successful for user container-user")
	assert.Contains(t, text, "JWT validation failed: missing Authorization header")
	assert.Contains(t, text, "shutting down")
	assert.NotContains(t, text, tok, "the token must never be logged")
	assert.NotContains(t, text, secret, "the secret must never be logged")
	assert.NotContains(t, text, "app-pw", "the database password must never be logged")
	if t.Failed() {
		t.Logf("container log:\n%s", text)
	}
}
