package chatkit

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"
)

func TestMain(m *testing.M) {
	// Must happen before the first testcontainers call (its configuration is read once).
	setDefaultEnv("TESTCONTAINERS_RYUK_DISABLED", "true")      // the ryuk image cannot be pulled offline
	setDefaultEnv("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1") // /.dockerenv on the CI VM -> wrong host otherwise
	os.Exit(m.Run())
}

func setDefaultEnv(k, v string) {
	if _, ok := os.LookupEnv(k); !ok {
		os.Setenv(k, v)
	}
}

const (
	testSecret = "authflow-test-secret-0123456789abcdef0123456789"
	testIssuer = "http://web.test:3000"
)

// ---- tokens ----

func appClaims(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub":   sub,
		"email": sub + "@example.test",
		"name":  "User " + sub,
		"iat":   now.Unix(),
		"exp":   now.Add(30 * time.Minute).Unix(),
		"type":  "access",
	}
}

func hsToken(t testing.TB, secret string, claims jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims).SignedString([]byte(secret))
	require.NoError(t, err)
	return s
}

func userToken(t testing.TB, sub string) string { return hsToken(t, testSecret, appClaims(sub)) }

func b64(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// unsignedToken builds header.claims. with an empty signature (alg none and friends).
func unsignedToken(header map[string]any, claims jwt.MapClaims) string {
	return b64(header) + "." + b64(claims) + "."
}

// jwtClaims are what Better Auth's jwt plugin puts into its EdDSA tokens.
func jwtClaims(sub string) jwt.MapClaims {
	now := time.Now()
	return jwt.MapClaims{
		"sub": sub, "id": sub, "email": sub + "@example.test", "name": "User " + sub, "emailVerified": false,
		"iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(), "iss": testIssuer, "aud": testIssuer,
	}
}

func edToken(t testing.TB, priv ed25519.PrivateKey, kid string, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, claims)
	delete(tok.Header, "typ") // Better Auth sends {"alg":"EdDSA","kid":...}
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(priv)
	require.NoError(t, err)
	return s
}

// ---- JWKS server ----

type jwksServer struct {
	*httptest.Server
	mu      sync.Mutex
	keys    []map[string]string
	fetches atomic.Int32
	fail    atomic.Bool // answer 502
}

func newJWKSServer(t testing.TB) *jwksServer {
	j := &jwksServer{}
	j.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.fetches.Add(1)
		if j.fail.Load() {
			http.Error(w, "down", http.StatusBadGateway)
			return
		}
		j.mu.Lock()
		body, _ := json.Marshal(map[string]any{"keys": j.keys})
		j.mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write(body)
	}))
	t.Cleanup(j.Close)
	return j
}

// addKey publishes a new Ed25519 key under kid (as Better Auth does: kty OKP, crv Ed25519, alg EdDSA).
func (j *jwksServer) addKey(t testing.TB, kid string) ed25519.PrivateKey {
	t.Helper()
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	j.addRaw(map[string]string{
		"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "kid": kid,
		"x": base64.RawURLEncoding.EncodeToString(pub),
	})
	return priv
}

func (j *jwksServer) addRaw(k map[string]string) {
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys = append(j.keys, k)
}

// ---- handler under test ----

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

type testEnv struct {
	t        *testing.T
	srv      *httptest.Server
	logs     *syncBuffer
	store    *Store
	requests atomic.Int64 // /chatkit requests sent, for settledLogs
}

// settledLogs returns the handler log once every /chatkit request sent so far has logged its line
// (the line is written when the handler returns, which can be just after the client got the body).
func (e *testEnv) settledLogs() string {
	e.t.Helper()
	var out string
	require.Eventually(e.t, func() bool {
		out = e.logs.String()
		return int64(strings.Count(out, " /chatkit type=")) >= e.requests.Load()
	}, 5*time.Second, 5*time.Millisecond, "request log lines missing:\n%s", e.logs.String())
	return out
}

func hsConfig(faults ...string) Config {
	f, _ := ParseFaults(strings.Join(faults, ","))
	return Config{TokenMode: ModeHS256, Secret: testSecret, Faults: f, CORSOrigins: []string{"http://app.test:3000"},
		DeltaDelay: -1}
}

func jwksConfig(url string, faults ...string) Config {
	f, _ := ParseFaults(strings.Join(faults, ","))
	return Config{TokenMode: ModeJWKS, JWKSURL: url, Issuer: testIssuer, Audience: testIssuer, Faults: f,
		CORSOrigins: []string{"http://app.test:3000"}, DeltaDelay: -1}
}

// newEnv serves the handler over a real HTTP server (streams are flushed through a real socket).
// store may be nil for tests that never pass authentication or validation.
func newEnv(t *testing.T, cfg Config, store *Store) *testEnv {
	t.Helper()
	logs := &syncBuffer{}
	cfg.Logger = log.New(logs, "", 0)
	h, err := New(cfg, store)
	require.NoError(t, err)
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("handler log:\n%s", logs.String())
		}
	})
	return &testEnv{t: t, srv: srv, logs: logs, store: store}
}

