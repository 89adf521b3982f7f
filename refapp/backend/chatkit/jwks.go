package chatkit

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/MicahParks/jwkset"
	"github.com/MicahParks/keyfunc/v3"
	"github.com/golang-jwt/jwt/v5"
)

// jwksCache fetches the web service's JWKS lazily, keeps its signing keys by kid and refetches when a
// token names an unknown kid, but at most once per minInterval so that a flood of bogus kids cannot
// turn into a flood of JWKS requests.
//
// The keys are parsed by jwkset and a token's key is chosen by keyfunc (the JWK's alg must be the
// token's; any key type Better Auth's jwt plugin publishes: EdDSA, ES256, RS256, PS256). The fetch
// policy is ours: keyfunc's HTTP client fetches at construction and refreshes in the background,
// while this backend must start before the web has a key, fetch only when a token needs a key, and
// pin "at most one fetch per interval" (its tests and the security suite rely on it).
type jwksCache struct {
	url         string
	client      *http.Client
	minInterval time.Duration
	logger      *log.Logger

	fetchMu sync.Mutex // serialises fetches

	mu          sync.RWMutex
	kids        map[string]bool
	keys        keyfunc.Keyfunc
	lastAttempt time.Time
}

func newJWKSCache(url string, client *http.Client, minInterval time.Duration, logger *log.Logger) *jwksCache {
	return &jwksCache{url: url, client: client, minInterval: minInterval, logger: logger}
}

func (c *jwksCache) lookup(kid string) (keyfunc.Keyfunc, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.keys, c.kids[kid]
}

// keyFor returns the verification key of a token (by its kid and alg), fetching the JWKS when the
// kid is unknown.
func (c *jwksCache) keyFor(ctx context.Context, tok *jwt.Token) (any, error) {
	kid, _ := tok.Header["kid"].(string)
	if kid == "" {
		return nil, errors.New("token has no kid")
	}
	kf, err := c.keySet(ctx, kid)
	if err != nil {
		return nil, err
	}
	key, err := kf.KeyfuncCtx(ctx)(tok)
	if err != nil {
		return nil, errors.New(strings.TrimPrefix(err.Error(), keyfunc.ErrKeyfunc.Error()+": "))
	}
	return key, nil
}

func (c *jwksCache) keySet(ctx context.Context, kid string) (keyfunc.Keyfunc, error) {
	if kf, ok := c.lookup(kid); ok {
		return kf, nil
	}
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	if kf, ok := c.lookup(kid); ok { // fetched by a concurrent request meanwhile
		return kf, nil
	}
	c.mu.RLock()
	last := c.lastAttempt
	c.mu.RUnlock()
	if !last.IsZero() && time.Since(last) < c.minInterval {
		return nil, errors.New("unknown kid (JWKS was refreshed recently)")
	}
	kf, kids, err := c.fetch(ctx)
	c.mu.Lock()
	c.lastAttempt = time.Now()
	if err == nil {
		c.keys, c.kids = kf, kids
	}
	c.mu.Unlock()
	if err != nil {
		c.logger.Printf("JWKS fetch failed: %v", err)
		return nil, fmt.Errorf("JWKS unavailable: %w", err)
	}
	c.logger.Printf("JWKS fetched: %d signing key(s)", len(kids))
	if kids[kid] {
		return kf, nil
	}
	return nil, errors.New("unknown kid")
}

func (c *jwksCache) fetch(ctx context.Context) (keyfunc.Keyfunc, map[string]bool, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, nil, fmt.Errorf("GET JWKS: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, nil, err
	}
	return parseJWKS(ctx, body)
}

// parseJWKS keeps the public signing keys that have a kid (use absent or "sig", a key type that
// signs, RSA of 2048 bits or more, an alg, when present, of that key type) and returns keyfunc over them and their kids.
func parseJWKS(ctx context.Context, body []byte) (keyfunc.Keyfunc, map[string]bool, error) {
	var set jwkset.JWKSMarshal
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, nil, fmt.Errorf("decode JWKS: %w", err)
	}
	store := jwkset.NewMemoryStorage()
	kids := map[string]bool{}
	for _, m := range set.Keys {
		if m.KID == "" || kids[m.KID] || (m.USE != "" && m.USE != jwkset.UseSig) {
			continue
		}
		k, err := jwkset.NewJWKFromMarshal(m, jwkset.JWKMarshalOptions{}, jwkset.JWKValidateOptions{})
		if err != nil || !algFits(m.ALG.String(), k.Key()) {
			continue
		}
		if err := store.KeyWrite(ctx, k); err != nil {
			return nil, nil, err
		}
		kids[m.KID] = true
	}
	kf, err := keyfunc.New(keyfunc.Options{Ctx: context.Background(), Storage: store})
	if err != nil {
		return nil, nil, err
	}
	return kf, kids, nil
}

// jwksMethods are the algorithms a JWKS key may sign with; never an HMAC one (key confusion).
var jwksMethods = []string{"EdDSA", "ES256", "ES384", "ES512", "RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}

// algFits reports whether a public key can sign with alg ("" fits every asymmetric algorithm).
func algFits(alg string, key any) bool {
	switch k := key.(type) {
	case ed25519.PublicKey:
		return alg == "" || alg == "EdDSA" || alg == "Ed25519"
	case *ecdsa.PublicKey:
		return alg == "" || strings.HasPrefix(alg, "ES")
	case *rsa.PublicKey: // RFC 7518 3.3: a key of 2048 bits or more
		return k.N.BitLen() >= 2048 && (alg == "" || strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS"))
	default:
		return false // X25519 and symmetric keys do not sign tokens here
	}
}
