package e2e

// The JWT attack matrix against the ChatKit backend (RFC 8725 JWT Best Current Practices, RFC 7515
// §4.1 header parameters, OWASP
// ASVS 5.0 V9). Every case builds one token (or one Authorization header) and sends it on a
// non-streaming (threads.list) and a streaming (threads.create) request. A negative case must be
// answered 401 before any stream byte, with only the error JSON, quickly and never with a 5xx;
// tokens whose jku/x5u point at the harness's key server must not make the backend fetch them.
// Positive controls (user A's real token) run before and after the matrix.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/internal/attack"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/internal/tokenmode"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
)

type expectation int

const (
	expectReject expectation = iota // 401 on both requests (see attack.Judge.Rejected)
	expectAccept                    // 200 on both requests
	expectReport                    // observed and reported, neither pass nor fail (why says why)
)

// forgedToken is what a case sends in the current token mode.
type forgedToken struct {
	auth         placement
	construction string
	expect       expectation
	why          string // why accept/report in this mode, or why n/a
	na           bool   // cannot be built in this mode (why says why): reported as n/a
	malformed    bool   // 400 and 431 are fine too
	fetchPaths   []string
}

// attackCase is one row of the matrix. weakness names what a backend that accepts the token lacks;
// the failure message carries it.
type attackCase struct {
	name, group, weakness string
	build                 func(b *builder) (forgedToken, error)
}

// Weaknesses, named in failure messages.
const (
	wkSigNotVerified = "the signature is not verified (RFC 8725 §3.3, ASVS 9.1.1): anyone can mint tokens for any user"
	wkTampered       = "claims changed after signing are accepted: the signature does not protect the payload (ASVS 9.1.1)"
	wkAlgNone        = `unsigned alg "none" tokens are accepted: no algorithm allowlist (RFC 8725 §3.1, ASVS 9.1.2, CVE-2015-2951)`
	wkAlgAllowlist   = "an algorithm outside this mode's allowlist is accepted (RFC 8725 §3.1, ASVS 9.1.2)"
	wkWeakHMAC       = "an HMAC under a guessable key is accepted: the signature is not verified with the real secret (WSTG-SESS-10, jwt_tool -X b)"
	wkKeyConfusion   = "HS256 keyed with the server's public key is accepted: algorithm confusion (CVE-2016-10555, RFC 8725 §3.1)"
	wkUntrustedKey   = "a token signed by a key the server does not publish is accepted: the signature is not checked against the trusted keys (ASVS 9.1.3)"
	wkEmbeddedKey    = "a token signed by the key embedded in its own header (jwk/x5c) is accepted: the embedded key is trusted or signatures are not verified (CVE-2018-0114, ASVS 9.1.3)"
	wkKeyURL         = "a token whose jku/x5u points at an attacker's key server is accepted: the key URL is honoured or signatures are not verified (RFC 8725 §3.10, ASVS 9.1.3)"
	wkKid            = "a token with an injected kid is accepted: the kid reaches a key lookup unsanitised or signatures are not verified (RFC 8725 §3.10)"
	wkExpired        = "expired tokens are accepted: exp is not enforced (RFC 7519 §4.1.4, ASVS 9.2.1)"
	wkNoExp          = "tokens without exp are accepted: they never expire (RFC 8725 §3.12, ASVS 9.2.1)"
	wkExpType        = "a non-numeric exp is treated as absent: such tokens never expire (RFC 7519 §2 NumericDate)"
	wkNbf            = "tokens not yet valid (nbf in the future) are accepted (RFC 7519 §4.1.5, ASVS 9.2.1)"
	wkIat            = "tokens issued in the future are accepted (iat beyond the clock skew; hydra \"used before issued\")"
	wkSub            = "a token without a usable subject is accepted: whose data does it act on? (RFC 8725 §3.8)"
	wkIss            = "a token from another issuer is accepted (RFC 8725 §3.8)"
	wkAud            = "a token for another audience is accepted (RFC 8725 §3.9, ASVS 9.2.3)"
	wkMalformed      = "a malformed token is accepted (RFC 7515 §7.1, RFC 8725 §3.4)"
	wkTransport      = "a request without a Bearer credential in the Authorization header is accepted (RFC 6750 §2.1)"
	wkQueryToken     = "a token in the URL query is accepted: it leaks into logs and Referer (RFC 6750 §5.3)"
)

// builder holds what the cases build from.
type builder struct {
	mode   string         // the token mode's name, for the log
	tm     tokenmode.Mode // the token mode
	alg    string         // the alg of A's token as issued
	forge  *jwtforge.Forge
	keys   *modeKeys
	real   secret.Secret  // A's token as issued
	realB  secret.Secret  // B's token as issued
	claims map[string]any // A's claims as issued
	a, b   *fixtures.Actor
	w      *fixtures.World
	now    time.Time
	ks     *keyServer
	ksErr  error
	nonce  string
}

func (b *builder) bearer(tok secret.Secret, construction string) forgedToken {
	return forgedToken{auth: asBearer(tok), construction: construction}
}

// trusted signs A's claims changed by set as the app would (modeKeys.Trusted). Without a trusted
// key (jwks mode, key not recoverable) it edits A's real token and keeps its signature, which the
// construction says.
func (b *builder) trusted(set map[string]any, what string) (forgedToken, error) {
	if b.keys.Trusted.IsZero() {
		tok, err := jwtforge.TamperClaims(b.real, set)
		return b.bearer(tok, what+"; A's real token edited, original signature (the web's key is not available: "+b.keys.TrustedWhy+")"), err
	}
	var header map[string]any
	if b.tm.SharedSecret() {
		header = map[string]any{"typ": "JWT"}
	}
	tok, err := jwtforge.Sign(b.keys.Trusted, jwtforge.Merge(b.claims, set), header)
	return b.bearer(tok, what+"; signed with the "+b.keys.Trusted.String()), err
}

