package chatkit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	bodyMissing = `{"error":"Missing Authorization header"}`
	bodyInvalid = `{"error":"Invalid authentication credentials"}`
)

// authProbe is a request without params: an accepted token gets 400 (validation), which proves
// authentication passed without needing the database.
var authProbe = `{"type":"threads.list"}`

const bodyAuthPassed = `{"error":"Missing required field: params"}`

// requireAccepted checks the token got past authentication (400 from validation, not 401).
func (e *testEnv) requireAccepted(token string) {
	e.t.Helper()
	status, _, body := e.rawCall(token, authProbe)
	require.Equal(e.t, http.StatusBadRequest, status, "token should be accepted, got %s", body)
	require.Equal(e.t, bodyAuthPassed, body)
}

// requireRejected checks a 401 with the exact invalid-credentials body and WWW-Authenticate.
func (e *testEnv) requireRejected(token string) {
	e.t.Helper()
	status, h, body := e.rawCall(token, authProbe)
	require.Equal(e.t, http.StatusUnauthorized, status, "token should be rejected, got %s", body)
	require.Equal(e.t, bodyInvalid, body)
	require.Equal(e.t, "Bearer", h.Get("WWW-Authenticate"))
}

func TestAuthMissingHeader(t *testing.T) {
	e := newEnv(t, hsConfig(), nil)
	for _, typ := range []string{"threads.create", "threads.list", "threads.get_by_id", "nonsense"} {
		status, h, body := e.rawCall("", `{"type":"`+typ+`","params":{}}`)
		assert.Equal(t, http.StatusUnauthorized, status, typ)
		assert.Equal(t, bodyMissing, body, typ)
		assert.Equal(t, "Bearer", h.Get("WWW-Authenticate"))
		assert.Equal(t, "application/json", h.Get("Content-Type"))
	}
	assert.Contains(t, e.settledLogs(), "status=401")
	assert.Contains(t, e.settledLogs(), "JWT validation failed: missing Authorization header")
}

func TestAuthHS256Accepts(t *testing.T) {
	e := newEnv(t, hsConfig(), nil)
	tok := userToken(t, "user-ok")
	e.requireAccepted(tok)
	// lowercase scheme and real-app header without typ
	status, _, body := e.rawCallHeader("bearer "+tok, authProbe)
	assert.Equal(t, http.StatusBadRequest, status, body)
	noTyp := jwt.NewWithClaims(jwt.SigningMethodHS256, appClaims("user-ok"))
	delete(noTyp.Header, "typ")
	s, err := noTyp.SignedString([]byte(testSecret))
	require.NoError(t, err)
	e.requireAccepted(s)

	logs := e.settledLogs()
	assert.Contains(t, logs, "JWT validation successful for user user-ok")
	assert.Contains(t, logs, "POST /chatkit type=threads.list user=user-ok status=400")
	assert.NotContains(t, logs, tok, "the token must never be logged")
	assert.NotContains(t, logs, s)
}

func (e *testEnv) rawCallHeader(authorization, body string) (int, http.Header, string) {
	e.t.Helper()
	req, err := http.NewRequest(http.MethodPost, e.srv.URL+"/chatkit", strings.NewReader(body))
	require.NoError(e.t, err)
	req.Header.Set("Authorization", authorization)
	e.requests.Add(1)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(e.t, err)
	defer resp.Body.Close()
	b := new(strings.Builder)
	_, _ = io.Copy(b, resp.Body)
	return resp.StatusCode, resp.Header, b.String()
}

