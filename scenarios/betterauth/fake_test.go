package betterauth_test

import (
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
)

// fakeAuth imitates Better Auth 1.7 (email + password, cookie session, jwt plugin) as its docs
// describe them (https://www.better-auth.com/docs/authentication/email-password,
// https://www.better-auth.com/docs/plugins/jwt; error codes: better-auth/better-auth
// packages/core/src/error/codes.ts), plus the app's HS256 token route.
type fakeAuth struct {
	srv       *httptest.Server
	secret    secret.Secret
	authPath  string
	tokenPath string
	// tokenMode is "hs256" (the app's route) or "jwks" (the jwt plugin).
	tokenMode string
	// rateLimit > 0 allows that many sign-ins per X-Forwarded-For value.
	rateLimit int
	// delay is added to every answer.
	delay time.Duration

	pub  ed25519.PublicKey
	priv ed25519.PrivateKey
	kid  string

	mu       sync.Mutex
	users    map[string]*fakeUser // by email
	sessions map[string]string    // token -> user id
	signIns  map[string]int       // by X-Forwarded-For
	seq      int
	requests []*http.Request // every request, body consumed
}

type fakeUser struct {
	ID, Name, Email, Password string
	CreatedAt                 time.Time
}

func newFakeAuth(mode string) *fakeAuth {
	pub, priv, err := jwtforge.NewEd25519Key()
	if err != nil {
		panic(err)
	}
	f := &fakeAuth{
		secret:    secret.New("fake-better-auth-secret-0123456789abcdef"),
		authPath:  "/api/auth",
		tokenPath: "/api/auth/token",
		tokenMode: mode,
		pub:       pub, priv: priv, kid: "kid-1",
		users:    map[string]*fakeUser{},
		sessions: map[string]string{},
		signIns:  map[string]int{},
	}
	f.srv = httptest.NewServer(http.HandlerFunc(f.serve))
	return f
}

func (f *fakeAuth) Close() { f.srv.Close() }

func (f *fakeAuth) URL() string { return f.srv.URL }

func (f *fakeAuth) lastRequest() *http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests[len(f.requests)-1]
}

func (f *fakeAuth) allRequests() []*http.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]*http.Request(nil), f.requests...)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func apiError(w http.ResponseWriter, status int, code, msg string) {
	writeJSON(w, status, struct {
		Message string `json:"message"`
		Code    string `json:"code"`
	}{msg, code})
}

func (f *fakeAuth) serve(w http.ResponseWriter, r *http.Request) {
	f.mu.Lock()
	f.requests = append(f.requests, r)
	f.mu.Unlock()
	if f.delay > 0 {
		time.Sleep(f.delay)
	}
	if r.URL.Path == f.tokenPath && r.Method == http.MethodGet {
		f.token(w, r)
		return
	}
	if !strings.HasPrefix(r.URL.Path, f.authPath+"/") {
		http.NotFound(w, r)
		return
	}
	route := r.Method + " " + strings.TrimPrefix(r.URL.Path, f.authPath)
	if r.Method != http.MethodGet && !f.originOK(w, r) {
		return
	}
	switch route {
	case "POST /sign-up/email":
		f.signUp(w, r)
	case "POST /sign-in/email":
		f.signIn(w, r)
	case "GET /get-session":
		f.getSession(w, r)
	case "GET /jwks":
		writeJSON(w, 200, map[string]any{"keys": []map[string]string{{
			"alg": "EdDSA", "crv": "Ed25519", "kty": "OKP", "kid": f.kid,
			"x": base64.RawURLEncoding.EncodeToString(f.pub),
		}}})
	case "POST /sign-out":
		f.signOut(w, r)
	default:
		w.WriteHeader(http.StatusNotFound)
	}
}

