package e2e

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/attack"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/internal/stack"
	"github.com/authflow-e2e/authflow/internal/tokenmode"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
	"github.com/authflow-e2e/authflow/scenarios/dbprobe"
	"github.com/authflow-e2e/authflow/targets"
)

// Timeouts of single steps, scaled by AUTHFLOW_TIMEOUT_FACTOR.
var (
	requestTimeout = containers.Scaled(15 * time.Second) // one HTTP call; a sign-up hashes with scrypt (~0.1-0.4 s)
	testTimeout    = containers.Scaled(60 * time.Second) // one API test, end to end
)

// World is the running target as the suites see it.
type World struct {
	Env    *stack.Env
	T      *targets.Rendered
	DB     *dbprobe.DB
	Secret secret.Secret
	// Zone is the ChatKit server's UTC offset for naive timestamps, learned by the first stream of any
	// of the world's ChatKit clients and shared by all of them.
	Zone *chatkit.Zone
	// forge makes the keys of the token attacks, once (its RSA key takes a moment).
	forge func() (*jwtforge.Forge, error)
	// Security is the security suites' report (artifacts/security-report-<mode>.md).
	Security *attack.Report

	mu       sync.Mutex
	personas map[string]*Actor
	closers  []func()

	run       runRecord    // the tracked tests, for the summary (summary_test.go)
	browser   browserState // the process's browser, launched on first use (browser_world_test.go)
	keyServer struct {     // the recording key server, started once (security_keyserver_test.go)
		sync.Mutex
		ks  *secKeyServer
		err error
	}
}

// Actor is a persona with a signed-in session, its token and a ChatKit client that sends it.
type Actor struct {
	data.Persona
	Auth    *betterauth.Client
	User    *betterauth.User
	Token   secret.Secret
	ChatKit *chatkit.Client
}

func newWorld(env *stack.Env) (*World, error) {
	ctx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	db, err := dbprobe.Open(ctx, env.Stack.Postgres.DSN)
	if err != nil {
		return nil, fmt.Errorf("open the database probe: %w", err)
	}
	return &World{Env: env, T: env.Rendered, DB: db, Secret: secret.New(env.Rendered.Secret), Zone: &chatkit.Zone{}, forge: sync.OnceValues(jwtforge.NewForge),
		Security: &attack.Report{Target: env.Rendered.Name, Mode: env.Rendered.TokenMode, Fault: os.Getenv("AUTHFLOW_FAULT"), MaxRejectTime: secMaxRejectTime},
		personas: map[string]*Actor{}}, nil
}

// Budgets are the target's policy budgets (app.budgets) for this token mode, defaults included.
func (w *World) Budgets() attack.Budgets {
	return attack.Budgets{File: w.T.File, Set: w.T.App.Budgets, Lifetime: w.T.Lifetime}
}

// OnClose registers f to run at teardown, before the stack is removed (last registered runs first):
// for process-wide resources such as the browser.
func (w *World) OnClose(f func()) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.closers = append(w.closers, f)
}

func (w *World) close() {
	w.mu.Lock()
	closers := w.closers
	w.closers = nil
	w.mu.Unlock()
	for i := len(closers) - 1; i >= 0; i-- {
		closers[i]()
	}
	if w.DB != nil {
		w.DB.Close()
	}
}

// ctx is a per-test context bounded by testTimeout.
func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), testTimeout)
	t.Cleanup(cancel)
	return c
}

// AuthClient is a fresh Better Auth client (empty cookie jar) for the target's web URL.
func (w *World) AuthClient(t *testing.T) *betterauth.Client {
	c, err := betterauth.New(w.AuthOptions())
	require.NoError(t, err)
	return c
}

// AuthOptions are the Better Auth client options for the target (URL, paths, requestTimeout) and a
// client address of its own (app.client_ip_header), for tests that add headers or a transport.
func (w *World) AuthOptions() betterauth.Options { return w.AuthOptionsAs(data.NewClientAddr()) }

// AuthOptionsAs are AuthOptions for a client that sends addr as its client address (a persona's).
func (w *World) AuthOptionsAs(addr string) betterauth.Options {
	o := betterauth.Options{
		BaseURL: w.T.App.WebURL, AuthPath: w.T.App.AuthBasePath, TokenPath: w.T.App.TokenPath,
		JWKSPath: w.T.App.JWKSPath, Timeout: requestTimeout,
	}
	if h := w.T.App.ClientIPHeader; h != "" {
		o.ClientAddrHeader, o.ClientAddr = h, addr
	}
	return o
}

// ClientAddrHeader is the header that carries addr as the client address (app.client_ip_header);
// nil when the target sends none.
func (w *World) ClientAddrHeader(addr string) http.Header {
	if h := w.T.App.ClientIPHeader; h != "" && addr != "" {
		return http.Header{h: {addr}}
	}
	return nil
}

// ChatKit is a ChatKit client for the target's endpoint sending tok as Bearer.
func (w *World) ChatKit(tok secret.Secret) *chatkit.Client {
	return w.ChatKitClient(chatkit.Client{Token: chatkit.StaticToken(tok)})
}

// Forge returns the process's key forge.
func (w *World) Forge(t *testing.T) *jwtforge.Forge {
	t.Helper()
	f, err := w.forge()
	require.NoError(t, err, "make the forge's keys")
	return f
}

// TokenEnv is what the target's token mode (w.T.Mode) needs to verify tokens: the secret, the JWKS
// fetched through c, the issuer, audience and algorithm the target names, and apiClockSkew.
func (w *World) TokenEnv(c *betterauth.Client) tokenmode.Env {
	return tokenmode.Env{
		Secret: w.Secret, Issuer: w.T.App.Issuer, Audience: w.T.App.Audience, Alg: w.T.Alg, Leeway: apiClockSkew,
		JWKS: func(ctx context.Context) (*betterauth.KeySet, error) {
			_, ks, err := c.JWKS(ctx)
			return ks, err
		},
	}
}

