// Package targets loads and validates target files: YAML descriptions of a stack (its services, their
// env, readiness checks) and of how the harness talks to it (token mode, auth paths, ChatKit URL, UI
// paths and selectors). The reference stack is described by reference.yaml and loaded by the same code.
//
// A target is loaded in two steps: Load parses and validates the file (including every template, by
// rendering it once against placeholder values), and Render fills in the values only known at run time
// (host ports, the shared secret) to produce a Rendered stack description.
package targets

import (
	"path/filepath"
	"time"

	"github.com/authflow-e2e/authflow/internal/tokenmode"
)

// The token modes of the reference app (every mode registered in internal/tokenmode is valid).
const (
	ModeHS256 = tokenmode.HS256
	ModeJWKS  = tokenmode.JWKS
)

// Target is a parsed, validated target file.
type Target struct {
	// Path is the file the target came from; Dir is its folder, against which build contexts resolve.
	Path string `yaml:"-"`
	Dir  string `yaml:"-"`

	Name     string              `yaml:"name"`
	Secret   string              `yaml:"secret"`
	Token    TokenSpec           `yaml:"token"`
	Images   map[string][]string `yaml:"images"`
	Postgres PostgresSpec        `yaml:"postgres"`
	Services map[string]*Service `yaml:"services"`
	// Baseline names a file of known failures (relative to this file): see internal/report.Baseline.
	Baseline string `yaml:"baseline"`
	// Order lists service names in the order they appear in the file (Go maps have none).
	Order []string `yaml:"-"`
	App   AppSpec  `yaml:"app"`
}

// TokenSpec says how the app issues JWTs.
type TokenSpec struct {
	// Mode is hs256 (HS256 with the shared secret) or jwks (asymmetric keys published as a JWKS).
	Mode string `yaml:"mode"`
	// Modes lists the modes the stack supports; AUTHFLOW_TOKEN_MODE may pick any of them.
	Modes []string `yaml:"modes"`
	// Lifetime per mode, e.g. {hs256: 30m, jwks: 15m}: the most a token may live.
	Lifetime map[string]Duration `yaml:"lifetime"`
	// Alg, when set, is the JWS algorithm the app signs with in a mode with published keys (jwks):
	// EdDSA, ES256, RS256 or PS256. The suites then require it of every token; unset, any algorithm
	// of the published keys passes.
	Alg string `yaml:"alg"`
}

// PostgresSpec describes the database container.
type PostgresSpec struct {
	Image    []string `yaml:"image"`
	Alias    string   `yaml:"alias"`
	Database string   `yaml:"database"`
	User     string   `yaml:"user"`
	Password string   `yaml:"password"`
	// DSN is the app's own database, which authflow does not start (image and the names above are then
	// not used): the suites' probes and checks use it, and templates give it as .Postgres.DSN and
	// .Postgres.HostDSN. authflow creates and drops nothing there; its tests add users and rows.
	DSN string `yaml:"dsn"`
	// Init runs once the database is up and before any service starts, in order: SQL files and
	// commands on the host (a migration: alembic upgrade head, npx @better-auth/cli migrate).
	Init []InitStep `yaml:"init"`
}

// InitStep is one of sql (a file, relative to the target file), command (argv) or shell (a /bin/sh -c
// line), with cwd and env for commands; a command gets DATABASE_URL (the host DSN) besides env.
type InitStep struct {
	SQL     string            `yaml:"sql"`
	Command []string          `yaml:"command"`
	Shell   string            `yaml:"shell"`
	Cwd     string            `yaml:"cwd"`
	Env     map[string]string `yaml:"env"`
}

// Service is one app service: built from a Dockerfile, run from an image, or already running at a URL.
type Service struct {
	Build *BuildSpec `yaml:"build"`
	Image string     `yaml:"image"`
	URL   string     `yaml:"url"`
	// Process runs the service on the host (like Playwright's webServer); it listens on its host port
	// (host_port, else a free one), which templates give it as .Services.<name>.Port.
	Process *ProcessSpec `yaml:"process"`
	// Logs is where a url: service's logs come from (authflow started it not, so it has no output of
	// its own): a file to follow, or a command that prints them (docker logs -f NAME, journalctl -fu NAME).
	Logs *LogsSpec `yaml:"logs"`
	Port int       `yaml:"port"`
	// HostPort fixes the loopback port the service is published on (0: a free one per run), for a
	// frontend whose public URLs are inlined when its image is built (Next.js NEXT_PUBLIC_*): with
	// fixed ports the URLs, and so the image, stay the same from run to run.
	HostPort int               `yaml:"host_port"`
	Alias    string            `yaml:"alias"`
	Env      map[string]string `yaml:"env"`
	Ready    ReadySpec         `yaml:"ready"`
}

// LogsSpec is file (followed from the run's start), command (argv) or shell (a /bin/sh -c line).
type LogsSpec struct {
	File    string   `yaml:"file"`
	Command []string `yaml:"command"`
	Shell   string   `yaml:"shell"`
}

// ProcessSpec is a host process: command (argv) or shell (a /bin/sh -c line), in cwd (relative to the
// target file; default its folder).
type ProcessSpec struct {
	Command []string `yaml:"command"`
	Shell   string   `yaml:"shell"`
	Cwd     string   `yaml:"cwd"`
}

