package probe

import (
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/goccy/go-yaml"

	"github.com/authflow-e2e/authflow/targets"
)

// jwt builds an unsigned-looking compact JWT from a header and claims (the signature is junk: the
// probe never verifies).
func jwt(t *testing.T, header, claims map[string]any) string {
	t.Helper()
	enc := func(v any) string {
		b, err := json.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return base64.RawURLEncoding.EncodeToString(b)
	}
	return enc(header) + "." + enc(claims) + ".c2ln"
}

func TestReadToken_HeaderAndClaims(t *testing.T) {
	tok := jwt(t, map[string]any{"alg": "EdDSA", "kid": "k1"},
		map[string]any{"iss": "http://localhost:3000", "aud": []string{"http://localhost:3000", "api"}, "iat": 1000, "exp": 1900, "email": "x@y"})
	info, err := ReadToken(tok)
	if err != nil {
		t.Fatal(err)
	}
	if info.Alg != "EdDSA" || info.Kid != "k1" || info.Issuer != "http://localhost:3000" {
		t.Errorf("header/iss: %+v", info)
	}
	if len(info.Audience) != 2 || info.Audience[1] != "api" {
		t.Errorf("aud: %v", info.Audience)
	}
	if info.Lifetime() != 900*time.Second {
		t.Errorf("lifetime %v, want 15m", info.Lifetime())
	}
	one, _ := ReadToken(jwt(t, map[string]any{"alg": "HS256"}, map[string]any{"aud": "solo"}))
	if len(one.Audience) != 1 || one.Audience[0] != "solo" || one.Lifetime() != 0 {
		t.Errorf("string aud / no iat: %+v", one)
	}
	for _, bad := range []string{"", "a.b", "x.y.z", jwt(t, map[string]any{"typ": "JWT"}, map[string]any{})} {
		if _, err := ReadToken(bad); err == nil {
			t.Errorf("ReadToken(%q): no error", bad)
		}
	}
}

func TestModeOf(t *testing.T) {
	keys := []JWK{{Kid: "k1", Alg: "EdDSA"}}
	cases := []struct {
		info TokenInfo
		keys []JWK
		want string
	}{
		{TokenInfo{Alg: "HS256"}, nil, "hs256"},
		{TokenInfo{Alg: "HS256"}, keys, "hs256"},
		{TokenInfo{Alg: "HS512"}, nil, ""},
		{TokenInfo{Alg: "EdDSA", Kid: "k1"}, keys, "jwks"},
		{TokenInfo{Alg: "EdDSA", Kid: "other"}, keys, ""},
		{TokenInfo{Alg: "RS256", Kid: "k1"}, nil, ""},
		{TokenInfo{Alg: "RS256"}, []JWK{{Kid: "r", Alg: "RS256"}}, "jwks"},
		{TokenInfo{Alg: "none"}, keys, ""},
	}
	for _, c := range cases {
		if got, why := ModeOf(c.info, c.keys); got != c.want || why == "" {
			t.Errorf("ModeOf(%+v, %v) = %q (%s), want %q", c.info, c.keys, got, why, c.want)
		}
	}
}

func TestRoundLifetime(t *testing.T) {
	for d, want := range map[time.Duration]string{
		1800 * time.Second: "30m", 899 * time.Second: "15m", 3600 * time.Second: "1h",
		90 * time.Second: "90s", 5400 * time.Second: "90m", 0: "",
	} {
		if got := RoundLifetime(d); got != want {
			t.Errorf("RoundLifetime(%v) = %q, want %q", d, got, want)
		}
	}
}

