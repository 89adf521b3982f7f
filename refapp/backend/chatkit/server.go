// Package chatkit is the reference ChatKit backend of authflow's refapp: the ChatKit wire protocol
// over POST /chatkit, authenticated with Better Auth JWTs, stored in Postgres, with a deterministic
// task assistant and the fault switches of refapp/README.md.
package chatkit

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"
	"unicode"
)

const maxBodyBytes = 1 << 20

// Server is the http.Handler of the backend: POST/OPTIONS /chatkit and GET /health.
type Server struct {
	cfg    Config
	store  *Store
	verify *verifier
	mux    *http.ServeMux

	connUsers sync.Map // remote address -> user, for the identity-per-connection fault only
}

// New builds the handler. store may be nil only in tests that never get past authentication.
func New(cfg Config, store *Store) (*Server, error) {
	cfg.setDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &Server{cfg: cfg, store: store, verify: newVerifier(cfg)}
	sdkWire.Store(cfg.Profile == ProfileSDK)
	s.mux = http.NewServeMux()
	s.mux.HandleFunc("/chatkit", s.handleChatKit)
	s.mux.HandleFunc("GET /health", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	s.mux.HandleFunc("/", func(w http.ResponseWriter, _ *http.Request) {
		writeError(w, http.StatusNotFound, "Not found")
	})
	return s, nil
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) { s.mux.ServeHTTP(w, r) }

// request is the per-request state of a /chatkit call, also what gets logged.
type request struct {
	w       *statusWriter
	r       *http.Request
	typ     string
	user    string
	authMsg string
}

func (s *Server) handleChatKit(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	req := &request{w: &statusWriter{ResponseWriter: w}, r: r, typ: "-", user: "-"}
	defer func() {
		msg := req.authMsg
		if msg == "" {
			msg = "no authentication attempted"
		}
		s.cfg.Logger.Printf("%s /chatkit type=%s user=%s status=%d duration=%s: %s",
			r.Method, logSafe(req.typ), logSafe(req.user), req.w.statusCode(),
			time.Since(start).Round(100*time.Microsecond), msg)
	}()

	s.corsHeaders(req.w, r)
	switch r.Method {
	case http.MethodOptions:
		req.authMsg = s.preflight(req.w, r)
		return
	case http.MethodPost:
	default:
		req.w.Header().Set("Allow", "POST, OPTIONS")
		writeError(req.w, http.StatusMethodNotAllowed, "Method not allowed")
		return
	}

	if s.cfg.Faults[FaultLogAuthorization] {
		s.cfg.Logger.Printf("request headers: Authorization: %s", r.Header.Get("Authorization"))
	}
	// Authentication comes before anything else: before the body is read (an anonymous client cannot
	// make the server buffer a large body) and before any stream byte.
	tok, err := bearerToken(r)
	if err == nil {
		req.user, err = s.verify.Verify(r.Context(), tok)
	}
	if err != nil {
		req.user = "-"
		var ae *authError
		if !errors.As(err, &ae) {
			ae = &authError{reason: err.Error()}
		}
		req.authMsg = "JWT validation failed: " + ae.reason
		req.w.Header().Set("WWW-Authenticate", "Bearer")
		if ae.missing {
			writeError(req.w, http.StatusUnauthorized, "Missing Authorization header")
		} else {
			writeError(req.w, http.StatusUnauthorized, "Invalid authentication credentials")
		}
		return
	}
	if s.cfg.Faults[FaultIdentityPerConnection] {
		if first, loaded := s.connUsers.LoadOrStore(r.RemoteAddr, req.user); loaded {
			req.user = first.(string)
		}
	}
	if s.cfg.Faults[FaultIdentityFromRequest] {
		if u := r.Header.Get("X-User-Id"); u != "" {
			req.user = u
		}
	}
	req.authMsg = "JWT validation successful for user " + req.user

	body, err := io.ReadAll(http.MaxBytesReader(req.w, r.Body, maxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(req.w, http.StatusRequestEntityTooLarge, "Request body too large")
			return
		}
		writeError(req.w, http.StatusBadRequest, "Could not read request body")
		return
	}
	req.typ = peekType(body)

	env, apiErr := parseEnvelope(body)
	if apiErr != nil {
		writeError(req.w, apiErr.status, apiErr.msg)
		return
	}
	req.typ = env.Type
	if s.cfg.Faults[FaultIdentityFromRequest] {
		var m struct {
			Metadata struct {
				UserID string `json:"user_id"`
			} `json:"metadata"`
		}
		if json.Unmarshal(body, &m) == nil && m.Metadata.UserID != "" {
			req.user = m.Metadata.UserID
		}
	}
	s.dispatch(req, env)
}

// peekType reads the request type for the log line only (the body is validated later).
func peekType(body []byte) string {
	var env struct {
		Type any `json:"type"`
	}
	if json.Unmarshal(body, &env) != nil {
		return "-"
	}
	if t, ok := env.Type.(string); ok && t != "" {
		return t
	}
	return "-"
}

// logSafe keeps user-controlled values (type, sub) on one line and short.
func logSafe(s string) string {
	s = strings.Map(func(r rune) rune {
		if unicode.IsControl(r) || unicode.IsSpace(r) {
			return '_'
		}
		return r
	}, s)
	return truncateRunes(s, 120)
}

// statusWriter records the status for the log line and keeps Flush working.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.ResponseWriter.Write(b)
}