// untrusted returns a key of this mode's algorithm (that of A's token) the server does not trust, as
// the mode makes it (a random secret; a forge key of the app's algorithm), so a token reaches the key
// lookup.
func (b *builder) untrusted() jwtforge.SigningKey {
	k, err := b.tm.Untrusted(b.forge, b.alg)
	if err != nil {
		k = b.forge.EdDSA()
	}
	return k
}

// asym is the forge's key of the algorithm of the server's JWKS key (EdDSA when it publishes none
// the forge has): the attacker's key of the header-key cases, so they get as far as the key lookup.
func (b *builder) asym() jwtforge.SigningKey {
	if k, err := tokenmode.ForgeKey(b.forge, b.keys.serverAlg); err == nil {
		return k
	}
	return b.forge.EdDSA()
}

func (b *builder) sign(k jwtforge.SigningKey, header map[string]any, what string) (forgedToken, error) {
	tok, err := jwtforge.Sign(k, b.claims, header)
	return b.bearer(tok, what+"; signed with "+k.String()), err
}

func (b *builder) hmac(secret []byte, name string, header map[string]any, what string) (forgedToken, error) {
	k, err := jwtforge.HMACKey(jwtforge.AlgHS256, secret, name)
	if err != nil {
		return forgedToken{}, err
	}
	return b.sign(k, header, what)
}

func (b *builder) serverKIDHeader() map[string]any {
	if b.keys.ServerKID == "" {
		return nil
	}
	return map[string]any{"kid": b.keys.ServerKID}
}

func (b *builder) keyServerURL(path string) (string, error) {
	if b.ks == nil {
		return "", fmt.Errorf("the key server is not running: %v", b.ksErr)
	}
	return b.ks.Internal + path, nil
}

func notApplicable(why string) (forgedToken, error) { return forgedToken{na: true, why: why}, nil }

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func strPtr(s string) *string { return &s }

