// Package betterauth is an HTTP client for an app that signs users in with Better Auth
// (email and password, cookie session) and hands out a JWT from a token route.
//
// A [Client] is one browser-like session: it has its own cookie jar, sends
// `Origin: <base URL origin>` and `Content-Type: application/json` on every POST (Better
// Auth rejects a cookie-carrying POST without a trusted Origin), and never follows
// redirects. [Client.NewSession] gives the same persona a second, independent session.
//
// Every non-2xx answer is returned as an *httperr.Error carrying Better Auth's error code
// (USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL, INVALID_EMAIL_OR_PASSWORD, PASSWORD_TOO_SHORT,
// ...); a 429 also matches errors.Is(err, httperr.ErrRateLimited).
package betterauth

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/internal/redact"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

// Defaults of [Options].
const (
	DefaultAuthPath  = "/api/auth"
	DefaultTokenPath = "/api/auth/token"
	// DefaultTimeout bounds one request: a sign-up hashes a password with scrypt, and 16
	// concurrent sign-ins took up to 9 s on a loaded 2-core machine.
	DefaultTimeout   = 30 * time.Second
	DefaultUserAgent = "authflow-betterauth"
)

// maxBody caps how much of a response body is read (a Better Auth answer is tiny).
const maxBody = 8 << 20

// Options configure a [Client].
type Options struct {
	// BaseURL is the app's public URL, exactly as the browser uses it, e.g.
	// http://localhost:41234. Its origin is sent as Origin on every POST.
	BaseURL string
	// AuthPath is Better Auth's base path; default "/api/auth".
	AuthPath string
	// TokenPath is the JWT route; default "/api/auth/token".
	TokenPath string
	// JWKSPath is the JWKS route; default AuthPath + "/jwks".
	JWKSPath string
	// Header is sent on every request.
	Header http.Header
	// ClientAddrHeader and ClientAddr: every request carries ClientAddr in the header the app reads
	// the client address from (X-Forwarded-For for Better Auth by default), so the app's per-address
	// rate limit counts this client on its own; a 429 names both. Empty: none is sent.
	ClientAddrHeader, ClientAddr string
	// Timeout bounds each request; default DefaultTimeout.
	Timeout time.Duration
	// Transport is the round tripper; nil means http.DefaultTransport.
	Transport http.RoundTripper
	// UserAgent is sent on every request (Better Auth stores it in the session row);
	// default "authflow-betterauth".
	UserAgent string
}

// Client talks to Better Auth as one session. It is safe for concurrent use.
type Client struct {
	opts   Options
	base   *url.URL
	origin string
	jar    *recordingJar
	http   *http.Client
}

// New returns a client with an empty cookie jar.
func New(opts Options) (*Client, error) {
	base, err := url.Parse(strings.TrimRight(opts.BaseURL, "/"))
	if err != nil {
		return nil, fmt.Errorf("betterauth: base URL: %w", err)
	}
	if base.Scheme != "http" && base.Scheme != "https" || base.Host == "" {
		return nil, fmt.Errorf("betterauth: base URL %q: want http(s)://host[:port]", redact.URLString(opts.BaseURL))
	}
	if opts.AuthPath == "" {
		opts.AuthPath = DefaultAuthPath
	}
	opts.AuthPath = "/" + strings.Trim(opts.AuthPath, "/")
	if opts.TokenPath == "" {
		opts.TokenPath = DefaultTokenPath
	}
	if opts.JWKSPath == "" {
		opts.JWKSPath = opts.AuthPath + "/jwks"
	}
	if opts.Timeout <= 0 {
		opts.Timeout = DefaultTimeout
	}
	if opts.UserAgent == "" {
		opts.UserAgent = DefaultUserAgent
	}
	opts.Header = opts.Header.Clone()
	c := &Client{
		opts:   opts,
		base:   base,
		origin: base.Scheme + "://" + base.Host,
	}
	c.reset()
	return c, nil
}

// NewTransport returns a transport whose idle connections close after 2 s. Node's http server closes
// them after 5 s (keepAliveTimeout) and Go does not retry a POST on a reused connection that the server
// closed, so with Go's default of 90 s a sign-up after a pause could fail with a bare EOF. Give each
// simulated user its own (as each browser has its own connections); clients share one by default.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.IdleConnTimeout = 2 * time.Second
	t.MaxIdleConnsPerHost = 8
	return t
}

var defaultTransport = NewTransport()

// reset gives the client a fresh, empty cookie jar.
func (c *Client) reset() {
	c.jar = newRecordingJar()
	tr := c.opts.Transport
	if tr == nil {
		tr = defaultTransport
	}
	c.http = &http.Client{
		Transport: tr,
		Jar:       c.jar,
		Timeout:   c.opts.Timeout,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
}

// NewSession returns a client with the same options and an empty cookie jar, so the same
// persona can sign in again and hold two independent sessions at once.
func (c *Client) NewSession() *Client {
	n := &Client{opts: c.opts, base: c.base, origin: c.origin}
	n.reset()
	return n
}

// Clone returns a client with the same options and a copy of the current cookies: both
// start in the same session and then evolve independently (signing one out on the
// server ends the session for both).
func (c *Client) Clone() *Client {
	n := c.NewSession()
	n.jar.copyFrom(c.jar, c.base)
	return n
}

// BaseURL returns the app's base URL.
func (c *Client) BaseURL() string { return c.base.String() }

// Origin returns the origin sent on every POST.
func (c *Client) Origin() string { return c.origin }

// AuthURL returns the absolute URL of a path under the auth base path, e.g.
// AuthURL("/sign-in/email").
func (c *Client) AuthURL(p string) string { return c.resolve(c.authPath(p)) }

func (c *Client) authPath(p string) string { return c.opts.AuthPath + "/" + strings.TrimLeft(p, "/") }

func (c *Client) resolve(p string) string {
	if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
		return p
	}
	return c.base.String() + "/" + strings.TrimLeft(p, "/")
}

