package e2e

// Shared parts of the security suites (security_*_test.go): the forge and the keys it needs per
// token mode, sending one token on a non-streaming and a streaming ChatKit request, judging the
// answers, the target's policy budgets, and the report (test log + artifacts/security-report-<mode>.md).

import (
	"context"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/internal/artifacts"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/redact"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
)

// secMaxRejectTime bounds how long one rejection may take: a verifier that does slow work on
// attacker input (a kid that runs a command, a JWKS fetch per request) shows up here.
var secMaxRejectTime = containers.Scaled(2 * time.Second)

// secKeys are the keys the suites sign with in this token mode, each with the reason when it is
// missing.
type secKeys struct {
	// Trusted signs exactly as the app does: with the shared secret (a mode that signs with it), or
	// the web's own key recovered from its jwks table (jwks). Zero when it cannot be had: TrustedWhy.
	Trusted    jwtforge.SigningKey
	TrustedWhy string
	// ServerKey is the web's JWKS signing key (recovered), of whatever algorithm the jwt plugin is
	// configured with, in either mode (the plugin keeps a JWKS in hs256 mode too). Zero: ServerKeyWhy.
	ServerKey    jwtforge.SigningKey
	ServerKeyWhy string
	// ServerKID is the kid of the web's current JWKS key ("" when none); PublicX its raw public key
	// bytes, PublicJWK the key as published, PublicPEM its SPKI PEM. JWKSWhy says why they are missing.
	ServerKID string
	PublicX   []byte
	PublicJWK []byte
	PublicPEM []byte
	JWKSWhy   string
	serverAlg string
}

// secLoadKeys fetches the JWKS through c and recovers the web's signing key for kid (jwks mode:
// the kid of a real token; "" picks the newest key of the jwks table).
func secLoadKeys(t *testing.T, c *betterauth.Client, kid string) *secKeys {
	t.Helper()
	k := &secKeys{}
	cx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	raw, ks, err := c.JWKS(cx)
	switch {
	case err != nil:
		k.JWKSWhy = fmt.Sprintf("the target publishes no usable JWKS at %s (%v)", world.T.App.JWKSPath, err)
	case len(ks.Keys) == 0:
		k.JWKSWhy = "the target's JWKS holds no key"
	default:
		jwk := ks.Keys[len(ks.Keys)-1]
		if kid != "" {
			if j, ok := ks.Lookup(kid); ok {
				jwk = j
			}
		}
		k.ServerKID, k.serverAlg = jwk.Kid, jwk.Alg
		pub, err := jwk.PublicKey()
		if err == nil {
			switch p := pub.(type) { // the key's own bytes: Ed25519's x, RSA's modulus
			case ed25519.PublicKey:
				k.PublicX = []byte(p)
			case *rsa.PublicKey:
				k.PublicX = p.N.Bytes()
			case *ecdsa.PublicKey:
				if b, err := p.Bytes(); err == nil && len(b) > 1 {
					k.PublicX = b[1 : 1+(len(b)-1)/2] // the x coordinate of the uncompressed point
				}
			}
			k.PublicJWK, _ = json.Marshal(jwk)
			if der, err := x509.MarshalPKIXPublicKey(pub); err == nil {
				k.PublicPEM = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
			}
		}
		_ = raw
	}

	k.ServerKey, k.ServerKeyWhy = secRecoverServerKey(t, k.ServerKID, k.serverAlg)
	if world.T.Mode.SharedSecret() {
		k.Trusted = jwtforge.SecretKey(world.Secret, "shared secret (world.Secret)")
	} else {
		k.Trusted, k.TrustedWhy = k.ServerKey, k.ServerKeyWhy
	}
	return k
}

