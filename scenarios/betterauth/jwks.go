package betterauth

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/lestrrat-go/jwx/v3/jwa"
	"github.com/lestrrat-go/jwx/v3/jwk"
	"github.com/lestrrat-go/jwx/v3/jws"
	"github.com/lestrrat-go/jwx/v3/jwt"
)

// JWK is one published key of a JWKS (RFC 7517), parsed by jwx. Better Auth's jwt plugin
// publishes {"alg":"EdDSA","crv":"Ed25519","x":...,"kty":"OKP","kid":...}.
type JWK struct {
	Kid string // "" when the key has none
	Alg string // as published ("" when absent)
	Kty string
	key jwk.Key
}

// PublicKey returns the key as Go's crypto type (ed25519.PublicKey, *ecdsa.PublicKey, *rsa.PublicKey).
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	var raw any
	if err := jwk.Export(k.key, &raw); err != nil {
		return nil, fmt.Errorf("JWK %q: %w", k.Kid, err)
	}
	return raw, nil
}

// MarshalJSON is the key as published (public members only).
func (k JWK) MarshalJSON() ([]byte, error) { return json.Marshal(k.key) }

// KeySet is a parsed JWKS.
type KeySet struct {
	Keys []JWK
	set  jwk.Set
}

// ParseKeySet parses a JWKS document with jwx; a key jwx cannot use is an error naming it.
func ParseKeySet(raw []byte) (*KeySet, error) {
	set, err := jwk.Parse(raw)
	if err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	ks := &KeySet{set: set}
	for i := range set.Len() {
		key, _ := set.Key(i)
		j := JWK{key: key, Kty: key.KeyType().String()}
		j.Kid, _ = key.KeyID()
		if a, ok := key.Algorithm(); ok {
			j.Alg = a.String()
		}
		if _, err := j.PublicKey(); err != nil {
			return nil, fmt.Errorf("parse JWKS: key %d (kid %q): %w", i, j.Kid, err)
		}
		ks.Keys = append(ks.Keys, j)
	}
	return ks, nil
}

// JWKS fetches the JWKS route and returns the raw document and the parsed key set.
func (c *Client) JWKS(ctx context.Context) (json.RawMessage, *KeySet, error) {
	_, b, err := c.call(ctx, "jwks", http.MethodGet, c.opts.JWKSPath, nil, nil)
	if err != nil {
		return nil, nil, err
	}
	ks, err := ParseKeySet(b)
	if err != nil {
		return json.RawMessage(b), nil, fmt.Errorf("jwks: %w", err)
	}
	return json.RawMessage(b), ks, nil
}

// Lookup returns the key with this kid.
func (s *KeySet) Lookup(kid string) (JWK, bool) {
	i := slices.IndexFunc(s.Keys, func(k JWK) bool { return k.Kid == kid })
	if i < 0 {
		return JWK{}, false
	}
	return s.Keys[i], true
}

// Algorithms returns the JWS algorithms of the keys (for a key without "alg", the one jwx infers
// from its type and curve).
func (s *KeySet) Algorithms() []string {
	var out []string
	for _, k := range s.Keys {
		a := k.Alg
		if a == "" {
			if algs, err := jws.AlgorithmsForKey(k.key); err == nil && len(algs) > 0 {
				a = algs[0].String()
			}
		}
		if a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// VerifyOptions are the claim checks a backend of the target must make besides the signature.
type VerifyOptions struct {
	Issuer, Audience string        // "" checks nothing
	RequireExp       bool          // a token without exp is refused
	Leeway           time.Duration // clock skew allowed on exp, nbf and iat
}

func (o VerifyOptions) jwt() []jwt.ParseOption {
	opts := []jwt.ParseOption{jwt.WithValidate(true), jwt.WithAcceptableSkew(o.Leeway)}
	if o.RequireExp {
		opts = append(opts, jwt.WithRequiredClaim(jwt.ExpirationKey))
	}
	if o.Issuer != "" {
		opts = append(opts, jwt.WithIssuer(o.Issuer))
	}
	if o.Audience != "" {
		opts = append(opts, jwt.WithAudience(o.Audience))
	}
	return opts
}

// Verify checks the token's signature against the set with jwx (the key named by the token's kid,
// or any key when it names none; the key's algorithm only) and the claims per o, and returns the
// claims as the token carries them (JSON numbers as float64).
func (s *KeySet) Verify(token string, o VerifyOptions) (map[string]any, error) {
	opts := append(o.jwt(), jwt.WithKeySet(s.set, jws.WithInferAlgorithmFromKey(true), jws.WithRequireKid(false)))
	return verified(token, opts)
}

// VerifyHS256 checks an HS256 token signed with secret's bytes and its claims per o.
func VerifyHS256(secret []byte, token string, o VerifyOptions) (map[string]any, error) {
	if len(secret) == 0 {
		return nil, errors.New("verify HS256: empty secret")
	}
	return verified(token, append(o.jwt(), jwt.WithKey(jwa.HS256(), secret)))
}

func verified(token string, opts []jwt.ParseOption) (map[string]any, error) {
	if _, err := jwt.ParseString(token, opts...); err != nil {
		return nil, err
	}
	return PayloadClaims(token)
}

// PayloadClaims decodes a compact JWS's payload as JSON, without verifying anything.
func PayloadClaims(token string) (map[string]any, error) {
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		return nil, fmt.Errorf("token has %d segments, want 3", len(parts))
	}
	msg, err := jws.ParseString(token)
	if err != nil {
		return nil, err
	}
	claims := map[string]any{}
	if err := json.Unmarshal(msg.Payload(), &claims); err != nil {
		return nil, fmt.Errorf("token payload: %w", err)
	}
	return claims, nil
}

// Audience returns the aud claim as a list (RFC 7519 §4.1.3: a string or an array of strings).
func Audience(claims map[string]any) ([]string, error) {
	switch v := claims["aud"].(type) {
	case nil:
		return nil, nil
	case string:
		return []string{v}, nil
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			s, ok := e.(string)
			if !ok {
				return nil, fmt.Errorf("aud holds a %T, want strings", e)
			}
			out = append(out, s)
		}
		return out, nil
	default:
		return nil, fmt.Errorf("aud is a %T, want a string or a list of strings", v)
	}
}