// attackCases is the matrix, in report order.
func attackCases() []attackCase {
	hs := func(b *builder) bool { return b.tm.SharedSecret() }          // the app signs with the shared secret
	noIssAud := func(b *builder) bool { return !b.tm.IssuerAudience() } // its tokens carry no iss/aud to check
	return []attackCase{
		// Re-signing as the app does: a positive in the mode that issues such tokens, an attack in the other.
		{"resign-shared-secret", "forge check", wkAlgAllowlist, func(b *builder) (forgedToken, error) {
			header := map[string]any{"typ": "JWT"}
			if !hs(b) {
				header = jwtforge.Merge(header, b.serverKIDHeader())
			}
			t, err := b.sign(jwtforge.SecretKey(b.w.Secret, "shared secret"), header, "A's claims, HS256 with the shared secret")
			if hs(b) {
				t.expect, t.why = expectAccept, b.mode+": this is how the app signs; proves the forge builds valid tokens"
			}
			return t, err
		}},
		{"resign-server-jwks-key", "forge check", wkAlgAllowlist, func(b *builder) (forgedToken, error) {
			if b.keys.ServerKey.IsZero() {
				return notApplicable(b.keys.ServerKeyWhy)
			}
			t, err := b.sign(b.keys.ServerKey, nil, "A's claims, "+b.keys.ServerKey.Alg()+" with the web's own JWKS key (recovered from its jwks table)")
			if !hs(b) {
				t.expect, t.why = expectAccept, b.mode+": this is how the app signs; proves the recovered key and the forge are right"
			}
			return t, err
		}},

		// Signature integrity.
		{"sig-stripped", "signature", wkSigNotVerified, func(b *builder) (forgedToken, error) {
			tok, err := jwtforge.StripSignature(b.real)
			return b.bearer(tok, "A's real token, signature removed (header.payload.)"), err
		}},
		{"sig-corrupted", "signature", wkSigNotVerified, func(b *builder) (forgedToken, error) {
			tok, err := jwtforge.CorruptSignature(b.real)
			return b.bearer(tok, "A's real token, one signature bit flipped"), err
		}},
		{"sig-truncated", "signature", wkSigNotVerified, func(b *builder) (forgedToken, error) {
			tok, err := jwtforge.TruncateSignature(b.real, 4)
			return b.bearer(tok, "A's real token, last 4 signature characters cut (jwt_tool)"), err
		}},
		{"sig-swapped", "signature", wkSigNotVerified, func(b *builder) (forgedToken, error) {
			tok := secret.New(jwtforge.Segment(b.real, 0) + "." + jwtforge.Segment(b.real, 1) + "." + jwtforge.Segment(b.realB, 2))
			return b.bearer(tok, "A's header and claims with B's (valid) signature"), nil
		}},
		{"claims-tampered-sub", "signature", wkTampered, func(b *builder) (forgedToken, error) {
			set := map[string]any{"sub": b.b.User.ID, "email": b.b.Email}
			if _, ok := b.claims["id"]; ok {
				set["id"] = b.b.User.ID
			}
			tok, err := jwtforge.TamperClaims(b.real, set)
			return b.bearer(tok, "A's real token with sub (and email) set to B's, original signature"), err
		}},
		{"claims-tampered-exp", "signature", wkTampered, func(b *builder) (forgedToken, error) {
			tok, err := jwtforge.TamperClaims(b.real, map[string]any{"exp": b.now.Add(365 * 24 * time.Hour).Unix()})
			return b.bearer(tok, "A's real token with exp pushed a year out, original signature"), err
		}},

		// alg none and algorithm allowlist.
		{"alg-none-lowercase", "alg", wkAlgNone, algNone("none")},
		{"alg-none-capitalized", "alg", wkAlgNone, algNone("None")},
		{"alg-none-uppercase", "alg", wkAlgNone, algNone("NONE")},
		{"alg-none-mixedcase", "alg", wkAlgNone, algNone("nOnE")},
		{"alg-empty", "alg", wkAlgNone, algNone("")},
		{"alg-none-real-signature", "alg", wkAlgNone, func(b *builder) (forgedToken, error) {
			tok, err := jwtforge.TamperHeader(b.real, map[string]any{"alg": "none"})
			return b.bearer(tok, `A's real token with header alg "none", original signature kept`), err
		}},
		{"hs512-shared-secret", "alg", wkAlgAllowlist, func(b *builder) (forgedToken, error) {
			k, err := jwtforge.HMACKey(jwtforge.AlgHS512, []byte(b.w.Secret.Value()), "shared secret")
			if err != nil {
				return forgedToken{}, err
			}
			return b.sign(k, map[string]any{"typ": "JWT"}, "A's claims, HS512 (not HS256) with the shared secret")
		}},

		// HMAC keys the attacker can guess or knows.
		{"hs256-empty-key", "hmac", wkWeakHMAC, func(b *builder) (forgedToken, error) {
			return b.hmac(nil, "empty", map[string]any{"typ": "JWT"}, "A's claims, HS256 with an empty key (CVE-2019-20933)")
		}},
		{"hs256-weak-secret", "hmac", wkWeakHMAC, func(b *builder) (forgedToken, error) {
			return b.hmac([]byte("secret"), `"secret" (jwt-common.txt)`, map[string]any{"typ": "JWT"}, "A's claims, HS256 with a dictionary secret")
		}},
		{"hs256-wrong-secret", "hmac", wkWeakHMAC, func(b *builder) (forgedToken, error) {
			return b.hmac([]byte("not-the-secret-"+randomString(16)), "random", map[string]any{"typ": "JWT"}, "A's claims, HS256 with a random 48-character secret")
		}},
		{"hs256-public-key-raw", "hmac", wkKeyConfusion, func(b *builder) (forgedToken, error) {
			if len(b.keys.PublicX) == 0 {
				return notApplicable(b.keys.JWKSWhy)
			}
			return b.hmac(b.keys.PublicX, "the JWKS key's raw public bytes", b.serverKIDHeader(), "A's claims, HS256 keyed with the server's public key bytes (JWKS x), kid of that key")
		}},
		{"hs256-public-key-jwk", "hmac", wkKeyConfusion, func(b *builder) (forgedToken, error) {
			if len(b.keys.PublicJWK) == 0 {
				return notApplicable(b.keys.JWKSWhy)
			}
			return b.hmac(b.keys.PublicJWK, "the JWKS key as published (JSON)", b.serverKIDHeader(), "A's claims, HS256 keyed with the server's public JWK JSON, kid of that key")
		}},
		{"hs256-public-key-pem", "hmac", wkKeyConfusion, func(b *builder) (forgedToken, error) {
			if len(b.keys.PublicPEM) == 0 {
				return notApplicable(b.keys.JWKSWhy)
			}
			return b.hmac(b.keys.PublicPEM, "the JWKS key as SPKI PEM", b.serverKIDHeader(), "A's claims, HS256 keyed with the server's public key PEM, kid of that key")
		}},

		// Keys the server does not trust.
		{"eddsa-forge-key-server-kid", "untrusted key", wkUntrustedKey, func(b *builder) (forgedToken, error) {
			return b.sign(b.forge.EdDSA().WithKID(b.keys.ServerKID), nil, "A's claims, EdDSA by the harness's own key under the server's kid")
		}},
		{"eddsa-forge-key-no-kid", "untrusted key", wkUntrustedKey, func(b *builder) (forgedToken, error) {
			return b.sign(b.forge.EdDSA().WithKID(""), nil, "A's claims, EdDSA by the harness's own key, no kid")
		}},
		{"es256-forge-key", "untrusted key", wkUntrustedKey, func(b *builder) (forgedToken, error) {
			return b.sign(b.forge.ES256().WithKID(b.keys.ServerKID), nil, "A's claims, ES256 by the harness's P-256 key under the server's kid")
		}},
		{"rs256-forge-key", "untrusted key", wkUntrustedKey, func(b *builder) (forgedToken, error) {
			return b.sign(b.forge.RS256().WithKID(b.keys.ServerKID), nil, "A's claims, RS256 by the harness's RSA key under the server's kid")
		}},

		// Keys named or carried by the token itself.
		{"jwk-embedded", "header key", wkEmbeddedKey, func(b *builder) (forgedToken, error) {
			pub, err := b.asym().PublicJWK()
			if err != nil {
				return forgedToken{}, err
			}
			return b.sign(b.asym(), map[string]any{"jwk": pub}, "A's claims, "+b.asym().Alg()+" by the harness's key, its public key in the jwk header")
		}},
		{"jwk-embedded-server-kid", "header key", wkEmbeddedKey, func(b *builder) (forgedToken, error) {
			k := b.asym().WithKID(b.keys.ServerKID)
			pub, err := k.PublicJWK()
			if err != nil {
				return forgedToken{}, err
			}
			return b.sign(k, map[string]any{"jwk": pub}, "as jwk-embedded, but header and jwk carry the server's kid")
		}},
		{"x5c-embedded", "header key", wkEmbeddedKey, func(b *builder) (forgedToken, error) {
			return b.sign(b.forge.RS256(), map[string]any{"x5c": b.forge.CertChain()}, "A's claims, RS256 by the harness's key, its self-signed certificate in x5c")
		}},
		{"jku-keyserver", "header key", wkKeyURL, func(b *builder) (forgedToken, error) {
			p := "/jku/" + b.nonce + "/jwks.json"
			u, err := b.keyServerURL(p)
			if err != nil {
				return forgedToken{}, err
			}
			t, err := b.sign(b.asym(), map[string]any{"jku": u}, "A's claims, "+b.asym().Alg()+" by the harness's key, jku = the key server's JWKS of that key ("+u+")")
			t.fetchPaths = []string{p}
			return t, err
		}},
		{"jku-keyserver-server-kid", "header key", wkKeyURL, func(b *builder) (forgedToken, error) {
			p := "/jku/" + b.nonce + "/jwks-server-kid.json"
			u, err := b.keyServerURL(p)
			if err != nil {
				return forgedToken{}, err
			}
			t, err := b.sign(b.asym().WithKID(b.keys.ServerKID), map[string]any{"jku": u}, "as jku-keyserver, under the server's kid (the served JWKS names the harness's key so)")
			t.fetchPaths = []string{p}
			return t, err
		}},
		{"x5u-keyserver", "header key", wkKeyURL, func(b *builder) (forgedToken, error) {
			p := "/x5u/" + b.nonce + "/cert.pem"
			u, err := b.keyServerURL(p)
			if err != nil {
				return forgedToken{}, err
			}
			t, err := b.sign(b.forge.RS256(), map[string]any{"x5u": u}, "A's claims, RS256 by the harness's key, x5u = its certificate on the key server ("+u+")")
			t.fetchPaths = []string{p}
			return t, err
		}},

		// kid: unknown and injected (jwt_tool playbook).
		{"kid-unknown", "kid", wkKid, func(b *builder) (forgedToken, error) {
			return b.sign(b.untrusted().WithKID("unknown-"+randomString(8)), nil, "A's claims, this mode's alg by an untrusted key, random kid")
		}},
		{"kid-path-traversal", "kid", wkKid, func(b *builder) (forgedToken, error) {
			return b.hmac(nil, "empty (/dev/null)", map[string]any{"kid": "../../../../../../dev/null"}, "A's claims, HS256 with an empty key, kid ../../../../../../dev/null")
		}},
		{"kid-dev-null", "kid", wkKid, func(b *builder) (forgedToken, error) {
			return b.hmac(nil, "empty (/dev/null)", map[string]any{"kid": "/dev/null"}, "A's claims, HS256 with an empty key, kid /dev/null")
		}},
		{"kid-blank", "kid", wkKid, func(b *builder) (forgedToken, error) {
			return b.hmac(nil, "empty", map[string]any{"kid": ""}, `A's claims, HS256 with an empty key, kid ""`)
		}},
		{"kid-sql-injection", "kid", wkKid, func(b *builder) (forgedToken, error) {
			return b.hmac([]byte("1"), `"1"`, map[string]any{"kid": "x' UNION SELECT '1';--"}, `A's claims, HS256 keyed "1", kid x' UNION SELECT '1';--`)
		}},
		{"kid-command-injection", "kid", wkKid, func(b *builder) (forgedToken, error) {
			return b.sign(b.untrusted().WithKID("|sleep 10"), nil, "A's claims, this mode's alg by an untrusted key, kid |sleep 10 (must not take 10 s)")
		}},
		{"kid-oversized", "kid", wkKid, func(b *builder) (forgedToken, error) {
			return b.sign(b.untrusted().WithKID(strings.Repeat("k", 10<<10)), nil, "A's claims, this mode's alg by an untrusted key, 10 KiB kid")
		}},
		{"kid-not-a-string", "kid", wkKid, func(b *builder) (forgedToken, error) {
			k := b.untrusted().WithKID("")
			tok, err := jwtforge.SignLyingAlg(k, k.Alg(), b.claims, map[string]any{"kid": map[string]any{"$ne": ""}})
			return b.bearer(tok, `A's claims, this mode's alg by an untrusted key, kid {"$ne": ""} (an object; assembled by hand, jwx refuses it); signed with `+k.String()), err
		}},

		// Claims, signed as the app signs (so only the claim is wrong).
		{"exp-expired", "claims", wkExpired, func(b *builder) (forgedToken, error) {
			return b.trusted(map[string]any{"exp": b.now.Add(-time.Hour).Unix(), "iat": b.now.Add(-90 * time.Minute).Unix()}, "exp 1 h ago")
		}},
		{"exp-missing", "claims", wkNoExp, func(b *builder) (forgedToken, error) {
			return b.trusted(map[string]any{"exp": nil}, "no exp")
		}},
		{"exp-string-past", "claims", wkExpType, func(b *builder) (forgedToken, error) {
			return b.trusted(map[string]any{"exp": fmt.Sprint(b.now.Add(-time.Hour).Unix())}, "exp as a string, 1 h ago")
		}},
		{"nbf-future", "claims", wkNbf, func(b *builder) (forgedToken, error) {
			return b.trusted(map[string]any{"nbf": b.now.Add(10 * time.Minute).Unix()}, "nbf in 10 min")
		}},
		{"iat-future", "claims", wkIat, func(b *builder) (forgedToken, error) {
			return b.trusted(map[string]any{"iat": b.now.Add(time.Hour).Unix(), "exp": b.now.Add(2 * time.Hour).Unix()}, "iat in 1 h (exp in 2 h)")
		}},
		{"sub-missing", "claims", wkSub, func(b *builder) (forgedToken, error) {
			return b.trusted(map[string]any{"sub": nil}, "no sub")
		}},
		{"sub-empty", "claims", wkSub, func(b *builder) (forgedToken, error) {
			return b.trusted(map[string]any{"sub": ""}, `sub ""`)
		}},
		{"sub-not-a-string", "claims", wkSub, func(b *builder) (forgedToken, error) {
			return b.trusted(map[string]any{"sub": 12345}, "sub 12345 (a number)")
		}},
		{"iss-wrong", "claims", wkIss, func(b *builder) (forgedToken, error) {
			t, err := b.trusted(map[string]any{"iss": "https://evil.authflow.test"}, "iss of another issuer")
			if noIssAud(b) {
				t.expect, t.why = expectReport, b.mode+": the app's tokens carry no iss and the backend is configured with no issuer, so nothing can be checked; observed for the record"
			}
			return t, err
		}},
		{"iss-missing", "claims", wkIss, func(b *builder) (forgedToken, error) {
			if _, ok := b.claims["iss"]; !ok {
				return notApplicable("this mode's tokens (" + b.mode + ") carry no iss claim, so there is nothing to remove")
			}
			return b.trusted(map[string]any{"iss": nil}, "no iss")
		}},
		{"aud-wrong", "claims", wkAud, func(b *builder) (forgedToken, error) {
			t, err := b.trusted(map[string]any{"aud": "https://other-service.authflow.test"}, "aud of another service")
			if noIssAud(b) {
				t.expect, t.why = expectReport, b.mode+": the app's tokens carry no aud and the backend is configured with no audience; RFC 7519 §4.1.3 says a present aud that does not name the recipient must be rejected; observed for the record"
			}
			return t, err
		}},
		{"aud-missing", "claims", wkAud, func(b *builder) (forgedToken, error) {
			if _, ok := b.claims["aud"]; !ok {
				return notApplicable("this mode's tokens (" + b.mode + ") carry no aud claim, so there is nothing to remove")
			}
			return b.trusted(map[string]any{"aud": nil}, "no aud")
		}},
		{"aud-list-without-ours", "claims", wkAud, func(b *builder) (forgedToken, error) {
			t, err := b.trusted(map[string]any{"aud": []string{"https://other-service.authflow.test", "https://third.authflow.test"}}, "aud a list that does not name us")
			if noIssAud(b) {
				t.expect, t.why = expectReport, b.mode+": no audience is configured (see aud-wrong); observed for the record"
			}
			return t, err
		}},
		{"type-not-access", "claims", "a token of another type (type claim) is accepted as an access token (RFC 8725 §3.11, ASVS 9.2.2)", func(b *builder) (forgedToken, error) {
			if _, ok := b.claims["type"]; !ok {
				return notApplicable("this mode's tokens carry no type claim (Better Auth's jwt plugin), so there is no type to confuse")
			}
			t, err := b.trusted(map[string]any{"type": "refresh"}, `type "refresh" instead of "access"`)
			return t, err
		}},

		{"crit-unknown-extension", "header key", "a token whose crit header names an extension the server does not understand is accepted (RFC 7515 §4.1.11: it MUST be rejected)", func(b *builder) (forgedToken, error) {
			k := b.keys.Trusted
			if k.IsZero() {
				return notApplicable("no token can be signed as the app signs (" + b.keys.TrustedWhy + ")")
			}
			header := map[string]any{"crit": []string{"urn:authflow:must-understand"}, "urn:authflow:must-understand": true}
			if k.Alg() == jwtforge.AlgHS256 {
				header["typ"] = "JWT"
			}
			tok, err := jwtforge.SignLyingAlg(k, k.Alg(), b.claims, header)
			t := b.bearer(tok, `A's claims signed as the app signs, header crit ["urn:authflow:must-understand"] (assembled by hand); signed with the `+k.String())
			return t, err
		}},

		// Malformed tokens.
		{"segments-1", "malformed", wkMalformed, malformedCase(func(b *builder) (secret.Secret, string, error) {
			return jwtforge.WithSegments(b.real, 1), "A's real token cut to its header segment", nil
		})},
		{"segments-2", "malformed", wkMalformed, malformedCase(func(b *builder) (secret.Secret, string, error) {
			return jwtforge.WithSegments(b.real, 2), "A's real token cut to header.payload (no dot, no signature)", nil
		})},
		{"segments-4", "malformed", wkMalformed, malformedCase(func(b *builder) (secret.Secret, string, error) {
			return jwtforge.WithSegments(b.real, 4), "A's real token plus a fourth segment", nil
		})},
		{"segments-5-jwe-shaped", "malformed", wkMalformed, malformedCase(func(b *builder) (secret.Secret, string, error) {
			return jwtforge.WithSegments(b.real, 5), "A's real token plus two segments (JWE-shaped)", nil
		})},
		{"segments-empty", "malformed", wkMalformed, malformedCase(func(b *builder) (secret.Secret, string, error) {
			return secret.New(".."), `".." (three empty segments)`, nil
		})},
		{"bad-base64url", "malformed", wkMalformed, malformedCase(func(b *builder) (secret.Secret, string, error) {
			tok, err := jwtforge.BadBase64URL(b.real)
			return tok, "A's real token with '+', '/' and '=' in the payload segment", err
		})},
		{"header-not-json", "malformed", wkMalformed, malformedCase(func(b *builder) (secret.Secret, string, error) {
			tok, err := jwtforge.RawHeaderSegment(b.real, []byte("not json"))
			return tok, "A's real token with header base64url(\"not json\")", err
		})},
		{"header-json-array", "malformed", wkMalformed, malformedCase(func(b *builder) (secret.Secret, string, error) {
			tok, err := jwtforge.RawHeaderSegment(b.real, []byte("[]"))
			return tok, "A's real token with header base64url(\"[]\")", err
		})},
		{"payload-not-json", "malformed", wkMalformed, malformedCase(func(b *builder) (secret.Secret, string, error) {
			k := b.keys.Trusted
			if k.IsZero() {
				k = b.forge.EdDSA()
			}
			var header map[string]any
			if k.Alg() == jwtforge.AlgHS256 {
				header = map[string]any{"typ": "JWT"}
			}
			tok, err := jwtforge.SignPayload(k, []byte("not json"), header)
			return tok, "payload \"not json\" signed with the " + k.String(), err
		})},
		{"oversized-64k", "malformed", wkMalformed, malformedCase(func(b *builder) (secret.Secret, string, error) {
			k := b.untrusted()
			tok, err := jwtforge.Oversized(k, b.claims, nil, 64<<10)
			return tok, fmt.Sprintf("A's claims plus a 64 KiB pad claim (%d bytes), signed with %s", tok.Len(), k), err
		})},

		// Where the credential comes from.
		{"no-authorization-header", "transport", wkTransport, func(b *builder) (forgedToken, error) {
			return forgedToken{auth: placement{}, construction: "no Authorization header"}, nil
		}},
		{"bearer-empty", "transport", wkTransport, func(b *builder) (forgedToken, error) {
			return forgedToken{auth: placement{Header: true, Raw: strPtr("Bearer ")}, construction: `scheme "Bearer" followed by nothing`}, nil
		}},
		{"basic-scheme", "transport", wkTransport, func(b *builder) (forgedToken, error) {
			return forgedToken{auth: placement{Header: true, Raw: strPtr("Basic dXNlcjpwYXNzd29yZA==")}, construction: `scheme "Basic" (user:password) instead of "Bearer"`}, nil
		}},
		{"token-in-query", "transport", wkQueryToken, func(b *builder) (forgedToken, error) {
			return forgedToken{auth: placement{Query: "access_token=" + b.real.Value()}, construction: "A's real token as ?access_token=, no Authorization header"}, nil
		}},
		{"bearer-lowercase-scheme", "transport", "", func(b *builder) (forgedToken, error) {
			return forgedToken{auth: placement{Header: true, Raw: strPtr("bearer " + b.real.Value())}, construction: "A's real token with the scheme spelled \"bearer\"",
				expect: expectReport, why: "RFC 7235 §2.1 makes the scheme case-insensitive, so accepting is right; observed for the record"}, nil
		}},
	}
}

