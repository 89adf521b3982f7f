package browser

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
)

func refConfig() AppConfig {
	sel := map[string]string{}
	for _, k := range RequiredSelectors {
		sel[k] = "[data-k=" + k + "]"
	}
	sel[SelMessages] = "frame=iframe#chat >> role=log[name='Messages']"
	return AppConfig{
		Source: "targets/x.yaml", WebURL: "http://localhost:4100", AuthBasePath: "/api/auth",
		TokenPath: "/api/auth/token", ChatKitURL: "http://localhost:4200/chatkit",
		Pages: map[string]string{"signup": "/signup", "login": "/login", "chat": "/chat"}, Selectors: sel,
	}
}

func TestNewApp_NamesEveryMissingOrBadField(t *testing.T) {
	cfg := refConfig()
	delete(cfg.Selectors, SelChatReady)
	cfg.Selectors[SelSend] = "frame=#x"
	delete(cfg.Pages, "login")
	cfg.ChatKitURL = "/chatkit"
	_, err := NewApp(cfg)
	require.Error(t, err)
	msg := err.Error()
	for _, want := range []string{"targets/x.yaml", "app.selectors.chat_ready: missing", `app.selectors.send "frame=#x"`,
		"app.pages.login: missing", "app.chatkit_url"} {
		assert.Contains(t, msg, want)
	}
	_, err = NewApp(refConfig())
	require.NoError(t, err)
}

func TestSplitFrames(t *testing.T) {
	for _, c := range []struct {
		in     string
		frames []string
		inner  string
		bad    bool
	}{
		{in: "label=Email", inner: "label=Email"},
		{in: "frame=iframe#ck >> role=log", frames: []string{"iframe#ck"}, inner: "role=log"},
		{in: "frame=#a >> frame=#b >> css=div >> text=x", frames: []string{"#a", "#b"}, inner: "css=div >> text=x"},
		{in: "frame=#a", bad: true},
		{in: "frame= >> x", bad: true},
	} {
		f, in, err := splitFrames(c.in)
		if c.bad {
			assert.Error(t, err, c.in)
			continue
		}
		require.NoError(t, err, c.in)
		assert.Equal(t, c.frames, f, c.in)
		assert.Equal(t, c.inner, in, c.in)
	}
}

func TestRecorderKinds(t *testing.T) {
	app, err := NewApp(refConfig())
	require.NoError(t, err)
	r := newRecorder(app, time.Now())
	for url, want := range map[string]string{
		"http://localhost:4100/api/auth/token":          KindToken,
		"http://localhost:4100/api/auth/token?x=1":      KindToken,
		"http://localhost:4100/api/auth/sign-in/email":  KindAuth,
		"http://localhost:4100/api/authx":               KindApp,
		"http://localhost:4100/chat?thread=t1":          KindApp,
		"http://localhost:4200/chatkit":                 KindChatKit,
		"http://localhost:4200/chatkit/upload":          KindChatKit,
		"http://localhost:4300/chatkit":                 "",
		"https://cdn.example/x.js":                      "",
		"http://localhost:41000/api/auth/sign-in/email": "",
	} {
		assert.Equal(t, want, r.kind(url), url)
	}
}

func TestPlaywrightCookies(t *testing.T) {
	app, err := NewApp(refConfig())
	require.NoError(t, err)
	exp := time.Unix(1_900_000_000, 0)
	got := playwrightCookies(app, []betterauth.Cookie{
		{Name: "better-auth.session_token", Value: secret.New("abc.def"), Domain: "localhost", HostOnly: true,
			Path: "/", HTTPOnly: true, SameSite: "Lax", Expires: exp},
		{Name: "s", Value: secret.New("v"), Domain: "example.test", Path: "/x"},
	})
	require.Len(t, got, 2)
	assert.Equal(t, "abc.def", got[0].Value)
	assert.Equal(t, "http://localhost/", *got[0].URL)
	assert.Nil(t, got[0].Domain)
	assert.Equal(t, float64(1_900_000_000), *got[0].Expires)
	assert.True(t, *got[0].HttpOnly)
	assert.Equal(t, "Lax", string(*got[0].SameSite))
	assert.Equal(t, ".example.test", *got[1].Domain)
	assert.Equal(t, "/x", *got[1].Path)
	assert.Equal(t, float64(-1), *got[1].Expires, "a session cookie is -1")
	assert.Nil(t, got[1].SameSite)
}

