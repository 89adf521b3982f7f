package probe

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/url"
	"regexp"
	"strings"
)

// RenderOptions are what the file's header says besides the findings.
type RenderOptions struct {
	// Command is the command line that wrote the file, for the header.
	Command string
	// Took is how long the probe took, for the header ("" leaves it out).
	Took string
}

// Render writes the target file: every found field with a comment saying how it was found, a
// "# TODO:" comment for everything the probe could not find and for what no probe can (the secret,
// the database, the budgets, the app's own data). It never holds a secret, a password, a cookie or
// a token: the probe's Result has none.
func Render(r *Result, o RenderOptions) []byte {
	w := &writer{}
	w.comment(0, "A first target file for the app at %s, written by `%s`%s.", r.WebURL, o.Command, tookSuffix(o.Took))
	w.comment(0, "Each value says how it was found; \"TODO:\" marks what the probe could not find. See targets/README.md for")
	w.comment(0, "every field. Fill in the TODOs, then run the suites: authflow test -target <this file>")
	if len(r.Notes) > 0 {
		w.comment(0, "")
		w.comment(0, "What the probe saw that no field says:")
		for _, n := range r.Notes {
			w.comment(0, "  - %s", n)
		}
	}
	w.kv(0, "name", appName(r.WebURL), "labels the harness's containers and artifacts; rename at will")

	mode := r.Mode.Value
	switch mode {
	case "hs256":
		w.todo(0, `secret: '{{ env "MYAPP_BETTER_AUTH_SECRET" }}'   # the app's BETTER_AUTH_SECRET, which signs its HS256 tokens (>= 32 characters); read it from the environment, never write it here`)
	default:
		w.todo(0, `secret: '{{ env "MYAPP_BETTER_AUTH_SECRET" }}'   # optional in jwks mode: the app's BETTER_AUTH_SECRET lets the suites recover its signing key from the jwks table`)
	}
	w.line(0, "token:")
	if mode != "" {
		w.kv(1, "mode", mode, r.Mode.How)
		w.raw(1, "modes", "["+mode+"]", "the mode the app issues tokens in now; list both (hs256, jwks) if it can run in either")
		w.line(1, "lifetime:")
		if r.Lifetime.Found() {
			w.kv(2, mode, r.Lifetime.Value, r.Lifetime.How)
		} else {
			w.todo(2, "%s: <duration>   # %s", mode, r.Lifetime.Todo)
		}
		if r.Alg.Found() {
			w.kv(1, "alg", r.Alg.Value, r.Alg.How)
		}
	} else {
		w.todo(1, "mode: hs256 or jwks   # %s", r.Mode.Todo)
		w.todo(1, "lifetime: {<mode>: <duration>}   # the longest lifetime a token of the app may have")
	}

	w.line(0, "postgres:")
	w.todo(1, `dsn: '{{ env "MYAPP_DATABASE_URL" }}'   # the app's own database (postgres://user:password@host:5432/db): the suites read users, sessions and jwks there; authflow starts none`)

	w.line(0, "services:")
	for _, s := range r.Services {
		w.line(1, s.Name+":")
		w.kv(2, "url", s.URL, s.How)
		if s.Ready.Found() {
			w.raw(2, "ready", "{path: "+scalar(s.Ready.Value)+"}", s.Ready.How)
		} else if s.Ready.Todo != "" {
			w.todo(2, "ready: {path: /health}   # %s", s.Ready.Todo)
		}
		w.todo(2, "logs: {command: [docker, logs, -f, --since, 0s, <container>]}   # or {file: <log file>}: where this service's logs are, for failure messages and the credential scan")
	}
	if len(r.Services) < 2 && !r.ChatKitURL.Found() {
		w.todo(1, "backend: {url: http://localhost:8000}   # the ChatKit backend, when it is not served by the web app")
	}

	tmpl := func(v string) string { return templated(v, r.Services) }
	w.line(0, "app:")
	w.kv(1, "web_url", tmpl(r.WebURL), "the -url given")
	w.finding(1, "auth_base_path", r.AuthBasePath, nil)
	w.finding(1, "token_path", r.TokenPath, nil)
	w.finding(1, "jwks_path", r.JWKSPath, nil)
	w.finding(1, "chatkit_url", r.ChatKitURL, tmpl)
	if mode == "jwks" {
		w.finding(1, "issuer", r.Issuer, tmpl)
		w.finding(1, "audience", r.Audience, tmpl)
	}
	w.finding(1, "better_auth", r.BetterAuth, nil)
	w.finding(1, "not_found", r.NotFound, nil)

	w.line(1, "pages:")
	for _, k := range pageKeys {
		w.finding(2, k, r.pageOrTodo(k), nil)
	}
	w.line(1, "selectors:")
	for _, k := range selectorKeys {
		if r.formReplaces(k) {
			continue
		}
		w.finding(2, k, r.selectorOrTodo(k), nil)
	}
	if len(r.SignUpSteps) > 0 || r.SignUpLandsOn.Found() || r.SignUpLandsOn.Todo != "" {
		w.line(1, "forms:")
		w.line(2, "signup:")
		if len(r.SignUpSteps) > 0 {
			w.comment(3, "the sign-up form has more than name, email and password; these steps replace signup_name/email/password")
			w.line(3, "steps:")
			for _, st := range r.SignUpSteps {
				if st.Todo != "" {
					w.todo(4, "%s", st.Todo)
					continue
				}
				item := "{" + st.Action + ": " + scalar(st.Sel)
				if st.Value != "" {
					item += ", value: " + st.Value
				}
				w.raw(4, "-", item+"}", st.How)
			}
		}
		switch {
		case r.SignUpLandsOn.Found():
			w.kv(3, "lands_on", r.SignUpLandsOn.Value, r.SignUpLandsOn.How)
		case r.SignUpLandsOn.Todo != "":
			w.todo(3, "lands_on: login   # %s", r.SignUpLandsOn.Todo)
		}
	}
	w.todo(1, `probes: {tasks_for_user: "SELECT title, completed FROM tasks WHERE user_id = $1 ORDER BY id"}   # the app's own data: a user's tasks ($1 = the user id), needed while the tasks feature is on`)
	w.todo(1, "features: {tasks: false}   # if the assistant keeps no task list (add task / list tasks); context and browser stay on")
	w.todo(1, "budgets: {exp_leeway: 5m, nbf_leeway: 5m, token_after_signout: <lifetime>, token_after_user_delete: <lifetime>}   # the app's policy limits; the defaults of targets/README.md apply while unset")
	return w.buf.Bytes()
}

