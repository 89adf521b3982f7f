package betterauth_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

func newClient(t *testing.T, f *fakeAuth, mod ...func(*betterauth.Options)) *betterauth.Client {
	t.Helper()
	o := betterauth.Options{BaseURL: f.URL(), Timeout: 5 * time.Second}
	for _, m := range mod {
		m(&o)
	}
	c, err := betterauth.New(o)
	require.NoError(t, err)
	return c
}

func setup(t *testing.T, mode string) (*fakeAuth, *betterauth.Client, data.Persona) {
	t.Helper()
	f := newFakeAuth(mode)
	t.Cleanup(f.Close)
	return f, newClient(t, f), data.UserA()
}

func TestSignUp_ReturnsUserAndStartsASession(t *testing.T) {
	ctx := context.Background()
	f, c, p := setup(t, "hs256")

	u, err := c.SignUpAs(ctx, p)
	require.NoError(t, err)
	require.NotEmpty(t, u.ID)
	require.Equal(t, p.Email, u.Email)
	require.Equal(t, p.Name, u.Name)
	require.False(t, u.EmailVerified)
	require.WithinDuration(t, time.Now(), u.CreatedAt, time.Minute)

	s, err := c.GetSession(ctx)
	require.NoError(t, err)
	require.NotNil(t, s)
	require.Equal(t, u.ID, s.User.ID)
	require.Equal(t, u.ID, s.Session.UserID)
	require.Equal(t, betterauth.DefaultUserAgent, s.Session.UserAgent)
	require.WithinDuration(t, time.Now().Add(7*24*time.Hour), s.Session.ExpiresAt, time.Minute)
	require.False(t, s.JWT.IsZero(), "set-auth-jwt header is captured")
	require.NotContains(t, fmt.Sprintf("%+v", s), s.Session.Token.Value(), "the session token never prints")

	// Every POST carried the origin and a JSON content type.
	for _, r := range f.allRequests() {
		if r.Method == http.MethodPost {
			require.Equal(t, f.URL(), r.Header.Get("Origin"))
			require.Equal(t, "application/json", r.Header.Get("Content-Type"))
		}
	}
}