// secRecoverServerKey reads Better Auth's jwks table and decrypts the private key with kid (or the
// newest) using the shared secret; alg is the key's alg as published ("" infers it). It never
// prints the key.
func secRecoverServerKey(t *testing.T, kid, alg string) (jwtforge.SigningKey, string) {
	t.Helper()
	if world.Secret.IsZero() {
		return jwtforge.SigningKey{}, "the harness does not know the target's secret"
	}
	cx, cancel := context.WithTimeout(context.Background(), requestTimeout)
	defer cancel()
	q := `SELECT id, "privateKey" FROM jwks ORDER BY "createdAt" DESC LIMIT 1`
	args := []any{}
	if kid != "" {
		q = `SELECT id, "privateKey" FROM jwks WHERE id = $1`
		args = append(args, kid)
	}
	var id, stored string
	if err := world.DB.Pool().QueryRow(cx, q, args...).Scan(&id, &stored); err != nil {
		return jwtforge.SigningKey{}, fmt.Sprintf("no Better Auth jwks row to recover the signing key from (%s)", redact.String(err.Error()))
	}
	key, err := jwtforge.BetterAuthSigningKey(world.Secret, stored, alg, id)
	if err != nil {
		return jwtforge.SigningKey{}, fmt.Sprintf("the web's signing key could not be recovered from its jwks table: %v", err)
	}
	return key, ""
}

// secRequests are the two ChatKit requests every token is sent on.
var secRequests = []struct {
	name      string
	streaming bool
	body      map[string]any
}{
	{"threads.list", false, map[string]any{"type": chatkit.TypeThreadsList, "params": map[string]any{"limit": 5}}},
	{"threads.create", true, map[string]any{"type": chatkit.TypeThreadsCreate, "params": map[string]any{"input": chatkit.UserInput("hello from the security suite")}}},
}

// secAuth is how a request authenticates: a Bearer token, a raw Authorization value, or nothing;
// Query is appended to the ChatKit URL.
type secAuth struct {
	Token  fixtures.Secret
	Raw    *string
	Header bool // false: no Authorization header at all (Token and Raw ignored)
	Query  string
}

func secBearer(tok fixtures.Secret) secAuth { return secAuth{Token: tok, Header: true} }

// secSend sends body with auth and returns the answer (whatever its status).
func secSend(cx context.Context, auth secAuth, body any) (*chatkit.RawResponse, error) {
	u := world.T.App.ChatKitURL
	if auth.Query != "" {
		sep := "?"
		if strings.Contains(u, "?") {
			sep = "&"
		}
		u += sep + auth.Query
	}
	c := &chatkit.Client{URL: u, HTTPClient: &http.Client{Timeout: requestTimeout}}
	h := http.Header{}
	if auth.Header {
		switch {
		case auth.Raw != nil:
			h.Set("Authorization", *auth.Raw)
		default:
			h.Set("Authorization", "Bearer "+auth.Token.Value())
		}
	}
	return c.SendHeaders(cx, body, h)
}

// secOutcome is the judged answer to one request.
type secOutcome struct {
	Request  string
	Status   int
	Accepted bool
	Took     time.Duration
	Problems []string // empty: as expected
}

func (o secOutcome) short() string {
	if o.Status == 0 {
		return o.Request + " no answer"
	}
	s := fmt.Sprintf("%s %d", o.Request, o.Status)
	if o.Accepted {
		s += " ACCEPTED"
	}
	return s
}

