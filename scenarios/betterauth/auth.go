package betterauth

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
)

// User is Better Auth's user object (the token route returns only ID, Email and Name).
type User struct {
	ID            string    `json:"id"`
	Email         string    `json:"email"`
	Name          string    `json:"name"`
	EmailVerified bool      `json:"emailVerified"`
	Image         *string   `json:"image,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	UpdatedAt     time.Time `json:"updatedAt"`
}

// authResult is the body of sign-up and sign-in.
type authResult struct {
	Token secret.Secret `json:"token"`
	User  *User         `json:"user"`
}

// SignUp creates a user with email and password (Better Auth signs the new user in, so the
// jar then holds a session cookie) and returns the user.
func (c *Client) SignUp(ctx context.Context, name, email, password string) (*User, error) {
	var res authResult
	body := map[string]string{"name": name, "email": email, "password": password}
	if _, _, err := c.call(ctx, "sign-up", http.MethodPost, c.authPath("/sign-up/email"), body, &res); err != nil {
		return nil, err
	}
	if res.User == nil || res.User.ID == "" {
		return nil, errors.New("sign-up: 2xx answer without a user id")
	}
	return res.User, nil
}

// SignIn signs in with email and password; the jar then holds the session cookie.
func (c *Client) SignIn(ctx context.Context, email, password string) (*User, error) {
	var res authResult
	body := map[string]string{"email": email, "password": password}
	if _, _, err := c.call(ctx, "sign-in", http.MethodPost, c.authPath("/sign-in/email"), body, &res); err != nil {
		return nil, err
	}
	if res.User == nil || res.User.ID == "" {
		return nil, errors.New("sign-in: 2xx answer without a user id")
	}
	return res.User, nil
}

// SignUpAs signs persona p up.
func (c *Client) SignUpAs(ctx context.Context, p data.Persona) (*User, error) {
	return c.SignUp(ctx, p.Name, p.Email, p.Password.Value())
}

// SignInAs signs persona p in.
func (c *Client) SignInAs(ctx context.Context, p data.Persona) (*User, error) {
	return c.SignIn(ctx, p.Email, p.Password.Value())
}

// SignOut ends the session on the server; Better Auth also clears the cookies.
func (c *Client) SignOut(ctx context.Context) error {
	_, _, err := c.call(ctx, "sign-out", http.MethodPost, c.authPath("/sign-out"), map[string]any{}, nil)
	return err
}

// Session is the answer of get-session.
type Session struct {
	Session SessionInfo `json:"session"`
	User    User        `json:"user"`
	// JWT is the set-auth-jwt header the jwt plugin adds (zero without the plugin).
	JWT secret.Secret `json:"-"`
}

// SessionInfo is Better Auth's session object.
type SessionInfo struct {
	ID        string        `json:"id"`
	UserID    string        `json:"userId"`
	Token     secret.Secret `json:"token"`
	ExpiresAt time.Time     `json:"expiresAt"`
	CreatedAt time.Time     `json:"createdAt"`
	UpdatedAt time.Time     `json:"updatedAt"`
	IPAddress string        `json:"ipAddress"`
	UserAgent string        `json:"userAgent"`
}

// GetSession returns the current session, or nil (and no error) when Better Auth answers
// `null`, i.e. there is no valid session cookie.
func (c *Client) GetSession(ctx context.Context) (*Session, error) {
	resp, b, err := c.call(ctx, "get-session", http.MethodGet, c.authPath("/get-session"), nil, nil)
	if err != nil {
		return nil, err
	}
	if strings.TrimSpace(string(b)) == "null" {
		return nil, nil
	}
	var s Session
	if err := json.Unmarshal(b, &s); err != nil {
		return nil, fmt.Errorf("get-session: decode body: %w", err)
	}
	if s.User.ID == "" {
		return nil, errors.New("get-session: 2xx answer is neither null nor a session with a user id")
	}
	s.JWT = secret.New(resp.Header.Get("Set-Auth-Jwt"))
	return &s, nil
}

// TokenResponse is the answer of the token route. The jwt plugin returns only Token; the
// app's HS256 route also returns User and ExpiresAt. Header and Claims are the token's
// decoded (not verified) header and claims.
type TokenResponse struct {
	Token     secret.Secret
	User      *User
	ExpiresAt time.Time
	Header    map[string]any
	Claims    map[string]any
}

// Token fetches a JWT from the token route with the session cookie. It returns the token
// (a [secret.Secret]; use Value() to send it) and the parsed answer.
func (c *Client) Token(ctx context.Context) (secret.Secret, *TokenResponse, error) {
	var raw struct {
		Token     secret.Secret   `json:"token"`
		User      *User           `json:"user"`
		ExpiresAt json.RawMessage `json:"expiresAt"`
	}
	if _, _, err := c.call(ctx, "token", http.MethodGet, c.opts.TokenPath, nil, &raw); err != nil {
		return secret.Secret{}, nil, err
	}
	if raw.Token.IsZero() {
		return secret.Secret{}, nil, errors.New("token: 2xx answer without a token")
	}
	tr := &TokenResponse{Token: raw.Token, User: raw.User}
	exp, err := parseFlexTime(raw.ExpiresAt)
	if err != nil {
		return secret.Secret{}, nil, fmt.Errorf("token: expiresAt: %w", err)
	}
	tr.ExpiresAt = exp
	if tr.Header, err = jwtforge.DecodeHeader(raw.Token); err != nil {
		return secret.Secret{}, nil, fmt.Errorf("token: not a JWT: %w", err)
	}
	if tr.Claims, err = jwtforge.DecodeClaims(raw.Token); err != nil {
		return secret.Secret{}, nil, fmt.Errorf("token: not a JWT: %w", err)
	}
	return raw.Token, tr, nil
}

// TokenSource returns a function that fetches a fresh token on each call, for use as a
// ChatKit client's token source.
func (c *Client) TokenSource() func(context.Context) (string, error) {
	return func(ctx context.Context) (string, error) {
		t, _, err := c.Token(ctx)
		return t.Value(), err
	}
}

// parseFlexTime reads an absent/null value (zero time), an RFC 3339 string, or a number
// of Unix seconds (milliseconds when it is too large to be seconds).
func parseFlexTime(raw json.RawMessage) (time.Time, error) {
	s := strings.TrimSpace(string(raw))
	if s == "" || s == "null" {
		return time.Time{}, nil
	}
	if strings.HasPrefix(s, `"`) {
		var str string
		if err := json.Unmarshal(raw, &str); err != nil {
			return time.Time{}, err
		}
		return time.Parse(time.RFC3339Nano, str)
	}
	n, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return time.Time{}, fmt.Errorf("want a time string or number, got %.40s", s)
	}
	if n > 1e11 {
		return time.UnixMilli(int64(n)), nil
	}
	return time.Unix(int64(n), 0), nil
}