// signupSnap is a five-field sign-up form like reference-production.yaml's, plus a link.
var signupSnap = Snapshot{
	{Index: 0, Tag: "form", Role: "form", Form: 0, Parent: -1, Visible: true},
	{Index: 1, Tag: "input", Type: "text", Role: "textbox", Name: "First Name", Label: "First Name", ID: "firstName", Attrs: map[string]string{"name": "firstName", "autocomplete": "given-name"}, Visible: true, Form: 0, Parent: 0},
	{Index: 2, Tag: "input", Type: "text", Role: "textbox", Name: "Last Name", Label: "Last Name", ID: "lastName", Attrs: map[string]string{"name": "lastName"}, Visible: true, Form: 0, Parent: 0},
	{Index: 3, Tag: "input", Type: "email", Role: "textbox", Name: "Email Address", Label: "Email Address", ID: "email", Attrs: map[string]string{}, Visible: true, Form: 0, Parent: 0},
	{Index: 4, Tag: "input", Type: "password", Name: "Password", Label: "Password", ID: "password", Attrs: map[string]string{}, Visible: true, Form: 0, Parent: 0},
	{Index: 5, Tag: "input", Type: "password", Name: "Confirm Password", Label: "Confirm Password", ID: "confirmPassword", Attrs: map[string]string{}, Visible: true, Form: 0, Parent: 0},
	{Index: 6, Tag: "input", Type: "checkbox", Role: "checkbox", Name: "I agree to the Terms of Service", Label: "I agree to the Terms of Service", Attrs: map[string]string{}, Visible: true, Form: 0, Parent: 0},
	{Index: 7, Tag: "input", Type: "hidden", Attrs: map[string]string{"name": "csrf"}, Visible: false, Form: 0, Parent: 0},
	{Index: 8, Tag: "button", Type: "submit", Role: "button", Name: "Create Account", Attrs: map[string]string{}, Visible: true, Form: 0, Parent: 0},
	{Index: 9, Tag: "a", Role: "link", Name: "Sign In", Attrs: map[string]string{"href": "/login?next=/chat"}, Visible: true, Form: -1, Parent: -1},
	{Index: 10, Tag: "a", Role: "link", Name: "Sign in with Google", Attrs: map[string]string{"href": "https://accounts.example.com/"}, Visible: true, Form: -1, Parent: -1},
}

var loginSnap = Snapshot{
	{Index: 0, Tag: "input", Type: "email", Role: "textbox", Name: "Email", Label: "Email", Attrs: map[string]string{}, Visible: true, Form: 0, Parent: -1},
	{Index: 1, Tag: "input", Type: "password", Name: "Password", Label: "Password", Attrs: map[string]string{}, Visible: true, Form: 0, Parent: -1},
	{Index: 2, Tag: "button", Type: "submit", Role: "button", Name: "Log in", Attrs: map[string]string{}, Visible: true, Form: 0, Parent: -1},
	{Index: 3, Tag: "a", Role: "link", Name: "Create an account", Attrs: map[string]string{"href": "http://localhost:3000/register"}, Visible: true, Form: -1, Parent: -1},
}

func TestAuthForm_TellsSignUpFromLogin(t *testing.T) {
	f, ok := AuthForm(signupSnap, "signup")
	if !ok {
		t.Fatal("the five-field form is not a sign-up form")
	}
	var kinds []string
	for _, x := range f.Fields {
		kinds = append(kinds, x.Kind)
	}
	want := "first_name last_name email password confirm_password checkbox"
	if got := strings.Join(kinds, " "); got != want {
		t.Errorf("field kinds %q, want %q", got, want)
	}
	if f.Plain() {
		t.Error("a form with first/last name, confirm and terms is not plain")
	}
	if f.Submit == nil || f.Submit.Name != "Create Account" {
		t.Errorf("submit %+v", f.Submit)
	}
	if _, ok := AuthForm(signupSnap, "login"); ok {
		t.Error("the sign-up form was taken for a login form")
	}
	lf, ok := AuthForm(loginSnap, "login")
	if !ok || !lf.Plain() == false && lf.Has(FieldName) {
		t.Fatalf("login form not found: %+v", lf)
	}
	if _, ok := AuthForm(loginSnap, "signup"); ok {
		t.Error("the login form was taken for a sign-up form")
	}
}

