package probe

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"sync"
	"time"

	playwright "github.com/mxschmitt/playwright-go"

	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/scenarios/browser"
)

// Common paths of the pages, tried after the links the app's pages show.
var (
	SignUpPaths = []string{"/signup", "/sign-up", "/register", "/auth/signup", "/auth/sign-up", "/auth/register", "/join"}
	LoginPaths  = []string{"/login", "/sign-in", "/signin", "/auth/login", "/auth/sign-in", "/auth/signin"}
	ChatPaths   = []string{"/chat", "/", "/assistant", "/app", "/dashboard", "/chats"}
)

// tab is one browser context and page with its request log.
type tab struct {
	c    playwright.BrowserContext
	page playwright.Page

	mu   sync.Mutex
	reqs []*Observed
	by   map[playwright.Request]*Observed
}

func (p *prober) newTab() (*tab, error) {
	c, err := p.browser.Playwright().NewContext(playwright.BrowserNewContextOptions{
		Locale:   playwright.String("en-US"),
		Viewport: &playwright.Size{Width: 1280, Height: 800},
	})
	if err != nil {
		return nil, fmt.Errorf("browser: new context: %w", firstLine(err))
	}
	ms := float64(p.action.Milliseconds())
	c.SetDefaultTimeout(ms)
	c.SetDefaultNavigationTimeout(ms)
	t := &tab{c: c, by: map[playwright.Request]*Observed{}}
	c.OnRequest(func(r playwright.Request) {
		u := r.URL()
		u, _, _ = strings.Cut(u, "#")
		u, _, _ = strings.Cut(u, "?")
		o := &Observed{Method: r.Method(), URL: u}
		if o.Method == http.MethodPost {
			if body, err := r.PostData(); err == nil {
				o.Type = BodyType(body) // the body itself is not kept
			}
		}
		if v := r.Headers()["authorization"]; v != "" {
			scheme, cred, _ := strings.Cut(strings.TrimSpace(v), " ")
			o.Bearer = strings.EqualFold(scheme, "bearer") && cred != ""
		}
		t.mu.Lock()
		t.reqs = append(t.reqs, o)
		t.by[r] = o
		t.mu.Unlock()
	})
	c.OnResponse(func(res playwright.Response) {
		t.mu.Lock()
		if o := t.by[res.Request()]; o != nil {
			o.Status = res.Status()
		}
		t.mu.Unlock()
	})
	if t.page, err = c.NewPage(); err != nil {
		_ = c.Close()
		return nil, fmt.Errorf("browser: new page: %w", firstLine(err))
	}
	return t, nil
}

func (t *tab) close() { _ = t.c.Close() }

// requests returns a copy of the recorded requests.
func (t *tab) requests() []Observed {
	t.mu.Lock()
	defer t.mu.Unlock()
	out := make([]Observed, len(t.reqs))
	for i, o := range t.reqs {
		out[i] = *o
	}
	return out
}

// path is the page's current path.
func (t *tab) path() string {
	u, err := url.Parse(t.page.URL())
	if err != nil {
		return ""
	}
	if u.Path == "" {
		return "/"
	}
	return u.Path
}

// open navigates to path on the web app and waits briefly for the network to settle.
func (p *prober) open(t *tab, path string) error {
	if _, err := t.page.Goto(p.origin + path); err != nil {
		return fmt.Errorf("open %s: %w", path, firstLine(err))
	}
	p.settle(t, 2*time.Second)
	return nil
}

// settle waits for the network to go quiet, at most d (single-page apps render after their fetches).
func (p *prober) settle(t *tab, d time.Duration) {
	ms := float64(d.Milliseconds())
	_ = t.page.WaitForLoadState(playwright.PageWaitForLoadStateOptions{State: playwright.LoadStateNetworkidle, Timeout: &ms})
}

// waitVisible waits up to d for a visible element matching the Playwright selector sel.
func waitVisible(t *tab, sel string, d time.Duration) bool {
	ms := float64(d.Milliseconds())
	return t.page.Locator(sel).First().WaitFor(playwright.LocatorWaitForOptions{State: playwright.WaitForSelectorStateVisible, Timeout: &ms}) == nil
}

