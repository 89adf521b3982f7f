package targets

import (
	"bytes"
	"errors"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/authflow-e2e/authflow/internal/tokenmode"

	"github.com/goccy/go-yaml"
	"github.com/goccy/go-yaml/ast"
	"github.com/goccy/go-yaml/parser"
)

// Error is a validation error: it names the file, the field and what is allowed.
type Error struct {
	File  string
	Field string
	Msg   string
}

func (e *Error) Error() string {
	if e.Field == "" {
		return fmt.Sprintf("target %s: %s", e.File, e.Msg)
	}
	return fmt.Sprintf("target %s: %s: %s", e.File, e.Field, e.Msg)
}

// Errors is every problem found in one file.
type Errors []*Error

func (es Errors) Error() string {
	parts := make([]string, len(es))
	for i, e := range es {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

var serviceName = regexp.MustCompile(`^[a-z][a-z0-9-]{0,30}$`)

// Load reads, parses and validates a target file. tokenMode, when not empty, overrides the file's
// token.mode (AUTHFLOW_TOKEN_MODE) and must be one of token.modes.
func Load(path, tokenMode string) (*Target, error) {
	abs, err := filepath.Abs(path)
	if err != nil {
		return nil, fmt.Errorf("target %s: %w", path, err)
	}
	data, err := os.ReadFile(abs)
	if err != nil {
		return nil, fmt.Errorf("target %s: cannot read it: %w (AUTHFLOW_TARGET names the file)", path, err)
	}
	return parseFile(path, abs, data, tokenMode)
}

// Parse is Load for bytes already in memory; dir resolves relative build contexts and extends.
func Parse(name, dir string, data []byte, tokenMode string) (*Target, error) {
	return parseFile(name, filepath.Join(dir, filepath.Base(name)), data, tokenMode)
}

func parseFile(name, abs string, data []byte, tokenMode string) (*Target, error) {
	data, order, err := resolveExtends(name, abs, data, 0, nil)
	if err != nil {
		return nil, err
	}
	t := &Target{Path: name, Dir: filepath.Dir(abs)}
	if err := yaml.UnmarshalWithOptions(data, t, yaml.Strict(), yaml.DisallowUnknownField()); err != nil {
		return nil, &Error{File: name, Msg: yamlMessage(err) + "; see targets/README.md for the allowed fields"}
	}
	t.Order = order
	t.defaults()
	if tokenMode != "" {
		t.Token.Mode = tokenMode
	}
	if errs := t.validate(); len(errs) > 0 {
		return nil, errs
	}
	return t, nil
}

// yamlMessage turns a go-yaml error into one line with its position, without colours.
func yamlMessage(err error) string {
	msg := yaml.FormatError(err, false, false)
	msg = strings.TrimSpace(msg)
	return strings.Join(strings.Fields(msg), " ")
}

// serviceOrder returns the keys of the services mapping in file order.
func serviceOrder(data []byte) []string {
	f, err := parser.ParseBytes(data, 0)
	if err != nil || len(f.Docs) == 0 {
		return nil
	}
	root, ok := f.Docs[0].Body.(*ast.MappingNode)
	if !ok {
		return nil
	}
	for _, kv := range root.Values {
		if kv.Key.String() != "services" {
			continue
		}
		m, ok := kv.Value.(*ast.MappingNode)
		if !ok {
			return nil
		}
		var names []string
		for _, s := range m.Values {
			names = append(names, s.Key.String())
		}
		return names
	}
	return nil
}

func (t *Target) defaults() {
	if t.Token.Mode == "" {
		t.Token.Mode = ModeHS256
	}
	if len(t.Token.Modes) == 0 {
		t.Token.Modes = []string{t.Token.Mode}
	}
	if t.Postgres.Alias == "" {
		t.Postgres.Alias = "db"
	}
	if t.Postgres.Database == "" {
		t.Postgres.Database = "app"
	}
	if t.Postgres.User == "" {
		t.Postgres.User = "app"
	}
	if t.Postgres.Password == "" {
		t.Postgres.Password = "app"
	}
	if t.App.AuthBasePath == "" {
		t.App.AuthBasePath = "/api/auth"
	}
	if t.App.BetterAuth == "" {
		t.App.BetterAuth = DefaultBetterAuth
	}
	if t.App.NotFound == "" {
		t.App.NotFound = NotFoundProtocol
	}
	switch strings.ToLower(strings.TrimSpace(t.App.ClientIPHeader)) {
	case "":
		t.App.ClientIPHeader = DefaultClientIPHeader
	case "none":
		t.App.ClientIPHeader = ""
	}
	if t.App.TokenPath == "" {
		t.App.TokenPath = t.App.AuthBasePath + "/token"
	}
	if t.App.JWKSPath == "" {
		t.App.JWKSPath = t.App.AuthBasePath + "/jwks"
	}
	for name, s := range t.Services {
		if s == nil {
			continue
		}
		if s.Alias == "" {
			s.Alias = name
		}
		if s.Build != nil && s.Build.Dockerfile == "" {
			s.Build.Dockerfile = "Dockerfile"
		}
		if s.Ready.Status == 0 {
			s.Ready.Status = 200
		}
	}
	if len(t.Order) != len(t.Services) {
		t.Order = t.Order[:0]
		for name := range t.Services {
			t.Order = append(t.Order, name)
		}
		sort.Strings(t.Order)
	}
}

func (t *Target) validate() Errors {
	var errs Errors
	add := func(field, format string, a ...any) {
		errs = append(errs, &Error{File: t.Path, Field: field, Msg: fmt.Sprintf(format, a...)})
	}
	modes := tokenmode.Names()
	allowed := strings.Join(modes, ", ")
	for _, m := range t.Token.Modes {
		if !slices.Contains(modes, m) {
			add("token.modes", "%q is not a token mode; allowed: %s", m, allowed)
		}
	}
	if !slices.Contains(modes, t.Token.Mode) {
		add("token.mode", "%q is not a token mode; allowed: %s (AUTHFLOW_TOKEN_MODE overrides it)", t.Token.Mode, allowed)
	} else if !slices.Contains(t.Token.Modes, t.Token.Mode) {
		add("token.mode", "%q is not one of this target's token.modes %v", t.Token.Mode, t.Token.Modes)
	}
	for m := range t.Token.Lifetime {
		if !slices.Contains(modes, m) {
			add("token.lifetime", "%q is not a token mode; allowed keys: %s", m, allowed)
		}
	}
	if a := t.Token.Alg; a != "" && !slices.Contains(tokenmode.Asymmetric, a) {
		add("token.alg", "%q: want one of %s (the algorithm of the app's published keys)", a, strings.Join(tokenmode.Asymmetric, ", "))
	}
	if len(t.Postgres.Image) == 0 && t.Postgres.DSN == "" {
		add("postgres.image", "missing; list image names to try in order, e.g. [postgres:17-alpine, authflow.local/postgres:17], or give postgres.dsn for the app's own database")
	}
	for i, st := range t.Postgres.Init {
		f := fmt.Sprintf("postgres.init[%d]", i)
		n := 0
		for _, set := range []bool{st.SQL != "", len(st.Command) > 0, st.Shell != ""} {
			if set {
				n++
			}
		}
		switch {
		case n != 1:
			add(f, "give exactly one of sql (a file), command (argv) or shell (a line for /bin/sh -c)")
		case st.SQL != "":
			if _, err := os.Stat(t.contextDir(st.SQL)); err != nil {
				add(f+".sql", "no file at %s", t.contextDir(st.SQL))
			}
		}
		if st.Cwd != "" {
			if fi, err := os.Stat(t.contextDir(st.Cwd)); err != nil || !fi.IsDir() {
				add(f+".cwd", "no folder at %s", t.contextDir(st.Cwd))
			}
		}
	}
	if len(t.Services) == 0 {
		add("services", "missing; at least one service (web, backend, ...) is required")
	}
	for _, name := range t.Order {
		s := t.Services[name]
		f := "services." + name
		if !serviceName.MatchString(name) {
			add(f, "service names are lowercase letters, digits and '-', starting with a letter")
		}
		if s == nil {
			add(f, "empty; give it build, image, process or url")
			continue
		}
		n := 0
		for _, set := range []bool{s.Build != nil, s.Image != "", s.URL != "", s.Process != nil} {
			if set {
				n++
			}
		}
		if n != 1 {
			add(f, "give exactly one of build (a Dockerfile), image (a local image), process (a command on the host) or url (an already running service); found %d", n)
		}
		if l := s.Logs; l != nil {
			n := 0
			for _, set := range []bool{l.File != "", len(l.Command) > 0, l.Shell != ""} {
				if set {
					n++
				}
			}
			switch {
			case s.URL == "":
				add(f+".logs", "only for url: services; a service authflow starts is logged from its own output")
			case n != 1:
				add(f+".logs", "give exactly one of file (a log file to follow), command (argv) or shell (a line for /bin/sh -c)")
			}
		}
		if p := s.Process; p != nil {
			if (len(p.Command) == 0) == (p.Shell == "") {
				add(f+".process", "give command (argv, e.g. [node, server.mjs]) or shell (a line for /bin/sh -c), not both or neither")
			}
			if dir := t.contextDir(p.Cwd); p.Cwd != "" {
				if fi, err := os.Stat(dir); err != nil || !fi.IsDir() {
					add(f+".process.cwd", "no folder at %s", dir)
				}
			}
		}
		if s.Build != nil && s.Build.Context == "" {
			add(f+".build.context", "missing; a folder relative to the target file")
		} else if s.Build != nil {
			ctx := t.contextDir(s.Build.Context)
			if _, err := os.Stat(filepath.Join(ctx, s.Build.Dockerfile)); err != nil {
				add(f+".build", "no Dockerfile at %s", filepath.Join(ctx, s.Build.Dockerfile))
			}
		}
		if s.URL == "" && s.Process == nil && (s.Port < 1 || s.Port > 65535) {
			if s.Port == 0 {
				add(f+".port", "missing; the port the service listens on inside its container (1-65535)")
			} else {
				add(f+".port", "%d is not a port; allowed: 1-65535", s.Port)
			}
		}
		if s.Ready.Path != "" && !strings.HasPrefix(s.Ready.Path, "/") {
			add(f+".ready.path", "%q must start with /", s.Ready.Path)
		}
		if s.Ready.Status < 100 || s.Ready.Status > 599 {
			add(f+".ready.status", "%d is not an HTTP status", s.Ready.Status)
		}
	}
	for _, p := range []struct{ field, v string }{
		{"app.auth_base_path", t.App.AuthBasePath}, {"app.token_path", t.App.TokenPath}, {"app.jwks_path", t.App.JWKSPath},
	} {
		if !strings.HasPrefix(p.v, "/") {
			add(p.field, "%q must be a path starting with /", p.v)
		}
	}
	if !slices.Contains(BetterAuthVersions, t.App.BetterAuth) {
		add("app.better_auth", "%q is not a Better Auth line the suites know; known: %s (use the major.minor of the app's better-auth)",
			t.App.BetterAuth, strings.Join(BetterAuthVersions, ", "))
	}
	if !slices.Contains(NotFoundValues, t.App.NotFound) {
		add("app.not_found", "%q: want %s", t.App.NotFound, strings.Join(NotFoundValues, " or "))
	}
	for _, f := range slices.Sorted(maps.Keys(t.App.Features)) {
		if _, ok := Features[f]; !ok {
			add("app.features."+f, "unknown feature; known: %s", strings.Join(slices.Sorted(maps.Keys(Features)), ", "))
		}
	}
	if t.App.Has(FeatureTasks) && t.App.Probes["tasks_for_user"] == "" {
		add("app.probes.tasks_for_user", "missing: the tasks feature reads the user's tasks with it; add the query, or set app.features.tasks: false if the app has no tasks")
	}
	taken := map[int]string{}
	for _, name := range t.Order {
		s := t.Services[name]
		if s == nil || s.HostPort == 0 {
			continue
		}
		switch {
		case s.URL != "":
			add("services."+name+".host_port", "a url: service is not started, so its port is the URL's")
		case s.HostPort < 1 || s.HostPort > 65535:
			add("services."+name+".host_port", "%d is not a TCP port", s.HostPort)
		case taken[s.HostPort] != "":
			add("services."+name+".host_port", "%d is also the host_port of services.%s", s.HostPort, taken[s.HostPort])
		default:
			taken[s.HostPort] = name
		}
	}
	if h := t.App.ClientIPHeader; h != "" && !validHeaderName(h) {
		add("app.client_ip_header", "%q is not an HTTP header name (e.g. X-Forwarded-For, X-Real-IP; none sends no address)", h)
	}
	if t.App.WebURL == "" {
		add("app.web_url", "missing; the URL the browser opens, e.g. \"{{ .Services.web.PublicURL }}\"")
	}
	if t.App.ChatKitURL == "" {
		add("app.chatkit_url", "missing; the ChatKit endpoint, e.g. \"{{ .Services.backend.PublicURL }}/chatkit\"")
	}
	if len(errs) > 0 {
		return errs
	}
	// Render every template once against placeholder ports and the real environment: a bad template,
	// a reference to a service that does not exist, an env variable that a secret or URL needs and
	// that is unset fail here, at load, not in the middle of a run.
	if _, err := t.Render(placeholderInputs(t)); err != nil {
		var te *Error
		if errors.As(err, &te) {
			return Errors{te}
		}
		add("", "%v", err)
	}
	return errs
}

func placeholderInputs(t *Target) Inputs {
	ports := map[string]int{}
	for i, name := range t.Order {
		ports[name] = 40000 + i
	}
	images := map[string]string{}
	for k, v := range t.Images {
		if len(v) > 0 {
			images[k] = v[0]
		}
	}
	return Inputs{
		HostPorts:        ports,
		PostgresHostPort: 40100,
		Secret:           "placeholder-secret-placeholder-secret",
		Images:           images,
		Env:              os.Getenv,
	}
}

// render executes one template string; field names it in errors.
func render(file, field, text string, data any, funcs map[string]any) (string, error) {
	if !strings.Contains(text, "{{") {
		return text, nil
	}
	tpl, err := newTemplate(field, funcs).Parse(text)
	if err != nil {
		return "", &Error{File: file, Field: field, Msg: "bad template: " + templateMessage(err)}
	}
	var b bytes.Buffer
	if err := tpl.Execute(&b, data); err != nil {
		return "", &Error{File: file, Field: field, Msg: "bad template: " + templateMessage(err) +
			"; available: .Secret .TokenMode .Postgres.{DSN,HostDSN,Alias,Database,User,Password} .Services.<name>.{PublicURL,InternalURL,Alias,Port,HostPort} and the functions env, image"}
	}
	return b.String(), nil
}

func templateMessage(err error) string {
	s := err.Error()
	// "template: services.web.env.X:1:12: executing ..." -> keep what follows the position.
	if i := strings.Index(s, ": "); i >= 0 && strings.HasPrefix(s, "template: ") {
		s = s[i+2:]
	}
	return s
}

// DefaultClientIPHeader is where Better Auth reads the client address unless configured otherwise.
const DefaultClientIPHeader = "X-Forwarded-For"

// validHeaderName reports whether h is an RFC 9110 field name (a token).
func validHeaderName(h string) bool {
	for _, r := range h {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("!#$%&'*+-.^_`|~", r)) {
			return false
		}
	}
	return h != ""
}