func TestSelectorCandidates(t *testing.T) {
	pw := signupSnap[4]
	got := FieldCandidates(pw)
	if got[0] != "label=Password" || got[1] != `label="Password"` {
		t.Errorf("password candidates %v: want label=Password, then the exact label=\"Password\"", got)
	}
	if c := ButtonCandidates(signupSnap[8]); c[0] != "role=button[name='Create Account']" {
		t.Errorf("button candidates %v", c)
	}
	if c := ButtonCandidates(Element{Role: "button", Name: "Don't go"}); c[0] != `role=button[name="Don't go"]` {
		t.Errorf("a name with a quote: %v", c)
	}
	if c := ContainerCandidates(Element{Role: "list", Name: "Threads", Attrs: map[string]string{"aria-label": "Threads"}}); c[0] != "[aria-label=Threads]" {
		t.Errorf("threads: %v", c)
	}
	if c := ContainerCandidates(Element{Role: "list", Attrs: map[string]string{"aria-label": "Past chats"}}); c[0] != "[aria-label='Past chats']" {
		t.Errorf("quoted aria-label: %v", c)
	}
}

func TestLinks_SameOriginOnly(t *testing.T) {
	got := Links(append(signupSnap, loginSnap...), "http://localhost:3000", reLogin)
	if len(got) != 1 || got[0].Path != "/login" {
		t.Errorf("login links %+v, want only /login (query dropped, the external link left out)", got)
	}
	su := Links(loginSnap, "http://localhost:3000", reSignUp)
	if len(su) != 1 || su[0].Path != "/register" {
		t.Errorf("sign-up links %+v", su)
	}
}

func chatSnap(marker string) Snapshot {
	return Snapshot{
		{Index: 0, Tag: "div", Attrs: map[string]string{"data-chat-ready": "true"}, Visible: true, Form: -1, Parent: -1},
		{Index: 1, Tag: "ul", Role: "list", Name: "Conversations", Attrs: map[string]string{"aria-label": "Conversations"}, Visible: true, Form: -1, Parent: 0},
		{Index: 2, Tag: "div", Role: "log", Name: "Messages", Attrs: map[string]string{"title": "Messages"}, Visible: true, Form: -1, Parent: 0, Text: marker + " Hi there"},
		{Index: 3, Tag: "div", Attrs: map[string]string{"data-message-author-role": "user", "class": "msg"}, Visible: true, Form: -1, Parent: 2, Text: marker},
		{Index: 4, Tag: "p", Attrs: map[string]string{}, Visible: true, Form: -1, Parent: 3, Text: marker},
		{Index: 5, Tag: "div", Attrs: map[string]string{"data-message-author-role": "assistant"}, Visible: true, Form: -1, Parent: 2, Text: "Hi there"},
		{Index: 6, Tag: "textarea", Role: "textbox", Name: "Ask anything", Attrs: map[string]string{"placeholder": "Ask anything"}, Visible: true, Form: 1, Parent: 0},
		{Index: 7, Tag: "button", Role: "button", Name: "New chat", Attrs: map[string]string{}, Visible: true, Form: -1, Parent: 0},
		{Index: 8, Tag: "button", Type: "submit", Role: "button", Name: "Send message", Attrs: map[string]string{}, Visible: true, Form: 1, Parent: 0},
		{Index: 9, Tag: "button", Role: "button", Name: "Log out", Attrs: map[string]string{}, Visible: true, Form: -1, Parent: -1},
	}
}

func TestFindChatParts_FromRolesNamesAndDataAttributes(t *testing.T) {
	p := FindChatParts(chatSnap("m"))
	check := func(what string, e *Element, want int) {
		t.Helper()
		if e == nil || e.Index != want {
			t.Errorf("%s: got %+v, want element %d", what, e, want)
		}
	}
	check("composer", p.Composer, 6)
	check("send", p.Send, 8)
	check("messages", p.Messages, 2)
	check("threads", p.Threads, 1)
	check("sign out", p.SignOut, 9)
	if p.Ready != "[data-chat-ready=true]" {
		t.Errorf("ready %q", p.Ready)
	}
}

