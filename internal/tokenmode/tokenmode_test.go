package tokenmode

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
)

func TestRegistry_ListsTheModesAndRefusesATwin(t *testing.T) {
	assert.Equal(t, []string{HS256, JWKS}, Names())
	m, ok := Get(JWKS)
	require.True(t, ok)
	assert.Equal(t, JWKS, m.Name())
	_, ok = Get("rs256")
	assert.False(t, ok)
	assert.Panics(t, func() { Register(hs256{}) })
}

func claims() map[string]any {
	c := jwtforge.AccessClaims(jwtforge.Subject{ID: "u1", Email: "u1@authflow.test", Name: "U"}, time.Now())
	c["iss"], c["aud"] = "http://web.test", "http://web.test"
	return c
}

func TestHS256_VerifiesWithTheSecretOnly(t *testing.T) {
	m, _ := Get(HS256)
	secret := secret.New("an-app-secret-of-enough-length-0123456789")
	env := Env{Secret: secret, Leeway: time.Second}
	tok, err := jwtforge.MintHS256(secret, claims(), nil)
	require.NoError(t, err)
	got, err := m.Verify(context.Background(), env, tok.Value())
	require.NoError(t, err)
	assert.Equal(t, "u1", got["sub"])

	other, err := m.Untrusted(nil, "HS256")
	require.NoError(t, err)
	forged, err := jwtforge.Sign(other, claims(), nil)
	require.NoError(t, err)
	_, err = m.Verify(context.Background(), env, forged.Value())
	assert.Error(t, err, "a token of another secret does not verify")
	assert.NoError(t, m.CheckAlg(context.Background(), env, "HS256"))
	assert.Error(t, m.CheckAlg(context.Background(), env, "EdDSA"))
	assert.True(t, m.SharedSecret())
	assert.False(t, m.IssuerAudience())
	_, err = m.Verify(context.Background(), Env{}, tok.Value())
	assert.ErrorContains(t, err, "does not know the app's secret")
}

// TestJWKS_IsAlgorithmAgnostic verifies tokens of every algorithm the jwt plugin offers against a JWKS
// that publishes the key, refuses the forge's untrusted key of the same algorithm, and holds the
// algorithm a target pins.
func TestJWKS_IsAlgorithmAgnostic(t *testing.T) {
	m, _ := Get(JWKS)
	app, err := jwtforge.NewForge() // stands for the app's keys
	require.NoError(t, err)
	attacker, err := jwtforge.NewForge()
	require.NoError(t, err)
	raw, err := app.JWKS()
	require.NoError(t, err)
	ks, err := betterauth.ParseKeySet(raw)
	require.NoError(t, err)
	env := Env{Issuer: "http://web.test", Audience: "http://web.test", Leeway: time.Second,
		JWKS: func(context.Context) (*betterauth.KeySet, error) { return ks, nil }}
	for _, alg := range []string{jwtforge.AlgEdDSA, "ES256", "RS256"} {
		t.Run(alg, func(t *testing.T) {
			key, err := ForgeKey(app, alg)
			require.NoError(t, err)
			tok, err := jwtforge.Sign(key, claims(), nil)
			require.NoError(t, err)
			_, err = m.Verify(context.Background(), env, tok.Value())
			require.NoError(t, err, "a %s token of a published key verifies", alg)
			assert.NoError(t, m.CheckAlg(context.Background(), env, alg))

			bad, err := m.Untrusted(attacker, alg)
			require.NoError(t, err)
			assert.Equal(t, alg, bad.Alg(), "the untrusted key signs with the app's algorithm")
			forged, err := jwtforge.Sign(bad.WithKID(key.KID()), claims(), nil)
			require.NoError(t, err)
			_, err = m.Verify(context.Background(), env, forged.Value())
			assert.Error(t, err, "the attacker's %s key under the app's kid does not verify", alg)
		})
	}
	pinned := env
	pinned.Alg = "RS256"
	assert.NoError(t, m.CheckAlg(context.Background(), pinned, "RS256"))
	assert.ErrorContains(t, m.CheckAlg(context.Background(), pinned, "ES256"), "token.alg")
	assert.ErrorContains(t, m.CheckAlg(context.Background(), env, "HS256"), "published keys")

	ps, err := ForgeKey(app, "PS256")
	require.NoError(t, err)
	assert.Equal(t, "PS256", ps.Alg())
	_, err = ForgeKey(app, "HS256")
	assert.Error(t, err)
	assert.True(t, m.IssuerAudience())
	assert.False(t, m.SharedSecret())
}
