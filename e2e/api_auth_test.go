package e2e

// API-level suites of Better Auth's email + password flow: sign-up, sign-in, sessions, sign-out.
// Every check goes over HTTP to the target's web service and, where rows matter, to Postgres.

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
	"github.com/authflow-e2e/authflow/scenarios/dbprobe"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

// Better Auth's error codes the suites expect (better-auth/better-auth packages/core/src/error/codes.ts).
const (
	codeUserExists    = "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL"
	codePasswordShort = "PASSWORD_TOO_SHORT"
	codePasswordLong  = "PASSWORD_TOO_LONG"
	codeInvalidLogin  = "INVALID_EMAIL_OR_PASSWORD"
	codeMissingOrigin = "MISSING_OR_NULL_ORIGIN"
	codeInvalidOrigin = "INVALID_ORIGIN"
	minPasswordLen    = 8   // Better Auth's default minPasswordLength
	maxPasswordLen    = 128 // Better Auth's default maxPasswordLength
)

// requireNoUserRow fails when a user row exists for email.
func requireNoUserRow(h *fixtures.T, email, why string) {
	t := h.T
	t.Helper()
	n, err := h.DB.CountUsersByEmail(h.Ctx, email)
	require.NoError(t, err)
	require.Zero(t, n, "%s: a refused sign-up must not leave a user row for %s", why, email)
}

// TestSignUp_CreatesTheUserAndACredentialAccount checks the rows a sign-up must leave: one "user"
// row with what was sent and one "account" row of provider "credential" holding a scrypt hash.
func TestSignUp_CreatesTheUserAndACredentialAccount(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	p := data.NewPersona("signup", "Sign Up Person")
	u, err := authClient(h, nil, nil).SignUpAs(c, p)
	require.NoError(t, err, "sign-up of a new address must answer 200\n%s", h.ServiceLogs(10))
	assert.Equal(t, p.Email, u.Email, "the answer names the address that signed up")
	assert.Equal(t, p.Name, u.Name, "the answer names the user")

	t.Run("case=user-row", func(t *testing.T) {
		h := h.Sub(t)
		row, err := h.DB.UserByEmail(c, p.Email)
		require.NoError(t, err, "the user row after a 200 sign-up")
		assert.Equal(t, u.ID, row.ID, "the row's id is the id the answer gave")
		assert.Equal(t, p.Name, row.Name, "the row holds the name sent")
		assert.False(t, row.EmailVerified, "no e-mail was verified")
		n, err := h.DB.CountUsersByEmail(c, p.Email)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "exactly one user row for the address")
	})
	t.Run("case=credential-account-row", func(t *testing.T) {
		h := h.Sub(t)
		accts, err := h.DB.AccountsForUser(c, u.ID)
		require.NoError(t, err)
		require.Len(t, accts, 1, "one account row for an e-mail/password user")
		assert.Equal(t, "credential", accts[0].ProviderID, "the account is Better Auth's credential provider")
		assert.Equal(t, u.ID, accts[0].AccountID, "a credential account's accountId is the user id")
	})
	t.Run("case=password-stored-hashed", func(t *testing.T) {
		h := h.Sub(t)
		accts, err := h.DB.AccountsForUser(c, u.ID)
		require.NoError(t, err)
		require.NotEmpty(t, accts)
		assert.True(t, accts[0].HasPassword, "the credential account holds the password hash")
		assert.True(t, accts[0].PasswordHashed, "the password column holds a scrypt salt:key hash, not the plain password")
	})
}

// TestSignUp_SignsTheNewUserIn checks Better Auth's auto sign-in: the sign-up answer sets a session
// cookie that get-session accepts, and a session row exists.
func TestSignUp_SignsTheNewUserIn(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("signup-session")
	_, ok := sessionCookie(a.Auth)
	require.True(t, ok, "sign-up sets a session cookie (auto sign-in)")
	s, err := a.Auth.GetSession(c)
	require.NoError(t, err)
	require.NotNil(t, s, "get-session after sign-up answers the session, not null")
	assert.Equal(t, a.User.ID, s.User.ID, "the session belongs to the new user")
	rows, err := h.DB.SessionsForUser(c, a.User.ID)
	require.NoError(t, err)
	require.Len(t, rows, 1, "one session row after sign-up")
	assert.Equal(t, s.Session.ID, rows[0].ID, "get-session names the session row")
}