// waitLeave waits up to d for the page to leave path; it returns the new path ("" if it stayed).
func waitLeave(t *tab, path string, d time.Duration) string {
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if p := t.path(); p != path {
			return p
		}
		time.Sleep(150 * time.Millisecond)
	}
	return ""
}

// unique returns the first selector that finds exactly one element on the page.
func unique(t *tab, cands []string) string {
	for _, c := range cands {
		if n, err := browser.Locate(t.page, c).Count(); err == nil && n == 1 {
			return c
		}
	}
	return ""
}

// status is the HTTP status of GET path (following redirects), 0 when there is no answer.
func (p *prober) status(ctx context.Context, path string) int {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.origin+path, nil)
	if err != nil {
		return 0
	}
	res, err := p.http.Do(req)
	if err != nil {
		return 0
	}
	res.Body.Close()
	return res.StatusCode
}

// findAuthPage finds the sign-up or login page (want "signup" or "login") among the candidates:
// each that does not answer 404 is opened, and the first with such a form wins. It returns the path
// (the page's own, after redirects), the form, how, and the links of the pages it saw.
func (p *prober) findAuthPage(ctx context.Context, t *tab, want string, cands []Link) (string, Form, string, []Link) {
	var seen []Link
	tried := map[string]bool{}
	for _, c := range cands {
		if tried[c.Path] {
			continue
		}
		tried[c.Path] = true
		if st := p.status(ctx, c.Path); st == 0 || st == 404 || st == 405 || st >= 500 {
			continue
		}
		if err := p.open(t, c.Path); err != nil {
			continue
		}
		waitVisible(t, "input[type=password]", 3*time.Second)
		snap, err := TakeSnapshot(t.page)
		if err != nil {
			continue
		}
		seen = append(seen, Links(snap, p.origin, reSignUp)...)
		seen = append(seen, Links(snap, p.origin, reLogin)...)
		if f, ok := AuthForm(snap, want); ok {
			how := fmt.Sprintf("GET %s shows a form with a password field", c.Path)
			if c.Name == "/ (home)" {
				how = fmt.Sprintf("the home page / goes to %s, which shows a form with a password field", c.Path)
			} else if c.Name != "" {
				how = fmt.Sprintf("the link %q leads to it", c.Name)
			}
			if t.path() != c.Path {
				how += fmt.Sprintf(" (%s redirected here)", c.Path)
			}
			return t.path(), f, how, seen
		}
	}
	return "", Form{}, "", seen
}

func pathLinks(paths []string) []Link {
	out := make([]Link, len(paths))
	for i, p := range paths {
		out[i] = Link{Path: p}
	}
	return out
}

// formSelectors resolves a form's fields on the page: kind -> selector (the first candidate that
// finds exactly that one element).
func resolveField(t *tab, f FormField) (string, string) {
	sel := unique(t, FieldCandidates(f.El))
	if sel == "" {
		return "", ""
	}
	return sel, fmt.Sprintf("the form's %s (%s)", strings.ReplaceAll(f.Kind, "_", " "), describe(f.El))
}

// stepValue is the persona value a sign-up field takes.
var stepValue = map[string]string{
	FieldName: "name", FieldFirstName: "first_name", FieldLastName: "last_name",
	FieldEmail: "email", FieldPassword: "password", FieldConfirm: "password",
}