// post sends a /chatkit request; token "" sends no Authorization header.
func (e *testEnv) post(token string, body any) *http.Response {
	e.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, err := json.Marshal(b)
		require.NoError(e.t, err)
		rd = bytes.NewReader(raw)
	}
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/chatkit", rd)
	require.NoError(e.t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream, application/json")
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	e.requests.Add(1)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	e.t.Cleanup(func() { resp.Body.Close() })
	return resp
}

// call posts and decodes a JSON answer, requiring the status.
func (e *testEnv) call(token string, body any, status int) map[string]any {
	e.t.Helper()
	resp := e.post(token, body)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	require.Equal(e.t, status, resp.StatusCode, "body: %s", raw)
	require.Equal(e.t, "application/json", resp.Header.Get("Content-Type"))
	var out map[string]any
	require.NoError(e.t, json.Unmarshal(raw, &out), "body: %s", raw)
	return out
}

// rawCall posts and returns status and body bytes.
func (e *testEnv) rawCall(token string, body any) (int, http.Header, string) {
	e.t.Helper()
	resp := e.post(token, body)
	raw, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp.StatusCode, resp.Header, string(raw)
}

// ---- SSE ----

type sseEvent struct {
	Raw  string
	Data map[string]any
	At   time.Time
}

func (ev sseEvent) typ() string { s, _ := ev.Data["type"].(string); return s }

// updateType is the update.type of a thread.item.updated event.
func (ev sseEvent) updateType() string {
	u, _ := ev.Data["update"].(map[string]any)
	s, _ := u["type"].(string)
	return s
}

// readSSE reads a whole stream, checking the exact framing: every event is "data: <json>\n\n"
// with nothing else, and the body ends right after the last event.
func readSSE(t testing.TB, resp *http.Response) []sseEvent {
	t.Helper()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	br := bufio.NewReader(resp.Body)
	var events []sseEvent
	for {
		line, err := br.ReadString('\n')
		if err == io.EOF {
			require.Empty(t, line, "stream must end after a complete event")
			return events
		}
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(line, "data: "), "unexpected SSE line %q", line)
		payload := strings.TrimSuffix(strings.TrimPrefix(line, "data: "), "\n")
		blank, err := br.ReadString('\n')
		require.NoError(t, err)
		require.Equal(t, "\n", blank, "each event must be followed by one blank line")
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(payload), &m), "event %q", payload)
		compact := &bytes.Buffer{}
		require.NoError(t, json.Compact(compact, []byte(payload)))
		require.Equal(t, compact.String(), payload, "event JSON must be compact")
		events = append(events, sseEvent{Raw: payload, Data: m, At: time.Now()})
	}
}

func eventTypes(events []sseEvent) []string {
	var out []string
	for _, ev := range events {
		if ev.typ() == "thread.item.updated" {
			out = append(out, "updated:"+strings.TrimPrefix(ev.updateType(), "assistant_message.content_part."))
		} else {
			out = append(out, ev.typ())
		}
	}
	return out
}

// ---- request bodies ----

func msgInput(text string) map[string]any {
	return map[string]any{
		"content":           []any{map[string]any{"type": "input_text", "text": text}},
		"attachments":       []any{},
		"inference_options": map[string]any{},
	}
}

func createReq(text string) map[string]any {
	return map[string]any{"type": "threads.create", "params": map[string]any{"input": msgInput(text)}}
}

func addReq(threadID, text string) map[string]any {
	return map[string]any{"type": "threads.add_user_message",
		"params": map[string]any{"thread_id": threadID, "input": msgInput(text)}}
}

func typed(typ string, params map[string]any) map[string]any {
	return map[string]any{"type": typ, "params": params}
}

// turn runs a streaming request and returns its events.
func (e *testEnv) turn(token string, body any) []sseEvent {
	e.t.Helper()
	return readSSE(e.t, e.post(token, body))
}

// newThread creates a thread with a first message and returns its id.
func (e *testEnv) newThread(token, text string) string {
	e.t.Helper()
	events := e.turn(token, createReq(text))
	require.NotEmpty(e.t, events)
	require.Equal(e.t, "thread.created", events[0].typ())
	id := events[0].Data["thread"].(map[string]any)["id"].(string)
	return id
}

// assistantText returns the text of the final assistant thread.item.done.
func assistantText(t testing.TB, events []sseEvent) string {
	t.Helper()
	for i := len(events) - 1; i >= 0; i-- {
		ev := events[i]
		if ev.typ() != "thread.item.done" {
			continue
		}
		item := ev.Data["item"].(map[string]any)
		if item["type"] != "assistant_message" {
			continue
		}
		content := item["content"].([]any)
		require.Len(t, content, 1)
		return content[0].(map[string]any)["text"].(string)
	}
	t.Fatalf("no assistant thread.item.done in %v", eventTypes(events))
	return ""
}

var userSeq atomic.Int64

// newUser returns a fresh user id, so DB subtests do not see each other's data.
func newUser(prefix string) string {
	return fmt.Sprintf("%s-%d-%d", prefix, time.Now().UnixNano(), userSeq.Add(1))
}

// ctxT is a context bounded by the test.
func ctxT(t testing.TB) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return ctx
}