// TestSignUp_DuplicateEmailIsRefusedWithoutASecondRow signs an address up twice (also in another
// letter case): the second attempt gets 422 USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL, no session,
// no second row, and does not change the first user's password.
func TestSignUp_DuplicateEmailIsRefusedWithoutASecondRow(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("dup")
	for _, tc := range []struct{ name, email string }{
		{"case=same-address", a.Email},
		{"case=upper-case-address", strings.ToUpper(a.Email)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := h.Sub(t)
			other := authClient(h, nil, nil)
			_, err := other.SignUp(c, "Impostor", tc.email, data.NewPassword().Value())
			he := requireHTTPError(t, err, http.StatusUnprocessableEntity, codeUserExists, "second sign-up of "+tc.email)
			assert.NotEmpty(t, he.Message, "the refusal carries a readable message")
			_, ok := sessionCookie(other)
			assert.False(t, ok, "a refused sign-up must not sign anyone in")
		})
	}
	t.Run("case=one-user-row", func(t *testing.T) {
		h := h.Sub(t)
		n, err := h.DB.CountUsersByEmail(c, a.Email)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "the duplicate sign-ups left exactly one user row (case-insensitive count)")
		accts, err := h.DB.AccountsForUser(c, a.User.ID)
		require.NoError(t, err)
		assert.Len(t, accts, 1, "no second account row was attached to the existing user")
	})
	t.Run("case=original-password-still-works", func(t *testing.T) {
		h := h.Sub(t)
		u, err := authClient(h, nil, nil).SignInAs(c, a.Persona)
		require.NoError(t, err, "the first user's password must survive a duplicate sign-up")
		assert.Equal(t, a.User.ID, u.ID)
	})
}

// TestSignUp_ConcurrentSignUpsOfOneAddressLeaveOneUser races several sign-ups of one new address:
// exactly one succeeds, the others are refused as a client error (not a 500), and one row remains.
func TestSignUp_ConcurrentSignUpsOfOneAddressLeaveOneUser(t *testing.T) {
	h := fixtures.Test(t)
	const racers = 4
	c := h.Ctx
	email := data.Unique("race")
	errs := make([]error, racers)
	clients := make([]*betterauth.Client, racers)
	for i := range clients { // each racer is a browser of its own, with its own connections
		tr := betterauth.NewTransport()
		t.Cleanup(tr.CloseIdleConnections)
		clients[i] = authClient(h, nil, tr)
	}
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Go(func() {
			_, errs[i] = cl.SignUp(c, "Racer", email, data.NewPassword().Value())
		})
	}
	wg.Wait()
	wins := 0
	var outcomes []string
	for i, err := range errs {
		if err == nil {
			wins++
			outcomes = append(outcomes, "200")
			continue
		}
		st := httperr.StatusOf(err)
		outcomes = append(outcomes, fmt.Sprintf("%d %s", st, httperr.CodeOf(err)))
		assert.True(t, st >= 400 && st < 500, "racer %d: a losing duplicate sign-up must be a 4xx, not %d: %v", i, st, err)
	}
	t.Logf("concurrent sign-ups of one address answered: %s", strings.Join(outcomes, ", "))
	assert.Equal(t, 1, wins, "exactly one of %d concurrent sign-ups of one address may succeed", racers)
	n, err := h.DB.CountUsersByEmail(c, email)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "concurrent sign-ups of one address left %d user rows", n)
}

// TestSignUp_PasswordOutsideTheLengthLimitsIsRefused checks Better Auth's default limits (8..128):
// 400 PASSWORD_TOO_SHORT / PASSWORD_TOO_LONG and no user row.
func TestSignUp_PasswordOutsideTheLengthLimitsIsRefused(t *testing.T) {
	fixtures.Test(t)
	for _, tc := range []struct {
		name, password, code string
	}{
		{"case=too-short", data.NewPassword().Value()[:minPasswordLen-1], codePasswordShort},
		{"case=too-long", strings.Repeat("Aa1!", maxPasswordLen/4) + "x", codePasswordLong},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fixtures.Test(t)
			email := data.Unique("pwlen")
			_, err := authClient(h, nil, nil).SignUp(h.Ctx, "Password Length", email, tc.password)
			requireHTTPError(t, err, http.StatusBadRequest, tc.code,
				fmt.Sprintf("sign-up with a password of %d characters", len(tc.password)))
			requireNoUserRow(h, email, tc.name)
		})
	}
}