// signUpForm turns the sign-up form into selectors (a plain form) or steps, and fills and submits it
// as persona np to see where a new account lands.
func (p *prober) signUpForm(t *tab, path string, f Form, np data.Persona) {
	r := p.res
	fill := map[string]string{} // selector -> persona value name
	var order []string
	if f.Plain() {
		for _, x := range f.Fields {
			key := map[string]string{FieldName: "signup_name", FieldEmail: "signup_email", FieldPassword: "signup_password"}[x.Kind]
			sel, how := resolveField(t, x)
			if sel == "" {
				r.Selectors[key] = todo("no selector finds only the %s field (%s)", x.Kind, describe(x.El))
				continue
			}
			r.Selectors[key] = found(sel, "%s", how)
			fill[sel] = stepValue[x.Kind]
			order = append(order, sel)
		}
		if !f.Has(FieldName) {
			r.Selectors["signup_name"] = todo("the sign-up form has no name field; the suites fill one: check the form")
		}
	} else {
		for _, x := range f.Fields {
			sel, how := resolveField(t, x)
			st := Step{Sel: sel, How: how}
			switch {
			case sel == "":
				st.Todo = fmt.Sprintf("no selector finds only the field %s", describe(x.El))
			case x.Kind == FieldCheckbox:
				st.Action = "check"
				st.How = fmt.Sprintf("a checkbox of the form (%s)", describe(x.El))
			case x.Kind == FieldSelect:
				st.Action, st.Todo = "select", fmt.Sprintf(`pick a value for %s: {select: %q, value: "text:<option>"}`, describe(x.El), sel)
			case stepValue[x.Kind] != "":
				st.Action, st.Value = "fill", stepValue[x.Kind]
			default:
				st.Action, st.Todo = "fill", fmt.Sprintf(`a field the probe does not know (%s): {fill: %q, value: "text:<what it takes>"}`, describe(x.El), sel)
			}
			r.SignUpSteps = append(r.SignUpSteps, st)
			if st.Todo == "" {
				order = append(order, sel)
				fill[sel] = st.Value
				if st.Action == "check" {
					fill[sel] = "\x00check"
				}
			}
		}
	}
	submit := ""
	if f.Submit != nil {
		submit = unique(t, ButtonCandidates(*f.Submit))
	}
	if submit == "" {
		r.Selectors["signup_submit"] = todo("the sign-up form's submit button has no selector that finds only it")
		return
	}
	r.Selectors["signup_submit"] = found(submit, "the sign-up form's submit button (%s)", describe(*f.Submit))

	// Sign a second throwaway user up through the form: it proves the selectors and shows where a new
	// account goes.
	for _, sel := range order {
		v := fill[sel]
		loc := browser.Locate(t.page, sel)
		var err error
		switch v {
		case "\x00check":
			err = loc.Check()
		default:
			err = loc.Fill(personaValue(np, v))
		}
		if err != nil {
			p.logf("  sign-up form: %s: %v", sel, p.scrub(firstLine(err).Error()))
			return
		}
	}
	if err := browser.Locate(t.page, submit).Click(); err != nil {
		p.logf("  sign-up form: submit: %v", p.scrub(firstLine(err).Error()))
		return
	}
	landed := waitLeave(t, path, 15*time.Second)
	if landed == "" {
		r.Notes = append(r.Notes, fmt.Sprintf("signing %s up through the sign-up form stayed on %s (an error, or a confirmation step?)", np.Email, path))
		r.SignUpLandsOn = todo("signing up through the form stayed on %s; set lands_on if a new account goes to the login page", path)
		return
	}
	p.signUpLanded = landed
	p.logf("  signed %s up through the form; it landed on %s", np.Email, landed)
}

func personaValue(p data.Persona, v string) string {
	first, last, _ := strings.Cut(p.Name, " ")
	switch v {
	case "name":
		return p.Name
	case "first_name":
		return first
	case "last_name":
		return last
	case "email":
		return p.Email
	case "password":
		return p.Password.Value()
	}
	return strings.TrimPrefix(v, "text:")
}