func algNone(alg string) func(b *builder) (forgedToken, error) {
	return func(b *builder) (forgedToken, error) {
		tok, err := jwtforge.Unsigned(alg, b.claims, nil)
		return b.bearer(tok, fmt.Sprintf("A's claims, header alg %q, empty signature", alg)), err
	}
}

func malformedCase(f func(b *builder) (secret.Secret, string, error)) func(b *builder) (forgedToken, error) {
	return func(b *builder) (forgedToken, error) {
		tok, what, err := f(b)
		t := b.bearer(tok, what)
		t.malformed = true
		return t, err
	}
}

// TestSecurity_JWTAttackMatrix runs every case of attackCases on threads.list and threads.create,
// between two positive controls, and writes the report.
func TestSecurity_JWTAttackMatrix(t *testing.T) {
	h := fixtures.Test(t)
	started := time.Now()
	t.Cleanup(func() { writeSecurityReport(h) })
	c := h.Ctx

	// The key server (a go build and a container) and the forge's keys (RSA) get ready while the
	// users sign up.
	type ksResult struct {
		ks  *keyServer
		err error
	}
	ksReady := make(chan ksResult, 1)
	go func() {
		ks, err := keyServerFor(h)
		ksReady <- ksResult{ks, err}
	}()
	forgeReady := make(chan error, 1)
	go func() { _, err := h.ForgeKeys(); forgeReady <- err }()
	a := h.NewUser("sec-a")
	bUser := h.NewUser("sec-b")
	claims, err := jwtforge.DecodeClaims(a.Token)
	require.NoError(t, err, "A's token is a JWT")
	head, err := jwtforge.DecodeHeader(a.Token)
	require.NoError(t, err)
	kid, _ := head["kid"].(string)
	keys := loadKeys(h, a.Auth, kid)
	require.NoError(t, <-forgeReady, "the forge's keys")
	forge := h.Forge(t)
	ksr := <-ksReady
	ks, ksErr := ksr.ks, ksr.err
	b := &builder{
		mode: h.Target.TokenMode, tm: h.Target.Mode, alg: fmt.Sprint(head["alg"]), forge: forge, keys: keys, real: a.Token, realB: bUser.Token, claims: claims,
		a: a, b: bUser, w: h.World, now: time.Now(), ks: ks, ksErr: ksErr, nonce: randomString(8),
	}
	if ks != nil {
		t.Logf("key server: %s on the stack's network (admin %s), up in %s", ks.Internal, ks.Public, ks.Started.Round(time.Millisecond))
	}
	t.Logf("mode %s; trusted signer: %s; server JWKS key: %s", b.mode, describe(keys.Trusted, keys.TrustedWhy), describe(keys.ServerKey, keys.ServerKeyWhy))
	setup := time.Since(started)

	private := []string{a.User.ID, a.Email}
	order := 0
	row := func(name, group, construction, expected, observed, result string) {
		order++
		h.Security.AddRow(attack.Row{Order: order, Case: name, Group: group, Construction: construction, Expected: expected, Observed: observed, Result: result})
	}

	// control-before: A's real token works, on both requests; remember the thread it creates.
	var controlThread string
	t.Run("case=control-before", func(t *testing.T) {
		h := h.Sub(t)
		outs, thread := sendControl(c, h, a.Token, "A's real token must work before the matrix")
		controlThread = thread
		row("control-before", "control", "A's real token as issued", "accept", observedText(outs), attackResult(t))
	})

	// The recorder sees a request made inside the stack's network (else "no fetch" proves nothing).
	var cursor int64
	t.Run("case=keyserver-sees-in-network-requests", func(t *testing.T) {
		defer func() {
			row("keyserver-sees-in-network-requests", "control", "the key server GETs its own alias URL from inside its container", "recorded", "", attackResult(t))
		}()
		require.NoError(t, ksErr, "the key server is needed for the jku/x5u cases")
		_, next, err := ks.Requests(c, 0)
		require.NoError(t, err)
		canary := "/canary/" + b.nonce
		status, err := ks.SelfFetch(c, ks.Internal+canary)
		require.NoError(t, err, "a GET of %s from inside the stack's network", ks.Internal+canary)
		require.Equal(t, 404, status, "the canary path is not served, so 404")
		reqs, next2, err := ks.Requests(c, next)
		require.NoError(t, err)
		require.True(t, slices.ContainsFunc(reqs, func(r keyRequest) bool { return r.Path == canary }),
			"the key server must record a request that crossed the stack's network (got %v)", reqs)
		cursor = next2
		jwks, err := forge.JWKS()
		require.NoError(t, err)
		require.NoError(t, ks.Put(c, "/jku/"+b.nonce+"/jwks.json", "application/json", jwks))
		serverKidJWKS, err := jwksUnderKID(b.asym(), keys.ServerKID)
		require.NoError(t, err)
		require.NoError(t, ks.Put(c, "/jku/"+b.nonce+"/jwks-server-kid.json", "application/json", serverKidJWKS))
		require.NoError(t, ks.Put(c, "/x5u/"+b.nonce+"/cert.pem", "application/x-pem-file", forge.CertPEM()))
	})

	accepted := map[string]bool{}
	cases := attackCases()
	matrixStart := time.Now()
	for _, tc := range cases {
		// A case that does not apply to this mode (e.g. a missing iss where the mode has no iss) gets
		// an n/a row in the report and no subtest: nothing runs, so nothing is shown as passed.
		tk, buildErr := tc.build(b)
		if buildErr == nil && tk.na {
			row(tc.name, tc.group, "-", "n/a", "not run in "+b.mode+": "+tk.why, "n/a")
			t.Logf("case=%s: n/a in token mode %s: %s", tc.name, b.mode, tk.why)
			continue
		}
		t.Run("case="+tc.name, func(t *testing.T) {
			h := h.Sub(t)
			if buildErr != nil {
				row(tc.name, tc.group, tk.construction, "reject", "could not build: "+buildErr.Error(), "FAIL")
				t.Fatalf("case=%s: build the token: %v", tc.name, buildErr)
			}
			var outs []attack.Outcome
			for _, rq := range probeRequests {
				r, err := sendWith(h, c, tk.auth, rq.body)
				var o attack.Outcome
				switch tk.expect {
				case expectAccept:
					o = judge.Accepted(rq.name, rq.streaming, r, err, tk.why)
				default:
					o = judge.Rejected(rq.name, r, err, tk.auth.Token, tk.malformed, tc.weakness, private)
				}
				outs = append(outs, o)
				if o.Accepted && tk.expect == expectReject {
					accepted[tc.name] = true
				}
			}
			var fetched []string
			if len(tk.fetchPaths) > 0 && ks != nil {
				reqs, next, err := ks.Requests(c, cursor)
				require.NoError(t, err, "read the key server's log")
				cursor = next
				for _, r := range reqs {
					fetched = append(fetched, r.String())
				}
			}
			expected := "reject"
			switch tk.expect {
			case expectAccept:
				expected = "accept (" + tk.why + ")"
			case expectReport:
				expected = "report (" + tk.why + ")"
			}
			if len(tk.fetchPaths) > 0 {
				expected += ", no fetch"
			}
			observed := observedText(outs)
			if len(tk.fetchPaths) > 0 {
				if len(fetched) == 0 {
					observed += "; key server: no request"
				} else {
					observed += fmt.Sprintf("; key server: %d request(s)", len(fetched))
				}
			}
			if tk.expect == expectReport {
				row(tc.name, tc.group, tk.construction, expected, observed, "report")
				t.Logf("case=%s (report only, %s): %s", tc.name, tk.why, observed)
				return
			}
			for _, o := range outs {
				for _, p := range o.Problems {
					t.Errorf("case=%s [%s]: %s\n  construction: %s", tc.name, o.Request, p, tk.construction)
				}
				if o.Status >= 500 {
					t.Logf("%s", h.ServiceLogs(8))
				}
			}
			for _, f := range fetched {
				t.Errorf("case=%s: the backend fetched the key URL the token points at: %s: the jku/x5u header is honoured: SSRF and key injection (RFC 8725 §3.10, ASVS 9.1.3)", tc.name, f)
			}
			row(tc.name, tc.group, tk.construction, expected, observed, attackResult(t))
		})
	}
	matrixTook := time.Since(matrixStart)

	t.Run("case=no-outbound-fetch", func(t *testing.T) {
		defer func() {
			row("no-outbound-fetch", "control", "the key server's whole log after the matrix (+0.5 s for late fetches)", "no request", "", attackResult(t))
		}()
		require.NoError(t, ksErr, "the key server")
		time.Sleep(500 * time.Millisecond)
		reqs, _, err := ks.Requests(c, cursor)
		require.NoError(t, err)
		for _, r := range reqs {
			t.Errorf("the key server got a request during or after the matrix: %s: some token's jku/x5u was fetched (RFC 8725 §3.10)", r)
		}
	})

	t.Run("case=control-after", func(t *testing.T) {
		h := h.Sub(t)
		outs, _ := sendControl(c, h, a.Token, "A's real token must still work after the matrix (no lockout, no corrupted state)")
		list, err := a.ChatKit.ListThreads(c, 5, "asc", "") // A's oldest threads: the control thread is the first
		switch {
		case err != nil:
			t.Errorf("control-after: threads.list (oldest first) with A's token: %v", err)
		case controlThread != "" && !slices.ContainsFunc(list.Data, func(th chatkit.Thread) bool { return th.ID == controlThread }):
			t.Errorf("control-after: A's thread from control-before (%s) is gone from threads.list: state was corrupted", controlThread)
		}
		if _, err := bUser.ChatKit.ListThreads(c, 5, "", ""); err != nil {
			t.Errorf("control-after: B's real token no longer works: %v", err)
		}
		row("control-after", "control", "A's real token as issued (and B's), after every case", "accept; A's control thread still listed", observedText(outs), attackResult(t))
	})

	diagnosis := diagnose(accepted)
	for _, d := range diagnosis {
		t.Errorf("diagnosis: %s", d)
		h.Security.AddNote("diagnosis: %s", d)
	}
	total := time.Since(started)
	h.Security.AddNote("matrix timings: setup %s (sign-ups, forge keys, JWKS, key server), %d cases in %s, whole test %s",
		setup.Round(time.Millisecond), len(cases), matrixTook.Round(time.Millisecond), total.Round(time.Millisecond))
	t.Logf("matrix: setup %s, %d cases in %s, total %s", setup.Round(time.Millisecond), len(cases), matrixTook.Round(time.Millisecond), total.Round(time.Millisecond))
	t.Logf("security report (artifacts/security-report-%s.md):\n%s", b.mode, h.Security.Markdown(time.Now()))
}