// TestSignUp_InvalidInputIsRefused checks that a sign-up without a name or with a malformed
// address is refused as the target's Better Auth line refuses it (1.7: 400 VALIDATION_ERROR; 1.4: 400
// INVALID_EMAIL, and 422 FAILED_TO_CREATE_USER for a missing name) and leaves no row.
func TestSignUp_InvalidInputIsRefused(t *testing.T) {
	h := fixtures.Test(t)
	v, ok := betterauth.Versions[h.Target.App.BetterAuth]
	require.True(t, ok, "no rules for Better Auth %s", h.Target.App.BetterAuth)
	for _, tc := range []struct {
		name  string
		email string
		body  func(email string) map[string]string
		want  betterauth.Refusal
	}{
		{"case=missing-name", data.Unique("noname"), func(e string) map[string]string {
			return map[string]string{"email": e, "password": data.NewPassword().Value()}
		}, v.MissingName},
		{"case=malformed-address", "not-an-address-" + data.ProcessRun().ID(), func(e string) map[string]string {
			return map[string]string{"name": "Bad Address", "email": e, "password": data.NewPassword().Value()}
		}, v.MalformedEmail},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fixtures.Test(t)
			cl := authClient(h, nil, nil)
			resp, err := cl.Do(h.Ctx, http.MethodPost, cl.AuthURL("/sign-up/email"), tc.body(tc.email))
			require.NoError(t, err)
			he := httperr.FromParts("sign-up", resp.Method, resp.URL, resp.Status, resp.Header, resp.Body)
			rule := fmt.Sprintf("Better Auth %s's rule (app.better_auth): %d %s, as %s", v.Name, tc.want.Status, tc.want.Code, tc.want.Why)
			assert.Equal(t, tc.want.Status, resp.Status, "invalid sign-up input is a client error; %s: %s", rule, resp)
			assert.Equal(t, tc.want.Code, he.Code, "the refusal names the error; %s: %s", rule, resp)
			requireNoUserRow(h, tc.email, tc.name)
		})
	}
}

// TestSignIn_CorrectPasswordCreatesASessionRow signs an existing user in from a fresh client: 200,
// the same user, a session cookie and one more session row, the one get-session names.
func TestSignIn_CorrectPasswordCreatesASessionRow(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("signin")
	before, err := h.DB.SessionsForUser(c, a.User.ID)
	require.NoError(t, err)

	cl := a.Auth.NewSession()
	u, err := cl.SignInAs(c, a.Persona)
	require.NoError(t, err, "sign-in with the right password must answer 200\n%s", h.ServiceLogs(10))
	assert.Equal(t, a.User.ID, u.ID, "sign-in answers the user who signed up")
	_, ok := sessionCookie(cl)
	require.True(t, ok, "sign-in sets a session cookie")

	after, err := h.DB.SessionsForUser(c, a.User.ID)
	require.NoError(t, err)
	require.Len(t, after, len(before)+1, "each sign-in adds one session row")
	s, err := cl.GetSession(c)
	require.NoError(t, err)
	require.NotNil(t, s, "get-session with the new cookie answers the session")
	assert.Equal(t, after[len(after)-1].ID, s.Session.ID, "the new session row is the one the cookie names")
	assert.True(t, after[len(after)-1].ExpiresAt.After(time.Now()), "the new session row is not expired")
}

// TestSignIn_EmailAddressIsCaseInsensitive signs in with the address in upper case: Better Auth
// stores addresses in lower case, so a user typing a capital letter still gets in.
func TestSignIn_EmailAddressIsCaseInsensitive(t *testing.T) {
	h := fixtures.Test(t)
	a := h.NewUser("signin-case")
	u, err := authClient(h, nil, nil).SignIn(h.Ctx, strings.ToUpper(a.Email), a.Password.Value())
	require.NoError(t, err, "sign-in with the address in upper case")
	assert.Equal(t, a.User.ID, u.ID)
}