// secJudgeRejected checks a rejection: 401 (400 or 431 too when malformed), an error JSON and
// nothing else, no stream byte, no echo of the token or the user's data, quick, never a 5xx.
// weakness names what a backend that accepts the token lacks.
func secJudgeRejected(name string, r *chatkit.RawResponse, err error, tok fixtures.Secret, malformed bool, weakness string, private []string) secOutcome {
	o := secOutcome{Request: name}
	if r != nil {
		o.Status, o.Took = r.Status, r.Duration
	}
	if err != nil && r == nil {
		o.Problems = append(o.Problems, fmt.Sprintf("no answer: %v", err))
		return o
	}
	if err != nil {
		o.Problems = append(o.Problems, fmt.Sprintf("the answer was cut: %v", err))
	}
	inStream := ""
	if r.Status >= 200 && r.Status < 300 && r.EventStream {
		inStream = secRefusedInStream(r)
	}
	switch {
	case inStream != "":
		// Not served, but refused only after the stream started (a backend that authenticates inside it).
		o.Problems = append(o.Problems, inStream+"; authenticate before any stream byte and answer 401")
		return o
	case r.Status >= 200 && r.Status < 300:
		o.Accepted = true
		what := "answered"
		if r.StreamStarted {
			what = "streamed"
		}
		o.Problems = append(o.Problems, fmt.Sprintf("ACCEPTED (%d, %s %d bytes): %s", r.Status, what, len(r.Body), weakness))
		return o
	case r.Status >= 500:
		o.Problems = append(o.Problems, fmt.Sprintf("server error %d instead of 401: the verifier fails on attacker input (fail-closed by accident at best): %s", r.Status, r.Excerpt()))
	case r.Status == http.StatusUnauthorized:
	case malformed && (r.Status == http.StatusBadRequest || r.Status == http.StatusRequestHeaderFieldsTooLarge):
	default:
		o.Problems = append(o.Problems, fmt.Sprintf("status %d, want 401: %s", r.Status, r.Excerpt()))
	}
	if r.StreamStarted || r.EventStream {
		o.Problems = append(o.Problems, fmt.Sprintf("the rejection came as an event stream (%d bytes): the stream started before authentication", len(r.Body)))
	}
	if r.Status == http.StatusUnauthorized {
		var m map[string]any
		if jerr := json.Unmarshal(r.Body, &m); jerr != nil {
			o.Problems = append(o.Problems, fmt.Sprintf("the 401 body is not a JSON object: %s", r.Excerpt()))
		} else {
			var extra []string
			for k, v := range m {
				if _, isStr := v.(string); k != "error" || !isStr {
					extra = append(extra, k)
				}
			}
			if len(extra) > 0 || m["error"] == nil {
				slices.Sort(extra)
				o.Problems = append(o.Problems, fmt.Sprintf("the 401 body carries more than {\"error\": \"...\"} (fields %v): %s", extra, r.Excerpt()))
			}
		}
	}
	for i := range 3 {
		if seg := jwtforge.Segment(tok, i); len(seg) >= 16 && strings.Contains(string(r.Body), seg) {
			o.Problems = append(o.Problems, fmt.Sprintf("the error body echoes segment %d of the token", i))
		}
	}
	for _, p := range private {
		if p != "" && strings.Contains(string(r.Body), p) {
			o.Problems = append(o.Problems, "the error body carries the user's data (id or e-mail)")
			break
		}
	}
	if o.Took > secMaxRejectTime {
		o.Problems = append(o.Problems, fmt.Sprintf("the rejection took %s (> %s): slow work on attacker input", o.Took.Round(time.Millisecond), secMaxRejectTime))
	}
	return o
}

// secRefusedInStream describes a 2xx event stream that carried no item: an in-band error event, or a
// body cut or ended with no event at all ("" when the stream carried items, i.e. served the request).
func secRefusedInStream(r *chatkit.RawResponse) string {
	evs, _ := chatkit.ParseEvents(r.Body)
	var errCode string
	for _, e := range evs {
		switch {
		case e.Item != nil || e.Thread != nil:
			return ""
		case e.Type == chatkit.EventError && errCode == "":
			errCode = e.Code
		}
	}
	if errCode != "" {
		return fmt.Sprintf("refused in-band: %d text/event-stream with an error event (code %q) and no item", r.Status, errCode)
	}
	return fmt.Sprintf("stream cut after %d: text/event-stream, then %d byte(s) and %d event(s), with no item and no error event", r.Status, len(r.Body), len(evs))
}