// sendControl sends tok on both requests and requires success; it returns the outcomes and the id
// of the thread threads.create made.
func sendControl(c context.Context, h *fixtures.T, tok secret.Secret, why string) ([]attack.Outcome, string) {
	t := h.T
	t.Helper()
	var outs []attack.Outcome
	thread := ""
	for _, rq := range probeRequests {
		r, err := sendWith(h, c, asBearer(tok), rq.body)
		o := judge.Accepted(rq.name, rq.streaming, r, err, why)
		for _, p := range o.Problems {
			t.Errorf("%s [%s]: %s\n%s", t.Name(), rq.name, p, h.ServiceLogs(8))
		}
		if rq.streaming && r != nil {
			if evs, err := r.Events(); err == nil {
				for _, e := range evs {
					if e.Type == chatkit.EventThreadCreated && e.Thread != nil {
						thread = e.Thread.ID
					}
				}
			}
		}
		outs = append(outs, o)
	}
	return outs, thread
}

func observedText(outs []attack.Outcome) string {
	var parts []string
	for _, o := range outs {
		parts = append(parts, o.Short())
	}
	return strings.Join(parts, ", ")
}

func attackResult(t *testing.T) string {
	if t.Failed() {
		return "FAIL"
	}
	return "pass"
}

func describe(k jwtforge.SigningKey, why string) string {
	if k.IsZero() {
		return "none (" + why + ")"
	}
	return k.String()
}

