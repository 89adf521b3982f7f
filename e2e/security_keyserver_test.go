package e2e

// The recording key server of the JWT attack matrix (scenarios/keyserver): built on the host,
// started once per process on the stack's network, where the backend could reach it under the
// alias keyServerAlias. Forged tokens point their jku/x5u headers at it; the suite proves
// from its request log that the backend never fetched them.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/internal/redact"
)

const (
	keyServerName  = "security-keyserver"
	keyServerAlias = "jwt-keyserver"
	keyServerPort  = 8080
)

var keyServerBuildTimeout = containers.Scaled(3 * time.Minute) // a cold go build of a small static binary

// keyServer is a client of the running key server.
type keyServer struct {
	// Public is the admin URL from the host; Internal the base URL on the stack's network.
	Public, Internal string
	// Started is how long building and starting it took.
	Started time.Duration
	hc      *http.Client
}

// keyRequest is one request the key server recorded (scenarios/keyserver Request).
type keyRequest struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Query      string    `json:"query"`
	Host       string    `json:"host"`
	RemoteAddr string    `json:"remote_addr"`
	UserAgent  string    `json:"user_agent"`
}

func (r keyRequest) String() string {
	return fmt.Sprintf("#%d %s %s (Host %s, from %s, User-Agent %q)", r.Seq, r.Method, redact.URLString(r.Path), r.Host, r.RemoteAddr, r.UserAgent)
}

// keyServerFor returns the process's key server, building and starting it on first use.
func keyServerFor(h *fixtures.T) (*keyServer, error) {
	h.T.Helper()
	return keyServerStart(h.World)
}

// keyServerStart starts the world's key server once (World.Once); later calls return it.
func keyServerStart(w *fixtures.World) (*keyServer, error) {
	v, err := w.Once("key server", func() (any, error) { return startSecKeyServer(w) })
	ks, _ := v.(*keyServer)
	return ks, err
}

func startSecKeyServer(w *fixtures.World) (*keyServer, error) {
	t0 := time.Now()
	root, err := filepath.Abs("..")
	if err != nil {
		return nil, err
	}
	dir, err := keyServerContext(filepath.Join(root, "scenarios", "keyserver"))
	if err != nil {
		return nil, err
	}
	if err := buildKeyServer(root, dir); err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(context.Background(), keyServerBuildTimeout)
	defer cancel()
	svc, err := w.Env.Stack.StartService(ctx, containers.ServiceSpec{
		Name: keyServerName, Alias: keyServerAlias,
		Build:         &containers.Build{Context: dir, Dockerfile: "Dockerfile"},
		ContainerPort: keyServerPort,
		ReadyPath:     "/_authflow/health", ReadyStatus: http.StatusOK, ReadyTimeout: 30 * time.Second,
	})
	if err != nil {
		return nil, fmt.Errorf("start the key server container: %w", err)
	}
	return &keyServer{
		Public:   svc.PublicURL,
		Internal: fmt.Sprintf("http://%s:%d", keyServerAlias, keyServerPort),
		Started:  time.Since(t0),
		hc:       &http.Client{Timeout: fixtures.RequestTimeout},
	}, nil
}

// keyServerContext is the key server image's build context: its Dockerfile and .dockerignore from
// src, in a folder of the user's cache, because the source may be a read-only module cache (an
// installed authflow). The image's content hash covers only those files and the binary, so where the
// folder lies changes nothing.
func keyServerContext(src string) (string, error) {
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "authflow", "keyserver")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	for _, name := range []string{"Dockerfile", ".dockerignore"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		if err != nil {
			return "", err
		}
		if old, err := os.ReadFile(filepath.Join(dir, name)); err == nil && bytes.Equal(old, b) {
			continue
		}
		tmp := filepath.Join(dir, name+".tmp-"+strconv.Itoa(os.Getpid()))
		if err := os.WriteFile(tmp, b, 0o644); err != nil {
			return "", err
		}
		if err := os.Rename(tmp, filepath.Join(dir, name)); err != nil {
			return "", err
		}
	}
	return dir, nil
}

// buildKeyServer builds the static binary the key server's FROM scratch image copies, as
// refapp/backend's is built (CGO_ENABLED=0, -trimpath: reproducible, so the image's content hash
// and the image itself are reused across runs).
func buildKeyServer(root, dir string) error {
	goBin, err := exec.LookPath("go")
	if err != nil {
		if gr := os.Getenv("GOROOT"); gr != "" {
			goBin = filepath.Join(gr, "bin", "go")
		} else {
			return fmt.Errorf("build the key server: no go command on PATH (needed to build scenarios/keyserver): %w", err)
		}
	}
	if err := os.MkdirAll(filepath.Join(dir, "bin"), 0o755); err != nil {
		return err
	}
	out := filepath.Join(dir, "bin", "keyserver")
	tmp := out + ".tmp-" + strconv.Itoa(os.Getpid())
	ctx, cancel := context.WithTimeout(context.Background(), keyServerBuildTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, goBin, "build", "-trimpath", "-o", tmp, "./scenarios/keyserver")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0", "GOOS=linux")
	if b, err := cmd.CombinedOutput(); err != nil {
		_ = os.Remove(tmp)
		return fmt.Errorf("build the key server (CGO_ENABLED=0 go build -trimpath -o %s ./scenarios/keyserver): %v\n%s", out, err, b)
	}
	return os.Rename(tmp, out)
}

// Put makes the key server answer GET path with body.
func (k *keyServer) Put(ctx context.Context, path, contentType string, body []byte) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, k.Public+"/_authflow/files/"+strings.TrimLeft(path, "/"), bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", contentType)
	resp, err := k.hc.Do(req)
	if err != nil {
		return fmt.Errorf("key server: put %s: %w", path, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusNoContent {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
		return fmt.Errorf("key server: put %s: %d %s", path, resp.StatusCode, b)
	}
	return nil
}

// Requests returns the requests recorded after seq since, and the seq to pass next time.
func (k *keyServer) Requests(ctx context.Context, since int64) ([]keyRequest, int64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, k.Public+"/_authflow/requests?since="+strconv.FormatInt(since, 10), nil)
	if err != nil {
		return nil, since, err
	}
	resp, err := k.hc.Do(req)
	if err != nil {
		return nil, since, fmt.Errorf("key server: list requests: %w", err)
	}
	defer resp.Body.Close()
	var out struct {
		Next     int64        `json:"next"`
		Requests []keyRequest `json:"requests"`
	}
	if resp.StatusCode != http.StatusOK {
		return nil, since, fmt.Errorf("key server: list requests: status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, since, fmt.Errorf("key server: list requests: %w", err)
	}
	return out.Requests, out.Next, nil
}

// SelfFetch makes the key server GET target from inside its container (over the stack's
// network when target names its alias) and returns the status it got.
func (k *keyServer) SelfFetch(ctx context.Context, target string) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, k.Public+"/_authflow/fetch?url="+url.QueryEscape(target), nil)
	if err != nil {
		return 0, err
	}
	resp, err := k.hc.Do(req)
	if err != nil {
		return 0, fmt.Errorf("key server: self-fetch: %w", err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(io.LimitReader(resp.Body, 1000))
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("key server: self-fetch %s: %d %s", target, resp.StatusCode, b)
	}
	var r struct {
		Status int `json:"status"`
	}
	if err := json.Unmarshal(b, &r); err != nil {
		return 0, fmt.Errorf("key server: self-fetch: %w", err)
	}
	return r.Status, nil
}