func tookSuffix(t string) string {
	if t == "" {
		return ""
	}
	return " (the probe took " + t + ")"
}

// appName is a name for the target from the web URL's host ("myapp" for localhost).
func appName(web string) string {
	u, err := url.Parse(web)
	if err != nil {
		return "myapp"
	}
	h := strings.ToLower(u.Hostname())
	if h == "" || h == "localhost" || strings.HasPrefix(h, "127.") || h == "::1" || h == "0.0.0.0" {
		return "myapp"
	}
	h, _, _ = strings.Cut(h, ".")
	h = regexp.MustCompile(`[^a-z0-9-]+`).ReplaceAllString(h, "-")
	if h == "" {
		return "myapp"
	}
	return h
}

// templated writes a URL under a service's origin as "{{ .Services.<name>.PublicURL }}<rest>".
func templated(v string, services []Service) string {
	for _, s := range services {
		if v == s.URL || strings.HasPrefix(v, s.URL+"/") {
			return "{{ .Services." + s.Name + ".PublicURL }}" + strings.TrimPrefix(v, s.URL)
		}
	}
	return v
}

// writer builds the YAML text line by line.
type writer struct{ buf bytes.Buffer }

func (w *writer) line(indent int, s string) {
	w.buf.WriteString(strings.Repeat("  ", indent))
	w.buf.WriteString(s)
	w.buf.WriteByte('\n')
}

func (w *writer) comment(indent int, format string, a ...any) {
	raw := fmt.Sprintf(format, a...)
	s := oneLine(raw)
	if s != "" {
		s = raw[:len(raw)-len(strings.TrimLeft(raw, " "))] + s // keep the indentation of a list
	}
	if s == "" {
		w.line(indent, "#")
		return
	}
	w.line(indent, "# "+s)
}

func (w *writer) todo(indent int, format string, a ...any) {
	w.line(indent, "# TODO: "+oneLine(fmt.Sprintf(format, a...)))
}

// kv writes "key: value   # how" with value as a YAML scalar (quoted when it must be).
func (w *writer) kv(indent int, key, value, how string) { w.raw(indent, key, scalar(value), how) }

// raw writes "key: value   # how" with value as given (YAML flow: [..], {..}); key "-" writes a
// list item.
func (w *writer) raw(indent int, key, value, how string) {
	s := key + ": " + value
	if key == "-" {
		s = "- " + value
	}
	if how != "" {
		s += "   # " + oneLine(how)
	}
	w.line(indent, s)
}

// finding writes a found value with its comment, or the TODO for it; tmpl (may be nil) rewrites
// the value.
func (w *writer) finding(indent int, key string, f Finding, tmpl func(string) string) {
	switch {
	case f.Found():
		v := f.Value
		if tmpl != nil {
			v = tmpl(v)
		}
		w.kv(indent, key, v, f.How)
	case f.Todo != "":
		w.todo(indent, "%s: %s", key, f.Todo)
	}
}

func oneLine(s string) string {
	return strings.Join(strings.Fields(strings.ReplaceAll(s, "\r", " ")), " ")
}

// plain matches scalars that YAML reads back as the same string without quotes.
var (
	plainRe   = regexp.MustCompile(`^[A-Za-z0-9_/.][A-Za-z0-9_/.:-]*$`)
	notString = regexp.MustCompile(`^([-+]?[0-9][0-9_.eE+-]*|0x[0-9a-fA-F]+|0o[0-7]+|\.inf|\.nan|true|false|yes|no|on|off|null|~|y|n)$`)
)

// scalar quotes s for YAML when it must be: double quotes (JSON escapes) by default, single quotes
// when s holds a double quote and no single quote (label="Password" reads better that way).
func scalar(s string) string {
	if plainRe.MatchString(s) && !notString.MatchString(strings.ToLower(s)) && !strings.Contains(s, "://") || isURL(s) {
		return s
	}
	if strings.Contains(s, `"`) && !strings.Contains(s, "'") && !strings.ContainsAny(s, "\n\t\\") {
		return "'" + s + "'"
	}
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(b.String(), "\n")
}

// isURL reports a plain http(s) URL without characters YAML gives meaning to.
func isURL(s string) bool {
	return (strings.HasPrefix(s, "http://") || strings.HasPrefix(s, "https://")) && regexp.MustCompile(`^[A-Za-z0-9_/.:?=&%-]+$`).MatchString(s)
}
