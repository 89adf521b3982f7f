package e2e

// Shared parts of the security suites (security_*_test.go): the forge and the keys it needs per
// token mode, sending one token on a non-streaming and a streaming ChatKit request, the target's
// policy budgets and writing the report (artifacts/security-report-<mode>.md). Judging the answers,
// reading the budgets and rendering the report are internal/attack's, tested there without a stack.

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/attack"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/redact"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
)

// modeKeys are the keys the suites sign with in this token mode, each with the reason when it is
// missing.
type modeKeys struct {
	// Trusted signs exactly as the app does: with the shared secret (a mode that signs with it), or
	// the web's own key recovered from its jwks table (jwks). Zero when it cannot be had: TrustedWhy.
	Trusted    jwtforge.SigningKey
	TrustedWhy string
	// ServerKey is the web's JWKS signing key (recovered), of whatever algorithm the jwt plugin is
	// configured with, in every mode (the plugin keeps a JWKS when the app signs with its secret too). Zero: ServerKeyWhy.
	ServerKey    jwtforge.SigningKey
	ServerKeyWhy string
	// ServerKID is the kid of the web's current JWKS key ("" when none); PublicX its raw public key
	// bytes, PublicJWK the key as published, PublicPEM its SPKI PEM. JWKSWhy says why they are missing.
	ServerKID string
	PublicX   []byte
	PublicJWK []byte
	PublicPEM []byte
	JWKSWhy   string
	serverAlg string
}

// loadKeys fetches the JWKS through c and recovers the web's signing key for kid (jwks mode:
// the kid of a real token; "" picks the newest key of the jwks table).
func loadKeys(h *fixtures.T, c *betterauth.Client, kid string) *modeKeys {
	t := h.T
	t.Helper()
	k := &modeKeys{}
	cx, cancel := context.WithTimeout(context.Background(), fixtures.RequestTimeout)
	defer cancel()
	raw, ks, err := c.JWKS(cx)
	switch {
	case err != nil:
		k.JWKSWhy = fmt.Sprintf("the target publishes no usable JWKS at %s (%v)", h.Target.App.JWKSPath, err)
	case len(ks.Keys) == 0:
		k.JWKSWhy = "the target's JWKS holds no key"
	default:
		jwk := ks.Keys[len(ks.Keys)-1]
		if kid != "" {
			if j, ok := ks.Lookup(kid); ok {
				jwk = j
			}
		}
		k.ServerKID, k.serverAlg = jwk.Kid, jwk.Alg
		pub, err := jwk.PublicKey()
		if err == nil {
			switch p := pub.(type) { // the key's own bytes: Ed25519's x, RSA's modulus
			case ed25519.PublicKey:
				k.PublicX = []byte(p)
			case *rsa.PublicKey:
				k.PublicX = p.N.Bytes()
			case *ecdsa.PublicKey:
				if b, err := p.Bytes(); err == nil && len(b) > 1 {
					k.PublicX = b[1 : 1+(len(b)-1)/2] // the x coordinate of the uncompressed point
				}
			}
			k.PublicJWK, _ = json.Marshal(jwk)
			if der, err := x509.MarshalPKIXPublicKey(pub); err == nil {
				k.PublicPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			}
		}
		_ = raw
	}

	k.ServerKey, k.ServerKeyWhy = recoverServerKey(h, k.ServerKID, k.serverAlg)
	if h.Target.Mode.SharedSecret() {
		k.Trusted = jwtforge.SecretKey(h.Secret, "shared secret (h.Secret)")
	} else {
		k.Trusted, k.TrustedWhy = k.ServerKey, k.ServerKeyWhy
	}
	return k
}

// recoverServerKey reads Better Auth's jwks table and decrypts the private key with kid (or the
// newest) using the shared secret; alg is the key's alg as published ("" infers it). It never
// prints the key.
func recoverServerKey(h *fixtures.T, kid, alg string) (jwtforge.SigningKey, string) {
	t := h.T
	t.Helper()
	if h.Secret.IsZero() {
		return jwtforge.SigningKey{}, "the harness does not know the target's secret"
	}
	cx, cancel := context.WithTimeout(context.Background(), fixtures.RequestTimeout)
	defer cancel()
	q := `SELECT id, "privateKey" FROM jwks ORDER BY "createdAt" DESC LIMIT 1`
	args := []any{}
	if kid != "" {
		q = `SELECT id, "privateKey" FROM jwks WHERE id = $1`
		args = append(args, kid)
	}
	var id, stored string
	if err := h.DB.Pool().QueryRow(cx, q, args...).Scan(&id, &stored); err != nil {
		return jwtforge.SigningKey{}, fmt.Sprintf("no Better Auth jwks row to recover the signing key from (%s)", redact.String(err.Error()))
	}
	key, err := jwtforge.BetterAuthSigningKey(h.Secret, stored, alg, id)
	if err != nil {
		return jwtforge.SigningKey{}, fmt.Sprintf("the web's signing key could not be recovered from its jwks table: %v", err)
	}
	return key, ""
}

// probeRequests are the two ChatKit requests every token is sent on.
var probeRequests = []struct {
	name      string
	streaming bool
	body      map[string]any
}{
	{"threads.list", false, map[string]any{"type": chatkit.TypeThreadsList, "params": map[string]any{"limit": 5}}},
	{"threads.create", true, map[string]any{"type": chatkit.TypeThreadsCreate, "params": map[string]any{"input": chatkit.UserInput("hello from the security suite")}}},
}

// placement is how a request authenticates: a Bearer token, a raw Authorization value, or nothing;
// Query is appended to the ChatKit URL.
type placement struct {
	Token  secret.Secret
	Raw    *string
	Header bool // false: no Authorization header at all (Token and Raw ignored)
	Query  string
}

func asBearer(tok secret.Secret) placement { return placement{Token: tok, Header: true} }

// sendWith sends body with auth and returns the answer (whatever its status).
func sendWith(h *fixtures.T, cx context.Context, auth placement, body any) (*chatkit.RawResponse, error) {
	u := h.Target.App.ChatKitURL
	if auth.Query != "" {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + auth.Query
	}
	c := &chatkit.Client{URL: u, HTTPClient: &http.Client{Timeout: fixtures.RequestTimeout}}
	hdr := http.Header{}
	if auth.Header {
		switch {
		case auth.Raw != nil:
			hdr.Set("Authorization", *auth.Raw)
		default:
			hdr.Set("Authorization", "Bearer "+auth.Token.Value())
		}
	}
	return c.SendHeaders(cx, body, hdr)
}

// judge judges the answers of the security suites (internal/attack).
var judge = attack.Judge{MaxRejectTime: fixtures.MaxRejectTime}

// policyBudget returns the target's budget for key (app.budgets, else the default); a bad value fails
// the test.
func policyBudget(h *fixtures.T, key string) (time.Duration, bool) {
	t := h.T
	t.Helper()
	d, err := h.Budgets().Get(key)
	if err != nil {
		t.Fatal(err)
	}
	return d, true
}

// writeSecurityReport writes the security report to artifacts/security-report-<mode>.md.
func writeSecurityReport(h *fixtures.T) {
	t := h.T
	if err := h.Security.WriteFile(artifacts.Default().SecurityReport(h.Target.TokenMode)); err != nil {
		t.Logf("security report: %v", err)
	}
}
