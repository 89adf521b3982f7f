package e2e

// API-level suite of the token route: a JWT for the signed-in user, refused without a session,
// with the right claims and lifetime, signed with the mode's key (the shared secret, or a published JWKS
// key: internal/tokenmode), and a JWKS that stays stable while tokens are issued.

import (
	"encoding/json"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
)

// TestToken_IsIssuedAfterSignIn signs in from a fresh client and fetches a token: a three-part JWT
// for that user, signed with the mode's algorithm (HS256, or an algorithm of the JWKS keys).
func TestToken_IsIssuedAfterSignIn(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("token")
	cl := a.Auth.NewSession()
	_, err := cl.SignInAs(c, a.Persona)
	require.NoError(t, err)
	tok, tr, err := cl.Token(c)
	require.NoError(t, err, "the token route with a session cookie must answer a token\n%s", h.ServiceLogs(10))
	assert.Equal(t, 2, strings.Count(tok.Value(), "."), "a JWS compact token has three parts")
	alg, _ := tr.Header["alg"].(string)
	assert.NoError(t, h.Target.Mode.CheckAlg(c, h.TokenEnv(cl), alg), "the token is signed as mode %s says (%s)", h.Target.TokenMode, h.Target.Mode.About())
	if tr.User != nil { // the app's own token route also answers the user
		assert.Equal(t, a.User.ID, tr.User.ID, "the token answer names the signed-in user")
	}
}

// TestToken_WithoutASessionIsRefused asks for a token with no cookie and with a forged one: 401 and
// no token in the body.
func TestToken_WithoutASessionIsRefused(t *testing.T) {
	h := fixtures.Test(t)
	a := h.User(data.RoleUserA)
	real, ok := sessionCookie(a.Auth)
	require.True(t, ok, "user A holds a session cookie")
	for _, tc := range []struct{ name, cookie string }{
		{"case=no-cookie", ""},
		{"case=forged-cookie", real.Name + "=" + strings.Repeat("B", 32) + ".forged"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := fixtures.Test(t)
			cl := authClient(h, nil, nil)
			var opts []betterauth.RequestOption
			if tc.cookie != "" {
				opts = append(opts, betterauth.WithHeader("Cookie", tc.cookie))
			}
			resp, err := cl.Do(h.Ctx, http.MethodGet, h.Target.App.TokenPath, nil, opts...)
			require.NoError(t, err)
			assert.Equal(t, http.StatusUnauthorized, resp.Status, "the token route without a valid session: %s", resp)
			var body map[string]any
			if json.Unmarshal(resp.Body, &body) == nil {
				assert.NotContains(t, body, "token", "a refused token request must not carry a token")
			}
		})
	}
}

// TestToken_ClaimsNameTheUserAndExpireWithinTheModesLifetime checks sub, iat and exp against the
// target's lifetime for the mode, and iss/aud in jwks mode.
func TestToken_ClaimsNameTheUserAndExpireWithinTheModesLifetime(t *testing.T) {
	h := fixtures.Test(t)
	require.Positive(t, h.Target.Lifetime, "target %s sets no token.lifetime for mode %s", h.Target.File, h.Target.TokenMode)
	a := h.NewUser("claims")
	before := time.Now().Add(-fixtures.ClockSkew)
	_, tr, err := a.Auth.Token(h.Ctx)
	require.NoError(t, err)
	after := time.Now().Add(fixtures.ClockSkew)
	claims := tr.Claims

	t.Run("case=sub-is-the-user-id", func(t *testing.T) {
		assert.Equal(t, a.User.ID, claims["sub"], "sub must be the Better Auth user id the backend scopes data by")
	})
	t.Run("case=issued-now", func(t *testing.T) {
		iat, ok := fixtures.NumericClaim(claims, "iat")
		require.True(t, ok, "the token has an iat claim")
		assert.False(t, iat.Before(before.Truncate(time.Second)) || iat.After(after), "iat %s is not the time of the request", iat)
	})
	t.Run("case=expires-within-the-lifetime", func(t *testing.T) {
		h := h.Sub(t)
		exp, ok := fixtures.NumericClaim(claims, "exp")
		require.True(t, ok, "the token has an exp claim (a token without one never expires)")
		assert.True(t, exp.After(after), "the token is already expired (exp %s)", exp)
		assert.False(t, exp.After(after.Add(h.Target.Lifetime)),
			"exp %s lies more than the %s lifetime of mode %s ahead", exp, h.Target.Lifetime, h.Target.TokenMode)
		if iat, ok := fixtures.NumericClaim(claims, "iat"); ok {
			assert.LessOrEqual(t, exp.Sub(iat), h.Target.Lifetime, "exp - iat exceeds the mode's lifetime")
		}
		if !tr.ExpiresAt.IsZero() {
			assert.WithinDuration(t, exp, tr.ExpiresAt, time.Second, "the answer's expiresAt must match the token's exp")
		}
	})
	if h.Target.Mode.IssuerAudience() {
		t.Run("case=issuer-and-audience", func(t *testing.T) {
			h := h.Sub(t)
			assert.Equal(t, h.Target.App.Issuer, claims["iss"], "iss must be the issuer the backend expects")
			aud, err := betterauth.Audience(claims)
			require.NoError(t, err, "aud must be a string or a list of strings")
			assert.Contains(t, aud, h.Target.App.Audience, "aud must contain the audience the backend expects")
		})
	}
}

