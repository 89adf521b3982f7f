package targets

import (
	"fmt"
	"maps"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"text/template"
	"time"

	"github.com/authflow-e2e/authflow/internal/tokenmode"
)

// Inputs are the values known only at run time.
type Inputs struct {
	// HostPorts is the loopback port each container service is published on (and each process
	// service listens on), chosen before start.
	HostPorts map[string]int
	// PostgresHostPort is the loopback port Postgres is published on, chosen before start (0: not
	// known, and .Postgres.HostDSN is empty).
	PostgresHostPort int
	// Secret is the shared secret when the file sets none (a fresh random one per run).
	Secret string
	// Images maps names under `images:` to the image that was found for them.
	Images map[string]string
	// Env looks up environment variables for the env template function (os.Getenv in real runs).
	Env func(string) string
}

// ServiceVars are what templates see of a service.
type ServiceVars struct {
	Name, Alias    string
	Port, HostPort int
	PublicURL      string // http://localhost:<host port>, what the browser and the harness use
	InternalURL    string // http://<alias>:<port>, what other services use
}

// PostgresVars are what templates see of the database.
type PostgresVars struct {
	Alias, Database, User, Password string
	DSN                             string // for services on the stack's network
	HostDSN                         string // from the host (127.0.0.1:<published port>), for process services
}

// Vars is the data of every template.
type Vars struct {
	Secret    string
	TokenMode string
	Postgres  PostgresVars
	Services  map[string]ServiceVars
}

// Rendered is a target with every template filled in: what the stack starter and the suites use.
type Rendered struct {
	Name      string
	File      string
	TokenMode string
	// Mode is the registered token mode called TokenMode.
	Mode tokenmode.Mode
	// Alg is token.alg ("" for any algorithm of the published keys).
	Alg    string
	Secret string
	// Lifetime is the longest a token of this mode may live (0 when the target does not say).
	Lifetime time.Duration
	Postgres RenderedPostgres
	Services []RenderedService
	App      AppSpec
}

// RenderedPostgres is the database to start (or, with DSN set, the app's own one).
type RenderedPostgres struct {
	Images                          []string
	Alias, Database, User, Password string
	DSN                             string // the app's own database; "" when authflow starts one
	Init                            []InitStep
}

// RenderedService is one service to start (or, with URL set, one already running).
type RenderedService struct {
	ServiceVars
	Build   *BuildSpec   // Context is absolute
	Process *ProcessSpec // Cwd is absolute
	Logs    *LogsSpec    // File is absolute
	Image   string
	URL     string
	Env     map[string]string
	Ready   ReadySpec
}

// Service returns the rendered service by name.
func (r *Rendered) Service(name string) (RenderedService, bool) {
	for _, s := range r.Services {
		if s.Name == name {
			return s, true
		}
	}
	return RenderedService{}, false
}

func newTemplate(name string, funcs map[string]any) *template.Template {
	return template.New(name).Option("missingkey=error").Funcs(funcs)
}