// originOK applies Better Auth's origin check to a non-GET request.
func (f *fakeAuth) originOK(w http.ResponseWriter, r *http.Request) bool {
	origin := r.Header.Get("Origin")
	hasFetch := false
	for k := range r.Header {
		if strings.HasPrefix(k, "Sec-Fetch-") {
			hasFetch = true
		}
	}
	if r.Header.Get("Cookie") == "" && origin == "" && r.Header.Get("Referer") == "" && !hasFetch {
		return true
	}
	if origin == "" || origin == "null" {
		apiError(w, 403, "MISSING_OR_NULL_ORIGIN", "Missing or null Origin")
		return false
	}
	if origin != f.srv.URL {
		apiError(w, 403, "INVALID_ORIGIN", "Invalid origin")
		return false
	}
	return true
}

func (f *fakeAuth) decodeBody(w http.ResponseWriter, r *http.Request, v any) bool {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		apiError(w, 400, "VALIDATION_ERROR", "[body] Invalid input: expected object, received undefined")
		return false
	}
	if mt, _, _ := mime.ParseMediaType(ct); mt != "application/json" {
		apiError(w, 415, "UNSUPPORTED_MEDIA_TYPE", "Unsupported media type")
		return false
	}
	if err := json.NewDecoder(r.Body).Decode(v); err != nil {
		apiError(w, 400, "VALIDATION_ERROR", "[body] Invalid input")
		return false
	}
	return true
}

func (f *fakeAuth) cookieValue(token string) string {
	m := hmac.New(sha256.New, []byte(f.secret.Value()))
	m.Write([]byte(token))
	return url.QueryEscape(token + "." + base64.StdEncoding.EncodeToString(m.Sum(nil)))
}

func (f *fakeAuth) startSession(w http.ResponseWriter, u *fakeUser) string {
	f.seq++
	token := fmt.Sprintf("sessiontoken%020d", f.seq)
	f.sessions[token] = u.ID
	w.Header().Add("Set-Cookie", "better-auth.session_token="+f.cookieValue(token)+"; Max-Age=604800; Path=/; HttpOnly; SameSite=Lax")
	return token
}