func TestSignUp_ErrorsCarryBetterAuthCodes(t *testing.T) {
	ctx := context.Background()
	_, c, p := setup(t, "hs256")
	_, err := c.SignUpAs(ctx, p)
	require.NoError(t, err)

	cases := []struct {
		name, email, password string
		status                int
		code                  string
	}{
		{"existing email", p.Email, p.Password.Value(), 422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"},
		{"short password", data.Unique("short"), "short", 400, "PASSWORD_TOO_SHORT"},
		{"bad email", "not-an-email", p.Password.Value(), 400, "VALIDATION_ERROR"},
	}
	for _, tc := range cases {
		t.Run("case="+tc.name, func(t *testing.T) {
			_, err := c.NewSession().SignUp(ctx, "X", tc.email, tc.password)
			var he *httperr.Error
			require.ErrorAs(t, err, &he)
			require.Equal(t, tc.status, he.Status)
			require.Equal(t, tc.code, he.Code)
			require.Equal(t, "sign-up", he.Op)
			require.NotContains(t, err.Error(), p.Password.Value())
		})
	}
}

func TestSignIn_WrongPasswordIsA401WithCode(t *testing.T) {
	ctx := context.Background()
	f, c, p := setup(t, "hs256")
	_, err := c.SignUpAs(ctx, p)
	require.NoError(t, err)

	_, err = c.NewSession().SignIn(ctx, p.Email, "wrong-password-123")
	require.Error(t, err)
	require.Equal(t, 401, httperr.StatusOf(err))
	require.Equal(t, "INVALID_EMAIL_OR_PASSWORD", httperr.CodeOf(err))
	require.Equal(t,
		`sign-in: POST `+f.URL()+`/api/auth/sign-in/email -> 401: {"message":"Invalid email or password","code":"INVALID_EMAIL_OR_PASSWORD"}`,
		err.Error())

	_, err = c.NewSession().SignInAs(ctx, data.Stranger())
	require.Equal(t, "INVALID_EMAIL_OR_PASSWORD", httperr.CodeOf(err))

	u, err := c.NewSession().SignInAs(ctx, p)
	require.NoError(t, err)
	require.Equal(t, p.Email, u.Email)
}

func TestGetSession_NullBodyIsNoSession(t *testing.T) {
	_, c, _ := setup(t, "hs256")
	s, err := c.GetSession(context.Background())
	require.NoError(t, err)
	require.Nil(t, s)
}

func TestToken_HS256RouteReturnsUserAndExpiry(t *testing.T) {
	ctx := context.Background()
	f, c, p := setup(t, "hs256")
	u, err := c.SignUpAs(ctx, p)
	require.NoError(t, err)

	tok, tr, err := c.Token(ctx)
	require.NoError(t, err)
	require.True(t, tok.Equal(tr.Token))
	require.Equal(t, u.ID, tr.User.ID)
	require.Equal(t, p.Email, tr.User.Email)
	require.WithinDuration(t, time.Now().Add(30*time.Minute), tr.ExpiresAt, time.Minute)
	require.Equal(t, "HS256", tr.Header["alg"])
	require.Equal(t, u.ID, tr.Claims["sub"])
	require.Equal(t, "access", tr.Claims["type"])

	parsed, err := jwt.Parse(tok.Value(), func(*jwt.Token) (any, error) { return []byte(f.secret.Value()), nil },
		jwt.WithValidMethods([]string{"HS256"}), jwt.WithExpirationRequired())
	require.NoError(t, err)
	sub, _ := parsed.Claims.GetSubject()
	require.Equal(t, u.ID, sub)

	src := c.TokenSource()
	raw, err := src(ctx)
	require.NoError(t, err)
	require.NotEmpty(t, raw)
	require.NotContains(t, fmt.Sprint(tok, tr), tok.Value())
}

func TestToken_WithoutSessionIs401(t *testing.T) {
	for _, mode := range []string{"hs256", "jwks"} {
		t.Run("mode="+mode, func(t *testing.T) {
			_, c, _ := setup(t, mode)
			_, _, err := c.Token(context.Background())
			require.Equal(t, 401, httperr.StatusOf(err))
			require.True(t, strings.HasPrefix(err.Error(), "token: GET "), err.Error())
		})
	}
}

func TestJWKS_VerifiesPluginTokens(t *testing.T) {
	ctx := context.Background()
	f, c, p := setup(t, "jwks")
	u, err := c.SignUpAs(ctx, p)
	require.NoError(t, err)

	raw, ks, err := c.JWKS(ctx)
	require.NoError(t, err)
	require.Contains(t, string(raw), `"kty":"OKP"`)
	require.Len(t, ks.Keys, 1)
	require.Equal(t, []string{"EdDSA"}, ks.Algorithms())

	tok, tr, err := c.Token(ctx)
	require.NoError(t, err)
	require.Nil(t, tr.User, "the plugin returns only the token")
	require.True(t, tr.ExpiresAt.IsZero())
	claims, err := ks.Verify(tok.Value(), betterauth.VerifyOptions{Issuer: f.URL(), Audience: f.URL(), RequireExp: true})
	require.NoError(t, err)
	require.Equal(t, u.ID, claims["sub"])

	s, err := c.GetSession(ctx)
	require.NoError(t, err)
	_, err = ks.Verify(s.JWT.Value(), betterauth.VerifyOptions{})
	require.NoError(t, err, "the set-auth-jwt header verifies too")

	// A token signed by an attacker key with the real kid does not.
	_, evil, err := jwtforge.NewEd25519Key()
	require.NoError(t, err)
	forged, err := jwtforge.MintEdDSA(evil, map[string]any{"sub": u.ID}, map[string]any{"kid": f.kid})
	require.NoError(t, err)
	_, err = ks.Verify(forged.Value(), betterauth.VerifyOptions{})
	require.Error(t, err)
	// Nor an HS256 token (alg confusion).
	hs, err := jwtforge.MintHS256(secret.New("k"), map[string]any{"sub": u.ID}, map[string]any{"kid": f.kid})
	require.NoError(t, err)
	_, err = ks.Verify(hs.Value(), betterauth.VerifyOptions{})
	require.Error(t, err)
}

func TestSignOut_SendsOriginAndEndsTheSession(t *testing.T) {
	ctx := context.Background()
	f, c, p := setup(t, "hs256")
	_, err := c.SignUpAs(ctx, p)
	require.NoError(t, err)
	require.NotEmpty(t, c.Cookies())

	require.NoError(t, c.SignOut(ctx))
	require.Equal(t, f.URL(), f.lastRequest().Header.Get("Origin"))
	require.Empty(t, c.Cookies(), "Better Auth clears the cookies")
	s, err := c.GetSession(ctx)
	require.NoError(t, err)
	require.Nil(t, s)
	_, _, err = c.Token(ctx)
	require.Equal(t, 401, httperr.StatusOf(err))
}

func TestCookies_CarryBrowserAttributes(t *testing.T) {
	ctx := context.Background()
	_, c, p := setup(t, "hs256")
	_, err := c.SignUpAs(ctx, p)
	require.NoError(t, err)

	cs := c.Cookies()
	require.Len(t, cs, 1)
	ck := cs[0]
	require.Equal(t, "better-auth.session_token", ck.Name)
	require.Equal(t, "127.0.0.1", ck.Domain)
	require.True(t, ck.HostOnly)
	require.Equal(t, "/", ck.Path)
	require.True(t, ck.HTTPOnly)
	require.False(t, ck.Secure)
	require.Equal(t, "Lax", ck.SameSite)
	require.WithinDuration(t, time.Now().Add(7*24*time.Hour), ck.Expires, time.Minute)
	require.Contains(t, ck.Value.Value(), ".")
	require.NotContains(t, fmt.Sprintf("%v %+v %#v", cs, cs, cs), ck.Value.Value())
}

func TestNewSession_GivesOnePersonaTwoConcurrentSessions(t *testing.T) {
	ctx := context.Background()
	_, c, p := setup(t, "hs256")
	_, err := c.SignUpAs(ctx, p)
	require.NoError(t, err)

	second := c.NewSession()
	require.Empty(t, second.Cookies())
	_, err = second.SignInAs(ctx, p)
	require.NoError(t, err)

	var wg sync.WaitGroup
	ids := make([]string, 2)
	errs := make([]error, 2)
	for i, cl := range []*betterauth.Client{c, second} {
		wg.Go(func() {
			s, err := cl.GetSession(ctx)
			if err == nil && s == nil {
				err = errors.New("no session")
			}
			if err == nil {
				ids[i] = s.Session.ID
			}
			errs[i] = err
		})
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))
	require.NotEqual(t, ids[0], ids[1])

	// Signing the second out leaves the first signed in.
	require.NoError(t, second.SignOut(ctx))
	s, err := c.GetSession(ctx)
	require.NoError(t, err)
	require.NotNil(t, s)

	// A clone shares the session.
	clone := c.Clone()
	cs, err := clone.GetSession(ctx)
	require.NoError(t, err)
	require.Equal(t, s.Session.ID, cs.Session.ID)
	require.Equal(t, c.Cookies()[0].Value.Value(), clone.Cookies()[0].Value.Value())
}