// ChatKitClient completes c for the target: its ChatKit URL, the world's shared Zone, and the run's
// log for what the client does on its own (retiring a connection after a 5xx).
func (w *World) ChatKitClient(c chatkit.Client) *chatkit.Client {
	c.URL, c.Zone = w.T.App.ChatKitURL, w.Zone
	c.Log = func(s string) { fmt.Fprintln(os.Stderr, "authflow:", s) }
	return &c
}

// NewActor signs a brand-new user up over HTTP and fetches a token: for tests that change the user's
// state (sign-out, task lists) or need a user of their own.
func (w *World) NewActor(t *testing.T, role string) *Actor {
	t.Helper()
	p := data.NewPersona(role, strings.ToUpper(role[:1])+role[1:])
	a, err := w.signUp(ctx(t), t, p)
	require.NoError(t, err, "sign up %s\n%s", p, w.serviceLogs(10))
	return a
}

// Shared returns a persona signed up once per process and reused (user A, user B): for read-mostly
// tests. Tests must not sign it out.
func (w *World) Shared(t *testing.T, role string) *Actor {
	t.Helper()
	w.mu.Lock()
	defer w.mu.Unlock()
	if a, ok := w.personas[role]; ok {
		return a
	}
	var p data.Persona
	switch role {
	case data.RoleUserA:
		p = data.UserA()
	case data.RoleUserB:
		p = data.UserB()
	default:
		t.Fatalf("no shared persona %q", role)
	}
	a, err := w.signUp(context.Background(), t, p)
	require.NoError(t, err, "sign up shared persona %s", p)
	w.personas[role] = a
	return a
}

func (w *World) signUp(ctx context.Context, t *testing.T, p data.Persona) (*Actor, error) {
	c, err := betterauth.New(w.AuthOptionsAs(p.ClientAddr))
	require.NoError(t, err)
	u, err := c.SignUpAs(ctx, p)
	if err != nil {
		return nil, err
	}
	tok, tr, err := c.Token(ctx)
	if err != nil {
		return nil, fmt.Errorf("token after sign-up: %w", err)
	}
	ck := w.ChatKitClient(chatkit.Client{Token: refreshingToken(c, tok, tokenExpiry(tr)), Header: w.ClientAddrHeader(p.ClientAddr)})
	return &Actor{Persona: p, Auth: c, User: u, Token: tok, ChatKit: ck}, nil
}

// refreshingToken sends tok until a minute before it expires, then fetches a fresh one with the
// actor's session: a persona shared by a long run (kill matrix, browser suites) never sends an expired
// token that would look like the app's fault.
func refreshingToken(c *betterauth.Client, tok secret.Secret, exp time.Time) chatkit.TokenSource {
	var mu sync.Mutex
	return func(ctx context.Context) (string, error) {
		mu.Lock()
		defer mu.Unlock()
		if !exp.IsZero() && time.Until(exp) < time.Minute {
			t, tr, err := c.Token(ctx)
			if err != nil {
				return "", fmt.Errorf("refresh the token: %w", err)
			}
			tok, exp = t, tokenExpiry(tr)
		}
		return tok.Value(), nil
	}
}

// tokenExpiry reads exp from a token answer (zero when it has none).
func tokenExpiry(tr *betterauth.TokenResponse) time.Time {
	if tr == nil {
		return time.Time{}
	}
	if exp, ok := apiNumericClaim(tr.Claims, "exp"); ok {
		return exp
	}
	return tr.ExpiresAt
}

// needs reports t as not applicable when the target turns feature off (app.features): a skip whose
// message starts with "n/a:" and gives the reason, which the run summary lists per area.
func needs(t *testing.T, feature string) {
	t.Helper()
	if !world.T.App.Has(feature) {
		t.Skipf("n/a: target %s sets app.features.%s: false (%s)", world.T.File, feature, targets.Features[feature])
	}
}

// Tasks returns the titles of the user's tasks through the target's tasks_for_user probe (its
// title column, or its only column).
func (w *World) Tasks(t *testing.T, userID string) []string {
	t.Helper()
	q, ok := w.T.App.Probes["tasks_for_user"]
	require.True(t, ok, "target %s has no app.probes.tasks_for_user query", w.T.File)
	rows, err := w.DB.QueryStrings(ctx(t), q, userID)
	require.NoError(t, err)
	var out []string
	for _, r := range rows {
		title, ok := r["title"]
		if !ok && len(r) == 1 {
			for _, v := range r {
				title, ok = v, true
			}
		}
		require.True(t, ok, "target %s: app.probes.tasks_for_user must return a title column (got %v)", w.T.File, slices.Collect(maps.Keys(r)))
		out = append(out, title)
	}
	return out
}

// serviceLogs returns the last n log lines of every service (target services first, then helpers
// started next to them, like the key server), for failure messages.
func (w *World) serviceLogs(n int) string {
	var b strings.Builder
	names := append([]string(nil), w.Env.Target.Order...)
	var extra []string
	for name := range w.Env.Stack.Services {
		if !slices.Contains(names, name) {
			extra = append(extra, name)
		}
	}
	sort.Strings(extra)
	for _, name := range append(names, extra...) {
		s := w.Env.Stack.Services[name]
		if s == nil {
			continue
		}
		fmt.Fprintf(&b, "--- last %d log lines of %s ---\n%s\n", n, name, strings.Join(s.Logs(n), "\n"))
	}
	return b.String()
}