func (f *fakeAuth) session(r *http.Request) (string, *fakeUser) {
	c, err := r.Cookie("better-auth.session_token")
	if err != nil {
		return "", nil
	}
	v, err := url.QueryUnescape(c.Value)
	if err != nil {
		return "", nil
	}
	token, _, ok := strings.Cut(v, ".")
	if !ok || f.cookieValue(token) != c.Value {
		return "", nil
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	id, ok := f.sessions[token]
	if !ok {
		return "", nil
	}
	for _, u := range f.users {
		if u.ID == id {
			return token, u
		}
	}
	return "", nil
}

func userJSON(u *fakeUser) map[string]any {
	return map[string]any{"id": u.ID, "name": u.Name, "email": u.Email, "emailVerified": false, "image": nil,
		"createdAt": u.CreatedAt.Format(time.RFC3339Nano), "updatedAt": u.CreatedAt.Format(time.RFC3339Nano)}
}

func (f *fakeAuth) signUp(w http.ResponseWriter, r *http.Request) {
	var in struct{ Name, Email, Password *string }
	if !f.decodeBody(w, r, &in) {
		return
	}
	switch {
	case in.Name == nil:
		apiError(w, 400, "VALIDATION_ERROR", "[body.name] Invalid input: expected string, received undefined")
		return
	case in.Email == nil || !strings.Contains(*in.Email, "@"):
		apiError(w, 400, "VALIDATION_ERROR", "[body.email] Invalid email address")
		return
	case in.Password == nil || len(*in.Password) < 8:
		apiError(w, 400, "PASSWORD_TOO_SHORT", "Password too short")
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	email := strings.ToLower(*in.Email)
	if _, ok := f.users[email]; ok {
		apiError(w, 422, "USER_ALREADY_EXISTS_USE_ANOTHER_EMAIL", "User already exists. Use another email.")
		return
	}
	u := &fakeUser{ID: fmt.Sprintf("u%031d", len(f.users)+1), Name: *in.Name, Email: email, Password: *in.Password,
		CreatedAt: time.Now().UTC()}
	f.users[email] = u
	token := f.startSession(w, u)
	writeJSON(w, 200, map[string]any{"token": token, "user": userJSON(u)})
}

func (f *fakeAuth) signIn(w http.ResponseWriter, r *http.Request) {
	if f.rateLimit > 0 {
		f.mu.Lock()
		ip := r.Header.Get("X-Forwarded-For")
		f.signIns[ip]++
		n := f.signIns[ip]
		f.mu.Unlock()
		if n > f.rateLimit {
			w.Header().Set("X-Retry-After", "10")
			writeJSON(w, 429, map[string]string{"message": "Too many requests. Please try again later."})
			return
		}
	}
	var in struct{ Email, Password string }
	if !f.decodeBody(w, r, &in) {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	u, ok := f.users[strings.ToLower(in.Email)]
	if !ok || u.Password != in.Password {
		apiError(w, 401, "INVALID_EMAIL_OR_PASSWORD", "Invalid email or password")
		return
	}
	token := f.startSession(w, u)
	writeJSON(w, 200, map[string]any{"redirect": false, "token": token, "user": userJSON(u)})
}

func (f *fakeAuth) pluginJWT(u *fakeUser) string {
	now := time.Now()
	tok, err := jwtforge.MintEdDSA(f.priv, map[string]any{
		"sub": u.ID, "email": u.Email, "name": u.Name, "iat": now.Unix(), "exp": now.Add(15 * time.Minute).Unix(),
		"iss": f.srv.URL, "aud": f.srv.URL,
	}, map[string]any{"kid": f.kid})
	if err != nil {
		panic(err)
	}
	return tok.Value()
}

func (f *fakeAuth) getSession(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Cache-Control", "no-store")
	token, u := f.session(r)
	if u == nil {
		writeJSON(w, 200, nil)
		return
	}
	w.Header().Set("Set-Auth-Jwt", f.pluginJWT(u))
	now := time.Now().UTC()
	writeJSON(w, 200, map[string]any{
		"session": map[string]any{"id": fmt.Sprintf("sid-%x", sha256.Sum256([]byte(token)))[:20], "token": token, "userId": u.ID, "ipAddress": "",
			"userAgent": r.UserAgent(), "expiresAt": now.Add(7 * 24 * time.Hour).Format(time.RFC3339Nano),
			"createdAt": now.Format(time.RFC3339Nano), "updatedAt": now.Format(time.RFC3339Nano)},
		"user": userJSON(u),
	})
}

func (f *fakeAuth) token(w http.ResponseWriter, r *http.Request) {
	_, u := f.session(r)
	if f.tokenMode == "jwks" {
		if u == nil {
			apiError(w, 401, "UNAUTHORIZED", "Unauthorized")
			return
		}
		writeJSON(w, 200, map[string]string{"token": f.pluginJWT(u)})
		return
	}
	if u == nil {
		writeJSON(w, 401, map[string]string{"error": "Unauthorized"})
		return
	}
	now := time.Now()
	tok, err := jwtforge.MintHS256(f.secret, jwtforge.AccessClaims(jwtforge.Subject{ID: u.ID, Email: u.Email, Name: u.Name}, now), nil)
	if err != nil {
		panic(err)
	}
	writeJSON(w, 200, map[string]any{"token": tok.Value(), "user": map[string]string{"id": u.ID, "email": u.Email, "name": u.Name},
		"expiresAt": now.Add(jwtforge.AccessTokenTTL).UTC().Format(time.RFC3339Nano)})
}

func (f *fakeAuth) signOut(w http.ResponseWriter, r *http.Request) {
	if token, u := f.session(r); u != nil {
		f.mu.Lock()
		delete(f.sessions, token)
		f.mu.Unlock()
	}
	for _, n := range []string{"session_token", "session_data", "dont_remember"} {
		w.Header().Add("Set-Cookie", "better-auth."+n+"=; Max-Age=0; Path=/; HttpOnly; SameSite=Lax")
	}
	writeJSON(w, 200, map[string]bool{"success": true})
}