// BuildSpec is a Dockerfile build; Context is relative to the target file.
type BuildSpec struct {
	Context    string            `yaml:"context"`
	Dockerfile string            `yaml:"dockerfile"`
	Args       map[string]string `yaml:"args"`
}

// ReadySpec is an HTTP readiness check on the service's port.
type ReadySpec struct {
	Path    string   `yaml:"path"`
	Status  int      `yaml:"status"`
	Timeout Duration `yaml:"timeout"`
}

// AppSpec is what the harness needs to drive the app.
type AppSpec struct {
	WebURL       string            `yaml:"web_url"`
	AuthBasePath string            `yaml:"auth_base_path"`
	TokenPath    string            `yaml:"token_path"`
	JWKSPath     string            `yaml:"jwks_path"`
	ChatKitURL   string            `yaml:"chatkit_url"`
	Issuer       string            `yaml:"issuer"`
	Audience     string            `yaml:"audience"`
	Pages        map[string]string `yaml:"pages"`
	Selectors    map[string]string `yaml:"selectors"`
	Probes       map[string]string `yaml:"probes"`
	Budgets      map[string]string `yaml:"budgets"`
	// ClientIPHeader is the request header the app reads the client address from (Better Auth's
	// advanced.ipAddress.ipAddressHeaders; default X-Forwarded-For). Every harness client sends
	// its own address in it, so rate limits per address apply per simulated user; "none" sends none.
	ClientIPHeader string `yaml:"client_ip_header"`
	// Features turns the app-specific parts the suites test on or off (all on by default); a test
	// whose feature is off is reported as not applicable, with the reason. See [Features].
	Features map[string]bool `yaml:"features"`
	// BetterAuth is the Better Auth release line the app runs ("1.7" by default, or "1.4"): the
	// schema and the error codes the suites expect are that line's.
	BetterAuth string `yaml:"better_auth"`
	// Forms describes sign-up and login forms that are more than name, email and password.
	Forms FormsSpec `yaml:"forms"`
	// NotFound is how the ChatKit backend must answer a request about a thread the caller cannot
	// see (missing, deleted or another user's): NotFoundProtocol (default) or NotFound404.
	NotFound string `yaml:"not_found"`
}

// app.not_found values.
const (
	// NotFoundProtocol accepts every answer the ChatKit protocol allows, as the official SDK gives
	// them: items.list may answer an empty page and threads.delete a 2xx no-op (404 is preferred and
	// each such answer is noted in the summary); every other request must be refused.
	NotFoundProtocol = "protocol"
	// NotFound404 requires 404 for every such request (the reference app).
	NotFound404 = "404"
)

// NotFoundValues are the values app.not_found takes.
var NotFoundValues = []string{NotFoundProtocol, NotFound404}

// FormsSpec is app.forms.
type FormsSpec struct {
	SignUp FormSpec `yaml:"signup"`
	Login  FormSpec `yaml:"login"`
}

// FormSpec is one form: the steps that fill it (replacing the signup_*/login_* field selectors) and
// the page (a key of app.pages) the app lands on after a successful submit (default chat).
type FormSpec struct {
	Steps   []FormStep `yaml:"steps"`
	LandsOn string     `yaml:"lands_on"`
}

// FormStep is one of fill, check or select (a selector); value is what fill types or select picks:
// name, first_name, last_name, email, password (the persona's), or text:<literal>.
type FormStep struct {
	Fill   string `yaml:"fill"`
	Check  string `yaml:"check"`
	Select string `yaml:"select"`
	Value  string `yaml:"value"`
}

// BetterAuthVersions are the Better Auth lines a target can declare; the suites hold each line's
// schema and error codes (scenarios/dbprobe, scenarios/betterauth).
var BetterAuthVersions = []string{"1.4", "1.7"}

// DefaultBetterAuth is the line of the reference app.
const DefaultBetterAuth = "1.7"

// Features a target can declare, with what each means. A test that needs one the target turns off
// skips with "n/a: ..." and the reason, and the summary lists it.
var Features = map[string]string{
	FeatureTasks:   "the assistant keeps a task list (\"add task <title>\", \"list tasks\", \"complete task <n>\") whose rows app.probes.tasks_for_user reads",
	FeatureContext: "the assistant's reply can refer to an earlier message of the same thread",
	FeatureBrowser: "the web app has sign-up, login and chat pages with the ChatKit widget, which the browser suites drive",
}

// Feature names.
const (
	FeatureTasks   = "tasks"
	FeatureContext = "context"
	FeatureBrowser = "browser"
)

// Has reports whether the target has feature f (on unless the file turns it off).
func (a AppSpec) Has(f string) bool {
	on, set := a.Features[f]
	return !set || on
}

// Duration is a time.Duration written as "30s" or "15m" in YAML.
type Duration time.Duration

// UnmarshalText parses Go duration syntax.
func (d *Duration) UnmarshalText(b []byte) error {
	v, err := time.ParseDuration(string(b))
	if err != nil {
		return err
	}
	*d = Duration(v)
	return nil
}

// D returns the value as a time.Duration.
func (d Duration) D() time.Duration { return time.Duration(d) }

// BaselinePath is the baseline file, absolute ("" when the target has none).
func (t *Target) BaselinePath() string {
	if t.Baseline == "" || filepath.IsAbs(t.Baseline) {
		return t.Baseline
	}
	return filepath.Join(t.Dir, t.Baseline)
}