// loginForm resolves the login form's selectors, submits a wrong password to find the error box,
// then signs the probe user in; it returns the path it landed on ("" when sign-in failed).
func (p *prober) loginForm(t *tab, path string, f Form, u data.Persona) string {
	r := p.res
	var email, password string
	for _, x := range f.Fields {
		key := ""
		switch x.Kind {
		case FieldEmail:
			key = "login_email"
		case FieldPassword:
			key = "login_password"
		default:
			r.Notes = append(r.Notes, fmt.Sprintf("the login form has a field the suites do not fill: %s", describe(x.El)))
			continue
		}
		sel, how := resolveField(t, x)
		if sel == "" {
			r.Selectors[key] = todo("no selector finds only the login form's %s field", x.Kind)
			continue
		}
		r.Selectors[key] = found(sel, "%s", strings.Replace(how, "the form's", "the login form's", 1))
		if key == "login_email" {
			email = sel
		} else {
			password = sel
		}
	}
	submit := ""
	if f.Submit != nil {
		submit = unique(t, ButtonCandidates(*f.Submit))
	}
	if submit != "" {
		r.Selectors["login_submit"] = found(submit, "the login form's submit button (%s)", describe(*f.Submit))
	} else {
		r.Selectors["login_submit"] = todo("the login form's submit button has no selector that finds only it")
	}
	if email == "" || password == "" || submit == "" {
		r.Selectors["error"] = todo("not probed: the login form could not be filled")
		return ""
	}
	fillLogin := func(pw string) error {
		if err := browser.Locate(t.page, email).Fill(u.Email); err != nil {
			return err
		}
		if err := browser.Locate(t.page, password).Fill(pw); err != nil {
			return err
		}
		return browser.Locate(t.page, submit).Click()
	}

	// A wrong password: the element that shows the error is the error selector.
	before, _ := TakeSnapshot(t.page)
	wrong := "Wrong-" + randomHex(20)
	p.secrets = append(p.secrets, wrong)
	if err := fillLogin(wrong); err != nil {
		r.Selectors["error"] = todo("submitting a wrong password failed: %s", p.scrub(firstLine(err).Error()))
	} else {
		r.Selectors["error"] = p.findError(t, before)
	}

	if err := fillLogin(u.Password.Value()); err != nil {
		p.logf("  login form: %s", p.scrub(firstLine(err).Error()))
		return ""
	}
	landed := waitLeave(t, path, 15*time.Second)
	if landed == "" {
		r.Notes = append(r.Notes, "signing the probe user in through the login form stayed on "+path)
	}
	return landed
}

// findError waits for the element that shows a refused sign-in: a visible role=alert with text, or
// an element that was not shown before and now shows words of an error.
func (p *prober) findError(t *tab, before Snapshot) Finding {
	shown := map[string]bool{}
	for _, e := range before.Visible() {
		shown[e.Tag+"|"+e.ID+"|"+e.Text] = true
	}
	deadline := time.Now().Add(8 * time.Second)
	for time.Now().Before(deadline) {
		time.Sleep(250 * time.Millisecond)
		snap, err := TakeSnapshot(t.page)
		if err != nil {
			continue
		}
		for _, e := range snap.Visible() {
			if e.Role == "alert" && e.Text != "" {
				return found("role=alert", "a wrong password showed %q in a role=alert element", clip(e.Text, 60))
			}
		}
		if f, ok := errorElement(t, snap, shown); ok {
			return f
		}
	}
	return todo("a wrong password showed no role=alert and no new error text within 8 s; give the element that shows sign-in errors")
}

// errorElement picks, among the elements that newly show words of an error, the one with the
// shortest text (the box itself, not the page around it) that a selector finds alone.
func errorElement(t *tab, snap Snapshot, shown map[string]bool) (Finding, bool) {
	var cands []Element
	for _, e := range snap.Visible() {
		if e.Tag == "form" || e.Tag == "main" || e.Tag == "body" {
			continue // the page or the form around the message, not the message's box
		}
		if !shown[e.Tag+"|"+e.ID+"|"+e.Text] && e.Text != "" && reErrWord.MatchString(e.Text) && len(e.Text) <= 200 {
			cands = append(cands, e)
		}
	}
	sort.SliceStable(cands, func(i, j int) bool { return len(cands[i].Text) < len(cands[j].Text) })
	for _, e := range cands {
		if sel := unique(t, ErrorCandidates(e)); sel != "" {
			return found(sel, "a wrong password showed %q in it (no role=alert)", clip(e.Text, 60)), true
		}
	}
	return Finding{}, false
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n] + "…"
	}
	return s
}

