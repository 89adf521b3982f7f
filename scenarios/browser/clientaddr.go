package browser

import (
	"context"
	"io"
	"net"
	"net/http"
	"net/http/httputil"
	"strings"
	"sync"
	"time"
)

// addrProxy gives one browser context its own client address the way a real deployment gets one:
// a forward HTTP proxy on loopback that the context uses for all its requests and that adds the
// address header to those for the web app's origin, as a proxy in front of the app would.
//
// Why not Playwright's extraHTTPHeaders or a route: an extra request header makes every cross-origin
// ChatKit request a CORS preflight the backend need not allow, and any route makes Playwright answer
// every CORS preflight itself (allowing everything), which would switch off the browser suite's CORS
// checks. A proxy adds the header below the browser's CORS logic and changes nothing the page sees.
// No kept library does this; httputil.ReverseProxy does the forwarding.
type addrProxy struct {
	srv *http.Server
	url string

	mu    sync.Mutex
	hosts map[string]int // requests forwarded per host, for the self-tests
}

// forwarded returns how many requests the proxy forwarded to host.
func (p *addrProxy) forwarded(host string) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.hosts[host]
}

func startAddrProxy(webHost, header, addr string) (*addrProxy, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	tr := &http.Transport{
		Proxy:               nil, // never the machine's proxy settings: all traffic stays on loopback
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConnsPerHost: 16,
		IdleConnTimeout:     2 * time.Second, // below Node's 5 s keep-alive, as the API clients
	}
	rp := &httputil.ReverseProxy{
		Transport:     tr,
		FlushInterval: -1, // stream SSE answers as they come
		Rewrite: func(pr *httputil.ProxyRequest) {
			u := *pr.In.URL
			pr.Out.URL = &u
			pr.Out.Host = pr.In.Host
			if strings.EqualFold(u.Host, webHost) {
				pr.Out.Header.Set(header, addr)
			}
		},
		// An upstream that cannot be reached looks to the page as it would without the proxy: the
		// connection closes without an answer (a network error), not a 502 the app never sent.
		ErrorHandler: func(w http.ResponseWriter, r *http.Request, err error) {
			if hj, ok := w.(http.Hijacker); ok {
				if c, _, herr := hj.Hijack(); herr == nil {
					_ = c.Close()
					return
				}
			}
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	p := &addrProxy{url: "http://" + ln.Addr().String(), hosts: map[string]int{}}
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		p.mu.Lock()
		p.hosts[r.Host]++
		p.mu.Unlock()
		if r.Method == http.MethodConnect {
			tunnel(w, r) // Playwright's own request API (context.Request()) tunnels through the proxy
			return
		}
		if !r.URL.IsAbs() || r.URL.Scheme != "http" {
			http.Error(w, "authflow client-address proxy: only absolute http:// requests (as a browser sends through a proxy)", http.StatusBadRequest)
			return
		}
		rp.ServeHTTP(w, r)
	})
	p.srv = &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = p.srv.Serve(ln) }()
	return p, nil
}

// tunnel serves CONNECT to a loopback address: bytes both ways, nothing added (the stream is opaque).
func tunnel(w http.ResponseWriter, r *http.Request) {
	host, _, err := net.SplitHostPort(r.Host)
	if err != nil || !(host == "localhost" || net.ParseIP(host) != nil && net.ParseIP(host).IsLoopback()) {
		http.Error(w, "authflow client-address proxy: CONNECT only to loopback", http.StatusForbidden)
		return
	}
	up, err := net.DialTimeout("tcp", r.Host, 5*time.Second)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	hj, ok := w.(http.Hijacker)
	if !ok {
		up.Close()
		http.Error(w, "no hijacking", http.StatusInternalServerError)
		return
	}
	c, buf, err := hj.Hijack()
	if err != nil {
		up.Close()
		return
	}
	_, _ = c.Write([]byte("HTTP/1.1 200 Connection Established\r\n\r\n"))
	done := make(chan struct{}, 2)
	go func() { _, _ = io.Copy(up, buf); done <- struct{}{} }()
	go func() { _, _ = io.Copy(c, up); done <- struct{}{} }()
	<-done
	c.Close()
	up.Close()
	<-done
}

func (p *addrProxy) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
	_ = p.srv.Close()
}
