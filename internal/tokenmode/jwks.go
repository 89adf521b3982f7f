package tokenmode

import (
	"context"
	"fmt"
	"slices"

	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
)

// JWKS is the mode in which Better Auth's jwt plugin signs the tokens with a key it publishes at
// its JWKS route, with iss and aud, and the backend verifies them against that JWKS. It is
// algorithm-agnostic: whatever the plugin is configured with (EdDSA by default, ES256, RS256, PS256);
// a target may pin one (token.alg).
const JWKS = "jwks"

func init() { Register(jwksMode{}) }

type jwksMode struct{}

func (jwksMode) Name() string { return JWKS }
func (jwksMode) About() string {
	return "a key of the app's JWKS (EdDSA, ES256, RS256 or PS256), with iss and aud"
}
func (jwksMode) SharedSecret() bool   { return false }
func (jwksMode) IssuerAudience() bool { return true }

func (jwksMode) Verify(ctx context.Context, env Env, tok string) (map[string]any, error) {
	ks, err := env.JWKS(ctx)
	if err != nil {
		return nil, fmt.Errorf("jwks: fetch the key set: %w", err)
	}
	return ks.Verify(tok, betterauth.VerifyOptions{Issuer: env.Issuer, Audience: env.Audience, RequireExp: true, Leeway: env.Leeway})
}

func (jwksMode) CheckAlg(ctx context.Context, env Env, alg string) error {
	ks, err := env.JWKS(ctx)
	if err != nil {
		return fmt.Errorf("jwks: fetch the key set: %w", err)
	}
	if published := ks.Algorithms(); !slices.Contains(published, alg) {
		return fmt.Errorf("jwks mode signs with an algorithm of the published keys %v, got %q", published, alg)
	}
	if env.Alg != "" && alg != env.Alg {
		return fmt.Errorf("the target says the app signs with %s (token.alg), the token says %q", env.Alg, alg)
	}
	return nil
}

func (jwksMode) Untrusted(f *jwtforge.Forge, alg string) (jwtforge.SigningKey, error) {
	if !knownAsymmetric(alg) {
		alg = jwtforge.AlgEdDSA
	}
	return ForgeKey(f, alg)
}
