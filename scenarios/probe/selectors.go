package probe

import (
	"fmt"
	"maps"
	"regexp"
	"slices"
	"strings"
)

// Accessible names that mark the pages and actions, in English as most apps write them.
var (
	reSignUp  = regexp.MustCompile(`(?i)\b(sign[ -]?up|register|create( an| your)? account|get started|join)\b`)
	reLogin   = regexp.MustCompile(`(?i)\b(sign[ -]?in|log[ -]?in|login)\b`)
	reSignOut = regexp.MustCompile(`(?i)\b(sign[ -]?out|log[ -]?out|logout)\b`)
	reSend    = regexp.MustCompile(`(?i)^(send|submit|send message|ask)\b`)
	reThreads = regexp.MustCompile(`(?i)\b(threads?|conversations?|chats|history)\b`)
	reChat    = regexp.MustCompile(`(?i)\b(chat|assistant|conversations?|ask)\b`)
	reEmail   = regexp.MustCompile(`(?i)e-?mail`)
	reConfirm = regexp.MustCompile(`(?i)confirm|repeat|again|verify|retype|re-enter`)
	reFirst   = regexp.MustCompile(`(?i)first|given|fore`)
	reLast    = regexp.MustCompile(`(?i)last|family|surname`)
	reName    = regexp.MustCompile(`(?i)\bname\b`)
	reMessage = regexp.MustCompile(`(?i)message|prompt|ask|chat|type`)
	reErrWord = regexp.MustCompile(`(?i)invalid|incorrect|wrong|failed|error|not match|unable|could not|denied|try again`)
)

// Field kinds of a sign-up or login form.
const (
	FieldName      = "name"
	FieldFirstName = "first_name"
	FieldLastName  = "last_name"
	FieldEmail     = "email"
	FieldPassword  = "password"
	FieldConfirm   = "confirm_password"
	FieldCheckbox  = "checkbox"
	FieldSelect    = "select"
	FieldOther     = "other"
)

// FormField is a control of a form with its kind.
type FormField struct {
	Kind string
	El   Element
}

// Form is a form of a page: its fields in document order and its submit button.
type Form struct {
	Index  int
	Fields []FormField
	Submit *Element
}

// Has reports whether the form has a field of kind k.
func (f Form) Has(k string) bool { return f.count(k) > 0 }

func (f Form) count(k string) int {
	n := 0
	for _, x := range f.Fields {
		if x.Kind == k {
			n++
		}
	}
	return n
}

// Plain reports a form of exactly name (or none), email and password, which the signup_*/login_*
// selectors describe; anything else needs app.forms steps.
func (f Form) Plain() bool {
	for _, x := range f.Fields {
		switch x.Kind {
		case FieldName, FieldEmail, FieldPassword:
		default:
			return false
		}
	}
	return f.count(FieldEmail) == 1 && f.count(FieldPassword) == 1 && f.count(FieldName) <= 1
}

// fieldKind says what a form control asks for, from its type, autocomplete, name and label.
func fieldKind(e Element) string {
	ac := strings.ToLower(e.Attrs["autocomplete"])
	words := strings.Join([]string{e.Label, e.Name, e.Attrs["name"], e.ID, e.Attrs["placeholder"]}, " ")
	switch {
	case e.Tag == "select":
		return FieldSelect
	case e.Type == "checkbox":
		return FieldCheckbox
	case e.Type == "password":
		if reConfirm.MatchString(words) {
			return FieldConfirm
		}
		return FieldPassword
	case e.Type == "email" || ac == "email" || reEmail.MatchString(words):
		return FieldEmail
	case ac == "given-name" || reFirst.MatchString(words) && reName.MatchString(words) || strings.EqualFold(e.Attrs["name"], "firstName"):
		return FieldFirstName
	case ac == "family-name" || reLast.MatchString(words) && reName.MatchString(words) || strings.EqualFold(e.Attrs["name"], "lastName"):
		return FieldLastName
	case ac == "name" || reName.MatchString(words) && !strings.Contains(strings.ToLower(words), "user"):
		return FieldName
	}
	return FieldOther
}