// Render fills in every template of the target.
func (t *Target) Render(in Inputs) (*Rendered, error) {
	if in.Env == nil {
		in.Env = func(string) string { return "" }
	}
	secret := in.Secret
	// unset collects the variables an env call found unset or empty while one field renders, so a
	// field that renders to nothing useful can name the variable instead of the empty result.
	var unset []string
	funcs := map[string]any{
		"env": func(name string) string {
			v := in.Env(name)
			if v == "" {
				unset = append(unset, name)
			}
			return v
		},
		"image": func(name string) (string, error) {
			img, ok := in.Images[name]
			if !ok || img == "" {
				return "", fmt.Errorf("no image resolved for %q (declare it under images:)", name)
			}
			return img, nil
		},
	}
	if t.Secret != "" {
		unset = nil
		s, err := render(t.Path, "secret", t.Secret, nil, funcs)
		if err != nil {
			return nil, err
		}
		secret = s
		if len(secret) < 32 && len(unset) > 0 {
			return nil, &Error{File: t.Path, Field: "secret", Msg: unsetMessage(unset) + " (the secret is read from it)"}
		}
	}
	if len(secret) < 32 {
		return nil, &Error{File: t.Path, Field: "secret", Msg: "the shared secret must be at least 32 characters (leave it out for a random one per run)"}
	}
	pg := PostgresVars{Alias: t.Postgres.Alias, Database: t.Postgres.Database, User: t.Postgres.User, Password: t.Postgres.Password}
	pg.DSN = fmt.Sprintf("postgres://%s:%s@%s:5432/%s?sslmode=disable", pg.User, pg.Password, pg.Alias, pg.Database)
	if in.PostgresHostPort != 0 {
		pg.HostDSN = fmt.Sprintf("postgres://%s:%s@127.0.0.1:%d/%s?sslmode=disable", pg.User, pg.Password, in.PostgresHostPort, pg.Database)
	}
	ownDSN := ""
	if t.Postgres.DSN != "" {
		unset = nil
		d, err := render(t.Path, "postgres.dsn", t.Postgres.DSN, nil, funcs)
		if err != nil {
			return nil, err
		}
		if !strings.HasPrefix(d, "postgres://") && !strings.HasPrefix(d, "postgresql://") {
			msg := fmt.Sprintf("%q is not a postgres:// URL", redactDSN(d))
			if len(unset) > 0 {
				msg += ": " + unsetMessage(unset)
			}
			return nil, &Error{File: t.Path, Field: "postgres.dsn", Msg: msg}
		}
		ownDSN, pg.DSN, pg.HostDSN = d, d, d
	}
	vars := Vars{Secret: secret, TokenMode: t.Token.Mode, Postgres: pg, Services: map[string]ServiceVars{}}
	for _, name := range t.Order {
		s := t.Services[name]
		sv := ServiceVars{Name: name, Alias: s.Alias, Port: s.Port}
		if s.URL != "" {
			unset = nil
			u, err := render(t.Path, "services."+name+".url", s.URL, vars, funcs)
			if err != nil {
				return nil, err
			}
			if err := checkURL(t.Path, "services."+name+".url", u, unset); err != nil {
				return nil, err
			}
			sv.PublicURL, sv.InternalURL = u, u
		} else if s.Process != nil {
			// a host process: one port, reached on loopback by the browser, the harness and other processes
			sv.HostPort = in.HostPorts[name]
			sv.Port = sv.HostPort
			sv.PublicURL = fmt.Sprintf("http://localhost:%d", sv.HostPort)
			sv.InternalURL = sv.PublicURL
		} else {
			sv.HostPort = in.HostPorts[name]
			sv.PublicURL = fmt.Sprintf("http://localhost:%d", sv.HostPort)
			sv.InternalURL = fmt.Sprintf("http://%s:%d", s.Alias, s.Port)
		}
		vars.Services[name] = sv
	}
	r := &Rendered{
		Name: t.Name, File: t.Path, TokenMode: t.Token.Mode, Alg: t.Token.Alg, Secret: secret,
		Lifetime: t.Token.Lifetime[t.Token.Mode].D(),
		Postgres: RenderedPostgres{Images: t.Postgres.Image, Alias: pg.Alias, Database: pg.Database, User: pg.User, Password: pg.Password, DSN: ownDSN},
	}
	r.Mode, _ = tokenmode.Get(t.Token.Mode) // validated by Load
	for _, name := range t.Order {
		s := t.Services[name]
		rs := RenderedService{ServiceVars: vars.Services[name], Image: s.Image, URL: vars.Services[name].PublicURL, Ready: s.Ready}
		if s.URL == "" {
			rs.URL = ""
		}
		if s.Image != "" {
			img, err := render(t.Path, "services."+name+".image", s.Image, vars, funcs)
			if err != nil {
				return nil, err
			}
			rs.Image = img
		}
		if s.Process != nil {
			p := *s.Process
			p.Cwd = t.contextDir(p.Cwd)
			rs.Process = &p
		}
		if s.Logs != nil {
			l := *s.Logs
			if l.File != "" {
				l.File = t.contextDir(l.File)
			}
			rs.Logs = &l
		}
		if s.Build != nil {
			b := &BuildSpec{Context: t.contextDir(s.Build.Context), Dockerfile: s.Build.Dockerfile, Args: map[string]string{}}
			for _, k := range slices.Sorted(maps.Keys(s.Build.Args)) {
				v, err := render(t.Path, "services."+name+".build.args."+k, s.Build.Args[k], vars, funcs)
				if err != nil {
					return nil, err
				}
				b.Args[k] = v
			}
			rs.Build = b
		}
		rs.Env = map[string]string{}
		for _, k := range slices.Sorted(maps.Keys(s.Env)) {
			v, err := render(t.Path, "services."+name+".env."+k, s.Env[k], vars, funcs)
			if err != nil {
				return nil, err
			}
			rs.Env[k] = v
		}
		r.Services = append(r.Services, rs)
	}
	app := t.App
	strs := []struct {
		field string
		p     *string
	}{{"app.web_url", &app.WebURL}, {"app.chatkit_url", &app.ChatKitURL}, {"app.issuer", &app.Issuer}, {"app.audience", &app.Audience}}
	for _, f := range strs {
		unset = nil
		v, err := render(t.Path, f.field, *f.p, vars, funcs)
		if err != nil {
			return nil, err
		}
		if f.field == "app.web_url" || f.field == "app.chatkit_url" {
			if err := checkURL(t.Path, f.field, v, unset); err != nil {
				return nil, err
			}
		}
		*f.p = v
	}
	r.App = app
	for i, st := range t.Postgres.Init {
		out := InitStep{SQL: st.SQL, Command: st.Command, Shell: st.Shell, Env: map[string]string{}}
		if st.SQL != "" {
			out.SQL = t.contextDir(st.SQL)
		}
		out.Cwd = t.contextDir(st.Cwd)
		for _, k := range slices.Sorted(maps.Keys(st.Env)) {
			v, err := render(t.Path, fmt.Sprintf("postgres.init[%d].env.%s", i, k), st.Env[k], vars, funcs)
			if err != nil {
				return nil, err
			}
			out.Env[k] = v
		}
		r.Postgres.Init = append(r.Postgres.Init, out)
	}
	return r, nil
}