func TestAuthHS256Rejects(t *testing.T) {
	e := newEnv(t, hsConfig(), nil)
	past := time.Now().Add(-time.Hour)
	with := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := appClaims("user-x")
		mod(c)
		return c
	}
	_, edPriv, _ := ed25519.GenerateKey(rand.Reader)
	hs512, err := jwt.NewWithClaims(jwt.SigningMethodHS512, appClaims("user-x")).SignedString([]byte(testSecret))
	require.NoError(t, err)
	valid := userToken(t, "user-x")
	parts := strings.Split(valid, ".")

	cases := map[string]string{
		"bad signature (other secret)": hsToken(t, "some-other-secret-0123456789abcdef", appClaims("user-x")),
		"tampered payload":             parts[0] + "." + b64(appClaims("admin")) + "." + parts[2],
		"signature stripped":           parts[0] + "." + parts[1] + ".",
		"expired":                      hsToken(t, testSecret, with(func(c jwt.MapClaims) { c["exp"] = past.Unix(); c["iat"] = past.Add(-time.Minute).Unix() })),
		"no exp":                       hsToken(t, testSecret, with(func(c jwt.MapClaims) { delete(c, "exp") })),
		"exp not a number":             hsToken(t, testSecret, with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" })),
		"nbf in the future":            hsToken(t, testSecret, with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })),
		"iat in the future":            hsToken(t, testSecret, with(func(c jwt.MapClaims) { c["iat"] = time.Now().Add(time.Hour).Unix() })),
		"no sub":                       hsToken(t, testSecret, with(func(c jwt.MapClaims) { delete(c, "sub") })),
		"empty sub":                    hsToken(t, testSecret, with(func(c jwt.MapClaims) { c["sub"] = "" })),
		"wrong alg HS512":              hs512,
		"wrong alg EdDSA":              edToken(t, edPriv, "k1", appClaims("user-x")),
		"alg none":                     unsignedToken(map[string]any{"alg": "none", "typ": "JWT"}, appClaims("user-x")),
		"alg None":                     unsignedToken(map[string]any{"alg": "None"}, appClaims("user-x")),
		"alg NONE":                     unsignedToken(map[string]any{"alg": "NONE"}, appClaims("user-x")),
		"alg nOnE":                     unsignedToken(map[string]any{"alg": "nOnE"}, appClaims("user-x")),
		"not an access token":          hsToken(t, testSecret, with(func(c jwt.MapClaims) { c["type"] = "refresh" })),
		"no type claim":                hsToken(t, testSecret, with(func(c jwt.MapClaims) { delete(c, "type") })),
		"unknown crit extension":       critToken(t, appClaims("user-x")),
		"garbage":                      "not-a-jwt",
		"two segments":                 parts[0] + "." + parts[1],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) { e.t = t; e.requireRejected(tok) })
	}
	e.t = t
	t.Run("not a bearer credential", func(t *testing.T) {
		status, h, body := e.rawCallHeader("Basic dXNlcjpwYXNz", authProbe)
		assert.Equal(t, http.StatusUnauthorized, status)
		assert.Equal(t, bodyInvalid, body)
		assert.Equal(t, "Bearer", h.Get("WWW-Authenticate"))
	})
	logs := e.settledLogs()
	for name, tok := range cases {
		assert.NotContains(t, logs, tok, "token of case %q leaked into the log", name)
	}
	assert.Contains(t, logs, "JWT validation failed: token is expired")
	assert.Contains(t, logs, "JWT validation failed: token has no exp claim")
	assert.NotContains(t, logs, "JWT validation successful")
}

func TestAuthJWKS(t *testing.T) {
	j := newJWKSServer(t)
	priv := j.addKey(t, "key-1")
	e := newEnv(t, jwksConfig(j.URL), nil)
	assert.Zero(t, j.fetches.Load(), "JWKS must be fetched lazily")

	e.requireAccepted(edToken(t, priv, "key-1", jwtClaims("user-ed")))
	assert.Contains(t, e.settledLogs(), "JWT validation successful for user user-ed")

	arrAud := jwtClaims("user-ed")
	arrAud["aud"] = []string{"other", testIssuer}
	e.requireAccepted(edToken(t, priv, "key-1", arrAud))
	require.EqualValues(t, 1, j.fetches.Load(), "JWKS must be cached")

	with := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := jwtClaims("user-ed")
		mod(c)
		return c
	}
	_, otherPriv, _ := ed25519.GenerateKey(rand.Reader)
	otherPub := otherPriv.Public().(ed25519.PublicKey)
	attacker := newJWKSServer(t)
	attackerPriv := attacker.addKey(t, "evil")

	jkuTok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwtClaims("victim"))
	jkuTok.Header["kid"] = "evil"
	jkuTok.Header["jku"] = attacker.URL
	jkuSigned, err := jkuTok.SignedString(attackerPriv)
	require.NoError(t, err)

	jwkTok := jwt.NewWithClaims(jwt.SigningMethodEdDSA, jwtClaims("victim"))
	jwkTok.Header["kid"] = "key-1"
	jwkTok.Header["jwk"] = map[string]string{"kty": "OKP", "crv": "Ed25519", "x": base64.RawURLEncoding.EncodeToString(otherPub)}
	jwkSigned, err := jwkTok.SignedString(otherPriv)
	require.NoError(t, err)

	cases := map[string]string{
		"wrong issuer":          edToken(t, priv, "key-1", with(func(c jwt.MapClaims) { c["iss"] = "http://evil.test" })),
		"no issuer":             edToken(t, priv, "key-1", with(func(c jwt.MapClaims) { delete(c, "iss") })),
		"wrong audience":        edToken(t, priv, "key-1", with(func(c jwt.MapClaims) { c["aud"] = "http://evil.test" })),
		"no audience":           edToken(t, priv, "key-1", with(func(c jwt.MapClaims) { delete(c, "aud") })),
		"expired":               edToken(t, priv, "key-1", with(func(c jwt.MapClaims) { c["exp"] = time.Now().Add(-time.Minute).Unix() })),
		"no exp":                edToken(t, priv, "key-1", with(func(c jwt.MapClaims) { delete(c, "exp") })),
		"nbf in the future":     edToken(t, priv, "key-1", with(func(c jwt.MapClaims) { c["nbf"] = time.Now().Add(time.Hour).Unix() })),
		"no sub":                edToken(t, priv, "key-1", with(func(c jwt.MapClaims) { delete(c, "sub") })),
		"signed by another key": edToken(t, otherPriv, "key-1", jwtClaims("user-ed")),
		"no kid":                edToken(t, priv, "", jwtClaims("user-ed")),
		"HS256 token":           hsToken(t, testSecret, jwtClaims("user-ed")),
		"alg none":              unsignedToken(map[string]any{"alg": "none", "kid": "key-1"}, jwtClaims("user-ed")),
		"jku header ignored":    jkuSigned,
		"embedded jwk ignored":  jwkSigned,
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) { e.t = t; e.requireRejected(tok) })
	}
	e.t = t
	assert.Zero(t, attacker.fetches.Load(), "a jku from the token must never be fetched")
	assert.Contains(t, e.settledLogs(), "JWT validation failed: token has the wrong issuer")
	assert.Contains(t, e.settledLogs(), "JWT validation failed: token has the wrong audience")
}