// chatPage finds the chat page among the candidates (a page with a visible composer) and probes its
// widget: the selectors, a message sent to see the user's and the assistant's messages, the ChatKit
// endpoint from the requests, and sign-out.
func (p *prober) chatPage(ctx context.Context, t *tab, cands []Link) {
	r := p.res
	composerCSS := "textarea, [contenteditable=''], [contenteditable=true], [role=textbox], input[type=text]"
	var parts ChatParts
	var snap Snapshot
	path, how := "", ""
	tried := map[string]bool{}
	for _, c := range cands {
		if tried[c.Path] {
			continue
		}
		tried[c.Path] = true
		if t.path() != c.Path {
			if st := p.status(ctx, c.Path); st == 0 || st == 404 || st >= 500 {
				continue
			}
			if err := p.open(t, c.Path); err != nil {
				continue
			}
		}
		waitVisible(t, composerCSS, 8*time.Second)
		p.settle(t, 2*time.Second)
		s, err := TakeSnapshot(t.page)
		if err != nil {
			continue
		}
		if pp := FindChatParts(s); pp.Composer != nil {
			parts, snap, path = pp, s, t.path()
			how = fmt.Sprintf("signed in, %s shows a message composer", c.Path)
			if c.Name != "" {
				how = fmt.Sprintf("signed in, the link %q leads to a page with a message composer", c.Name)
			}
			if path != c.Path {
				how += fmt.Sprintf(" (%s went to %s)", c.Path, path)
			}
			break
		} else if pp.Frames > 0 {
			r.Notes = append(r.Notes, fmt.Sprintf("%s has %d iframe(s) and no composer outside them: a widget in an iframe (OpenAI's ChatKit web component loads from its CDN) needs \"frame=<css> >> <selector>\" selectors", c.Path, pp.Frames))
		}
	}
	if path == "" {
		r.Pages["chat"] = todo("no page of %s shows a message composer after sign-in", strings.Join(linkPaths(cands), ", "))
		for _, k := range []string{"chat_ready", "composer", "send", "messages", "user_message", "assistant_message", "threads", "sign_out"} {
			r.Selectors[k] = todo("not probed: no chat page found")
		}
		r.ChatKitURL = p.chatKitFromRequests(t)
		return
	}
	r.Pages["chat"] = found(path, "%s", how)

	set := func(key string, e *Element, cands func(Element) []string, what string) {
		if e == nil {
			r.Selectors[key] = todo("the chat page shows no %s", what)
			return
		}
		if sel := unique(t, cands(*e)); sel != "" {
			r.Selectors[key] = found(sel, "the chat page's %s (%s)", what, describe(*e))
		} else {
			r.Selectors[key] = todo("no selector finds only the chat page's %s (%s)", what, describe(*e))
		}
	}
	set("composer", parts.Composer, FieldCandidates, "message box")
	set("send", parts.Send, ButtonCandidates, "send button")
	set("threads", parts.Threads, ContainerCandidates, "thread list")
	set("sign_out", parts.SignOut, ButtonCandidates, "sign-out control")
	if parts.Messages != nil {
		set("messages", parts.Messages, ContainerCandidates, "message list")
	}
	if parts.Ready != "" {
		r.Selectors["chat_ready"] = found(parts.Ready, "the chat page sets %s once its widget is mounted", parts.Ready)
	} else if c := r.Selectors["composer"]; c.Found() {
		r.Selectors["chat_ready"] = found(c.Value, "no ready attribute (data-*ready*) seen: the composer's presence stands in for \"mounted\"; use a better signal if the app has one")
	} else {
		r.Selectors["chat_ready"] = todo("no ready signal seen")
	}
	_ = snap

	// Send a message: the user's message shows where messages are, the answer the assistant's.
	marker := "authflow init probe " + randomHex(6)
	composer := r.Selectors["composer"].Value
	if composer == "" {
		r.Selectors["user_message"] = todo("not probed: no composer selector")
		r.Selectors["assistant_message"] = todo("not probed: no composer selector")
	} else {
		err := browser.Locate(t.page, composer).Fill(marker)
		if err == nil {
			if s := r.Selectors["send"].Value; s != "" {
				err = browser.Locate(t.page, s).Click()
			} else {
				err = browser.Locate(t.page, composer).Press("Enter")
			}
		}
		if err != nil {
			r.Selectors["user_message"] = todo("sending a message failed: %s", p.scrub(firstLine(err).Error()))
			r.Selectors["assistant_message"] = todo("sending a message failed")
		} else {
			p.messages(t, marker)
		}
	}
	r.ChatKitURL = p.chatKitFromRequests(t)

	// Sign out last: it ends the browser's session.
	if so := r.Selectors["sign_out"]; so.Found() {
		if err := browser.Locate(t.page, so.Value).Click(); err == nil {
			if to := waitLeave(t, path, 8*time.Second); to != "" {
				so.How += fmt.Sprintf("; clicking it went to %s", to)
			} else {
				so.How += "; clicking it stayed on the chat page (check that it signs out)"
			}
			r.Selectors["sign_out"] = so
		}
	}
}