func TestRateLimit_IsItsOwnErrorKind(t *testing.T) {
	ctx := context.Background()
	f := newFakeAuth("hs256")
	defer f.Close()
	f.rateLimit = 1
	c := newClient(t, f, func(o *betterauth.Options) {
		o.Header = http.Header{"X-Forwarded-For": {"10.0.0.1"}}
	})
	p := data.UserA()
	_, err := c.SignUpAs(ctx, p)
	require.NoError(t, err)
	_, err = c.SignInAs(ctx, p)
	require.NoError(t, err)
	require.Equal(t, "10.0.0.1", f.lastRequest().Header.Get("X-Forwarded-For"))

	_, err = c.SignInAs(ctx, p)
	require.ErrorIs(t, err, httperr.ErrRateLimited)
	require.Equal(t, 10*time.Second, httperr.As(err).RetryAfter)
	require.Contains(t, err.Error(), "rate limited")

	// Another virtual user (another X-Forwarded-For) has its own bucket.
	other := newClient(t, f, func(o *betterauth.Options) { o.Header = http.Header{"X-Forwarded-For": {"10.0.0.2"}} })
	_, err = other.SignInAs(ctx, p)
	require.NoError(t, err)
}

func TestDo_OddCases(t *testing.T) {
	ctx := context.Background()
	_, c, p := setup(t, "hs256")
	_, err := c.SignUpAs(ctx, p)
	require.NoError(t, err)
	body := map[string]string{"email": p.Email, "password": p.Password.Value()}

	r, err := c.Do(ctx, http.MethodPost, "/api/auth/sign-in/email", body, betterauth.WithoutOrigin())
	require.NoError(t, err)
	require.Equal(t, 403, r.Status, "a cookie without Origin is refused")
	require.Contains(t, r.Excerpt(), "MISSING_OR_NULL_ORIGIN")

	r, err = c.Do(ctx, http.MethodPost, "/api/auth/sign-in/email", body, betterauth.WithHeader("Origin", "http://evil.test"))
	require.NoError(t, err)
	require.Contains(t, string(r.Body), "INVALID_ORIGIN")

	r, err = c.Do(ctx, http.MethodPost, "/api/auth/sign-in/email", `{"email":"x"}`, betterauth.WithHeader("Content-Type", "text/plain"))
	require.NoError(t, err)
	require.Equal(t, 415, r.Status)

	r, err = c.NewSession().Do(ctx, http.MethodPost, "/api/auth/sign-in/email", nil, betterauth.WithHeader("Content-Type", ""))
	require.NoError(t, err)
	require.Equal(t, 400, r.Status)

	r, err = c.Do(ctx, http.MethodGet, "/api/auth/sign-in/email", nil)
	require.NoError(t, err)
	require.Equal(t, 404, r.Status)

	r, err = c.Do(ctx, http.MethodPost, c.AuthURL("/sign-in/email"), []byte(`{"email":"`+p.Email+`","password":"`+p.Password.Value()+`"}`))
	require.NoError(t, err)
	require.Equal(t, 200, r.Status)
	var out struct{ Token secret.Secret }
	require.NoError(t, r.JSON(&out))
	require.False(t, out.Token.IsZero())
	require.NotContains(t, r.String(), out.Token.Value(), "String redacts the body")
}

