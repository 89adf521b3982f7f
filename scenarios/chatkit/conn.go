package chatkit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/authflow-e2e/authflow/internal/redact"
)

// Keep-alive connections after a 5xx.
//
// Servers in the SDK's world (uvicorn behind FastAPI) close a keep-alive connection after an
// unhandled exception's 500 without saying so (no Connection: close). A client that reuses that
// connection for its next request gets "connection reset by peer" or EOF, which then reads like a
// transport defect of a test that has nothing to do with the 500. The client therefore never reuses
// a connection that carried a 5xx:
//   - on its own transport ([NewTransport]) the connection is retired the moment the 5xx headers
//     arrive: later writes on it fail before a byte is sent, which net/http answers by sending the
//     request again on a fresh connection (it retries a request whose body it can replay when
//     nothing of it was written). No race with the pool is possible.
//   - on a caller's transport the connection is closed once the 5xx body is read.
//
// net/http has no per-response "do not reuse" switch (resp.Close is decided inside the transport
// before the caller sees the response), hence this small wrapper.

// errRetired is what a write on a retired connection returns.
var errRetired = errors.New("chatkit: keep-alive connection retired after a 5xx answer")

// retirableConn is a net.Conn whose writes can be refused from a point on.
type retirableConn struct {
	net.Conn
	retired atomic.Bool
}

func (c *retirableConn) Write(p []byte) (int, error) {
	if c.retired.Load() {
		return 0, errRetired
	}
	return c.Conn.Write(p)
}

// NewTransport returns the transport the Client uses by default: idle connections close after 2 s,
// before any usual server-side keep-alive timeout (Node's is 5 s), and a connection that carried a
// 5xx is never reused.
func NewTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.IdleConnTimeout = 2 * time.Second
	d := &net.Dialer{Timeout: 30 * time.Second, KeepAlive: 30 * time.Second}
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		return &retirableConn{Conn: c}, nil
	}
	return t
}

var defaultTransport = NewTransport()

// do sends req and, for a 5xx answer, makes sure its connection is not used again (see above).
func (c *Client) do(req *http.Request) (*http.Response, error) {
	var conn net.Conn
	req = req.WithContext(httptrace.WithClientTrace(req.Context(), &httptrace.ClientTrace{
		GotConn: func(i httptrace.GotConnInfo) { conn = i.Conn },
	}))
	resp, err := c.httpClient().Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("POST %s: %w", redact.URL(req.URL), err)
	}
	if resp.StatusCode >= 500 && conn != nil {
		what := "closed once its body is read"
		if rc, ok := conn.(*retirableConn); ok {
			rc.retired.Store(true)
			what = "retired"
		}
		resp.Body = &closeConnBody{ReadCloser: resp.Body, conn: conn}
		c.logf("chatkit: POST %s answered %d: its keep-alive connection is %s and not reused "+
			"(servers such as uvicorn close it after a 5xx without Connection: close)", redact.URL(req.URL), resp.StatusCode, what)
	}
	return resp, nil
}

// closeConnBody closes the connection after the body of a 5xx answer is read and closed.
type closeConnBody struct {
	io.ReadCloser
	conn net.Conn
}

func (b *closeConnBody) Close() error {
	_, _ = io.Copy(io.Discard, io.LimitReader(b.ReadCloser, maxBody))
	err := b.ReadCloser.Close()
	_ = b.conn.Close()
	return err
}

func (c *Client) logf(format string, args ...any) {
	if c.Log != nil {
		c.Log(fmt.Sprintf(format, args...))
	}
}