func TestJWKSUnknownKidRefresh(t *testing.T) {
	j := newJWKSServer(t)
	priv1 := j.addKey(t, "key-1")
	cfg := jwksConfig(j.URL)
	cfg.JWKSRefreshMinimum = time.Second
	e := newEnv(t, cfg, nil)

	e.requireAccepted(edToken(t, priv1, "key-1", jwtClaims("u1")))
	require.EqualValues(t, 1, j.fetches.Load())

	// A key published after the first fetch, asked for right away: the refresh is rate-limited.
	priv2 := j.addKey(t, "key-2")
	tok2 := edToken(t, priv2, "key-2", jwtClaims("u2"))
	e.requireRejected(tok2)
	require.EqualValues(t, 1, j.fetches.Load(), "no refresh within the minimum interval")

	// Once the interval has passed, the unknown kid triggers exactly one refresh and is accepted.
	time.Sleep(1050 * time.Millisecond)
	e.requireAccepted(tok2)
	require.EqualValues(t, 2, j.fetches.Load())
	e.requireAccepted(tok2)
	e.requireAccepted(edToken(t, priv1, "key-1", jwtClaims("u1")))
	require.EqualValues(t, 2, j.fetches.Load(), "known kids never refetch")

	// A flood of bogus kids causes at most one fetch per interval.
	time.Sleep(1050 * time.Millisecond)
	_, bogusPriv, _ := ed25519.GenerateKey(rand.Reader)
	var wg sync.WaitGroup
	for i := range 30 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok := edToken(t, bogusPriv, fmt.Sprintf("bogus-%d", i), jwtClaims("u3"))
			status, _, _ := e.rawCall(tok, authProbe)
			assert.Equal(t, http.StatusUnauthorized, status)
		}()
	}
	wg.Wait()
	require.EqualValues(t, 3, j.fetches.Load(), "30 bogus kids must cause exactly one refresh")
}

func TestJWKSDefaultRateLimitAndOutage(t *testing.T) {
	j := newJWKSServer(t)
	priv := j.addKey(t, "key-1")
	j.fail.Store(true)
	cfg := jwksConfig(j.URL)
	require.Zero(t, cfg.JWKSRefreshMinimum)
	e := newEnv(t, cfg, nil)
	tok := edToken(t, priv, "key-1", jwtClaims("u1"))
	e.requireRejected(tok) // JWKS down: 401, not 500
	for range 10 {
		e.requireRejected(tok)
	}
	assert.EqualValues(t, 1, j.fetches.Load(), "default: no more than one JWKS fetch per 5 s")
	assert.Contains(t, e.settledLogs(), "JWKS fetch failed: GET JWKS: status 502")
	j.fail.Store(false)
	e.requireRejected(tok) // still inside the 5 s window
	assert.EqualValues(t, 1, j.fetches.Load())
}

