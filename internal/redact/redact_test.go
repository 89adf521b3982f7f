package redact

import (
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	hsJWT   = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyXzEiLCJleHAiOjE5MDAwMDAwMDB9.c2lnbmF0dXJlLWJ5dGVzLWhlcmUtMzItYnl0ZXMhISE"
	noneJWT = "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.eyJzdWIiOiJ1c2VyXzEifQ."
	session = "Qm9ndXNTZXNzaW9uVG9rZW4xMjM0NTY3"
	cookie  = session + ".c2lnbmF0dXJl%2Fc2ln%3D"
)

func TestString_Rules(t *testing.T) {
	cases := []struct {
		name, in, want string
	}{
		{"jwt alone", hsJWT, MarkerJWT},
		{"jwt alg none", "tok " + noneJWT + " end", "tok " + MarkerJWT + " end"},
		{"bearer jwt", "Bearer " + hsJWT, "Bearer " + MarkerJWT},
		{"bearer opaque", "authorization=Bearer abc.def-123", "authorization=Bearer " + Marker},
		{"bearer lower case", "bearer opaque-token-value", "bearer " + Marker},
		{"basic", "Basic dXNlcjpwYXNz", "Basic " + Marker},
		{"header line", "Authorization: Token abc123\nX: y", "Authorization: Token " + Marker + "\nX: y"},
		{"set-auth-jwt header", "set-auth-jwt: " + hsJWT, "set-auth-jwt: " + Marker},
		{"session cookie", "better-auth.session_token=" + cookie + "; Path=/; HttpOnly",
			"better-auth.session_token=" + Marker + "; Path=/; HttpOnly"},
		{"secure cookie", "__Secure-better-auth.session_token=" + cookie, "__Secure-better-auth.session_token=" + Marker},
		{"session data cookie", "better-auth.session_data=abc; better-auth.dont_remember=true.sig",
			"better-auth.session_data=" + Marker + "; better-auth.dont_remember=" + Marker},
		{"json token", `{"token":"` + session + `","user":{"id":"u1"}}`, `{"token":"` + Marker + `","user":{"id":"u1"}}`},
		{"json token spaces", `{ "token" : "` + session + `" }`, `{ "token" : "` + Marker + `" }`},
		{"json token jwt", `{"token":"` + hsJWT + `"}`, `{"token":"` + MarkerJWT + `"}`},
		{"json password", `{"email":"a@b.test","password":"hunter2hunter2"}`, `{"email":"a@b.test","password":"` + Marker + `"}`},
		{"json escaped quote", `{"password":"a\"b\\c"}`, `{"password":"` + Marker + `"}`},
		{"json other token fields", `{"accessToken":"x1","session_token":"x2","newPassword":"x3","client_secret":"x4"}`,
			`{"accessToken":"` + Marker + `","session_token":"` + Marker + `","newPassword":"` + Marker + `","client_secret":"` + Marker + `"}`},
		{"json null token kept", `{"token":null,"password":""}`, `{"token":null,"password":""}`},
		{"query token", "/x?access_token=abc&limit=20", "/x?access_token=" + Marker + "&limit=20"},
		{"dsn password", "host=db user=app password=pw123 dbname=x", "host=db user=app password=" + Marker + " dbname=x"},
		{"plain text untouched", `{"message":"Invalid email or password","code":"INVALID_EMAIL_OR_PASSWORD"}`,
			`{"message":"Invalid email or password","code":"INVALID_EMAIL_OR_PASSWORD"}`},
		{"host names untouched", "http://localhost:41234/api/auth/sign-in/email www.example.com", "http://localhost:41234/api/auth/sign-in/email www.example.com"},
		{"token_type untouched", `{"token_type":"bearer"}`, `{"token_type":"bearer"}`},
		{"empty", "", ""},
	}
	for _, c := range cases {
		t.Run("case="+c.name, func(t *testing.T) {
			got := String(c.in)
			require.Equal(t, c.want, got)
			require.Equal(t, got, String(got), "redaction must be idempotent")
		})
	}
}

func TestExcerpt_RedactsBeforeTruncating(t *testing.T) {
	body := []byte(`{"token":"` + hsJWT + `"}` + "\n" + strings.Repeat("é", 400))
	got := Excerpt(body, 40)
	require.NotContains(t, got, "eyJ")
	require.NotContains(t, got, "\n")
	require.Contains(t, got, `\n`)
	require.Contains(t, got, "…(+")
	require.True(t, strings.HasPrefix(got, `{"token":"[REDACTED-JWT]"}`), got)

	// The cut never splits a rune.
	for i := 1; i < 10; i++ {
		e := Excerpt([]byte(strings.Repeat("é", 20)), i)
		before, _, _ := strings.Cut(e, "…")
		require.True(t, strings.Count(before, "é")*2 == len(before), "n=%d: %q", i, e)
	}

	// A JWT cut in half by a naive truncation is still removed.
	require.NotContains(t, Excerpt([]byte("xx "+hsJWT), 60), "eyJzdWIi")
	require.Equal(t, "short", Excerpt([]byte("short"), 0))
	big := Excerpt([]byte(strings.Repeat("a", 200<<10)), 10)
	require.Equal(t, "aaaaaaaaaa…(+204790 bytes)", big, "the count includes the part never redacted")
	require.LessOrEqual(t, len(Excerpt([]byte(strings.Repeat("a", 1000)), 0)), DefaultExcerpt+20)
}

