package browser

import (
	"encoding/json"
	"fmt"
	"net/url"
	"sort"
	"strings"

	playwright "github.com/mxschmitt/playwright-go"
)

// Page keys of a target's app.pages.
const (
	PageSignUp = "signup"
	PageLogin  = "login"
	PageChat   = "chat"
)

// Selector keys of a target's app.selectors.
const (
	SelSignUpName       = "signup_name"
	SelSignUpEmail      = "signup_email"
	SelSignUpPassword   = "signup_password"
	SelSignUpSubmit     = "signup_submit"
	SelLoginEmail       = "login_email"
	SelLoginPassword    = "login_password"
	SelLoginSubmit      = "login_submit"
	SelError            = "error"
	SelChatReady        = "chat_ready"
	SelComposer         = "composer"
	SelSend             = "send"
	SelMessages         = "messages"
	SelUserMessage      = "user_message"
	SelAssistantMessage = "assistant_message"
	SelThreads          = "threads"
	SelSignOut          = "sign_out"
)

// RequiredPages and RequiredSelectors are the keys the page objects use; a target must give them all.
var (
	RequiredPages     = []string{PageSignUp, PageLogin, PageChat}
	RequiredSelectors = []string{
		SelSignUpName, SelSignUpEmail, SelSignUpPassword, SelSignUpSubmit,
		SelLoginEmail, SelLoginPassword, SelLoginSubmit, SelError,
		SelChatReady, SelComposer, SelSend, SelMessages, SelUserMessage, SelAssistantMessage, SelThreads, SelSignOut,
	}
)

// framePrefix starts a selector that looks inside an iframe: "frame=<css> >> <selector>" (may repeat).
const framePrefix = "frame="

// AppConfig is the part of a target file the browser layer needs (its app: section, rendered).
type AppConfig struct {
	// Source names where the values come from (the target file), for error messages.
	Source string
	// WebURL is the app's public URL as the browser uses it, e.g. http://localhost:41234.
	WebURL string
	// AuthBasePath is Better Auth's base path (/api/auth); requests under it are recorded as auth.
	AuthBasePath string
	// TokenPath is the JWT route (/api/auth/token), recorded as token.
	TokenPath string
	// ChatKitURL is the ChatKit endpoint, recorded as chatkit.
	ChatKitURL string
	// Pages maps page keys (signup, login, chat) to paths on WebURL.
	Pages map[string]string
	// Selectors maps selector keys to Playwright selectors; "frame=<css> >> <selector>" looks inside
	// an iframe.
	Selectors map[string]string
	// SignUpForm and LoginForm describe forms that are more than name, email and password, and where
	// they land (zero: the plain form with the signup_*/login_* selectors, landing on the chat page).
	SignUpForm, LoginForm Form
}

// App is a validated AppConfig.
type App struct {
	cfg        AppConfig
	web        *url.URL
	authPrefix string // absolute URL of the auth base path, ending in /
	tokenURL   string
	chatkitURL string
	chatOrigin string
}

// NewApp validates cfg: every required page and selector is present and well formed, and the URLs
// are absolute. Errors name the source file and the field.
func NewApp(cfg AppConfig) (*App, error) {
	src := cfg.Source
	if src == "" {
		src = "target"
	}
	var problems []string
	bad := func(format string, args ...any) { problems = append(problems, fmt.Sprintf(format, args...)) }
	web, err := url.Parse(strings.TrimRight(cfg.WebURL, "/"))
	if err != nil || web.Host == "" || (web.Scheme != "http" && web.Scheme != "https") {
		bad("app.web_url %q: want http(s)://host:port", cfg.WebURL)
		web = &url.URL{}
	}
	ck, err := url.Parse(cfg.ChatKitURL)
	if err != nil || ck.Host == "" || (ck.Scheme != "http" && ck.Scheme != "https") {
		bad("app.chatkit_url %q: want an absolute http(s) URL", cfg.ChatKitURL)
		ck = &url.URL{}
	}
	if !strings.HasPrefix(cfg.AuthBasePath, "/") {
		bad("app.auth_base_path %q: want a path starting with /", cfg.AuthBasePath)
	}
	if !strings.HasPrefix(cfg.TokenPath, "/") {
		bad("app.token_path %q: want a path starting with /", cfg.TokenPath)
	}
	for _, k := range RequiredPages {
		p, ok := cfg.Pages[k]
		switch {
		case !ok || p == "":
			bad("app.pages.%s: missing (the browser suite needs pages %s)", k, strings.Join(RequiredPages, ", "))
		case !strings.HasPrefix(p, "/"):
			bad("app.pages.%s %q: want a path starting with /", k, p)
		}
	}
	for _, k := range RequiredSelectors {
		if formFills(k, cfg) {
			continue // the form's own steps fill this field
		}
		s, ok := cfg.Selectors[k]
		if !ok || strings.TrimSpace(s) == "" {
			bad("app.selectors.%s: missing", k)
			continue
		}
		if _, _, err := splitFrames(s); err != nil {
			bad("app.selectors.%s %q: %v", k, s, err)
		}
	}
	problems = append(problems, cfg.SignUpForm.check("app.forms.signup", cfg.Pages)...)
	problems = append(problems, cfg.LoginForm.check("app.forms.login", cfg.Pages)...)
	if len(problems) > 0 {
		sort.Strings(problems)
		return nil, fmt.Errorf("%s: %s", src, strings.Join(problems, "; "))
	}
	a := &App{cfg: cfg, web: web, chatkitURL: ck.String(), chatOrigin: ck.Scheme + "://" + ck.Host}
	a.authPrefix = a.URL(strings.TrimRight(cfg.AuthBasePath, "/") + "/")
	a.tokenURL = a.URL(cfg.TokenPath)
	return a, nil
}