// TestSignIn_WrongPasswordAndUnknownUserAnswerAlike checks that a wrong password and an unknown
// address are both 401 INVALID_EMAIL_OR_PASSWORD with the same body (no user enumeration), set
// no session cookie and add no session row.
func TestSignIn_WrongPasswordAndUnknownUserAnswerAlike(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("signin-bad")
	before, err := h.DB.SessionsForUser(c, a.User.ID)
	require.NoError(t, err)

	attempt := func(t *testing.T, email string) *betterauth.Response {
		h := h.Sub(t)
		cl := authClient(h, nil, nil)
		resp, err := cl.Do(c, http.MethodPost, cl.AuthURL("/sign-in/email"),
			map[string]string{"email": email, "password": data.NewPassword().Value()})
		require.NoError(t, err)
		_, ok := sessionCookie(cl)
		assert.False(t, ok, "a failed sign-in must not set a session cookie")
		return resp
	}
	wrong := attempt(t, a.Email)
	unknown := attempt(t, data.Stranger().Email)

	for _, tc := range []struct {
		name string
		resp *betterauth.Response
	}{{"case=wrong-password", wrong}, {"case=unknown-user", unknown}} {
		t.Run(tc.name, func(t *testing.T) {
			he := httperr.FromParts("sign-in", tc.resp.Method, tc.resp.URL, tc.resp.Status, tc.resp.Header, tc.resp.Body)
			assert.Equal(t, http.StatusUnauthorized, tc.resp.Status, "a failed sign-in is 401: %s", tc.resp)
			assert.Equal(t, codeInvalidLogin, he.Code, "the code does not say which part was wrong: %s", tc.resp)
		})
	}
	t.Run("case=same-status-and-body", func(t *testing.T) {
		assert.Equal(t, wrong.Status, unknown.Status, "wrong password and unknown user must answer the same status")
		assert.Equal(t, string(wrong.Body), string(unknown.Body),
			"wrong password and unknown user must answer the same body, or the body tells which addresses exist")
	})
	t.Run("case=no-session-row", func(t *testing.T) {
		h := h.Sub(t)
		after, err := h.DB.SessionsForUser(c, a.User.ID)
		require.NoError(t, err)
		assert.Len(t, after, len(before), "a wrong password must not create a session row")
	})
}

// TestSession_GetSessionReturnsTheSignedInUser checks get-session with a valid cookie: the user,
// a session that is not expired and that matches its row.
func TestSession_GetSessionReturnsTheSignedInUser(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("session")
	s, err := a.Auth.GetSession(c)
	require.NoError(t, err, "get-session with the session cookie\n%s", h.ServiceLogs(10))
	require.NotNil(t, s, "get-session with a valid cookie must not answer null")
	assert.Equal(t, a.User.ID, s.User.ID, "the session's user")
	assert.Equal(t, a.Email, s.User.Email, "the session's user's address")
	assert.Equal(t, a.User.ID, s.Session.UserID, "session.userId")
	assert.True(t, s.Session.ExpiresAt.After(time.Now()), "the session expires in the future, got %s", s.Session.ExpiresAt)
	rows, err := h.DB.SessionsForUser(c, a.User.ID)
	require.NoError(t, err)
	var row *dbprobe.Session
	for i := range rows {
		if rows[i].ID == s.Session.ID {
			row = &rows[i]
		}
	}
	require.NotNil(t, row, "get-session names session %s, which has no row", s.Session.ID)
	assert.WithinDuration(t, row.ExpiresAt, s.Session.ExpiresAt, time.Second, "get-session's expiry is the row's")
}

// TestSession_CookieIsHttpOnlyAndNotCrossSite checks the attributes of the session cookie: HttpOnly
// (no script can read it), SameSite Lax or Strict, Secure exactly when the app is served over https,
// path "/", and an expiry that matches the session row.
func TestSession_CookieIsHttpOnlyAndNotCrossSite(t *testing.T) {
	h := fixtures.Test(t)
	a := h.NewUser("cookie")
	ck, ok := sessionCookie(a.Auth)
	require.True(t, ok, "a session cookie after sign-up; cookies: %v", cookieNames(a.Auth))
	assert.True(t, ck.HTTPOnly, "the session cookie must be HttpOnly")
	assert.Contains(t, []string{"Lax", "Strict"}, ck.SameSite, "the session cookie must not be sent cross-site")
	assert.Equal(t, strings.HasPrefix(h.Target.App.WebURL, "https://"), ck.Secure, "Secure exactly when the app is https")
	assert.Equal(t, "/", ck.Path, "the cookie covers the whole app")
	rows, err := h.DB.SessionsForUser(h.Ctx, a.User.ID)
	require.NoError(t, err)
	require.NotEmpty(t, rows)
	if !ck.Expires.IsZero() { // a persistent cookie must not outlive the session (nor end long before it)
		assert.WithinDuration(t, rows[len(rows)-1].ExpiresAt, ck.Expires, time.Minute, "the cookie expires with the session")
	}
}

