// Package tokenmode is the registry of token modes: how an app issues the JWT its ChatKit backend
// verifies, and what the suites need to know about it. A mode verifies a token as the backend must,
// checks the algorithm a token names, says whether the harness can sign as the app (a shared secret)
// and whether its tokens carry iss and aud, and makes a key of the app's algorithm that the backend
// does not trust. Targets name a mode (token.mode, token.modes) and their validation lists the
// registered ones; the API and attack suites ask the mode instead of comparing its name.
//
// A new mode is one file that calls [Register] in an init function (hs256.go, jwks.go).
package tokenmode

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"sync"
	"time"

	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
)

// Mode is one way of issuing and verifying the app's tokens.
type Mode interface {
	// Name is the mode's name in target files and AUTHFLOW_TOKEN_MODE.
	Name() string
	// About says in a few words how the app issues the token, for docs and errors.
	About() string
	// Verify verifies tok (signature, exp required, iss and aud where the mode has them) as the
	// app's backend must, and returns its claims.
	Verify(ctx context.Context, env Env, tok string) (map[string]any, error)
	// CheckAlg checks the alg a token of the app names.
	CheckAlg(ctx context.Context, env Env, alg string) error
	// SharedSecret reports whether the app signs with the secret the harness knows, so the harness
	// can sign any claims exactly as the app does.
	SharedSecret() bool
	// IssuerAudience reports whether the mode's tokens carry iss and aud that the backend checks.
	IssuerAudience() bool
	// Untrusted returns a key that signs with alg (the app's, from a real token) which the backend
	// does not trust, so that a token of it gets as far as the key lookup.
	Untrusted(f *jwtforge.Forge, alg string) (jwtforge.SigningKey, error)
}

// Env is what a mode needs of the running target.
type Env struct {
	// Secret is the app's secret (BETTER_AUTH_SECRET); zero when the harness does not know it.
	Secret secret.Secret
	// JWKS fetches the app's published key set.
	JWKS func(ctx context.Context) (*betterauth.KeySet, error)
	// Issuer and Audience are the values the backend expects (app.issuer, app.audience).
	Issuer, Audience string
	// Alg is the algorithm the target says the app signs with (token.alg), "" for any the mode allows.
	Alg string
	// Leeway is the clock skew allowed on exp, nbf and iat.
	Leeway time.Duration
}

var (
	mu    sync.RWMutex
	modes = map[string]Mode{}
)

// Register adds a mode; a second mode of the same name panics (a programming error).
func Register(m Mode) {
	mu.Lock()
	defer mu.Unlock()
	if _, dup := modes[m.Name()]; dup {
		panic(fmt.Sprintf("tokenmode: mode %q registered twice", m.Name()))
	}
	modes[m.Name()] = m
}

// Get returns the mode called name.
func Get(name string) (Mode, bool) {
	mu.RLock()
	defer mu.RUnlock()
	m, ok := modes[name]
	return m, ok
}

// Names lists the registered modes, sorted.
func Names() []string {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]string, 0, len(modes))
	for n := range modes {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// Asymmetric are the JWS algorithms of keys Better Auth's jwt plugin can publish, and the forge's.
var Asymmetric = []string{jwtforge.AlgEdDSA, "ES256", "RS256", "PS256"}

// ForgeKey returns the forge's key that signs with alg (one of [Asymmetric]).
func ForgeKey(f *jwtforge.Forge, alg string) (jwtforge.SigningKey, error) {
	switch alg {
	case jwtforge.AlgEdDSA:
		return f.EdDSA(), nil
	case "ES256":
		return f.ES256(), nil
	case "RS256":
		return f.RS256(), nil
	case "PS256":
		return f.RS256().WithAlg("PS256")
	}
	return jwtforge.SigningKey{}, fmt.Errorf("the forge has no key for alg %q (it has %v)", alg, Asymmetric)
}

func knownAsymmetric(alg string) bool { return slices.Contains(Asymmetric, alg) }