// messages waits for the sent marker and the assistant's answer and derives user_message,
// assistant_message and, if not found before, messages.
func (p *prober) messages(t *tab, marker string) {
	r := p.res
	deadline := time.Now().Add(25 * time.Second)
	var user, assistant, how string
	var snap Snapshot
	for time.Now().Before(deadline) {
		time.Sleep(400 * time.Millisecond)
		s, err := TakeSnapshot(t.page)
		if err != nil {
			continue
		}
		snap = s
		user, assistant, how = MessageSelectors(s, marker)
		if user != "" && assistant != "" {
			break
		}
	}
	switch {
	case user == "":
		r.Selectors["user_message"] = todo("the sent message showed in no element with a user-like attribute (e.g. data-role=user)")
	case unique(t, []string{user}) == "" && countOf(t, user) == 0:
		r.Selectors["user_message"] = todo("%s finds nothing in the browser", user)
	default:
		r.Selectors["user_message"] = found(user, "%s", how)
	}
	if assistant != "" {
		r.Selectors["assistant_message"] = found(assistant, "the answer to the sent message is a <%s> with the assistant-like value", strings.SplitN(assistant, "[", 2)[0])
	} else {
		r.Selectors["assistant_message"] = todo("no answer with an assistant-like attribute (e.g. data-role=assistant) within 25 s")
	}
	if !r.Selectors["messages"].Found() && user != "" {
		for _, e := range snap {
			if !strings.Contains(e.Text, marker) || e.Role == "" && e.Attrs["aria-label"] == "" && e.ID == "" {
				continue
			}
			if sel := unique(t, ContainerCandidates(e)); sel != "" && !strings.HasPrefix(sel, "role=article") {
				r.Selectors["messages"] = found(sel, "an element that holds the sent message (%s)", describe(e))
			}
		}
		if !r.Selectors["messages"].Found() {
			r.Selectors["messages"] = todo("no role=log or named container holds the messages")
		}
	}
}

func countOf(t *tab, sel string) int {
	n, _ := browser.Locate(t.page, sel).Count()
	return n
}

// chatKitFromRequests picks the ChatKit endpoint from the tab's requests.
func (p *prober) chatKitFromRequests(t *tab) Finding {
	deadline := time.Now().Add(5 * time.Second)
	for {
		if u, how := PickChatKit(t.requests()); u != "" {
			return found(u, "%s", how)
		}
		if time.Now().After(deadline) {
			return todo("the chat page made no POST with a ChatKit request type (threads.list, threads.create, ...)")
		}
		time.Sleep(250 * time.Millisecond)
	}
}

func linkPaths(ls []Link) []string {
	var out []string
	seen := map[string]bool{}
	for _, l := range ls {
		if !seen[l.Path] {
			seen[l.Path] = true
			out = append(out, l.Path)
		}
	}
	return out
}