func TestParseJWKS(t *testing.T) {
	pub, _, _ := ed25519.GenerateKey(rand.Reader)
	x := base64.RawURLEncoding.EncodeToString(pub)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	n, e := base64.RawURLEncoding.EncodeToString(rsaKey.N.Bytes()), "AQAB"
	body := `{"keys":[
		{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"ok"},
		{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"ok-alg","alg":"EdDSA","use":"sig"},
		{"kty":"RSA","n":"` + n + `","e":"` + e + `","kid":"rsa-ok","alg":"RS256"},
		{"kty":"RSA","n":"` + n + `","e":"` + e + `","kid":"rsa-as-es","alg":"ES256"},
		{"kty":"OKP","crv":"X25519","x":"` + x + `","kid":"x25519"},
		{"kty":"RSA","n":"abc","e":"AQAB","kid":"rsa-short"},
		{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"enc","use":"enc"},
		{"kty":"OKP","crv":"Ed25519","x":"` + x + `","kid":"rs","alg":"RS256"},
		{"kty":"OKP","crv":"Ed25519","x":"AAAA","kid":"short"},
		{"kty":"OKP","crv":"Ed25519","x":"` + x + `"}
	]}`
	_, kids, err := parseJWKS(context.Background(), []byte(body))
	require.NoError(t, err)
	assert.Equal(t, map[string]bool{"ok": true, "ok-alg": true, "rsa-ok": true}, kids)
	_, _, err = parseJWKS(context.Background(), []byte(`not json`))
	assert.Error(t, err)
}

// TestAuthJWKSAlgorithms: every algorithm Better Auth's jwt plugin offers verifies, each only with the
// algorithm its key declares, and never as HMAC keyed with the public key.
func TestAuthJWKSAlgorithms(t *testing.T) {
	j := newJWKSServer(t)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	b64u := base64.RawURLEncoding.EncodeToString
	rsaJWK := func(kid, alg string) map[string]string {
		return map[string]string{"kty": "RSA", "kid": kid, "alg": alg, "n": b64u(rsaKey.N.Bytes()), "e": "AQAB"}
	}
	j.addRaw(rsaJWK("rs", "RS256"))
	j.addRaw(rsaJWK("ps", "PS256"))
	ecBytes, err := ecKey.PublicKey.Bytes()
	require.NoError(t, err)
	j.addRaw(map[string]string{"kty": "EC", "crv": "P-256", "kid": "es", "alg": "ES256", "x": b64u(ecBytes[1:33]), "y": b64u(ecBytes[33:])})
	edPriv := j.addKey(t, "ed")
	cfg := jwksConfig(j.URL)
	cfg.JWKSRefreshMinimum = time.Hour
	e := newEnv(t, cfg, nil)

	sign := func(m jwt.SigningMethod, key any, kid string) string {
		tok := jwt.NewWithClaims(m, jwtClaims("user-"+kid))
		tok.Header["kid"] = kid
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	for name, tok := range map[string]string{
		"RS256": sign(jwt.SigningMethodRS256, rsaKey, "rs"),
		"PS256": sign(jwt.SigningMethodPS256, rsaKey, "ps"),
		"ES256": sign(jwt.SigningMethodES256, ecKey, "es"),
		"EdDSA": edToken(t, edPriv, "ed", jwtClaims("user-ed")),
	} {
		t.Run("accepts "+name, func(t *testing.T) { e.t = t; e.requireAccepted(tok) })
	}
	for name, tok := range map[string]string{
		"PS256 under an RS256 key":    sign(jwt.SigningMethodPS256, rsaKey, "rs"),
		"RS512 under an RS256 key":    sign(jwt.SigningMethodRS512, rsaKey, "rs"),
		"HS256 keyed with the RSA n":  sign(jwt.SigningMethodHS256, rsaKey.N.Bytes(), "rs"),
		"EdDSA under the ES256 key":   edToken(t, edPriv, "es", jwtClaims("user-x")),
		"RS256 signed by another key": sign(jwt.SigningMethodRS256, mustRSA(t), "rs"),
	} {
		t.Run("rejects "+name, func(t *testing.T) { e.t = t; e.requireRejected(tok) })
	}
	e.t = t
	assert.EqualValues(t, 1, j.fetches.Load(), "one JWKS fetch serves every key")
}

func mustRSA(t *testing.T) *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	return k
}

func TestAuthBadModeConfig(t *testing.T) {
	_, err := New(Config{TokenMode: "rs256", Secret: "x"}, nil)
	assert.ErrorContains(t, err, "TOKEN_MODE")
	_, err = New(Config{TokenMode: ModeHS256}, nil)
	assert.ErrorContains(t, err, "BETTER_AUTH_SECRET")
	_, err = New(Config{TokenMode: ModeJWKS, JWKSURL: "http://x"}, nil)
	assert.ErrorContains(t, err, "JWT_ISSUER")
	assert.ErrorContains(t, err, "JWT_AUDIENCE")
}

// critToken is a validly signed HS256 token whose header names a critical extension.
func critToken(t *testing.T, claims jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, claims)
	tok.Header["crit"] = []string{"exp-ext"}
	tok.Header["exp-ext"] = true
	s, err := tok.SignedString([]byte(testSecret))
	require.NoError(t, err)
	return s
}