func unsetMessage(names []string) string {
	if len(names) == 1 {
		return fmt.Sprintf("the environment variable %s is not set (or empty)", names[0])
	}
	return fmt.Sprintf("the environment variables %s are not set (or empty)", strings.Join(names, ", "))
}

// checkURL requires an absolute http(s) URL; when the field read unset variables, the error names them.
func checkURL(file, field, v string, unset []string) error {
	if pu, err := url.Parse(v); err == nil && (pu.Scheme == "http" || pu.Scheme == "https") && pu.Host != "" {
		return nil
	}
	if len(unset) > 0 {
		return &Error{File: file, Field: field, Msg: fmt.Sprintf("%q is not an http(s) URL: %s", v, unsetMessage(unset))}
	}
	return &Error{File: file, Field: field, Msg: fmt.Sprintf("%q does not render to an http(s) URL", v)}
}

// contextDir resolves a build context: absolute as given, else relative to the target file.
func (t *Target) contextDir(c string) string {
	if filepath.IsAbs(c) {
		return c
	}
	return filepath.Join(t.Dir, c)
}

// redactDSN hides a DSN's password for messages (net/url's Redacted).
func redactDSN(d string) string {
	if u, err := url.Parse(d); err == nil {
		return u.Redacted()
	}
	return "(not a URL)"
}