func TestMessageSelectors(t *testing.T) {
	user, assistant, how := MessageSelectors(chatSnap("probe-123"), "probe-123")
	if user != "div[data-message-author-role=user]" || assistant != "div[data-message-author-role=assistant]" || how == "" {
		t.Errorf("got %q, %q (%s)", user, assistant, how)
	}
	if u, _, _ := MessageSelectors(chatSnap("a"), "not-sent"); u != "" {
		t.Errorf("a marker that is not on the page gave %q", u)
	}
}

func TestPickChatKit(t *testing.T) {
	reqs := []Observed{
		{Method: "GET", URL: "http://localhost:3000/api/auth/token"},
		{Method: "POST", URL: "http://localhost:3000/api/auth/sign-in/email"},
		{Method: "POST", URL: "http://localhost:3000/api/log", Type: ""},
		{Method: "POST", URL: "http://localhost:8000/chatkit", Type: "threads.list", Bearer: true},
		{Method: "POST", URL: "http://localhost:8000/chatkit", Type: "threads.create", Bearer: true},
		{Method: "POST", URL: "http://localhost:3000/api/other", Type: "items.list"},
	}
	u, how := PickChatKit(reqs)
	if u != "http://localhost:8000/chatkit" || !strings.Contains(how, "threads.create, threads.list") || !strings.Contains(how, "bearer") {
		t.Errorf("got %q (%s)", u, how)
	}
	if u, _ := PickChatKit(reqs[:3]); u != "" {
		t.Errorf("no ChatKit request, got %q", u)
	}
	if BodyType(`{"type":"threads.list","params":{}}`) != "threads.list" || BodyType(`{"type":"login"}`) != "" || BodyType("a=b") != "" {
		t.Error("BodyType")
	}
}

// sample is a Result like the reference app's production profile in jwks mode.
func sample() *Result {
	r := newResult("http://localhost:3000")
	r.Services = []Service{
		{Name: "web", URL: "http://localhost:3000", How: "the -url given", Ready: found("/api/auth/ok", "ok")},
		{Name: "backend", URL: "http://localhost:8000", How: "chatkit origin", Ready: todo("no health route")},
	}
	r.AuthBasePath = found("/api/auth", "GET /api/auth/ok")
	r.TokenPath = found("/api/auth/token", "token route")
	r.JWKSPath = found("/api/auth/jwks", "jwks")
	r.Mode = found("jwks", "EdDSA with a kid of the JWKS")
	r.Alg = found("RS256", "the header")
	r.Lifetime = found("15m", "exp - iat")
	r.Issuer = found("http://localhost:3000", "iss")
	r.Audience = found("http://localhost:3000", "aud")
	r.BetterAuth = found("1.4", "INVALID_EMAIL")
	r.ChatKitURL = found("http://localhost:8000/chatkit", "threads.list")
	r.NotFound = found("404", "items.list answered 404")
	r.Pages = map[string]Finding{"signup": found("/signup", "link"), "login": found("/login", "link"), "chat": found("/chat", "composer")}
	for _, k := range selectorKeys {
		r.Selectors[k] = found("role=button[name='"+k+"']", "seen")
	}
	r.Selectors["error"] = found("#form-error", "a wrong password")
	r.Selectors["login_password"] = found(`label="Password"`, "exact")
	r.Selectors["sign_out"] = todo("no sign-out control")
	r.SignUpSteps = []Step{
		{Action: "fill", Sel: "label=First Name", Value: "first_name", How: "first"},
		{Action: "fill", Sel: `label="Password"`, Value: "password", How: "pw"},
		{Action: "check", Sel: "label=I agree to the Terms of Service", How: "terms"},
		{Todo: "a field the probe does not know"},
	}
	r.SignUpLandsOn = found("login", "went to /login")
	r.Notes = []string{"a note"}
	return r
}