// jwksUnderKID is a JWKS holding k's public key under kid (the server's), as an attacker
// serves it at a jku URL.
func jwksUnderKID(k jwtforge.SigningKey, kid string) ([]byte, error) {
	j, err := k.WithKID(kid).PublicJWK()
	if err != nil {
		return nil, err
	}
	return json.Marshal(map[string]any{"keys": []any{j}})
}

// diagnose names the root cause behind a set of accepted cases, for the kill matrix.
func diagnose(accepted map[string]bool) []string {
	hit := func(names ...string) bool {
		return slices.ContainsFunc(names, func(n string) bool { return accepted[n] })
	}
	var out []string
	if hit("sig-stripped", "sig-corrupted", "sig-truncated", "sig-swapped", "claims-tampered-sub", "hs256-wrong-secret", "eddsa-forge-key-server-kid") {
		out = append(out, "signatures are not verified: tokens with stripped, corrupted or foreign signatures are accepted (RFC 8725 §3.3, ASVS 9.1.1)")
	}
	switch {
	case len(out) > 0 && hit("alg-none-lowercase", "alg-none-capitalized", "alg-none-uppercase", "alg-none-mixedcase", "alg-empty"):
		out[0] += `; unsigned (alg "none") tokens pass as a consequence`
	case hit("alg-none-lowercase", "alg-none-capitalized", "alg-none-uppercase", "alg-none-mixedcase", "alg-empty"):
		out = append(out, `unsigned tokens (alg "none") are accepted while signed ones are verified: "none" is on the algorithm allowlist (RFC 8725 §3.1, ASVS 9.1.2)`)
	}
	if hit("exp-expired", "exp-missing") {
		out = append(out, "expiry is not enforced: expired tokens and tokens without exp are accepted (ASVS 9.2.1)")
	}
	if hit("nbf-future", "iat-future") {
		out = append(out, "nbf/iat are not enforced (ASVS 9.2.1)")
	}
	if hit("iss-wrong", "iss-missing", "aud-wrong", "aud-missing", "aud-list-without-ours") {
		out = append(out, "issuer/audience are not enforced (RFC 8725 §3.8-3.9)")
	}
	return out
}