func TestURL_RedactsQueryValuesAndPassword(t *testing.T) {
	u, err := url.Parse("http://user:pw@localhost:1234/api/auth/callback?token=abc&code=def&flag#frag")
	require.NoError(t, err)
	got := URL(u)
	require.Equal(t, "http://user:REDACTED@localhost:1234/api/auth/callback?token=[REDACTED]&code=[REDACTED]&flag", got)
	require.Equal(t, "http://localhost:1234/chatkit", URLString("http://localhost:1234/chatkit"))
	require.Equal(t, "", URL(nil))
	require.NotContains(t, URLString("postgres://app:s3cret@db:5432/app?sslmode=disable"), "s3cret")
}

func TestHeader_KeepsStructure(t *testing.T) {
	h := http.Header{
		"Authorization": {"Bearer " + hsJWT},
		"Cookie":        {"better-auth.session_token=" + cookie + "; theme=dark"},
		"Set-Cookie":    {"better-auth.session_token=" + cookie + "; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax"},
		"Set-Auth-Jwt":  {hsJWT},
		"Content-Type":  {"application/json"},
	}
	got := Header(h)
	require.Equal(t, "Bearer [REDACTED]", got.Get("Authorization"))
	require.Equal(t, "better-auth.session_token=[REDACTED]; theme=[REDACTED]", got.Get("Cookie"))
	require.Equal(t, "better-auth.session_token=[REDACTED]; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax", got.Get("Set-Cookie"))
	require.Equal(t, Marker, got.Get("Set-Auth-Jwt"))
	require.Equal(t, "application/json", got.Get("Content-Type"))
	require.Equal(t, "Bearer "+hsJWT, h.Get("Authorization"), "the input must not be modified")
	require.Equal(t, "Bearer", Header(http.Header{"Authorization": {"Bearer"}}).Get("Authorization"))
	require.Equal(t, Marker, Header(http.Header{"Authorization": {"rawtoken"}}).Get("Authorization"))
}

func TestRedactor_NoKnownSecretSurvives(t *testing.T) {
	const (
		password  = "Aa1!correct-horse-battery-staple"
		appSecret = "better-auth-secret-0123456789abcdef0123"
	)
	secrets := []string{password, appSecret, session, hsJWT, noneJWT, cookie}
	var r Redactor
	r.Add(password, appSecret, session, "ab") // "ab" is too short to register
	// Every place a secret turns up in practice.
	blob := strings.Join([]string{
		`POST /api/auth/sign-in/email {"email":"a@authflow.test","password":"` + password + `"}`,
		`200 {"redirect":false,"token":"` + session + `","user":{"id":"u1"}}`,
		"Set-Cookie: better-auth.session_token=" + cookie + "; Path=/; HttpOnly",
		"Cookie: __Secure-better-auth.session_token=" + cookie,
		"set-auth-jwt: " + hsJWT,
		"Authorization: Bearer " + hsJWT,
		"authorization=Bearer " + noneJWT,
		`{"token":"` + hsJWT + `","user":{"id":"u1"},"expiresAt":"2030-01-01T00:00:00Z"}`,
		"env BETTER_AUTH_SECRET=" + appSecret,
		"raw secret in a log line: " + appSecret,
		"raw password in a log line: " + password,
		"url-encoded: " + url.QueryEscape(password),
		"session token in a DB dump: " + session,
		"GET /chatkit?token=" + hsJWT,
	}, "\n")
	out := r.String(blob)
	for _, s := range secrets {
		assert.NotContains(t, out, s)
	}
	assert.NotContains(t, r.Excerpt([]byte(blob), 5000), password)
	assert.Contains(t, out, `"email":"a@authflow.test"`, "non-secrets stay readable")
	assert.Equal(t, "ab cd", r.String("ab cd"), "short values are not registered")

	// Without registration, the pattern rules alone still catch every structured secret.
	plain := String(blob)
	for _, s := range []string{hsJWT, noneJWT, cookie} {
		assert.NotContains(t, plain, s)
	}
	assert.NotContains(t, plain, `"password":"`+password)
	assert.NotContains(t, plain, `"token":"`+session)
}

func TestString_KeepsProseAboutBearerHeaders(t *testing.T) {
	assert.Equal(t, "request without an Authorization: Bearer header: Should be true",
		String("request without an Authorization: Bearer header: Should be true"))
	assert.NotContains(t, String("Authorization: Bearer abcdefgh12345"), "abcdefgh12345")
}