// secJudgeAccepted checks an accepted request: 200 and, for the stream, a thread.created event.
func secJudgeAccepted(name string, streaming bool, r *chatkit.RawResponse, err error, why string) secOutcome {
	o := secOutcome{Request: name}
	if r == nil {
		o.Problems = append(o.Problems, fmt.Sprintf("no answer: %v", err))
		return o
	}
	o.Status, o.Took, o.Accepted = r.Status, r.Duration, r.Status >= 200 && r.Status < 300
	if err != nil {
		o.Problems = append(o.Problems, fmt.Sprintf("the answer was cut: %v", err))
	}
	if !o.Accepted {
		o.Problems = append(o.Problems, fmt.Sprintf("REJECTED (%d), want 200: %s: %s", r.Status, why, r.Excerpt()))
		return o
	}
	if streaming {
		evs, perr := r.Events()
		if perr != nil || !r.StreamStarted {
			o.Problems = append(o.Problems, fmt.Sprintf("200 but not a complete event stream: %v", perr))
		} else if !slices.ContainsFunc(evs, func(e chatkit.Event) bool { return e.Type == chatkit.EventThreadCreated }) {
			o.Problems = append(o.Problems, "200 stream without a thread.created event")
		}
	} else {
		var page struct {
			Data []json.RawMessage `json:"data"`
		}
		if jerr := json.Unmarshal(r.Body, &page); jerr != nil {
			o.Problems = append(o.Problems, fmt.Sprintf("200 but the threads.list body is not a page: %s", r.Excerpt()))
		}
	}
	return o
}

// Policy budgets (app.budgets in the target file).
const (
	secBudgetAfterSignOut    = "token_after_signout"
	secBudgetAfterUserDelete = "token_after_user_delete"
	secBudgetExpLeeway       = "exp_leeway"
	secBudgetNbfLeeway       = "nbf_leeway"
)

// secParseBudgets reads the security budgets of app.budgets; other keys belong to other suites.
func secParseBudgets(file string, b map[string]string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, key := range []string{secBudgetAfterSignOut, secBudgetAfterUserDelete, secBudgetExpLeeway, secBudgetNbfLeeway} {
		v, ok := b[key]
		if !ok {
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("target %s: app.budgets.%s = %q is not a duration (write it like 30m, 60s or 0s)", file, key, v)
		}
		out[key] = d
	}
	return out, nil
}

// secBudget returns the target's budget for key; a bad value fails the test.
func secBudget(t *testing.T, key string) (time.Duration, bool) {
	t.Helper()
	all, err := secParseBudgets(world.T.File, world.T.App.Budgets)
	if err != nil {
		t.Fatal(err)
	}
	if d, ok := all[key]; ok {
		return d, true
	}
	d, _ := secDefaultBudget(key, world.T.Lifetime)
	return d, true
}

// secDefaultBudget is the budget of key when the target sets none, and why: clock-skew leeway is
// "some small leeway, usually no more than a few minutes" (RFC 7519 §4.1.4, §4.1.5), so 5 minutes;
// a token after sign-out or the user's deletion may live no longer than an access token lives (the
// mode's token.lifetime, else 1 hour): a stateless JWT ends at its exp (OWASP ASVS 7.4.1/7.4.2).
func secDefaultBudget(key string, lifetime time.Duration) (time.Duration, string) {
	switch key {
	case secBudgetExpLeeway, secBudgetNbfLeeway:
		return 5 * time.Minute, "default: RFC 7519 §4.1.4/§4.1.5, a few minutes of leeway at most"
	}
	if lifetime <= 0 {
		return time.Hour, "default: an access token's common 1 h lifetime (the target sets no token.lifetime)"
	}
	return lifetime, "default: the mode's token.lifetime, as a stateless JWT ends at its exp"
}

// The report: every case and figure of the security suites, in the test log and as markdown.

type secRow struct {
	Order                                         int
	Case, Group, Construction, Expected, Observed string
	Result                                        string // pass, FAIL, n/a, report
}

type secFigure struct {
	Name, Value, Budget, Result, Note string
}