// TestSession_WithoutAValidCookieGetSessionIsNull checks that get-session answers 200 null (not
// an error, not a session) with no cookie, a forged cookie, or a real cookie with a bad signature.
func TestSession_WithoutAValidCookieGetSessionIsNull(t *testing.T) {
	h := fixtures.Test(t)
	a := h.NewUser("session-null")
	real, ok := sessionCookie(a.Auth)
	require.True(t, ok)
	for _, tc := range []struct {
		name   string
		cookie string // "" sends none
	}{
		{"case=no-cookie", ""},
		{"case=forged-cookie", real.Name + "=" + strings.Repeat("A", 32) + ".forged"},
		{"case=bad-signature", real.Name + "=" + real.Value.Value() + "x"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fixtures.Test(t)
			cl := authClient(h, nil, nil)
			var opts []betterauth.RequestOption
			if tc.cookie != "" {
				opts = append(opts, betterauth.WithHeader("Cookie", tc.cookie))
			}
			resp, err := cl.Do(h.Ctx, http.MethodGet, cl.AuthURL("/get-session"), nil, opts...)
			require.NoError(t, err)
			assert.Equal(t, http.StatusOK, resp.Status, "get-session without a valid session is 200: %s", resp)
			assert.Equal(t, "null", strings.TrimSpace(string(resp.Body)), "get-session without a valid session is null: %s", resp)
		})
	}
}

// TestSession_TwoConcurrentSessionsOfOneUserBothWork holds two sessions of one user at once
// (sign-up on one client, sign-in on another): both answer get-session with their own session,
// both get tokens the ChatKit backend accepts, and ending one leaves the other alive.
func TestSession_TwoConcurrentSessionsOfOneUserBothWork(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("two-sessions")
	second := a.Auth.NewSession()
	_, err := second.SignInAs(c, a.Persona)
	require.NoError(t, err, "second sign-in of the same user")

	clients := []*betterauth.Client{a.Auth, second}
	sessions := make([]*betterauth.Session, 2)
	errs := make([]error, 2)
	var wg sync.WaitGroup
	for i, cl := range clients {
		wg.Go(func() {
			s, err := cl.GetSession(c)
			if err == nil && s == nil {
				err = errors.New("get-session answered null")
			}
			if err == nil {
				var tok secret.Secret
				if tok, _, err = cl.Token(c); err == nil {
					_, err = h.ChatKit(tok).ListThreads(c, 1, "", "")
				}
			}
			sessions[i], errs[i] = s, err
		})
	}
	wg.Wait()
	for i, err := range errs {
		require.NoError(t, err, "session %d: get-session, token and a ChatKit call must all work", i+1)
	}
	assert.Equal(t, a.User.ID, sessions[0].User.ID)
	assert.Equal(t, a.User.ID, sessions[1].User.ID)
	assert.NotEqual(t, sessions[0].Session.ID, sessions[1].Session.ID, "two sign-ins are two sessions")
	rows, err := h.DB.SessionsForUser(c, a.User.ID)
	require.NoError(t, err)
	assert.Len(t, rows, 2, "two session rows")

	require.NoError(t, second.SignOut(c), "sign out the second session")
	s, err := a.Auth.GetSession(c)
	require.NoError(t, err)
	require.NotNil(t, s, "signing out one session must not end the other")
	assert.Equal(t, sessions[0].Session.ID, s.Session.ID)
	_, _, err = a.Auth.Token(c)
	assert.NoError(t, err, "the remaining session still gets tokens")
}