// Response is a raw answer of [Client.Do]. Body is the full body; it may hold tokens, so
// print [Response.Excerpt] rather than Body.
type Response struct {
	Status int
	Header http.Header
	Body   []byte
	// Request is the method and redacted URL, for messages.
	Method, URL string
}

// Excerpt returns a redacted one-line excerpt of the body.
func (r *Response) Excerpt() string { return redact.Excerpt(r.Body, redact.DefaultExcerpt) }

// String returns "<status> <excerpt>" (redacted).
func (r *Response) String() string { return fmt.Sprintf("%d %s", r.Status, r.Excerpt()) }

// JSON decodes the body into v.
func (r *Response) JSON(v any) error {
	if err := json.Unmarshal(r.Body, v); err != nil {
		return fmt.Errorf("decode %s %s body (%s): %w", r.Method, r.URL, r.Excerpt(), err)
	}
	return nil
}

// RequestOption adjusts one request of [Client.Do].
type RequestOption func(*http.Request)

// WithHeader sets a request header; an empty value removes it (e.g.
// WithHeader("Content-Type", "") to send no content type).
func WithHeader(key, value string) RequestOption {
	return func(r *http.Request) {
		if value == "" {
			r.Header.Del(key)
			return
		}
		r.Header.Set(key, value)
	}
}

// WithoutOrigin sends the request without an Origin header.
func WithoutOrigin() RequestOption { return WithHeader("Origin", "") }

// Do sends one request for odd-case tests and returns the answer whatever its status.
// path is relative to the base URL (e.g. "/api/auth/sign-in/email") or absolute. body may
// be nil (no body), []byte or string (sent as is), an io.Reader, or any other value
// (encoded as JSON). POSTs carry Origin and Content-Type: application/json unless an
// option removes or changes them. An error means no answer was received.
func (c *Client) Do(ctx context.Context, method, path string, body any, opts ...RequestOption) (*Response, error) {
	resp, b, err := c.roundTrip(ctx, method, c.resolve(path), body, opts...)
	if err != nil {
		return nil, err
	}
	r := &Response{Status: resp.StatusCode, Header: resp.Header, Body: b, Method: method}
	if resp.Request != nil {
		r.URL = redact.URL(resp.Request.URL)
	}
	return r, nil
}

func (c *Client) roundTrip(ctx context.Context, method, rawURL string, body any, opts ...RequestOption) (*http.Response, []byte, error) {
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	case string:
		rd = strings.NewReader(b)
	case io.Reader:
		rd = b
	default:
		enc, err := json.Marshal(b)
		if err != nil {
			return nil, nil, fmt.Errorf("encode %s %s body: %w", method, redact.URLString(rawURL), err)
		}
		rd = bytes.NewReader(enc)
	}
	req, err := http.NewRequestWithContext(ctx, method, rawURL, rd)
	if err != nil {
		return nil, nil, fmt.Errorf("build %s %s: %w", method, redact.URLString(rawURL), err)
	}
	for k, vs := range c.opts.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if c.opts.ClientAddrHeader != "" && c.opts.ClientAddr != "" && req.Header.Get(c.opts.ClientAddrHeader) == "" {
		req.Header.Set(c.opts.ClientAddrHeader, c.opts.ClientAddr)
	}
	req.Header.Set("User-Agent", c.opts.UserAgent)
	req.Header.Set("Accept", "application/json")
	if method != http.MethodGet && method != http.MethodHead {
		req.Header.Set("Origin", c.origin)
		req.Header.Set("Content-Type", "application/json")
	}
	for _, o := range opts {
		o(req)
	}
	resp, err := c.http.Do(req)
	if err != nil {
		// *url.Error repeats the unredacted URL; keep only its cause.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, nil, fmt.Errorf("%s %s: %w", method, redact.URLString(rawURL), err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	if err != nil {
		return nil, nil, fmt.Errorf("%s %s: read body after %d: %w", method, redact.URLString(rawURL), resp.StatusCode, err)
	}
	return resp, b, nil
}

// call sends a request and decodes a 2xx JSON answer into out (when out is not nil). A
// non-2xx answer becomes an *httperr.Error for op.
func (c *Client) call(ctx context.Context, op, method, path string, body, out any) (*http.Response, []byte, error) {
	resp, b, err := c.roundTrip(ctx, method, c.resolve(path), body)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", op, err)
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		e := httperr.New(op, resp, b)
		if e.RateLimited() {
			e.Client = c.clientDescription()
		}
		return resp, b, e
	}
	if out != nil {
		if err := json.Unmarshal(b, out); err != nil {
			return resp, b, fmt.Errorf("%s: %s %s -> %d: decode body (%s): %w", op, method,
				redact.URL(resp.Request.URL), resp.StatusCode, redact.Excerpt(b, redact.DefaultExcerpt), err)
		}
	}
	return resp, b, nil
}

// clientDescription says which client address this client sent, for a 429.
func (c *Client) clientDescription() string {
	if c.opts.ClientAddrHeader == "" || c.opts.ClientAddr == "" {
		return "this client sent no client address (set app.client_ip_header to the header the app reads it from), " +
			"so it may share a rate-limit bucket with every other client"
	}
	return fmt.Sprintf("client address %s, sent in %s, is this client's alone", c.opts.ClientAddr, c.opts.ClientAddrHeader)
}