// TestToken_SignatureVerifiesWithTheModesKey verifies the token as the target's token mode
// says (internal/tokenmode: the shared secret, or the JWKS), and checks the check itself: a token with a
// changed claim, or one signed by another key, must not verify. The backend must accept it too.
func TestToken_SignatureVerifiesWithTheModesKey(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("signature")

	t.Run("case=verifies", func(t *testing.T) {
		h := h.Sub(t)
		claims, err := verifyToken(h, a.Auth, a.Token)
		require.NoError(t, err, "the token must verify with the %s key", h.Target.TokenMode)
		assert.Equal(t, a.User.ID, claims["sub"])
	})
	t.Run("case=changed-claim-fails", func(t *testing.T) {
		h := h.Sub(t)
		forged, err := jwtforge.TamperClaims(a.Token, map[string]any{"sub": "someone-else"})
		require.NoError(t, err)
		_, err = verifyToken(h, a.Auth, forged)
		assert.Error(t, err, "a token whose sub was changed after signing must not verify")
	})
	t.Run("case=other-key-fails", func(t *testing.T) {
		h := h.Sub(t)
		claims, err := jwtforge.DecodeClaims(a.Token)
		require.NoError(t, err)
		hdr, err := jwtforge.DecodeHeader(a.Token)
		require.NoError(t, err)
		alg, _ := hdr["alg"].(string)
		other, err := h.Target.Mode.Untrusted(h.Forge(t), alg)
		require.NoError(t, err)
		var kid map[string]any
		if k, ok := hdr["kid"].(string); ok {
			kid = map[string]any{"kid": k}
		}
		forged, err := jwtforge.Sign(other.WithKID(""), claims, kid)
		require.NoError(t, err)
		_, err = verifyToken(h, a.Auth, forged)
		assert.Error(t, err, "a token signed by another key must not verify")
	})
	t.Run("case=backend-accepts", func(t *testing.T) {
		h := h.Sub(t)
		_, err := a.ChatKit.ListThreads(c, 1, "", "")
		assert.NoError(t, err, "the ChatKit backend must accept the token the web service issued\n%s", h.ServiceLogs(10))
	})
}

// TestToken_SigningKeyStaysStableAcrossRepeatedCalls fetches tokens serially and in a burst. In jwks
// mode it interleaves JWKS requests too: every token's kid is published in every later JWKS, and the
// key set does not change (no key per call, no key race). In a mode that signs with the shared secret
// every token verifies with that one secret, so the backend can rely on it.
func TestToken_SigningKeyStaysStableAcrossRepeatedCalls(t *testing.T) {
	h := fixtures.Test(t)
	if h.Target.Mode.SharedSecret() {
		tokenSecretStaysStable(h)
		return
	}
	c := h.Ctx
	a := h.NewUser("jwks")
	_, first, err := a.Auth.JWKS(c)
	require.NoError(t, err, "GET the JWKS\n%s", h.ServiceLogs(10))
	require.NotEmpty(t, first.Keys, "the JWKS publishes at least one key")
	kids := func(ks *betterauth.KeySet) []string {
		out := idsOf(ks.Keys, func(k betterauth.JWK) string { return k.Kid })
		sort.Strings(out)
		return out
	}
	want := kids(first)

	type result struct {
		tok secret.Secret
		ks  *betterauth.KeySet
		err error
	}
	var results []result
	for range 3 { // serial: token, then JWKS
		tok, _, err := a.Auth.Token(c)
		r := result{tok: tok, err: err}
		if err == nil {
			_, r.ks, r.err = a.Auth.JWKS(c)
		}
		results = append(results, r)
	}
	conc := make([]result, 6) // concurrent: a burst of both
	var wg sync.WaitGroup
	for i := range conc {
		wg.Go(func() {
			if i%2 == 0 {
				conc[i].tok, _, conc[i].err = a.Auth.Token(c)
			} else {
				_, conc[i].ks, conc[i].err = a.Auth.JWKS(c)
			}
		})
	}
	wg.Wait()
	results = append(results, conc...)
	_, last, err := a.Auth.JWKS(c)
	require.NoError(t, err)

	for i, r := range results {
		require.NoError(t, r.err, "call %d", i)
		if r.ks != nil {
			assert.Equal(t, want, kids(r.ks), "call %d: the published key set changed", i)
		}
		if r.tok.IsZero() {
			continue
		}
		hdr, err := jwtforge.DecodeHeader(r.tok)
		require.NoError(t, err)
		kid, _ := hdr["kid"].(string)
		_, published := last.Lookup(kid)
		assert.True(t, published || (kid == "" && len(last.Keys) == 1),
			"call %d: the token's kid %q is no longer published (kids %v)", i, kid, kids(last))
		_, err = last.Verify(r.tok.Value(), betterauth.VerifyOptions{Issuer: h.Target.App.Issuer, Audience: h.Target.App.Audience})
		assert.NoError(t, err, "call %d: the token must verify against the current JWKS", i)
	}
	assert.Equal(t, want, kids(last), "the key set after the burst")
}