var secReport struct {
	sync.Mutex
	rows    []secRow
	figures []secFigure
	notes   []string
}

func secAddRow(r secRow) {
	secReport.Lock()
	defer secReport.Unlock()
	secReport.rows = append(secReport.rows, r)
}

func secAddFigure(f secFigure) {
	secReport.Lock()
	defer secReport.Unlock()
	secReport.figures = append(secReport.figures, f)
}

func secAddNote(format string, args ...any) {
	secReport.Lock()
	defer secReport.Unlock()
	secReport.notes = append(secReport.notes, fmt.Sprintf(format, args...))
}

func secCell(s string) string {
	return strings.ReplaceAll(strings.ReplaceAll(redact.String(s), "|", `\|`), "\n", " ")
}

// secRenderReport renders what the suites recorded so far as markdown.
func secRenderReport() string {
	secReport.Lock()
	rows := slices.Clone(secReport.rows)
	figures := slices.Clone(secReport.figures)
	notes := slices.Clone(secReport.notes)
	secReport.Unlock()
	slices.SortStableFunc(rows, func(a, b secRow) int { return a.Order - b.Order })

	var b strings.Builder
	fault := os.Getenv("AUTHFLOW_FAULT")
	if fault == "" {
		fault = "none"
	}
	fmt.Fprintf(&b, "# JWT attack matrix: target %s, token mode %s\n\n", world.T.Name, world.T.TokenMode)
	fmt.Fprintf(&b, "Generated %s; AUTHFLOW_FAULT=%s. Each token is sent on threads.list (JSON) and threads.create (stream).\n",
		time.Now().UTC().Format(time.RFC3339), fault)
	fmt.Fprintf(&b, "Reject = 401 before any stream byte, body only {\"error\": ...}, no echo of token or user data, < %s, never 5xx.\n\n", secMaxRejectTime)
	count := map[string]int{}
	for _, r := range rows {
		count[r.Result]++
	}
	fmt.Fprintf(&b, "Cases: %d (pass %d, FAIL %d, n/a %d, report-only %d)\n\n", len(rows), count["pass"], count["FAIL"], count["n/a"], count["report"])
	b.WriteString("| case | group | construction | expected | observed | result |\n|---|---|---|---|---|---|\n")
	for _, r := range rows {
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s | %s |\n", secCell(r.Case), secCell(r.Group), secCell(r.Construction), secCell(r.Expected), secCell(r.Observed), r.Result)
	}
	if len(figures) > 0 {
		b.WriteString("\n## Policy figures (measured)\n\n| figure | value | budget | result | note |\n|---|---|---|---|---|\n")
		for _, f := range figures {
			fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", secCell(f.Name), secCell(f.Value), secCell(f.Budget), f.Result, secCell(f.Note))
		}
	}
	if len(notes) > 0 {
		b.WriteString("\n## Notes\n\n")
		for _, n := range notes {
			fmt.Fprintf(&b, "- %s\n", secCell(n))
		}
	}
	return b.String()
}

// secWriteMu makes render+write one step, so the last writer always writes everything recorded.
var secWriteMu sync.Mutex

// secWriteReport writes the report to artifacts/security-report-<mode>.md.
func secWriteReport(t *testing.T) {
	secWriteMu.Lock()
	defer secWriteMu.Unlock()
	p := artifacts.Default().SecurityReport(world.T.TokenMode)
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		t.Logf("security report: %v", err)
		return
	}
	if err := os.WriteFile(p, []byte(secRenderReport()), 0o644); err != nil {
		t.Logf("security report: %v", err)
	}
}

// secBudgetCell formats key's budget for the report: the target's value, or the default and why.
func secBudgetCell(key string) string {
	all, _ := secParseBudgets(world.T.File, world.T.App.Budgets)
	if d, ok := all[key]; ok {
		return d.String() + " (app.budgets)"
	}
	d, why := secDefaultBudget(key, world.T.Lifetime)
	return d.String() + " (" + why + ")"
}
