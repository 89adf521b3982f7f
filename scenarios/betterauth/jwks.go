package betterauth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math/big"
	"net/http"
	"slices"

	"github.com/golang-jwt/jwt/v5"
)

// JWK is one public key of a JWKS (RFC 7517). Better Auth's jwt plugin publishes
// {"alg":"EdDSA","crv":"Ed25519","x":...,"kty":"OKP","kid":...}.
type JWK struct {
	Kty string `json:"kty"`
	Kid string `json:"kid,omitempty"`
	Alg string `json:"alg,omitempty"`
	Use string `json:"use,omitempty"`
	Crv string `json:"crv,omitempty"`
	X   string `json:"x,omitempty"`
	Y   string `json:"y,omitempty"`
	N   string `json:"n,omitempty"`
	E   string `json:"e,omitempty"`
}

// KeySet is a parsed JWKS.
type KeySet struct {
	Keys []JWK `json:"keys"`
}

// ParseKeySet parses a JWKS document and checks that every key can be used.
func ParseKeySet(raw []byte) (*KeySet, error) {
	var ks KeySet
	if err := json.Unmarshal(raw, &ks); err != nil {
		return nil, fmt.Errorf("parse JWKS: %w", err)
	}
	for i, k := range ks.Keys {
		if _, err := k.PublicKey(); err != nil {
			return nil, fmt.Errorf("parse JWKS: key %d (kid %q): %w", i, k.Kid, err)
		}
	}
	return &ks, nil
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

// Algorithms returns the JWS algorithms of the keys (inferred when "alg" is absent).
func (s *KeySet) Algorithms() []string {
	var out []string
	for _, k := range s.Keys {
		if a := k.algorithm(); a != "" && !slices.Contains(out, a) {
			out = append(out, a)
		}
	}
	return out
}

// Keyfunc returns a jwt.Keyfunc that picks the key named by the token's "kid" (or the
// only key, when the set has one and the token names none) and refuses a token whose alg
// differs from the key's.
func (s *KeySet) Keyfunc() jwt.Keyfunc {
	return func(t *jwt.Token) (any, error) {
		kid, _ := t.Header["kid"].(string)
		var k JWK
		switch {
		case kid != "":
			var ok bool
			if k, ok = s.Lookup(kid); !ok {
				return nil, fmt.Errorf("no key with kid %q", kid)
			}
		case len(s.Keys) == 1:
			k = s.Keys[0]
		default:
			return nil, errors.New("token has no kid and the set has several keys")
		}
		if a := k.algorithm(); a != "" && a != t.Method.Alg() {
			return nil, fmt.Errorf("token alg %s does not match key alg %s", t.Method.Alg(), a)
		}
		return k.PublicKey()
	}
}

// Verify checks the token's signature against the set, allowing only the set's
// algorithms, and returns its claims. Pass jwt.WithIssuer, jwt.WithAudience,
// jwt.WithExpirationRequired and the like as opts.
func (s *KeySet) Verify(token string, opts ...jwt.ParserOption) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	opts = append([]jwt.ParserOption{jwt.WithValidMethods(s.Algorithms())}, opts...)
	if _, err := jwt.ParseWithClaims(token, claims, s.Keyfunc(), opts...); err != nil {
		return nil, err
	}
	return claims, nil
}

func (k JWK) algorithm() string {
	if k.Alg != "" {
		return k.Alg
	}
	switch k.Kty {
	case "OKP":
		return "EdDSA"
	case "EC":
		switch k.Crv {
		case "P-256":
			return "ES256"
		case "P-384":
			return "ES384"
		case "P-521":
			return "ES512"
		}
	case "RSA":
		return "RS256"
	}
	return ""
}

// PublicKey returns the key as ed25519.PublicKey, *ecdsa.PublicKey or *rsa.PublicKey.
func (k JWK) PublicKey() (crypto.PublicKey, error) {
	b64 := func(name, v string) ([]byte, error) {
		if v == "" {
			return nil, fmt.Errorf("%s key without %q", k.Kty, name)
		}
		b, err := base64.RawURLEncoding.DecodeString(v)
		if err != nil {
			return nil, fmt.Errorf("%s key: %q is not base64url: %w", k.Kty, name, err)
		}
		return b, nil
	}
	switch k.Kty {
	case "OKP":
		if k.Crv != "Ed25519" {
			return nil, fmt.Errorf("OKP curve %q is not supported (want Ed25519)", k.Crv)
		}
		x, err := b64("x", k.X)
		if err != nil {
			return nil, err
		}
		if len(x) != ed25519.PublicKeySize {
			return nil, fmt.Errorf("Ed25519 key has %d bytes, want %d", len(x), ed25519.PublicKeySize)
		}
		return ed25519.PublicKey(x), nil
	case "EC":
		var curve elliptic.Curve
		switch k.Crv {
		case "P-256":
			curve = elliptic.P256()
		case "P-384":
			curve = elliptic.P384()
		case "P-521":
			curve = elliptic.P521()
		default:
			return nil, fmt.Errorf("EC curve %q is not supported", k.Crv)
		}
		x, err := b64("x", k.X)
		if err != nil {
			return nil, err
		}
		y, err := b64("y", k.Y)
		if err != nil {
			return nil, err
		}
		size := (curve.Params().BitSize + 7) / 8
		if len(x) != size || len(y) != size {
			return nil, fmt.Errorf("EC %s coordinates must have %d bytes", k.Crv, size)
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(curve, append(append([]byte{4}, x...), y...))
		if err != nil {
			return nil, fmt.Errorf("EC key: %w", err)
		}
		return pub, nil
	case "RSA":
		n, err := b64("n", k.N)
		if err != nil {
			return nil, err
		}
		e, err := b64("e", k.E)
		if err != nil {
			return nil, err
		}
		ei := new(big.Int).SetBytes(e)
		if !ei.IsInt64() || ei.Int64() < 3 || ei.Int64() > 1<<31 {
			return nil, errors.New("RSA exponent out of range")
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(n), E: int(ei.Int64())}, nil
	default:
		return nil, fmt.Errorf("key type %q is not supported", k.Kty)
	}
}