// TestSignOut_EndsTheSession signs out and checks every place the session lived: the row is gone
// (or expired), the cookie is cleared, get-session is null, a replay of the old cookie is refused
// by the server, and the token route answers 401.
func TestSignOut_EndsTheSession(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("signout")
	s, err := a.Auth.GetSession(c)
	require.NoError(t, err)
	require.NotNil(t, s)
	replay := a.Auth.Clone() // keeps the cookie the browser had before signing out
	require.NoError(t, a.Auth.SignOut(c), "sign-out with the session cookie and the app's Origin\n%s", h.ServiceLogs(10))

	t.Run("case=session-row-gone-or-expired", func(t *testing.T) {
		h := h.Sub(t)
		rows, err := h.DB.SessionsForUser(c, a.User.ID)
		require.NoError(t, err)
		for _, r := range rows {
			if r.ID == s.Session.ID {
				assert.False(t, r.ExpiresAt.After(time.Now()), "the signed-out session's row is still valid until %s", r.ExpiresAt)
			}
		}
	})
	t.Run("case=cookie-cleared", func(t *testing.T) {
		_, ok := sessionCookie(a.Auth)
		assert.False(t, ok, "sign-out must clear the session cookie; cookies left: %v", cookieNames(a.Auth))
	})
	t.Run("case=get-session-null", func(t *testing.T) {
		got, err := a.Auth.GetSession(c)
		require.NoError(t, err)
		assert.Nil(t, got, "get-session after sign-out must be null")
	})
	t.Run("case=old-cookie-replay-refused", func(t *testing.T) {
		got, err := replay.GetSession(c)
		require.NoError(t, err)
		assert.Nil(t, got, "the server must end the session, not only ask the browser to forget the cookie")
	})
	t.Run("case=token-route-refuses", func(t *testing.T) {
		_, _, err := replay.Token(c)
		requireHTTPError(t, err, http.StatusUnauthorized, "", "token with the signed-out session's cookie")
	})
}

// TestSignOut_WithoutATrustedOriginIsRefused checks Better Auth's CSRF rule: a cookie-carrying
// sign-out without Origin, or from a foreign origin, is 403 and the session stays alive.
func TestSignOut_WithoutATrustedOriginIsRefused(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("signout-origin")
	for _, tc := range []struct {
		name string
		opt  betterauth.RequestOption
		code string
	}{
		{"case=no-origin", betterauth.WithoutOrigin(), codeMissingOrigin},
		{"case=foreign-origin", betterauth.WithHeader("Origin", "http://attacker.invalid"), codeInvalidOrigin},
	} {
		t.Run(tc.name, func(t *testing.T) {
			resp, err := a.Auth.Do(c, http.MethodPost, a.Auth.AuthURL("/sign-out"), map[string]any{}, tc.opt)
			require.NoError(t, err)
			he := httperr.FromParts("sign-out", resp.Method, resp.URL, resp.Status, resp.Header, resp.Body)
			assert.Equal(t, http.StatusForbidden, resp.Status, "a cross-site sign-out must be refused: %s", resp)
			assert.Equal(t, tc.code, he.Code, "the refusal names the origin problem: %s", resp)
			s, err := a.Auth.GetSession(c)
			require.NoError(t, err)
			assert.NotNil(t, s, "a refused sign-out must leave the session alive")
		})
	}
}

// cookieNames lists the names of the client's cookies (never their values), for messages.
func cookieNames(c *betterauth.Client) []string {
	var out []string
	for _, ck := range c.Cookies() {
		out = append(out, ck.Name)
	}
	return out
}

// TestSignUp_AnAddressIsOneAccountWhateverItsLetterCase signs up a mixed-case address first, then the
// same address in lower and in upper case: both later sign-ups are refused, one user row exists (in
// whatever form the app stores the address), and signing in with any case finds that user.
func TestSignUp_AnAddressIsOneAccountWhateverItsLetterCase(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	local, domain, _ := strings.Cut(data.Unique("mixed-case"), "@")
	mixed := strings.ToUpper(local[:1]) + local[1:] + "@" + strings.ToUpper(domain[:1]) + domain[1:]
	pw := data.NewPassword()
	first, err := authClient(h, nil, nil).SignUp(c, "Mixed Case", mixed, pw.Value())
	require.NoError(t, err, "sign-up of %s", mixed)
	for _, variant := range []string{strings.ToLower(mixed), strings.ToUpper(mixed)} {
		_, err := authClient(h, nil, nil).SignUp(c, "Other Case", variant, data.NewPassword().Value())
		requireHTTPError(t, err, http.StatusUnprocessableEntity, codeUserExists,
			"sign-up of "+variant+" after "+mixed+": an address is one account whatever its letter case")
	}
	n, err := h.DB.CountUsersByEmail(c, mixed)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "one user row for %s in any letter case", mixed)
	u, err := authClient(h, nil, nil).SignIn(c, strings.ToLower(mixed), pw.Value())
	require.NoError(t, err, "sign-in with the lower-case address")
	assert.Equal(t, first.ID, u.ID, "the lower-case address signs the same user in")
}
