// Package httperr is the error type every authflow HTTP client returns for a non-2xx
// answer: it says what was being done, the request (method and redacted URL), the status,
// the server's error code and message when the body has them, and a redacted one-line
// body excerpt. Use errors.As to assert on the status or code; a 429 also matches
// errors.Is(err, ErrRateLimited).
package httperr

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/internal/redact"
)

// ErrRateLimited is matched (errors.Is) by an [Error] with status 429, so rate limiting is
// reported as its own kind of failure, not as a flaky test.
var ErrRateLimited = errors.New("rate limited")

// Error describes a non-2xx HTTP answer.
type Error struct {
	// Op is what was being done, e.g. "sign-in" or "chatkit threads.list".
	Op     string
	Method string
	// URL is the request URL with its query values and password redacted.
	URL    string
	Status int
	// Code is the machine-readable error code of the body, e.g. Better Auth's
	// "INVALID_EMAIL_OR_PASSWORD"; empty when the body has none.
	Code string
	// Message is the human-readable message of the body ("message", "error" or "detail").
	Message string
	// Body is a redacted, one-line excerpt of the body.
	Body string
	// RetryAfter comes from Retry-After or X-Retry-After (seconds); 0 when absent.
	RetryAfter time.Duration
	// Header is a redacted copy of the response headers.
	Header http.Header
	// Client describes the client that got a 429 (its client address and the header it went in),
	// set by the client that sent the request; empty otherwise.
	Client string
}

// New builds an Error from a response and its (already read) body. op says what was being
// done. The request is taken from resp.Request.
func New(op string, resp *http.Response, body []byte) *Error {
	e := &Error{Op: op, Status: resp.StatusCode, Header: redact.Header(resp.Header)}
	if req := resp.Request; req != nil {
		e.Method = req.Method
		e.URL = redact.URL(req.URL)
	}
	e.fill(body, resp.Header)
	return e
}

// FromParts builds an Error when no *http.Response is at hand.
func FromParts(op, method, rawURL string, status int, header http.Header, body []byte) *Error {
	e := &Error{Op: op, Method: method, URL: redact.URLString(rawURL), Status: status, Header: redact.Header(header)}
	e.fill(body, header)
	return e
}

func (e *Error) fill(body []byte, h http.Header) {
	e.Body = redact.Excerpt(body, redact.DefaultExcerpt)
	e.Code, e.Message = parseBody(body)
	e.RetryAfter = retryAfter(h)
}

// parseBody reads {"code","message"} (Better Auth), {"error"} (the reference app) and
// {"detail"} (FastAPI) from a JSON object body.
func parseBody(body []byte) (code, msg string) {
	var m map[string]any
	if json.Unmarshal(body, &m) != nil {
		return "", ""
	}
	str := func(k string) string {
		s, _ := m[k].(string)
		return s
	}
	code = str("code")
	for _, k := range []string{"message", "error", "detail"} {
		if s := str(k); s != "" {
			return code, redact.String(s)
		}
	}
	return code, ""
}

func retryAfter(h http.Header) time.Duration {
	for _, k := range []string{"Retry-After", "X-Retry-After"} {
		if v := strings.TrimSpace(h.Get(k)); v != "" {
			if n, err := strconv.Atoi(v); err == nil && n >= 0 {
				return time.Duration(n) * time.Second
			}
			if t, err := http.ParseTime(v); err == nil {
				if d := time.Until(t); d > 0 {
					return d.Round(time.Second)
				}
			}
		}
	}
	return 0
}

// Error reads as one line:
//
//	sign-in: POST http://localhost:1234/api/auth/sign-in/email -> 401: {"message":"Invalid email or password",...}
//	sign-in: rate limited: POST http://... -> 429 (retry after 10s): {...}
func (e *Error) Error() string {
	var b strings.Builder
	if e.Op != "" {
		b.WriteString(e.Op)
		b.WriteString(": ")
	}
	if e.RateLimited() {
		b.WriteString("rate limited: ")
	}
	if e.Method != "" || e.URL != "" {
		fmt.Fprintf(&b, "%s %s -> ", e.Method, e.URL)
	}
	b.WriteString(strconv.Itoa(e.Status))
	if e.RetryAfter > 0 {
		fmt.Fprintf(&b, " (retry after %s)", e.RetryAfter)
	}
	if e.RateLimited() {
		if lim := e.limitSeen(); lim != "" {
			fmt.Fprintf(&b, " [limit: %s]", lim)
		}
		if e.Client != "" {
			fmt.Fprintf(&b, " [%s]", e.Client)
		}
	}
	b.WriteString(": ")
	if e.Body == "" {
		b.WriteString("(empty body)")
	} else {
		b.WriteString(e.Body)
	}
	return b.String()
}

// limitSeen is what the answer says of the limit (RateLimit-* or X-RateLimit-* headers).
func (e *Error) limitSeen() string {
	var parts []string
	for _, k := range []string{"RateLimit-Policy", "RateLimit-Limit", "X-RateLimit-Limit", "RateLimit-Remaining", "X-RateLimit-Remaining"} {
		if v := e.Header.Get(k); v != "" {
			parts = append(parts, k+": "+v)
		}
	}
	return strings.Join(parts, ", ")
}

// RateLimited reports whether the status is 429 Too Many Requests.
func (e *Error) RateLimited() bool { return e.Status == http.StatusTooManyRequests }

// Unwrap returns [ErrRateLimited] for a 429 and nil otherwise.
func (e *Error) Unwrap() error {
	if e.RateLimited() {
		return ErrRateLimited
	}
	return nil
}

// As returns the *Error in err's chain, or nil.
func As(err error) *Error {
	var e *Error
	if errors.As(err, &e) {
		return e
	}
	return nil
}

// StatusOf returns the HTTP status of the *Error in err's chain, or 0.
func StatusOf(err error) int {
	if e := As(err); e != nil {
		return e.Status
	}
	return 0
}

// CodeOf returns the error code of the *Error in err's chain, or "".
func CodeOf(err error) string {
	if e := As(err); e != nil {
		return e.Code
	}
	return ""
}