// Forms groups a snapshot's visible form controls by form (controls outside a form are one group,
// index -1) and picks each group's submit button.
func Forms(s Snapshot) []Form {
	byIndex := map[int]*Form{}
	var order []int
	get := func(i int) *Form {
		if f, ok := byIndex[i]; ok {
			return f
		}
		f := &Form{Index: i}
		byIndex[i] = f
		order = append(order, i)
		return f
	}
	for _, e := range s.Visible() {
		switch {
		case e.Tag == "input" && (e.Type == "submit" || e.Type == "button" || e.Type == "image"),
			e.Tag == "button" || e.Role == "button":
			f := get(e.Form)
			e := e
			if f.Submit == nil || (e.Type == "submit" && f.Submit.Type != "submit") {
				f.Submit = &e
			}
		case e.Tag == "input" && e.Type != "hidden" && e.Type != "radio", e.Tag == "textarea", e.Tag == "select":
			get(e.Form).Fields = append(get(e.Form).Fields, FormField{Kind: fieldKind(e), El: e})
		}
	}
	var out []Form
	for _, i := range order {
		if f := byIndex[i]; len(f.Fields) > 0 {
			out = append(out, *f)
		}
	}
	return out
}

// AuthForm finds the page's sign-up or login form ("signup" or "login"): a form with a password
// field whose fields and button name say which. ok is false when the page has neither.
func AuthForm(s Snapshot, want string) (Form, bool) {
	for _, f := range Forms(s) {
		if !f.Has(FieldPassword) {
			continue
		}
		button := ""
		if f.Submit != nil {
			button = f.Submit.Name
		}
		signup := f.Has(FieldConfirm) || f.Has(FieldName) || f.Has(FieldFirstName) || reSignUp.MatchString(button)
		login := !signup && (reLogin.MatchString(button) || f.Has(FieldEmail))
		if want == "signup" && signup || want == "login" && login {
			return f, true
		}
	}
	return Form{}, false
}

// quoteName quotes an accessible name for a role selector's [name=...] ('...' unless it holds ').
func quoteName(s string) string {
	if strings.Contains(s, "'") {
		return `"` + strings.ReplaceAll(s, `"`, `\"`) + `"`
	}
	return "'" + s + "'"
}

