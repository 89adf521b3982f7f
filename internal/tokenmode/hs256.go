package tokenmode

import (
	"context"
	"fmt"

	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
)

// HS256 is the mode in which the app signs its own tokens with HMAC-SHA256 keyed with its secret
// (BETTER_AUTH_SECRET), and the backend verifies them with the same secret.
const HS256 = "hs256"

func init() { Register(hs256{}) }

type hs256 struct{}

func (hs256) Name() string         { return HS256 }
func (hs256) About() string        { return "HS256 with the app's shared secret" }
func (hs256) SharedSecret() bool   { return true }
func (hs256) IssuerAudience() bool { return false }

func (hs256) Verify(_ context.Context, env Env, tok string) (map[string]any, error) {
	if env.Secret.IsZero() {
		return nil, fmt.Errorf("hs256: the harness does not know the app's secret")
	}
	return betterauth.VerifyHS256([]byte(env.Secret.Value()), tok, betterauth.VerifyOptions{RequireExp: true, Leeway: env.Leeway})
}

func (hs256) CheckAlg(_ context.Context, _ Env, alg string) error {
	if alg != jwtforge.AlgHS256 {
		return fmt.Errorf("hs256 mode signs with HMAC-SHA256 (alg HS256), got %q", alg)
	}
	return nil
}

func (hs256) Untrusted(_ *jwtforge.Forge, _ string) (jwtforge.SigningKey, error) {
	return jwtforge.HMACKey(jwtforge.AlgHS256, []byte("not-the-shared-secret-"+data.ProcessRun().ID()), "a random secret")
}