func TestScrubJSONLinesKeepsJSONValid(t *testing.T) {
	s := &Session{secrets: map[string]bool{"Aa1!supersecretpassword": true}}
	in := strings.Join([]string{
		`{"type":"resource-snapshot","snapshot":{"request":{"headers":[{"name":"Authorization","value":"Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0.c2ln"},{"name":"Cookie","value":"better-auth.session_token=abc.def"},{"name":"Accept","value":"*/*"}],"cookies":[{"name":"better-auth.session_token","value":"abc.def"}],"queryString":[{"name":"thread","value":"thr_1"}],"postData":{"text":"{\"email\":\"a@b.test\",\"password\":\"Aa1!supersecretpassword\"}"}}}}`,
		`{"type":"frame-snapshot","snapshot":{"html":["INPUT",{"type":"password","__playwright_value_":"typed-by-hand"}]}}`,
		`{"type":"before","params":{"selector":"label=Password","value":"Aa1!supersecretpassword"}}`,
		`not json token=abc`,
	}, "\n")
	out := string(scrubJSONLines([]byte(in), s.scrub))
	for _, leak := range []string{"eyJhbGciOiJIUzI1NiJ9", "abc.def", "Aa1!supersecretpassword", "typed-by-hand", "thr_1", "token=abc"} {
		assert.NotContains(t, out, leak)
	}
	assert.Contains(t, out, `"value":"*/*"`)
	assert.Contains(t, out, `"value":"Bearer [REDACTED`)
	for i, line := range strings.Split(out, "\n")[:3] {
		assert.True(t, json.Valid([]byte(line)), "line %d stays JSON: %s", i, line)
	}
}

func TestPlaywrightSelectorRewritesLabel(t *testing.T) {
	for in, want := range map[string]string{
		"label=Email":                 `internal:label="Email"i`,
		`label="Email"`:               `internal:label="Email"s`,
		"role=button[name='Sign up']": "role=button[name='Sign up']",
		"css=form >> label=Password":  `css=form >> internal:label="Password"i`,
		"[data-chat-ready=true]":      "[data-chat-ready=true]",
		`label=Say "hi"`:              `internal:label="Say \"hi\""i`,
	} {
		assert.Equal(t, want, playwrightSelector(in), in)
	}
}

func TestRequestStringSurvivesRedaction(t *testing.T) {
	r := Request{Seq: 3, Kind: KindChatKit, Method: "POST", URL: "http://localhost:1/chatkit", Status: 200, Bearer: true, Took: 35 * time.Millisecond}
	s := (&Session{secrets: map[string]bool{}}).scrub(r.String())
	assert.Equal(t, r.String(), s)
	assert.Contains(t, s, "[bearer] 35ms")
}

func TestNewApp_FormStepsReplaceTheFieldSelectorsAndAreChecked(t *testing.T) {
	cfg := refConfig()
	delete(cfg.Selectors, SelSignUpName)
	_, err := NewApp(cfg)
	require.Error(t, err, "without form steps the name selector is required")
	assert.Contains(t, err.Error(), "app.selectors.signup_name: missing")

	cfg.SignUpForm = Form{Steps: []FormStep{
		{Fill: "label=First Name", Value: "first_name"},
		{Fill: "label=Email Address", Value: "email"},
		{Check: "label=I agree"},
	}, LandsOn: PageLogin}
	app, err := NewApp(cfg)
	require.NoError(t, err)
	assert.Equal(t, PageLogin, app.Config().SignUpForm.Landing())
	assert.Equal(t, PageChat, app.Config().LoginForm.Landing(), "a form without lands_on lands on the chat page")

	cfg.SignUpForm = Form{Steps: []FormStep{
		{Fill: "label=A", Check: "label=B", Value: "email"},
		{Fill: "label=C", Value: "nickname"},
	}, LandsOn: "dashboard"}
	_, err = NewApp(cfg)
	require.Error(t, err)
	for _, want := range []string{
		"app.forms.signup.steps[0]: give exactly one of fill, check, select",
		`app.forms.signup.steps[1]: value "nickname": want one of name, first_name, last_name, email, password, or text:<literal>`,
		`app.forms.signup.lands_on "dashboard": not a page of app.pages`,
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestFormValue_DerivesFirstAndLastNameAndLiterals(t *testing.T) {
	pw := secret.New("pw-value")
	assert.Equal(t, "Browser", formValue("first_name", "Browser Signup", "e@x", pw))
	assert.Equal(t, "Signup", formValue("last_name", "Browser Signup", "e@x", pw))
	assert.Equal(t, "Tester", formValue("last_name", "Mononym", "e@x", pw), "a one-word name still gets a last name")
	assert.Equal(t, "pw-value", formValue("password", "n", "e@x", pw))
	assert.Equal(t, "Acme Inc", formValue("text:Acme Inc", "n", "e@x", pw))
}