// formFills reports whether selector key k is one a described form's steps replace.
func formFills(k string, cfg AppConfig) bool {
	switch k {
	case SelSignUpName, SelSignUpEmail, SelSignUpPassword:
		return len(cfg.SignUpForm.Steps) > 0
	case SelLoginEmail, SelLoginPassword:
		return len(cfg.LoginForm.Steps) > 0
	}
	return false
}

// Config returns the configuration the App was made from.
func (a *App) Config() AppConfig { return a.cfg }

// URL returns the absolute URL of a path on the web app.
func (a *App) URL(path string) string { return a.web.Scheme + "://" + a.web.Host + path }

// PageURL returns the absolute URL of a page key (signup, login, chat).
func (a *App) PageURL(page string) string { return a.URL(a.cfg.Pages[page]) }

// PagePath returns the path of a page key.
func (a *App) PagePath(page string) string { return a.cfg.Pages[page] }

// WebOrigin is scheme://host:port of the web app.
func (a *App) WebOrigin() string { return a.web.Scheme + "://" + a.web.Host }

// ChatKitURL is the ChatKit endpoint.
func (a *App) ChatKitURL() string { return a.chatkitURL }

// TokenURL is the absolute URL of the token route.
func (a *App) TokenURL() string { return a.tokenURL }

// Selector returns the raw selector of a key.
func (a *App) Selector(key string) string { return a.cfg.Selectors[key] }

// IsPage reports whether rawURL is the given page of the app (same origin and path; query ignored).
func (a *App) IsPage(rawURL, page string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	return u.Scheme == a.web.Scheme && u.Host == a.web.Host && u.Path == a.cfg.Pages[page]
}

// splitFrames splits "frame=a >> frame=b >> sel" into ["a","b"] and "sel".
func splitFrames(sel string) (frames []string, inner string, err error) {
	s := strings.TrimSpace(sel)
	for strings.HasPrefix(s, framePrefix) {
		css, rest, ok := strings.Cut(s[len(framePrefix):], ">>")
		css, rest = strings.TrimSpace(css), strings.TrimSpace(rest)
		if !ok || css == "" || rest == "" {
			return nil, "", fmt.Errorf(`want "frame=<css> >> <selector>"`)
		}
		frames = append(frames, css)
		s = rest
	}
	return frames, s, nil
}

// labelPrefix is a selector part "label=<text>" that finds a form control by its label, like
// Playwright's getByLabel: case-insensitive substring, or exact with a quoted text (label="Email").
// Playwright has no public "label" engine, so it is rewritten to its internal:label engine.
const labelPrefix = "label="

// playwrightSelector rewrites the label= parts of a selector chain into Playwright's syntax.
func playwrightSelector(sel string) string {
	parts := strings.Split(sel, ">>")
	for i, p := range parts {
		t := strings.TrimSpace(p)
		if !strings.HasPrefix(t, labelPrefix) {
			continue
		}
		text := strings.TrimSpace(t[len(labelPrefix):])
		mode := "i"
		if len(text) >= 2 && (text[0] == '"' || text[0] == '\'') && text[len(text)-1] == text[0] {
			text, mode = text[1:len(text)-1], "s"
		}
		q, _ := json.Marshal(text)
		parts[i] = " internal:label=" + string(q) + mode + " "
	}
	return strings.TrimSpace(strings.Join(parts, ">>"))
}

// locate resolves a selector from the page root, entering iframes for "frame=" prefixes.
func locate(page playwright.Page, sel string) playwright.Locator {
	frames, inner, err := splitFrames(sel)
	if err != nil || len(frames) == 0 {
		return page.Locator(playwrightSelector(strings.TrimSpace(sel)))
	}
	fl := page.FrameLocator(frames[0])
	for _, f := range frames[1:] {
		fl = fl.FrameLocator(f)
	}
	return fl.Locator(playwrightSelector(inner))
}

// CheckSelectors asks the browser to parse every selector of the target on page (about:blank is
// enough), so a selector the browser cannot parse fails with the key that holds it instead of as a
// timeout in some test.
func (a *App) CheckSelectors(page playwright.Page) error {
	var problems []string
	keys := make([]string, 0, len(a.cfg.Selectors))
	for k := range a.cfg.Selectors {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if _, err := locate(page, a.cfg.Selectors[k]).Count(); err != nil {
			msg, _, _ := strings.Cut(err.Error(), "\n")
			problems = append(problems, fmt.Sprintf("app.selectors.%s %q: %s", k, a.cfg.Selectors[k], msg))
		}
	}
	for _, f := range []struct {
		field string
		form  Form
	}{{"app.forms.signup", a.cfg.SignUpForm}, {"app.forms.login", a.cfg.LoginForm}} {
		for i, st := range f.form.Steps {
			sel := st.Fill + st.Check + st.Select
			if _, err := locate(page, sel).Count(); err != nil {
				msg, _, _ := strings.Cut(err.Error(), "\n")
				problems = append(problems, fmt.Sprintf("%s.steps[%d] %q: %s", f.field, i, sel, msg))
			}
		}
	}
	if len(problems) > 0 {
		return fmt.Errorf("%s: %s", a.cfg.Source, strings.Join(problems, "; "))
	}
	return nil
}