// tokenSecretStaysStable is the shared-secret half of TestToken_SigningKeyStaysStableAcrossRepeatedCalls.
func tokenSecretStaysStable(h *fixtures.T) {
	t := h.T
	c := h.Ctx
	a := h.NewUser("hskey")
	toks := make([]secret.Secret, 9)
	errs := make([]error, len(toks))
	for i := range 3 {
		toks[i], _, errs[i] = a.Auth.Token(c)
	}
	var wg sync.WaitGroup
	for i := 3; i < len(toks); i++ {
		wg.Go(func() { toks[i], _, errs[i] = a.Auth.Token(c) })
	}
	wg.Wait()
	for i, tok := range toks {
		require.NoError(t, errs[i], "token call %d", i)
		_, err := verifyToken(h, a.Auth, tok)
		assert.NoError(t, err, "token call %d: every token verifies with the shared secret", i)
	}
}

// TestToken_NamesTheCallersUserWhenAnotherUserSignedInAfter signs user A in, then user B, and asks
// for A's token with A's session: it must name A (a route that signs for the newest session would
// name B), and B's must name B.
func TestToken_NamesTheCallersUserWhenAnotherUserSignedInAfter(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a, b := h.NewUser("token-order-a"), h.NewUser("token-order-b")
	ca, cb := a.Auth.NewSession(), b.Auth.NewSession()
	_, err := ca.SignInAs(c, a.Persona)
	require.NoError(t, err)
	_, err = cb.SignInAs(c, b.Persona)
	require.NoError(t, err, "B signs in after A")
	for _, x := range []struct {
		who    *fixtures.Actor
		client *betterauth.Client
	}{{a, ca}, {b, cb}, {a, ca}} {
		tok, _, err := x.client.Token(c)
		require.NoError(t, err)
		claims, err := jwtforge.DecodeClaims(tok)
		require.NoError(t, err)
		assert.Equal(t, x.who.User.ID, claims["sub"],
			"the token for %s's session must name %s in sub, not the user of another (newer) session", x.who.Role, x.who.Role)
	}
}

// TestToken_IsIssuedOnlyForALiveSession presents a valid token, and nothing else, to the token route
// in every form a client might send it, before and after sign-out: the route must refuse each (a
// JWT is not a session; a route that renews tokens for tokens keeps a signed-out user in for ever).
func TestToken_IsIssuedOnlyForALiveSession(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("token-live")
	cl := a.Auth.NewSession()
	_, err := cl.SignInAs(c, a.Persona)
	require.NoError(t, err)
	tok, _, err := cl.Token(c)
	require.NoError(t, err)

	try := func(t *testing.T, when string) {
		h := h.Sub(t)
		for _, v := range []struct {
			name string
			opts []betterauth.RequestOption
			path string
		}{
			{"authorization=bearer", []betterauth.RequestOption{betterauth.WithHeader("Authorization", "Bearer "+tok.Value())}, h.Target.App.TokenPath},
			{"authorization=raw", []betterauth.RequestOption{betterauth.WithHeader("Authorization", tok.Value())}, h.Target.App.TokenPath},
			{"authorization=jwt-scheme", []betterauth.RequestOption{betterauth.WithHeader("Authorization", "JWT "+tok.Value())}, h.Target.App.TokenPath},
			{"query=token", nil, h.Target.App.TokenPath + "?token=" + tok.Value()},
		} {
			fresh := a.Auth.NewSession() // no cookie: only the token
			resp, err := fresh.Do(c, http.MethodGet, v.path, nil, v.opts...)
			require.NoError(t, err)
			assert.GreaterOrEqual(t, resp.Status, 400,
				"%s, %s: the token route answered %d to a JWT without a session: it must issue tokens only for a live session", when, v.name, resp.Status)
			// a boolean, so a token in the body is never printed
			assert.False(t, strings.Contains(string(resp.Body), `"token"`), "%s, %s: the answer holds a token", when, v.name)
		}
	}
	t.Run("case=before-sign-out", func(t *testing.T) { try(t, "before sign-out") })
	require.NoError(t, cl.SignOut(c))
	t.Run("case=after-sign-out", func(t *testing.T) { try(t, "after sign-out") })
}
