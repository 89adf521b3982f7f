package probe

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

// BasePaths are the Better Auth base paths tried, in order: the default and a few that apps use.
var BasePaths = []string{"/api/auth", "/auth", "/api/better-auth", "/api/v1/auth", "/better-auth", "/api/auth/v1"}

// tokenPaths are app token routes tried after <base>/token (the jwt plugin's, or an app route that
// shadows it): routes apps of this kind add beside Better Auth.
var tokenPaths = []string{"/api/token", "/api/app/token", "/api/jwt", "/api/auth/jwt", "/api/chatkit/token"}

// jwksPaths are tried after <base>/jwks.
var jwksPaths = []string{"/.well-known/jwks.json", "/api/.well-known/jwks.json"}

// newClient is a Better Auth client with its own client address (Better Auth's rate limit counts
// each address on its own).
func newClient(web, base string) (*betterauth.Client, error) {
	return betterauth.New(betterauth.Options{
		BaseURL: web, AuthPath: base, TokenPath: base + "/token",
		ClientAddrHeader: "X-Forwarded-For", ClientAddr: data.NewClientAddr(),
		UserAgent: "authflow-init",
	})
}

// findBasePath asks <candidate>/ok of each base path: Better Auth's health route answers
// {"ok":true}, without touching the database.
func findBasePath(ctx context.Context, web string, extra []string) (Finding, error) {
	c, err := newClient(web, "/api/auth")
	if err != nil {
		return Finding{}, err
	}
	var tried []string
	for _, p := range append(append([]string{}, extra...), BasePaths...) {
		p = "/" + strings.Trim(p, "/")
		if contains(tried, p) {
			continue
		}
		tried = append(tried, p+"/ok")
		r, err := c.Do(ctx, http.MethodGet, p+"/ok", nil)
		if err != nil {
			return Finding{}, fmt.Errorf("GET %s/ok: %w", p, firstLine(err))
		}
		var ok struct {
			OK bool `json:"ok"`
		}
		if r.Status == 200 && json.Unmarshal(r.Body, &ok) == nil && ok.OK {
			return found(p, "GET %s/ok answered 200 {\"ok\":true} (Better Auth's health route)", p), nil
		}
	}
	return todo("none of %s answered {\"ok\":true}; set Better Auth's basePath", strings.Join(tried, ", ")), nil
}

// probeUser is the throwaway user the probe signs up, and its signed-in API client.
type probeUser struct {
	persona data.Persona
	client  *betterauth.Client
}

// signUp signs a throwaway user up through the API (name, email and password: Better Auth requires
// the name) and makes sure the client holds a session (signing in when sign-up does not).
func signUp(ctx context.Context, web, base string) (*probeUser, string, error) {
	c, err := newClient(web, base)
	if err != nil {
		return nil, "", err
	}
	p := data.NewPersona("probe", "Probe User")
	if _, err := c.SignUpAs(ctx, p); err != nil {
		return nil, "", fmt.Errorf("POST %s/sign-up/email: %w", base, err)
	}
	s, err := c.GetSession(ctx)
	how := "signed up " + p.Email + " (POST " + base + "/sign-up/email with name, email, password)"
	if err == nil && s == nil {
		if _, err = c.SignInAs(ctx, p); err != nil {
			return nil, "", fmt.Errorf("sign-up gave no session and sign-in failed (e-mail verification required?): %w", err)
		}
		how += ", then signed in"
	}
	if err != nil {
		return nil, "", err
	}
	return &probeUser{persona: p, client: c}, how, nil
}

// betterAuthLine tells 1.4 from 1.7 by their answer to a malformed e-mail at sign-up: 1.4 says
// INVALID_EMAIL, 1.7 VALIDATION_ERROR (targets/README.md, "Better Auth lines").
func betterAuthLine(ctx context.Context, web, base string) Finding {
	c, err := newClient(web, base)
	if err != nil {
		return todo("%v", err)
	}
	body := map[string]string{"name": "Probe", "email": "not-an-email", "password": "probe-" + randomHex(16)}
	r, err := c.Do(ctx, http.MethodPost, base+"/sign-up/email", body)
	if err != nil {
		return todo("POST %s/sign-up/email: %v", base, firstLine(err))
	}
	var e struct {
		Code string `json:"code"`
	}
	_ = json.Unmarshal(r.Body, &e)
	switch e.Code {
	case "INVALID_EMAIL":
		return found("1.4", "a malformed e-mail at sign-up answered %d INVALID_EMAIL (1.7 says VALIDATION_ERROR)", r.Status)
	case "VALIDATION_ERROR":
		return found("1.7", "a malformed e-mail at sign-up answered %d VALIDATION_ERROR (1.4 says INVALID_EMAIL)", r.Status)
	}
	return todo("a malformed e-mail at sign-up answered %d %s; set 1.4 or 1.7 (the major.minor of the app's better-auth)", r.Status, e.Code)
}

// issuedToken is a token the app gave the probe user, and where.
type issuedToken struct {
	Path  string // the route, or "" for get-session's set-auth-jwt header
	Token secret.Secret
	Info  TokenInfo
}

// fetchToken GETs a token route with the session cookie; ok is false when it answered no JWT.
func fetchToken(ctx context.Context, c *betterauth.Client, path string) (*issuedToken, int, error) {
	r, err := c.Do(ctx, http.MethodGet, path, nil)
	if err != nil {
		return nil, 0, firstLine(err)
	}
	if r.Status != 200 {
		return nil, r.Status, nil
	}
	var body struct {
		Token string `json:"token"`
	}
	if json.Unmarshal(r.Body, &body) != nil || body.Token == "" {
		return nil, r.Status, nil
	}
	info, err := ReadToken(body.Token)
	if err != nil {
		return nil, r.Status, nil
	}
	return &issuedToken{Path: path, Token: secret.New(body.Token), Info: info}, 200, nil
}

// sessionJWT is the jwt plugin's set-auth-jwt header of get-session, nil without one.
func sessionJWT(ctx context.Context, c *betterauth.Client) *issuedToken {
	s, err := c.GetSession(ctx)
	if err != nil || s == nil || s.JWT.IsZero() {
		return nil
	}
	info, err := ReadToken(s.JWT.Value())
	if err != nil {
		return nil
	}
	return &issuedToken{Token: s.JWT, Info: info}
}

// findJWKS GETs the JWKS candidates; the first that answers a JWKS with keys wins.
func findJWKS(ctx context.Context, c *betterauth.Client, base string) (string, []JWK, []string) {
	var tried []string
	for _, p := range append([]string{base + "/jwks"}, jwksPaths...) {
		tried = append(tried, p)
		r, err := c.Do(ctx, http.MethodGet, p, nil)
		if err != nil || r.Status != 200 {
			continue
		}
		if keys, err := ParseJWKS(r.Body); err == nil {
			return p, keys, tried
		}
	}
	return "", nil, tried
}

func isStatus(err error, status int) bool {
	var he *httperr.Error
	return errors.As(err, &he) && he.Status == status
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}
