package chatkit

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func (e *testEnv) do(method, path string, headers map[string]string) (*http.Response, string) {
	e.t.Helper()
	req, err := http.NewRequest(method, e.srv.URL+path, nil)
	require.NoError(e.t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	if path == "/chatkit" {
		e.requests.Add(1)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(e.t, err)
	return resp, string(b)
}

func TestHealthAndRouting(t *testing.T) {
	e := newEnv(t, hsConfig(), nil)
	resp, body := e.do(http.MethodGet, "/health", nil)
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, `{"status":"ok"}`, body)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))

	for _, m := range []string{http.MethodGet, http.MethodPut, http.MethodDelete, http.MethodPatch} {
		resp, body = e.do(m, "/chatkit", map[string]string{"Authorization": "Bearer " + userToken(t, "u")})
		assert.Equal(t, http.StatusMethodNotAllowed, resp.StatusCode, m)
		assert.Equal(t, `{"error":"Method not allowed"}`, body)
		assert.Equal(t, "POST, OPTIONS", resp.Header.Get("Allow"))
	}
	resp, body = e.do(http.MethodGet, "/nope", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
	assert.Equal(t, `{"error":"Not found"}`, body)
}

func TestCORS(t *testing.T) {
	const origin = "http://app.test:3000"
	preflight := map[string]string{
		"Origin":                         origin,
		"Access-Control-Request-Method":  "POST",
		"Access-Control-Request-Headers": "authorization,content-type,chatkit-frame-instance-id",
	}
	t.Run("preflight allowed origin", func(t *testing.T) {
		e := newEnv(t, hsConfig(), nil)
		resp, body := e.do(http.MethodOptions, "/chatkit", preflight) // no Authorization: preflights are not authenticated
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		assert.Empty(t, body)
		assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
		assert.Equal(t, "POST", resp.Header.Get("Access-Control-Allow-Methods"))
		assert.Equal(t, "Authorization, Content-Type, Accept-Language, chatkit-frame-instance-id",
			resp.Header.Get("Access-Control-Allow-Headers"))
		assert.Equal(t, "600", resp.Header.Get("Access-Control-Max-Age"))
		assert.Contains(t, resp.Header.Values("Vary"), "Origin")
		assert.Contains(t, e.settledLogs(), "OPTIONS /chatkit type=- user=- status=204")
	})
	t.Run("preflight other origin", func(t *testing.T) {
		e := newEnv(t, hsConfig(), nil)
		h := map[string]string{"Origin": "http://evil.test", "Access-Control-Request-Method": "POST"}
		resp, _ := e.do(http.MethodOptions, "/chatkit", h)
		assert.Equal(t, http.StatusForbidden, resp.StatusCode)
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Headers"))
	})
	t.Run("trailing slash and wildcard config", func(t *testing.T) {
		cfg := hsConfig()
		cfg.CORSOrigins = ParseOrigins(" http://app.test:3000/ , http://other.test ")
		assert.Equal(t, []string{"http://app.test:3000", "http://other.test"}, cfg.CORSOrigins)
		e := newEnv(t, cfg, nil)
		resp, _ := e.do(http.MethodOptions, "/chatkit", preflight)
		assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))

		cfg.CORSOrigins = []string{"*"}
		e = newEnv(t, cfg, nil)
		resp, _ = e.do(http.MethodOptions, "/chatkit", map[string]string{"Origin": "http://any.test"})
		assert.Equal(t, "http://any.test", resp.Header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("actual responses carry allow-origin, also 401", func(t *testing.T) {
		e := newEnv(t, hsConfig(), nil)
		for _, auth := range []string{"", "Bearer " + userToken(t, "u1"), "Bearer broken"} {
			req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/chatkit", strings.NewReader(authProbe))
			require.NoError(t, err)
			req.Header.Set("Origin", origin)
			if auth != "" {
				req.Header.Set("Authorization", auth)
			}
			resp, err := http.DefaultClient.Do(req)
			require.NoError(t, err)
			resp.Body.Close()
			assert.Equal(t, origin, resp.Header.Get("Access-Control-Allow-Origin"))
			assert.Contains(t, resp.Header.Values("Vary"), "Origin")
		}
		req, _ := http.NewRequest(http.MethodPost, e.srv.URL+"/chatkit", strings.NewReader(authProbe))
		req.Header.Set("Origin", "http://evil.test")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"))
	})
	t.Run("fault cors-no-authorization", func(t *testing.T) {
		e := newEnv(t, hsConfig(FaultCORSNoAuthorization), nil)
		resp, _ := e.do(http.MethodOptions, "/chatkit", preflight)
		assert.Equal(t, http.StatusNoContent, resp.StatusCode)
		allow := resp.Header.Get("Access-Control-Allow-Headers")
		assert.NotContains(t, strings.ToLower(allow), "authorization")
		assert.Contains(t, allow, "Content-Type")
		assert.Contains(t, allow, "chatkit-frame-instance-id")
	})
}

func TestRequestValidation(t *testing.T) {
	e := newEnv(t, hsConfig(), nil) // every case is answered before the database is touched
	tok := userToken(t, "validator")
	noAttach := map[string]any{"content": []any{}, "inference_options": map[string]any{}}
	noOpts := map[string]any{"content": []any{}, "attachments": []any{}}
	noContent := map[string]any{"attachments": []any{}, "inference_options": map[string]any{}}
	withAttach := msgInput("x")
	withAttach["attachments"] = []any{"atc_1"}
	badPart := msgInput("x")
	badPart["content"] = []any{map[string]any{"type": "image", "text": "x"}}
	cases := []struct {
		name string
		body any
		want string
	}{
		{"malformed JSON", `{"type":`, "Malformed JSON body"},
		{"empty body", ``, "Malformed JSON body"},
		{"array body", `[1,2]`, "Request body must be a JSON object"},
		{"null body", `null`, "Request body must be a JSON object"},
		{"missing type", `{"params":{}}`, "Missing required field: type"},
		{"type not a string", `{"type":5,"params":{}}`, "Invalid field type: must be a string"},
		{"unknown type", `{"type":"threads.explode","params":{}}`, "Unknown request type: threads.explode"},
		{"unsupported protocol type", `{"type":"items.feedback","params":{}}`, "Unsupported request type: items.feedback"},
		{"missing params", `{"type":"threads.list"}`, "Missing required field: params"},
		{"null params", `{"type":"threads.list","params":null}`, "Missing required field: params"},
		{"params not an object", `{"type":"threads.list","params":[]}`, "Invalid field params: must be an object"},
		{"create without input", typed("threads.create", map[string]any{}), "Missing required field: params.input"},
		{"create without content", typed("threads.create", map[string]any{"input": noContent}), "Missing required field: params.input.content"},
		{"create without attachments", typed("threads.create", map[string]any{"input": noAttach}), "Missing required field: params.input.attachments"},
		{"create without inference_options", typed("threads.create", map[string]any{"input": noOpts}), "Missing required field: params.input.inference_options"},
		{"create with attachments", typed("threads.create", map[string]any{"input": withAttach}), "Attachments are not supported: params.input.attachments must be empty"},
		{"create with unknown part", typed("threads.create", map[string]any{"input": badPart}), `Invalid field params.input.content[0].type: must be "input_text" or "input_tag"`},
		{"add without thread_id", typed("threads.add_user_message", map[string]any{"input": msgInput("x")}), "Missing required field: params.thread_id"},
		{"add without input", typed("threads.add_user_message", map[string]any{"thread_id": "thr_1"}), "Missing required field: params.input"},
		{"get without thread_id", typed("threads.get_by_id", map[string]any{}), "Missing required field: params.thread_id"},
		{"get with numeric thread_id", typed("threads.get_by_id", map[string]any{"thread_id": 7}), "Invalid field params.thread_id: expected a string"},
		{"items without thread_id", typed("items.list", map[string]any{}), "Missing required field: params.thread_id"},
		{"update without thread_id", typed("threads.update", map[string]any{"title": "x"}), "Missing required field: params.thread_id"},
		{"update without title", typed("threads.update", map[string]any{"thread_id": "thr_1"}), "Missing required field: params.title"},
		{"delete without thread_id", typed("threads.delete", map[string]any{}), "Missing required field: params.thread_id"},
		{"negative limit", typed("threads.list", map[string]any{"limit": -1}), "Invalid field params.limit: must not be negative"},
		{"limit not a number", typed("threads.list", map[string]any{"limit": "ten"}), "Invalid field params.limit: expected an integer"},
		{"bad order", typed("threads.list", map[string]any{"order": "sideways"}), `Invalid field params.order: must be "asc" or "desc"`},
		{"items bad order", typed("items.list", map[string]any{"thread_id": "thr_1", "order": "up"}), `Invalid field params.order: must be "asc" or "desc"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e.t = t
			got := e.call(tok, c.body, http.StatusBadRequest)
			assert.Equal(t, map[string]any{"error": c.want}, got)
		})
	}
	e.t = t
	big := `{"type":"threads.list","params":{},"pad":"` + strings.Repeat("x", maxBodyBytes) + `"}`
	status, _, body := e.rawCall(tok, big)
	assert.Equal(t, http.StatusRequestEntityTooLarge, status)
	assert.Equal(t, `{"error":"Request body too large"}`, body)
}

// Fault switches that act on authentication (the database-backed faults are in postgres_test.go).
func TestAuthFaults(t *testing.T) {
	expired := func(sub string) jwt.MapClaims {
		c := appClaims(sub)
		c["iat"] = time.Now().Add(-2 * time.Hour).Unix()
		c["exp"] = time.Now().Add(-time.Hour).Unix()
		return c
	}
	forged := func(sub string) string { return hsToken(t, "attacker-secret-0123456789abcdef", appClaims(sub)) }
	none := func(alg string, c jwt.MapClaims) string {
		return unsignedToken(map[string]any{"alg": alg, "typ": "JWT"}, c)
	}

	t.Run("baseline without faults", func(t *testing.T) {
		e := newEnv(t, hsConfig(), nil)
		e.requireAccepted(userToken(t, "u"))
		e.requireRejected(forged("u"))
		e.requireRejected(hsToken(t, testSecret, expired("u")))
		e.requireRejected(none("none", appClaims("u")))
	})
	t.Run("secret-mismatch", func(t *testing.T) {
		e := newEnv(t, hsConfig(FaultSecretMismatch), nil)
		e.requireRejected(userToken(t, "u")) // the web signs with testSecret: every real token fails
	})
	t.Run("skip-signature-check", func(t *testing.T) {
		e := newEnv(t, hsConfig(FaultSkipSignatureCheck), nil)
		e.requireAccepted(forged("victim"))
		e.requireAccepted(userToken(t, "u"))
		e.requireRejected(hsToken(t, "attacker-secret-0123456789abcdef", expired("victim"))) // claims still checked
		c := appClaims("victim")
		delete(c, "exp")
		e.requireRejected(forged("") /* empty sub */)
		e.requireRejected(hsToken(t, "x", c))
		assert.Contains(t, e.settledLogs(), "JWT validation successful for user victim")
	})
	t.Run("skip-signature-check jwks", func(t *testing.T) {
		j := newJWKSServer(t)
		j.addKey(t, "key-1")
		e := newEnv(t, jwksConfig(j.URL, FaultSkipSignatureCheck), nil)
		e.requireAccepted(hsToken(t, "whatever", jwtClaims("victim")))
		bad := jwtClaims("victim")
		bad["iss"] = "http://evil.test"
		e.requireRejected(hsToken(t, "whatever", bad)) // iss still checked
	})
	t.Run("accept-alg-none", func(t *testing.T) {
		e := newEnv(t, hsConfig(FaultAcceptAlgNone), nil)
		for _, alg := range []string{"none", "None", "NONE", "nOnE"} {
			e.requireAccepted(none(alg, appClaims("victim")))
		}
		e.requireRejected(none("none", expired("victim")))                    // claims still checked
		e.requireRejected(none("none", appClaims("victim")) + "c2lnbmF0dXJl") // none with a signature
		e.requireRejected(forged("victim"))                                   // signatures still verified otherwise
		e.requireAccepted(userToken(t, "u"))
	})
	t.Run("accept-alg-none jwks", func(t *testing.T) {
		j := newJWKSServer(t)
		j.addKey(t, "key-1")
		e := newEnv(t, jwksConfig(j.URL, FaultAcceptAlgNone), nil)
		e.requireAccepted(none("none", jwtClaims("victim")))
		e.requireRejected(none("none", appClaims("victim"))) // no iss/aud
	})
	t.Run("ignore-expiry", func(t *testing.T) {
		e := newEnv(t, hsConfig(FaultIgnoreExpiry), nil)
		e.requireAccepted(hsToken(t, testSecret, expired("u")))
		noExp := appClaims("u")
		delete(noExp, "exp")
		e.requireAccepted(hsToken(t, testSecret, noExp))
		e.requireRejected(hsToken(t, "attacker-secret-0123456789abcdef", expired("u"))) // signature still verified
		e.requireRejected(none("none", expired("u")))
	})
	t.Run("web faults and unknown names are ignored", func(t *testing.T) {
		f, unknown := ParseFaults(" no-auth-header, SLOW-REPLY ,chat-init-broken,,bogus-fault")
		assert.Equal(t, Faults{FaultSlowReply: true}, f)
		assert.Equal(t, []string{"bogus-fault"}, unknown)
		assert.Equal(t, []string{FaultSlowReply}, f.Names())
	})
}

func TestConfigFromEnv(t *testing.T) {
	env := func(m map[string]string) func(string) string { return func(k string) string { return m[k] } }
	cfg, unknown, err := ConfigFromEnv(env(map[string]string{
		"BETTER_AUTH_SECRET": "s", "CORS_ORIGINS": "http://a:1,http://b:2/", "AUTHFLOW_FAULT": "ignore-expiry,no-token-route",
	}))
	require.NoError(t, err)
	assert.Empty(t, unknown)
	assert.Equal(t, ModeHS256, cfg.TokenMode)
	assert.Equal(t, []string{"http://a:1", "http://b:2"}, cfg.CORSOrigins)
	assert.Equal(t, Faults{FaultIgnoreExpiry: true}, cfg.Faults)

	_, _, err = ConfigFromEnv(env(map[string]string{"TOKEN_MODE": "jwks", "JWKS_URL": "http://web:3000/api/auth/jwks"}))
	assert.ErrorContains(t, err, "JWT_ISSUER is required")

	cfg, _, err = ConfigFromEnv(env(map[string]string{"TOKEN_MODE": "JWKS", "JWKS_URL": "http://w/jwks",
		"JWT_ISSUER": "http://x", "JWT_AUDIENCE": "http://x"}))
	require.NoError(t, err)
	assert.Equal(t, ModeJWKS, cfg.TokenMode)

	cfg, _, err = ConfigFromEnv(env(map[string]string{"BETTER_AUTH_SECRET": "s", "ASSISTANT_TASKS": "off"}))
	require.NoError(t, err)
	assert.True(t, cfg.NoTasks)
	_, _, err = ConfigFromEnv(env(map[string]string{"BETTER_AUTH_SECRET": "s", "ASSISTANT_TASKS": "maybe"}))
	assert.ErrorContains(t, err, "ASSISTANT_TASKS must be on or off")

	var c Config
	c.setDefaults()
	assert.Equal(t, 6*time.Second, c.SlowReplyDelay, "slow-reply waits 6 s by default")
	assert.Equal(t, 5*time.Second, c.JWKSRefreshMinimum)
}

// Without tasks (ASSISTANT_TASKS=off) a task command is a plain message: no task, a quoting reply.
func TestAssistantReply_WithoutTasksTaskCommandsArePlainMessages(t *testing.T) {
	got, err := assistantReply(context.Background(), nil, "u1", "add task buy milk", "")
	require.NoError(t, err)
	assert.Equal(t, `You said "add task buy milk". This is the first message in this thread.`, got)
	got, err = assistantReply(context.Background(), nil, "u1", "list tasks", "remember 42")
	require.NoError(t, err)
	assert.Contains(t, got, `Before that you said "remember 42"`, "it keeps the thread's context")
	assert.NotContains(t, got, "add task", "no help about tasks it does not have")
}

func TestSplitDeltasAndTitles(t *testing.T) {
	for _, text := range []string{
		"Hi",
		"You have no tasks.",
		"Added task \"buy milk\".",
		"Your tasks:\n1. buy milk\n2. call mom (done)",
		strings.Repeat("word ", 100),
		"ünïcödé ✓ text",
	} {
		parts := splitDeltas(text)
		assert.Equal(t, text, strings.Join(parts, ""), "deltas must concatenate to the text")
		if len([]rune(text)) >= 3 {
			assert.GreaterOrEqual(t, len(parts), 3, "%q", text)
		}
		assert.LessOrEqual(t, len(parts), 24)
		for _, p := range parts {
			assert.NotEmpty(t, p)
		}
	}
	assert.Equal(t, "Plan my trip", titleFrom("  Plan   my\ntrip "))
	long := titleFrom(strings.Repeat("abcdefghij", 10))
	assert.Equal(t, 60, len([]rune(long)))
	assert.True(t, strings.HasSuffix(long, "…"))
	assert.Equal(t, "", titleFrom("   "))
}

func TestTimestampFormat(t *testing.T) {
	ts := time.Date(2026, 5, 20, 10, 15, 30, 123456789, time.FixedZone("x", 7200))
	b, err := Timestamp(ts).MarshalJSON()
	require.NoError(t, err)
	assert.Equal(t, `"2026-05-20T08:15:30.123456Z"`, string(b))
	b, _ = Timestamp(time.Date(2026, 5, 20, 10, 15, 30, 0, time.UTC)).MarshalJSON()
	assert.Equal(t, `"2026-05-20T10:15:30Z"`, string(b))
	assert.Regexp(t, `^thr_[0-9a-f]{16}$`, newID("thr"))
}
