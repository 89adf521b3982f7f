package chatkit

import (
	"context"
	"crypto/ed25519"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"strings"
	"sync"
	"time"
)

// jwksCache fetches the web service's JWKS lazily, keeps the Ed25519 keys by kid and refetches when
// a token names an unknown kid, but at most once per minInterval so that a flood of bogus kids
// cannot turn into a flood of JWKS requests.
type jwksCache struct {
	url         string
	client      *http.Client
	minInterval time.Duration
	logger      *log.Logger

	fetchMu sync.Mutex // serialises fetches

	mu          sync.RWMutex
	keys        map[string]ed25519.PublicKey
	lastAttempt time.Time
}

func newJWKSCache(url string, client *http.Client, minInterval time.Duration, logger *log.Logger) *jwksCache {
	return &jwksCache{url: url, client: client, minInterval: minInterval, logger: logger}
}

func (c *jwksCache) lookup(kid string) (ed25519.PublicKey, bool) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	k, ok := c.keys[kid]
	return k, ok
}

func (c *jwksCache) key(ctx context.Context, kid string) (ed25519.PublicKey, error) {
	if k, ok := c.lookup(kid); ok {
		return k, nil
	}
	c.fetchMu.Lock()
	defer c.fetchMu.Unlock()
	if k, ok := c.lookup(kid); ok { // fetched by a concurrent request meanwhile
		return k, nil
	}
	c.mu.RLock()
	last := c.lastAttempt
	c.mu.RUnlock()
	if !last.IsZero() && time.Since(last) < c.minInterval {
		return nil, errors.New("unknown kid (JWKS was refreshed recently)")
	}
	keys, err := c.fetch(ctx)
	c.mu.Lock()
	c.lastAttempt = time.Now()
	if err == nil {
		c.keys = keys
	}
	c.mu.Unlock()
	if err != nil {
		c.logger.Printf("JWKS fetch failed: %v", err)
		return nil, fmt.Errorf("JWKS unavailable: %w", err)
	}
	c.logger.Printf("JWKS fetched: %d Ed25519 key(s)", len(keys))
	if k, ok := keys[kid]; ok {
		return k, nil
	}
	return nil, errors.New("unknown kid")
}

func (c *jwksCache) fetch(ctx context.Context) (map[string]ed25519.PublicKey, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, c.url, nil)
	if err != nil {
		return nil, err
	}
	req.Header.Set("Accept", "application/json")
	resp, err := c.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET JWKS: status %d", resp.StatusCode)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		return nil, err
	}
	return parseJWKS(body)
}

// parseJWKS keeps only Ed25519 signing keys (kty OKP, crv Ed25519) that have a kid.
func parseJWKS(body []byte) (map[string]ed25519.PublicKey, error) {
	var set struct {
		Keys []struct {
			Kty string `json:"kty"`
			Crv string `json:"crv"`
			X   string `json:"x"`
			Kid string `json:"kid"`
			Alg string `json:"alg"`
			Use string `json:"use"`
		} `json:"keys"`
	}
	if err := json.Unmarshal(body, &set); err != nil {
		return nil, fmt.Errorf("decode JWKS: %w", err)
	}
	keys := map[string]ed25519.PublicKey{}
	for _, k := range set.Keys {
		if k.Kty != "OKP" || k.Crv != "Ed25519" || k.Kid == "" {
			continue
		}
		if k.Alg != "" && k.Alg != "EdDSA" && k.Alg != "Ed25519" {
			continue
		}
		if k.Use != "" && k.Use != "sig" {
			continue
		}
		x, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(k.X, "="))
		if err != nil || len(x) != ed25519.PublicKeySize {
			continue
		}
		if _, dup := keys[k.Kid]; !dup {
			keys[k.Kid] = ed25519.PublicKey(x)
		}
	}
	return keys, nil
}
