package httperr

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func response(method, rawURL string, status int, h http.Header, body string) (*http.Response, []byte) {
	u, _ := url.Parse(rawURL)
	if h == nil {
		h = http.Header{}
	}
	return &http.Response{StatusCode: status, Header: h, Request: &http.Request{Method: method, URL: u}}, []byte(body)
}

func TestError_ReadsAsOneLine(t *testing.T) {
	resp, body := response("POST", "http://localhost:1234/api/auth/sign-in/email", 401, nil,
		`{"message":"Invalid email or password","code":"INVALID_EMAIL_OR_PASSWORD"}`)
	e := New("sign-in", resp, body)
	require.Equal(t,
		`sign-in: POST http://localhost:1234/api/auth/sign-in/email -> 401: {"message":"Invalid email or password","code":"INVALID_EMAIL_OR_PASSWORD"}`,
		e.Error())
	require.Equal(t, "INVALID_EMAIL_OR_PASSWORD", e.Code)
	require.Equal(t, "Invalid email or password", e.Message)
	require.False(t, errors.Is(e, ErrRateLimited))
}

func TestError_IsFoundThroughWrapping(t *testing.T) {
	resp, body := response("POST", "http://x/chatkit", 404, nil, `{"error":"Thread not found"}`)
	err := fmt.Errorf("open thread: %w", New("chatkit threads.get_by_id", resp, body))
	var he *Error
	require.ErrorAs(t, err, &he)
	require.Equal(t, 404, he.Status)
	require.Equal(t, "Thread not found", he.Message)
	require.Equal(t, 404, StatusOf(err))
	require.Equal(t, "", CodeOf(err))
	require.Equal(t, 0, StatusOf(errors.New("other")))
	require.Nil(t, As(nil))
}

func TestError_RateLimitedIsItsOwnKind(t *testing.T) {
	resp, body := response("POST", "http://x/api/auth/sign-in/email", 429, http.Header{"X-Retry-After": {"10"}},
		`{"message":"Too many requests. Please try again later."}`)
	err := fmt.Errorf("sign in: %w", New("sign-in", resp, body))
	require.ErrorIs(t, err, ErrRateLimited)
	require.Equal(t, 10*time.Second, As(err).RetryAfter)
	require.Contains(t, err.Error(), "sign-in: rate limited: POST http://x/api/auth/sign-in/email -> 429 (retry after 10s): ")
}

func TestError_RedactsURLBodyAndHeaders(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1MSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
	resp, body := response("GET", "http://x/api/auth/token?token=abc", 500,
		http.Header{"Set-Cookie": {"better-auth.session_token=tok.sig; Path=/"}},
		`{"token":"`+jwt+`"}`+"\n"+string(make([]byte, 1000)))
	e := New("token", resp, body)
	msg := e.Error()
	require.NotContains(t, msg, jwt)
	require.NotContains(t, msg, "abc")
	require.NotContains(t, msg, "\n")
	require.Contains(t, msg, "token=[REDACTED]")
	require.Equal(t, "better-auth.session_token=[REDACTED]; Path=/", e.Header.Get("Set-Cookie"))
	require.Less(t, len(e.Body), 400)
}

func TestError_NonJSONAndEmptyBodies(t *testing.T) {
	e := FromParts("chatkit threads.get_by_id", "POST", "http://x/chatkit", 500, nil, []byte("Internal Server Error"))
	require.Equal(t, "chatkit threads.get_by_id: POST http://x/chatkit -> 500: Internal Server Error", e.Error())
	require.Empty(t, e.Code)
	e = FromParts("", "", "", 404, nil, nil)
	require.Equal(t, "404: (empty body)", e.Error())
	e = FromParts("x", "POST", "http://x", 422, nil, []byte(`{"detail":[{"loc":["body"]}]}`))
	require.Empty(t, e.Message)
}
