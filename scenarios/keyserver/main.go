// Command keyserver is the attacker's key server of authflow's JWT attack matrix. It runs as
// a container on the stack's network (alias e.g. "jwt-keyserver"), where the backend under
// test could reach it, serves the documents a forged token points at with its jku or x5u
// header (a JWKS of the harness's keys, a certificate), and records every request it gets,
// so that the harness can prove that the backend never fetched them (RFC 8725 §3.10, ASVS
// 9.1.3).
//
// Admin API under /_authflow/ (used by the harness from the host; never recorded):
//
//	GET  /_authflow/health                      200 "ok"
//	PUT  /_authflow/files/<path>                serve the body at GET /<path> (Content-Type kept)
//	GET  /_authflow/requests?since=N            recorded requests with seq > N, as JSON
//	POST /_authflow/fetch?url=http://...        the server GETs url itself (a request from inside
//	                                            the stack's network, to prove the recorder sees one)
//
// Every other request is recorded (method, path, query, host, remote address, user agent,
// header names; header values only for a safe list) and answered with the stored file or 404.
// Built on the host: CGO_ENABLED=0 go build -trimpath -o scenarios/keyserver/bin/keyserver ./scenarios/keyserver
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/url"
	"os"
	"os/signal"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

const (
	adminPrefix = "/_authflow/"
	maxRecorded = 10000
	maxFile     = 1 << 20
)

// Request is one recorded request.
type Request struct {
	Seq        int64     `json:"seq"`
	Time       time.Time `json:"time"`
	Method     string    `json:"method"`
	Path       string    `json:"path"`
	Query      string    `json:"query,omitempty"`
	Host       string    `json:"host"`
	RemoteAddr string    `json:"remote_addr"`
	UserAgent  string    `json:"user_agent,omitempty"`
	// Headers holds every header name; values only for names on safeHeaders.
	Headers map[string]string `json:"headers"`
}

// Requests is the answer of GET /_authflow/requests.
type Requests struct {
	Next     int64     `json:"next"` // pass as since to get only newer requests
	Dropped  int64     `json:"dropped"`
	Requests []Request `json:"requests"`
}

type file struct {
	body        []byte
	contentType string
}

var safeHeaders = map[string]bool{"Accept": true, "User-Agent": true, "Content-Type": true, "Accept-Encoding": true}

type server struct {
	mu      sync.Mutex
	seq     int64
	dropped int64
	reqs    []Request
	files   map[string]file
	client  *http.Client
	logger  *log.Logger
}

func newServer(logger *log.Logger) *server {
	return &server{files: map[string]file{}, client: &http.Client{Timeout: 5 * time.Second}, logger: logger}
}

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, adminPrefix) {
		s.admin(w, r)
		return
	}
	rec := s.record(r)
	s.logger.Printf("request seq=%d %s %s from %s", rec.Seq, rec.Method, strconv.Quote(rec.Path), rec.RemoteAddr)
	s.mu.Lock()
	f, ok := s.files[r.URL.Path]
	s.mu.Unlock()
	if !ok || (r.Method != http.MethodGet && r.Method != http.MethodHead) {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", f.contentType)
	w.Header().Set("Content-Length", strconv.Itoa(len(f.body)))
	if r.Method == http.MethodGet {
		_, _ = w.Write(f.body)
	}
}

func (s *server) record(r *http.Request) Request {
	h := map[string]string{}
	for name, vs := range r.Header {
		if safeHeaders[name] {
			h[name] = strings.Join(vs, ", ")
		} else {
			h[name] = "[not recorded]"
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	rec := Request{
		Seq: s.seq, Time: time.Now().UTC(), Method: r.Method, Path: r.URL.Path, Query: r.URL.RawQuery,
		Host: r.Host, RemoteAddr: r.RemoteAddr, UserAgent: r.UserAgent(), Headers: h,
	}
	s.reqs = append(s.reqs, rec)
	if len(s.reqs) > maxRecorded {
		s.dropped += int64(len(s.reqs) - maxRecorded)
		s.reqs = append([]Request(nil), s.reqs[len(s.reqs)-maxRecorded:]...)
	}
	return rec
}

func (s *server) admin(w http.ResponseWriter, r *http.Request) {
	p := strings.TrimPrefix(r.URL.Path, adminPrefix)
	switch {
	case p == "health" && r.Method == http.MethodGet:
		writeText(w, http.StatusOK, "ok")
	case strings.HasPrefix(p, "files/") && r.Method == http.MethodPut:
		target := "/" + strings.TrimPrefix(p, "files/")
		if strings.HasPrefix(target, adminPrefix) {
			writeText(w, http.StatusBadRequest, "cannot serve under "+adminPrefix)
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxFile))
		if err != nil {
			writeText(w, http.StatusRequestEntityTooLarge, "file too large")
			return
		}
		ct := r.Header.Get("Content-Type")
		if ct == "" {
			ct = "application/octet-stream"
		}
		s.mu.Lock()
		s.files[target] = file{body: body, contentType: ct}
		s.mu.Unlock()
		writeText(w, http.StatusNoContent, "")
	case p == "requests" && r.Method == http.MethodGet:
		since, _ := strconv.ParseInt(r.URL.Query().Get("since"), 10, 64)
		s.mu.Lock()
		out := Requests{Next: s.seq, Dropped: s.dropped, Requests: []Request{}}
		for _, q := range s.reqs {
			if q.Seq > since {
				out.Requests = append(out.Requests, q)
			}
		}
		s.mu.Unlock()
		sort.Slice(out.Requests, func(i, j int) bool { return out.Requests[i].Seq < out.Requests[j].Seq })
		writeJSON(w, http.StatusOK, out)
	case p == "fetch" && r.Method == http.MethodPost:
		s.fetch(w, r)
	default:
		writeText(w, http.StatusNotFound, "unknown admin route")
	}
}

// fetch makes a GET from inside the container, so the recorder sees a request that crossed
// the stack's network (e.g. its own alias): proof that a fetch by the backend would show.
func (s *server) fetch(w http.ResponseWriter, r *http.Request) {
	u, err := url.Parse(r.URL.Query().Get("url"))
	if err != nil || u.Scheme != "http" || u.Host == "" {
		writeText(w, http.StatusBadRequest, "url must be an absolute http URL")
		return
	}
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	req.Header.Set("User-Agent", "authflow-keyserver-selftest")
	resp, err := s.client.Do(req)
	if err != nil {
		writeJSON(w, http.StatusBadGateway, map[string]any{"error": err.Error()})
		return
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxFile))
	resp.Body.Close()
	writeJSON(w, http.StatusOK, map[string]any{"status": resp.StatusCode})
}

func writeText(w http.ResponseWriter, status int, s string) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.WriteHeader(status)
	_, _ = io.WriteString(w, s)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		writeText(w, http.StatusInternalServerError, err.Error())
		return
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func main() {
	logger := log.New(os.Stderr, "keyserver: ", log.LstdFlags|log.LUTC)
	port := os.Getenv("PORT")
	if port == "" {
		port = "8080"
	}
	srv := &http.Server{
		Addr: ":" + port, Handler: newServer(logger),
		ReadHeaderTimeout: 5 * time.Second, MaxHeaderBytes: 64 << 10,
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	logger.Printf("listening on :%s", port)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		fmt.Fprintf(os.Stderr, "keyserver: %v\n", err)
		os.Exit(1)
	}
}
