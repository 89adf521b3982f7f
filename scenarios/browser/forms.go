package browser

import (
	"fmt"
	"strings"

	"github.com/authflow-e2e/authflow/internal/secret"
	playwright "github.com/mxschmitt/playwright-go"
)

// Form describes a sign-up or login form that is not just name, email and password: the steps to
// fill it (in order) and the page the app lands on after a successful submit. Real forms differ: a
// first and a last name, the password twice, a terms box; the app may go to the login page after
// sign-up. A zero Form is the plain one (the signup_*/login_* selectors, landing on the chat page).
type Form struct {
	Steps   []FormStep
	LandsOn string // a page key (PageChat, PageLogin, ...); "" means PageChat
}

// FormStep is one action on a form: exactly one of Fill, Check or Select is a selector.
type FormStep struct {
	Fill, Check, Select string
	// Value is what Fill types or Select picks: one of the FormValues names, or "text:<literal>".
	Value string
}

// FormValues are the values a step can take from the persona that fills the form.
var FormValues = []string{"name", "first_name", "last_name", "email", "password"}

// Landing is the page the form leads to on success.
func (f Form) Landing() string {
	if f.LandsOn == "" {
		return PageChat
	}
	return f.LandsOn
}

// check validates the form's steps; field names the target field ("app.forms.signup").
func (f Form) check(field string, pages map[string]string) []string {
	var out []string
	for i, st := range f.Steps {
		n := 0
		for _, s := range []string{st.Fill, st.Check, st.Select} {
			if s != "" {
				n++
				if _, _, err := splitFrames(s); err != nil {
					out = append(out, fmt.Sprintf("%s.steps[%d] %q: %v", field, i, s, err))
				}
			}
		}
		if n != 1 {
			out = append(out, fmt.Sprintf("%s.steps[%d]: give exactly one of fill, check, select", field, i))
			continue
		}
		if st.Check == "" && !validFormValue(st.Value) {
			out = append(out, fmt.Sprintf("%s.steps[%d]: value %q: want one of %s, or text:<literal>", field, i, st.Value, strings.Join(FormValues, ", ")))
		}
	}
	if f.LandsOn != "" {
		if _, ok := pages[f.LandsOn]; !ok {
			out = append(out, fmt.Sprintf("%s.lands_on %q: not a page of app.pages", field, f.LandsOn))
		}
	}
	return out
}

func validFormValue(v string) bool {
	if strings.HasPrefix(v, "text:") {
		return true
	}
	for _, n := range FormValues {
		if v == n {
			return true
		}
	}
	return false
}

// formValue is the value named v for the persona (name, email, password).
func formValue(v, name, email string, password secret.Secret) string {
	if lit, ok := strings.CutPrefix(v, "text:"); ok {
		return lit
	}
	first, last, _ := strings.Cut(strings.TrimSpace(name), " ")
	if last == "" {
		last = "Tester"
	}
	switch v {
	case "name":
		return name
	case "first_name":
		return first
	case "last_name":
		return last
	case "email":
		return email
	case "password":
		return password.Value()
	}
	return ""
}

// fill runs the form's steps in s for the persona values; what names the form in errors.
func (f Form) fill(s *Session, what, name, email string, password secret.Secret) error {
	for i, st := range f.Steps {
		var err error
		switch {
		case st.Fill != "":
			err = locate(s.Page, st.Fill).Fill(formValue(st.Value, name, email, password))
		case st.Check != "":
			err = locate(s.Page, st.Check).Check()
		case st.Select != "":
			_, err = locate(s.Page, st.Select).SelectOption(selectValue(formValue(st.Value, name, email, password)))
		}
		if err != nil {
			return fmt.Errorf("%s form: step %d (%s): %w", what, i+1, st.describe(), err)
		}
	}
	return nil
}

func (st FormStep) describe() string {
	switch {
	case st.Fill != "":
		return "fill " + st.Fill + " with " + st.Value
	case st.Check != "":
		return "check " + st.Check
	}
	return "select " + st.Value + " in " + st.Select
}

func selectValue(v string) playwright.SelectOptionValues {
	return playwright.SelectOptionValues{ValuesOrLabels: &[]string{v}}
}
