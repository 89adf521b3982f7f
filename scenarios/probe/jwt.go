package probe

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"
)

// TokenInfo is what a JWT's header and claims say, read without verifying anything. It never holds
// the token or a claim value other than the ones named here (no e-mail, no user id).
type TokenInfo struct {
	Alg, Kid, Typ string
	Issuer        string
	Audience      []string
	IssuedAt, Exp time.Time
}

// Lifetime is exp - iat (0 when either is missing).
func (t TokenInfo) Lifetime() time.Duration {
	if t.IssuedAt.IsZero() || t.Exp.IsZero() {
		return 0
	}
	return t.Exp.Sub(t.IssuedAt)
}

// Symmetric reports an HMAC algorithm (HS256, HS384, HS512).
func (t TokenInfo) Symmetric() bool { return strings.HasPrefix(t.Alg, "HS") }

// ReadToken decodes a compact JWT's header and claims. It does not verify the signature.
func ReadToken(tok string) (TokenInfo, error) {
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		return TokenInfo{}, fmt.Errorf("not a compact JWT (%d parts, want 3)", len(parts))
	}
	var h struct {
		Alg string `json:"alg"`
		Kid string `json:"kid"`
		Typ string `json:"typ"`
	}
	if err := decodeSegment(parts[0], &h); err != nil {
		return TokenInfo{}, fmt.Errorf("JWT header: %w", err)
	}
	if h.Alg == "" {
		return TokenInfo{}, errors.New("JWT header has no alg")
	}
	var c struct {
		Iss string          `json:"iss"`
		Aud json.RawMessage `json:"aud"`
		Iat *float64        `json:"iat"`
		Exp *float64        `json:"exp"`
	}
	if err := decodeSegment(parts[1], &c); err != nil {
		return TokenInfo{}, fmt.Errorf("JWT claims: %w", err)
	}
	info := TokenInfo{Alg: h.Alg, Kid: h.Kid, Typ: h.Typ, Issuer: c.Iss}
	if len(c.Aud) > 0 {
		var one string
		var many []string
		switch {
		case json.Unmarshal(c.Aud, &one) == nil:
			if one != "" {
				info.Audience = []string{one}
			}
		case json.Unmarshal(c.Aud, &many) == nil:
			info.Audience = many
		}
	}
	if c.Iat != nil {
		info.IssuedAt = time.Unix(int64(*c.Iat), 0)
	}
	if c.Exp != nil {
		info.Exp = time.Unix(int64(*c.Exp), 0)
	}
	return info, nil
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	return json.Unmarshal(b, v)
}

// RoundLifetime renders a token lifetime the way target files write it: whole minutes ("30m",
// "15m", "1h") when it is at least two minutes (rounded to the nearest minute), else seconds.
func RoundLifetime(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	if d < 2*time.Minute {
		return fmt.Sprintf("%ds", int(math.Round(d.Seconds())))
	}
	m := int(math.Round(d.Minutes()))
	if m%60 == 0 {
		return fmt.Sprintf("%dh", m/60)
	}
	return fmt.Sprintf("%dm", m)
}

// ModeOf is the token mode a token is issued in: "hs256" for HS256 (the app's own route signing with
// the shared secret), "jwks" for an asymmetric algorithm whose kid (or, without a kid, algorithm) the
// app's JWKS publishes. The reason says why, or why neither.
func ModeOf(t TokenInfo, jwks []JWK) (mode, reason string) {
	switch {
	case t.Alg == "HS256":
		return "hs256", "the token's header says alg HS256 (signed with the shared secret)"
	case t.Symmetric():
		return "", fmt.Sprintf("the token is %s; authflow's hs256 mode is HS256 only", t.Alg)
	case t.Alg == "none":
		return "", "the token is unsigned (alg none)"
	}
	if len(jwks) == 0 {
		return "", fmt.Sprintf("the token is %s but no JWKS with keys was found", t.Alg)
	}
	for _, k := range jwks {
		if t.Kid != "" && k.Kid == t.Kid {
			return "jwks", fmt.Sprintf("the token is %s with kid %s, a key of the JWKS", t.Alg, shortID(t.Kid))
		}
	}
	if t.Kid == "" {
		for _, k := range jwks {
			if k.Alg == t.Alg || k.Alg == "" {
				return "jwks", fmt.Sprintf("the token is %s (no kid) and the JWKS publishes %s keys", t.Alg, t.Alg)
			}
		}
	}
	return "", fmt.Sprintf("the token is %s with kid %q, which the JWKS does not publish", t.Alg, shortID(t.Kid))
}

// JWK is the public part of a JWKS key that matters here.
type JWK struct {
	Kid string `json:"kid"`
	Alg string `json:"alg"`
	Kty string `json:"kty"`
	Crv string `json:"crv"`
}

// ParseJWKS decodes a JWKS document; an answer without keys is an error.
func ParseJWKS(body []byte) ([]JWK, error) {
	var doc struct {
		Keys []JWK `json:"keys"`
	}
	if err := json.Unmarshal(body, &doc); err != nil {
		return nil, fmt.Errorf("not a JWKS: %w", err)
	}
	if len(doc.Keys) == 0 {
		return nil, errors.New("a JWKS without keys")
	}
	return doc.Keys, nil
}

// shortID shortens a key id for a comment.
func shortID(s string) string {
	if len(s) > 8 {
		return s[:8] + "…"
	}
	return s
}