func (w *statusWriter) Flush() {
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *statusWriter) statusCode() int {
	if w.status == 0 {
		return http.StatusOK
	}
	return w.status
}

// CORS

// allowedOrigin echoes an allowed Origin header value ("" when not allowed).
func (s *Server) allowedOrigin(r *http.Request) string {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return ""
	}
	for _, o := range s.cfg.CORSOrigins {
		if o == "*" || strings.EqualFold(o, strings.TrimRight(origin, "/")) {
			return origin
		}
	}
	return ""
}

func (s *Server) corsHeaders(w http.ResponseWriter, r *http.Request) {
	w.Header().Add("Vary", "Origin")
	if origin := s.allowedOrigin(r); origin != "" {
		w.Header().Set("Access-Control-Allow-Origin", origin)
	}
}

const corsAllowHeaders = "Authorization, Content-Type, Accept-Language, chatkit-frame-instance-id"

func (s *Server) preflight(w http.ResponseWriter, r *http.Request) string {
	w.Header().Add("Vary", "Access-Control-Request-Method")
	w.Header().Add("Vary", "Access-Control-Request-Headers")
	if r.Header.Get("Origin") == "" {
		w.Header().Set("Allow", "POST, OPTIONS")
		w.WriteHeader(http.StatusNoContent)
		return "OPTIONS without Origin"
	}
	if s.allowedOrigin(r) == "" {
		writeError(w, http.StatusForbidden, "Origin not allowed")
		return "CORS preflight from an origin not in CORS_ORIGINS"
	}
	allow := corsAllowHeaders
	if s.cfg.Faults[FaultCORSNoAuthorization] {
		allow = "Content-Type, Accept-Language, chatkit-frame-instance-id"
	}
	h := w.Header()
	h.Set("Access-Control-Allow-Methods", "POST")
	h.Set("Access-Control-Allow-Headers", allow)
	h.Set("Access-Control-Max-Age", "600")
	w.WriteHeader(http.StatusNoContent)
	return "CORS preflight allowed"
}

// JSON helpers

func marshalCompact(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // like the SDK: "<" stays "<"
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := marshalCompact(v)
	if err != nil {
		status = http.StatusInternalServerError
		b = []byte(`{"error":"Internal server error"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Length", fmt.Sprint(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

// writeUvicorn500 answers as FastAPI under uvicorn does for an unhandled exception (the
// not-found-500 fault): 500 text/plain, no CORS headers, no Connection: close, and then the
// connection is closed.
func writeUvicorn500(w http.ResponseWriter) {
	h := w.Header()
	h.Del("Access-Control-Allow-Origin")
	h.Del("Vary")
	h.Set("Content-Type", "text/plain; charset=utf-8")
	h.Set("Content-Length", "21")
	w.WriteHeader(http.StatusInternalServerError)
	_, _ = w.Write([]byte("Internal Server Error"))
	rc := http.NewResponseController(w)
	_ = rc.Flush()
	if conn, _, err := rc.Hijack(); err == nil {
		_ = conn.Close()
	}
}