// TestRender_LoadsOnceTheTODOsAreFilled renders a Result, checks the comments and the templates,
// fills the TODOs a user fills (the database, the tasks probe) and loads the file with targets.Parse.
func TestRender_LoadsOnceTheTODOsAreFilled(t *testing.T) {
	out := string(Render(sample(), RenderOptions{Command: "authflow init -url http://localhost:3000", Took: "9s"}))
	for _, want := range []string{
		`chatkit_url: "{{ .Services.backend.PublicURL }}/chatkit"   # threads.list`,
		`web_url: "{{ .Services.web.PublicURL }}"`,
		`issuer: "{{ .Services.web.PublicURL }}"   # iss`,
		`not_found: "404"`, `better_auth: "1.4"`,
		`login_password: 'label="Password"'   # exact`,
		`- {fill: "label=First Name", value: first_name}   # first`,
		`- {check: "label=I agree to the Terms of Service"}   # terms`,
		"lands_on: login   # went to /login",
		"# TODO: sign_out: no sign-out control",
		"# TODO: a field the probe does not know",
		"# TODO: dsn:", "# TODO: secret:", "# TODO: budgets:",
		"alg: RS256",
		"#   - a note",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("the file lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "signup_name:") {
		t.Error("signup_name is written although the form's steps replace it")
	}
	for _, l := range strings.Split(out, "\n") {
		if s := strings.TrimSpace(l); s != "" && !strings.HasPrefix(s, "#") && !strings.Contains(l, "#") && !strings.HasSuffix(s, ":") {
			// every value line says how it was found
			t.Errorf("a value without a comment: %s", l)
		}
	}
	var doc map[string]any
	if err := yaml.Unmarshal([]byte(out), &doc); err != nil {
		t.Fatalf("not YAML: %v\n%s", err, out)
	}
	if _, err := targets.Parse("init.yaml", t.TempDir(), []byte(out), ""); err == nil {
		t.Error("loads without postgres.dsn and the tasks probe; the TODOs are not needed?")
	}
	filled := strings.Replace(out, `# TODO: dsn: '{{ env "MYAPP_DATABASE_URL" }}'`, "dsn: postgres://app:app@localhost:5432/app #", 1)
	filled = strings.Replace(filled, "# TODO: probes:", "probes:", 1)
	filled = strings.Replace(filled, "# TODO: secret:", "secret:", 1)
	t.Setenv("MYAPP_BETTER_AUTH_SECRET", strings.Repeat("s", 40))
	tg, err := targets.Parse("init.yaml", t.TempDir(), []byte(filled), "")
	if err != nil {
		t.Fatalf("the filled file does not load: %v\n%s", err, filled)
	}
	if tg.Token.Mode != "jwks" || tg.Token.Alg != "RS256" || tg.App.NotFound != "404" || len(tg.App.Forms.SignUp.Steps) != 3 || tg.App.Forms.SignUp.LandsOn != "login" {
		t.Errorf("loaded %+v", tg)
	}
	if q := tg.App.Probes["tasks_for_user"]; !strings.HasPrefix(q, "SELECT title, completed FROM tasks") || len(tg.App.Probes) != 1 {
		t.Errorf("the uncommented probes TODO reads as %v", tg.App.Probes)
	}
	if tg.Services["web"].Ready.Path != "/api/auth/ok" || tg.Services["backend"].URL != "http://localhost:8000" {
		t.Errorf("services %+v %+v", tg.Services["web"], tg.Services["backend"])
	}
}

func TestScalar(t *testing.T) {
	for in, want := range map[string]string{
		"/api/auth": "/api/auth", "404": `"404"`, "1.7": `"1.7"`, "true": `"true"`, "30m": "30m",
		"label=Email": `"label=Email"`, "[data-x=true]": `"[data-x=true]"`, "http://localhost:3000": "http://localhost:3000",
		`a"b'c`: `"a\"b'c"`, "{{ .X }}": `"{{ .X }}"`, "a: b": `"a: b"`, "#x": `"#x"`,
	} {
		if got := scalar(in); got != want {
			t.Errorf("scalar(%q) = %s, want %s", in, got, want)
		}
		var back map[string]any
		if err := yaml.Unmarshal([]byte("v: "+scalar(in)), &back); err != nil || back["v"] != in {
			t.Errorf("scalar(%q) reads back as %#v (%v)", in, back["v"], err)
		}
	}
}
