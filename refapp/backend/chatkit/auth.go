package chatkit

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// authError is a 401. missing selects the "Missing Authorization header" body; reason is logged
// (it never contains the token or a header value).
type authError struct {
	missing bool
	reason  string
}

func (e *authError) Error() string { return e.reason }

func invalid(format string, args ...any) error {
	return &authError{reason: fmt.Sprintf(format, args...)}
}

const maxTokenLen = 16 << 10

// bearerToken extracts the token from "Authorization: Bearer <jwt>".
func bearerToken(r *http.Request) (string, error) {
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if h == "" {
		return "", &authError{missing: true, reason: "missing Authorization header"}
	}
	scheme, tok, ok := strings.Cut(h, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return "", invalid("Authorization header is not a Bearer credential")
	}
	tok = strings.TrimSpace(tok)
	if tok == "" {
		return "", invalid("empty Bearer token")
	}
	if len(tok) > maxTokenLen {
		return "", invalid("token longer than %d bytes", maxTokenLen)
	}
	return tok, nil
}

// verifier checks a JWT and returns its subject (the user id).
type verifier struct {
	mode     string
	secret   []byte
	jwks     *jwksCache
	issuer   string
	audience string
	faults   Faults
	skew     time.Duration
	now      func() time.Time
}

func newVerifier(cfg Config) *verifier {
	v := &verifier{
		mode:     cfg.TokenMode,
		secret:   []byte(cfg.Secret),
		issuer:   cfg.Issuer,
		audience: cfg.Audience,
		faults:   cfg.Faults,
		skew:     cfg.ClockSkew,
		now:      time.Now,
	}
	if cfg.Faults[FaultSecretMismatch] {
		// Models a backend configured with another secret than the web signs with.
		v.secret = []byte("authflow-fault-secret-mismatch:" + cfg.Secret)
	}
	if cfg.TokenMode == ModeJWKS {
		v.jwks = newJWKSCache(cfg.JWKSURL, cfg.JWKSClient, cfg.JWKSRefreshMinimum, cfg.Logger)
	}
	return v
}

func (v *verifier) Verify(ctx context.Context, raw string) (string, error) {
	var (
		claims jwt.MapClaims
		err    error
	)
	switch {
	case v.faults[FaultAcceptAlgNone] && isAlgNone(raw):
		claims, err = decodeAlgNone(raw)
	case v.faults[FaultSkipSignatureCheck]:
		claims, err = decodeUnverified(raw)
	default:
		claims, err = v.parseVerified(ctx, raw)
	}
	if err != nil {
		return "", err
	}
	return v.checkClaims(claims)
}

func (v *verifier) parseVerified(ctx context.Context, raw string) (jwt.MapClaims, error) {
	var (
		methods []string
		keyFunc jwt.Keyfunc
	)
	switch v.mode {
	case ModeHS256:
		methods = []string{jwt.SigningMethodHS256.Alg()}
		keyFunc = func(*jwt.Token) (any, error) { return v.secret, nil }
	case ModeJWKS:
		methods = jwksMethods
		// Only the kid (and alg) is read from the header: jku, x5u, jwk and x5c are never honoured.
		keyFunc = func(t *jwt.Token) (any, error) { return v.jwks.keyFor(ctx, t) }
	default:
		return nil, invalid("unsupported token mode %q", v.mode)
	}
	claims := jwt.MapClaims{}
	p := jwt.NewParser(jwt.WithValidMethods(methods), jwt.WithoutClaimsValidation(), jwt.WithJSONNumber())
	tok, err := p.ParseWithClaims(raw, claims, keyFunc)
	if err != nil {
		return nil, invalid("%v", err)
	}
	// RFC 7515 4.1.11: a token that names critical extensions this verifier does not implement
	// (it implements none) must be rejected; golang-jwt ignores crit.
	if _, ok := tok.Header["crit"]; ok {
		return nil, invalid("token names critical header extensions (crit) that are not understood")
	}
	return claims, nil
}

// checkClaims applies the claim rules (exp required, nbf, iat, iss/aud in jwks mode, sub).
// It runs on every path, including the faulty ones that skip the signature.
func (v *verifier) checkClaims(c jwt.MapClaims) (string, error) {
	now := v.now()
	exp, err := c.GetExpirationTime()
	if err != nil {
		return "", invalid("invalid exp claim")
	}
	if !v.faults[FaultIgnoreExpiry] {
		if exp == nil {
			return "", invalid("token has no exp claim")
		}
		leeway := time.Duration(0)
		if v.faults[FaultExpLeewayHour] {
			leeway = 59 * time.Minute // the regression: a clock-skew allowance of an hour
		}
		if !now.Before(exp.Time.Add(leeway)) {
			return "", invalid("token is expired")
		}
	}
	nbf, err := c.GetNotBefore()
	if err != nil {
		return "", invalid("invalid nbf claim")
	}
	if nbf != nil && now.Add(v.skew).Before(nbf.Time) {
		return "", invalid("token is not valid yet (nbf)")
	}
	iat, err := c.GetIssuedAt()
	if err != nil {
		return "", invalid("invalid iat claim")
	}
	if iat != nil && now.Add(v.skew).Before(iat.Time) {
		return "", invalid("token issued in the future (iat)")
	}
	// The app's HS256 tokens are access tokens (type "access"); any other HS256 JWT signed with the
	// shared secret (another kind of token of the same app) must not pass as one (RFC 8725 3.11).
	if v.mode == ModeHS256 {
		if typ, _ := c["type"].(string); typ != "access" {
			return "", invalid("token is not an access token (type claim)")
		}
	}
	if v.mode == ModeJWKS {
		iss, err := c.GetIssuer()
		if err != nil || iss != v.issuer {
			return "", invalid("token has the wrong issuer")
		}
		aud, err := c.GetAudience()
		if err != nil || !slices.Contains([]string(aud), v.audience) {
			return "", invalid("token has the wrong audience")
		}
	}
	sub, err := c.GetSubject()
	if err != nil {
		return "", invalid("invalid sub claim")
	}
	if strings.TrimSpace(sub) == "" {
		return "", invalid("token has no sub claim")
	}
	return sub, nil
}

// decodeUnverified decodes header and claims without looking at the signature
// (skip-signature-check fault).
func decodeUnverified(raw string) (jwt.MapClaims, error) {
	parts := strings.Split(raw, ".")
	if len(parts) != 3 {
		return nil, invalid("token is malformed: expected 3 segments")
	}
	var header map[string]any
	if err := decodeSegment(parts[0], &header); err != nil {
		return nil, invalid("token is malformed: bad header")
	}
	claims := jwt.MapClaims{}
	if err := decodeSegment(parts[1], &claims); err != nil {
		return nil, invalid("token is malformed: bad claims")
	}
	return claims, nil
}

// isAlgNone reports whether the token header says alg "none" in any spelling.
func isAlgNone(raw string) bool {
	head, _, ok := strings.Cut(raw, ".")
	if !ok {
		return false
	}
	var header struct {
		Alg string `json:"alg"`
	}
	return decodeSegment(head, &header) == nil && strings.EqualFold(header.Alg, "none")
}

// decodeAlgNone accepts an unsigned token (accept-alg-none fault): the signature must be empty.
func decodeAlgNone(raw string) (jwt.MapClaims, error) {
	if !strings.HasSuffix(raw, ".") {
		return nil, invalid("alg none token with a signature")
	}
	return decodeUnverified(raw)
}

func decodeSegment(seg string, v any) error {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(seg, "="))
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	return dec.Decode(v)
}