// cssIdent reports whether s can stand unquoted in a CSS attribute selector.
var cssIdent = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_-]*$`)

// attrSel is tag[attr=value] with the value quoted when it must be.
func attrSel(tag, attr, value string) string {
	if value == "" {
		return tag + "[" + attr + "]"
	}
	if !cssIdent.MatchString(value) {
		value = quoteName(value)
	}
	return tag + "[" + attr + "=" + value + "]"
}

// FieldCandidates are the selectors for a form control, best first: by its label (substring, then
// exact), by role and accessible name, then by id or name attribute. The first one that finds
// exactly this one element on the page is written.
func FieldCandidates(e Element) []string {
	var out []string
	if l := e.Label; l != "" {
		out = append(out, "label="+l, `label="`+l+`"`)
	}
	if e.Name != "" && e.Role != "" {
		out = append(out, "role="+e.Role+"[name="+quoteName(e.Name)+"]")
	}
	if e.ID != "" && cssIdent.MatchString(e.ID) {
		out = append(out, "#"+e.ID)
	}
	if n := e.Attrs["name"]; n != "" {
		out = append(out, attrSel(e.Tag, "name", n))
	}
	if p := e.Attrs["placeholder"]; p != "" {
		out = append(out, attrSel(e.Tag, "placeholder", p))
	}
	return out
}

// ButtonCandidates are the selectors for a button or link, best first.
func ButtonCandidates(e Element) []string {
	role := e.Role
	if role == "" {
		role = "button"
	}
	var out []string
	if e.Name != "" {
		out = append(out, "role="+role+"[name="+quoteName(e.Name)+"]", "role="+role+"[name="+quoteName(e.Name)+" s]")
	}
	if e.ID != "" && cssIdent.MatchString(e.ID) {
		out = append(out, "#"+e.ID)
	}
	return out
}

// describe is a short description of an element for a comment: `textbox "Email"`.
func describe(e Element) string {
	what := e.Role
	if what == "" {
		what = e.Tag
	}
	if e.Name != "" {
		return fmt.Sprintf("%s %q", what, e.Name)
	}
	return what
}

// FindButton returns the first visible button or link whose accessible name matches re.
func FindButton(s Snapshot, re *regexp.Regexp) (Element, bool) {
	for _, role := range []string{"button", "link", "menuitem"} {
		for _, e := range s.Visible() {
			if e.Role == role && e.Name != "" && re.MatchString(e.Name) {
				return e, true
			}
		}
	}
	return Element{}, false
}

// Link is a same-origin link of a page: its accessible name and path.
type Link struct{ Name, Path string }

// Links returns the page's links whose names match re, as paths (same-origin hrefs only; origin is
// scheme://host:port).
func Links(s Snapshot, origin string, re *regexp.Regexp) []Link {
	var out []Link
	seen := map[string]bool{}
	for _, e := range s {
		href := e.Attrs["href"]
		if e.Tag != "a" || href == "" || !re.MatchString(e.Name) {
			continue
		}
		p := href
		switch {
		case strings.HasPrefix(href, origin+"/"):
			p = strings.TrimPrefix(href, origin)
		case strings.HasPrefix(href, "/") && !strings.HasPrefix(href, "//"):
		default:
			continue
		}
		p, _, _ = strings.Cut(p, "#")
		p, _, _ = strings.Cut(p, "?")
		if !seen[p] {
			seen[p] = true
			out = append(out, Link{Name: e.Name, Path: p})
		}
	}
	return out
}

// ChatParts are the chat page's elements the target's selectors name (nil: not seen).
type ChatParts struct {
	Composer, Send, Messages, Threads, SignOut *Element
	// Ready is a data attribute that says the widget is mounted (data-*ready*), as a selector.
	Ready string
	// Frames counts iframes (a widget rendered inside one, like OpenAI's ChatKit web component).
	Frames int
}

// FindChatParts finds the composer (a textbox named like a message, or the only multi-line one),
// its send button (the submit of the composer's form, or a button named Send), the message list
// (role=log, or an aria-live region), the thread list (named like threads or conversations), the
// sign-out control and a ready attribute.
func FindChatParts(s Snapshot) ChatParts {
	var p ChatParts
	vis := s.Visible()
	var boxes []Element
	for _, e := range vis {
		if e.Role == "textbox" && e.Type != "email" && e.Type != "password" {
			boxes = append(boxes, e)
		}
	}
	for _, e := range boxes {
		if reMessage.MatchString(e.Name+" "+e.Attrs["placeholder"]) || e.Tag == "textarea" || e.Attrs["contenteditable"] != "" {
			e := e
			p.Composer = &e
			break
		}
	}
	if p.Composer == nil && len(boxes) == 1 {
		p.Composer = &boxes[0]
	}
	if p.Composer != nil {
		for _, e := range vis {
			if e.Role == "button" && p.Composer.Form >= 0 && e.Form == p.Composer.Form && (e.Type == "submit" || reSend.MatchString(e.Name)) {
				e := e
				p.Send = &e
				break
			}
		}
	}
	if p.Send == nil {
		if e, ok := FindButton(s, reSend); ok {
			p.Send = &e
		}
	}
	for _, e := range vis {
		if e.Role == "log" {
			e := e
			p.Messages = &e
			break
		}
	}
	if p.Messages == nil {
		for _, e := range vis {
			if v := e.Attrs["aria-live"]; v != "" && v != "off" && e.Role != "alert" && e.Role != "status" {
				e := e
				p.Messages = &e
				break
			}
		}
	}
	for _, e := range s {
		if (e.Role == "list" || e.Role == "navigation" || e.Role == "complementary" || e.Role == "listbox") && reThreads.MatchString(e.Name) {
			e := e
			p.Threads = &e
			break
		}
	}
	if e, ok := FindButton(s, reSignOut); ok {
		p.SignOut = &e
	}
	for _, e := range s {
		for k, v := range e.Attrs {
			if strings.HasPrefix(k, "data-") && strings.Contains(k, "ready") && (v == "true" || v == "") {
				if v == "" {
					p.Ready = "[" + k + "]"
				} else {
					p.Ready = "[" + k + "=" + v + "]"
				}
				break
			}
		}
		if p.Ready != "" {
			break
		}
	}
	for _, e := range s {
		if e.Tag == "iframe" {
			p.Frames++
		}
	}
	return p
}

// ContainerCandidates are selectors for a list-like container: by role and name, by aria-label, by
// role alone, by id.
func ContainerCandidates(e Element) []string {
	var out []string
	if al := e.Attrs["aria-label"]; al != "" {
		out = append(out, attrSel("", "aria-label", al))
	}
	if e.Role != "" && e.Name != "" {
		out = append(out, "role="+e.Role+"[name="+quoteName(e.Name)+"]")
	}
	if e.Role != "" {
		out = append(out, "role="+e.Role)
	}
	if e.ID != "" && cssIdent.MatchString(e.ID) {
		out = append(out, "#"+e.ID)
	}
	return out
}

// Author values of a message element's role-like attribute.
var (
	userValues      = map[string]bool{"user": true, "human": true, "me": true, "self": true}
	assistantValues = map[string]bool{"assistant": true, "ai": true, "bot": true, "model": true, "agent": true}
)

// MessageSelectors finds the user's message (the smallest element holding marker, the text the
// probe sent, or an ancestor of it, with an attribute whose value is user-like, e.g.
// data-role=user or data-message-author-role=user) and returns tag[attr=user] and, when an element
// of the same tag carries an assistant-like value of the same attribute, tag[attr=assistant].
func MessageSelectors(s Snapshot, marker string) (user, assistant string, how string) {
	var holder *Element
	for i := range s {
		e := s[i]
		if strings.Contains(e.Text, marker) && (holder == nil || len(e.Text) <= len(holder.Text)) {
			holder = &s[i]
		}
	}
	if holder == nil {
		return "", "", ""
	}
	chain := append([]Element{*holder}, s.Ancestors(*holder)...)
	for _, e := range chain {
		for _, k := range slices.Sorted(maps.Keys(e.Attrs)) {
			v := strings.ToLower(e.Attrs[k])
			if !userValues[v] || k == "class" || k == "type" || k == "name" {
				continue
			}
			user = attrSel(e.Tag, k, e.Attrs[k])
			for _, o := range s {
				if o.Tag == e.Tag && assistantValues[strings.ToLower(o.Attrs[k])] {
					assistant = attrSel(o.Tag, k, o.Attrs[k])
					break
				}
			}
			return user, assistant, fmt.Sprintf("the sent message is inside <%s %s=%q>", e.Tag, k, e.Attrs[k])
		}
	}
	return "", "", ""
}

// ErrorCandidates are the selectors for an element that shows an error without role=alert: its id,
// its data-testid, its role (landmarks such as main are too wide to be an error box).
func ErrorCandidates(e Element) []string {
	var out []string
	if e.ID != "" && cssIdent.MatchString(e.ID) {
		out = append(out, "#"+e.ID)
	}
	if v := e.Attrs["data-testid"]; v != "" {
		out = append(out, attrSel("", "data-testid", v))
	}
	switch e.Role {
	case "", "main", "form", "navigation", "complementary", "list", "listitem", "article", "heading":
	default:
		out = append(out, "role="+e.Role)
	}
	return out
}
