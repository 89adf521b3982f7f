package probe

import (
	"fmt"
)

// Finding is one value of the target file: Value and How (the comment that says how it was found),
// or, when nothing was found, Todo (what the user has to find out). A Finding with neither is not
// written.
type Finding struct {
	Value string
	How   string
	Todo  string
}

// Found reports whether a value was found.
func (f Finding) Found() bool { return f.Value != "" }

func found(value, how string, args ...any) Finding {
	return Finding{Value: value, How: fmt.Sprintf(how, args...)}
}

func todo(format string, args ...any) Finding { return Finding{Todo: fmt.Sprintf(format, args...)} }

// Step is one step of a sign-up form that is more than name, email and password (app.forms.signup).
type Step struct {
	Action string // fill, check or select
	Sel    string // the selector
	Value  string // a persona value (name, first_name, last_name, email, password) or text:...
	How    string
	Todo   string // set: the step could not be worked out; it is written as a comment
}

// Service is one url: service of the target.
type Service struct {
	Name  string
	URL   string // the origin
	How   string
	Ready Finding // a readiness path
}

// Result is everything a probe found, field by field. Fields that were not probed (because an
// earlier step failed) carry a Todo saying why.
type Result struct {
	WebURL string // as given, without a trailing slash
	// Services are the web origin and, when it is another origin, the ChatKit backend's.
	Services []Service

	AuthBasePath, TokenPath, JWKSPath Finding
	Mode, Alg, Lifetime               Finding
	Issuer, Audience                  Finding
	BetterAuth                        Finding
	ChatKitURL, NotFound              Finding

	// Pages are app.pages (signup, login, chat); Selectors are app.selectors by key.
	Pages     map[string]Finding
	Selectors map[string]Finding
	// SignUpSteps are app.forms.signup.steps when the form is more than name, email and password;
	// SignUpLandsOn is its lands_on when that is not the chat page.
	SignUpSteps   []Step
	SignUpLandsOn Finding

	// Notes are things the probe saw that the file cannot say (shown in the file's header).
	Notes []string
}

func newResult(webURL string) *Result {
	return &Result{WebURL: webURL, Pages: map[string]Finding{}, Selectors: map[string]Finding{}}
}

// Summary lists the fields found and not found, in file order, as "app.pages.chat" style names.
func (r *Result) Summary() (foundFields, missing []string) {
	add := func(name string, f Finding) {
		switch {
		case f.Found():
			foundFields = append(foundFields, name+" = "+f.Value)
		case f.Todo != "":
			missing = append(missing, name+": "+f.Todo)
		}
	}
	add("token.mode", r.Mode)
	add("token.alg", r.Alg)
	add("token.lifetime", r.Lifetime)
	for _, s := range r.Services {
		foundFields = append(foundFields, "services."+s.Name+".url = "+s.URL)
		add("services."+s.Name+".ready.path", s.Ready)
	}
	add("app.auth_base_path", r.AuthBasePath)
	add("app.token_path", r.TokenPath)
	add("app.jwks_path", r.JWKSPath)
	add("app.chatkit_url", r.ChatKitURL)
	add("app.issuer", r.Issuer)
	add("app.audience", r.Audience)
	add("app.better_auth", r.BetterAuth)
	add("app.not_found", r.NotFound)
	for _, k := range pageKeys {
		add("app.pages."+k, r.pageOrTodo(k))
	}
	for _, k := range selectorKeys {
		if r.formReplaces(k) {
			continue
		}
		add("app.selectors."+k, r.selectorOrTodo(k))
	}
	for i, st := range r.SignUpSteps {
		name := fmt.Sprintf("app.forms.signup.steps[%d]", i)
		if st.Todo != "" {
			missing = append(missing, name+": "+st.Todo)
		} else {
			foundFields = append(foundFields, fmt.Sprintf("%s = %s %s", name, st.Action, st.Sel))
		}
	}
	add("app.forms.signup.lands_on", r.SignUpLandsOn)
	return foundFields, missing
}

// pageKeys and selectorKeys are app.pages and app.selectors in the order reference.yaml writes them.
var (
	pageKeys     = []string{"signup", "login", "chat"}
	selectorKeys = []string{
		"signup_name", "signup_email", "signup_password", "signup_submit",
		"login_email", "login_password", "login_submit", "error",
		"chat_ready", "composer", "send", "messages", "user_message", "assistant_message", "threads", "sign_out",
	}
)

func (r *Result) pageOrTodo(k string) Finding {
	if f, ok := r.Pages[k]; ok && (f.Found() || f.Todo != "") {
		return f
	}
	return todo("not probed")
}

func (r *Result) selectorOrTodo(k string) Finding {
	if f, ok := r.Selectors[k]; ok && (f.Found() || f.Todo != "") {
		return f
	}
	return todo("not probed")
}

// formReplaces reports whether the sign-up steps replace selector k (as app.forms does).
func (r *Result) formReplaces(k string) bool {
	switch k {
	case "signup_name", "signup_email", "signup_password":
		return len(r.SignUpSteps) > 0
	}
	return false
}