func TestOptions_CustomPaths(t *testing.T) {
	ctx := context.Background()
	f := newFakeAuth("hs256")
	defer f.Close()
	f.authPath, f.tokenPath = "/auth", "/api/app/token"
	c := newClient(t, f, func(o *betterauth.Options) { o.AuthPath = "/auth/"; o.TokenPath = "/api/app/token" })
	_, err := c.SignUpAs(ctx, data.UserA())
	require.NoError(t, err)
	_, _, err = c.Token(ctx)
	require.NoError(t, err)
	_, ks, err := c.JWKS(ctx)
	require.NoError(t, err)
	require.Len(t, ks.Keys, 1)
	require.Equal(t, f.URL()+"/auth/sign-out", c.AuthURL("sign-out"))
}

func TestNew_RejectsBadBaseURL(t *testing.T) {
	for _, u := range []string{"", "localhost:3000", "ftp://x", "http://"} {
		_, err := betterauth.New(betterauth.Options{BaseURL: u})
		require.Error(t, err, u)
	}
	c, err := betterauth.New(betterauth.Options{BaseURL: "http://localhost:41234/"})
	require.NoError(t, err)
	require.Equal(t, "http://localhost:41234", c.Origin())
	require.Equal(t, "http://localhost:41234", c.BaseURL())
}

func TestTimeoutAndTransportErrors(t *testing.T) {
	f := newFakeAuth("hs256")
	defer f.Close()
	f.delay = 300 * time.Millisecond
	c := newClient(t, f, func(o *betterauth.Options) { o.Timeout = 50 * time.Millisecond })
	_, err := c.GetSession(context.Background())
	require.Error(t, err)
	require.Contains(t, err.Error(), "get-session: GET "+f.URL()+"/api/auth/get-session")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = newClient(t, f).SignIn(ctx, "a@b.test", "secret-password")
	require.ErrorIs(t, err, context.Canceled)
	require.NotContains(t, err.Error(), "secret-password")
}
