package targets

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const minimal = `
name: mini
postgres:
  image: [pg:test]
services:
  web:
    image: web:test
    port: 3000
    env:
      URL: "{{ .Services.web.PublicURL }}"
      DB: "{{ .Postgres.DSN }}"
app:
  web_url: "{{ .Services.web.PublicURL }}"
  chatkit_url: "{{ .Services.web.PublicURL }}/chatkit"
  features: {tasks: false}
`

func parse(t *testing.T, src, mode string) (*Target, error) {
	t.Helper()
	return Parse("test.yaml", t.TempDir(), []byte(src), mode)
}

func TestLoad_ReferenceTargetLoadsInBothModes(t *testing.T) {
	for _, mode := range []string{"", ModeHS256, ModeJWKS} {
		tg, err := Load("reference.yaml", mode)
		require.NoError(t, err, "mode %q", mode)
		if mode == "" {
			mode = ModeHS256
		}
		assert.Equal(t, mode, tg.Token.Mode)
		assert.Equal(t, []string{"web", "backend"}, tg.Order, "services keep file order")
		r, err := tg.Render(Inputs{HostPorts: map[string]int{"web": 41000, "backend": 41001},
			Secret: strings.Repeat("s", 40), Images: map[string]string{"node": "authflow.local/node:20"},
			Env: func(k string) string { return map[string]string{"AUTHFLOW_FAULT": "slow-reply"}[k] }})
		require.NoError(t, err)
		web, _ := r.Service("web")
		be, _ := r.Service("backend")
		assert.Equal(t, "http://localhost:41000", web.Env["BETTER_AUTH_URL"])
		assert.Equal(t, "http://localhost:41001/chatkit", web.Env["CHATKIT_URL"])
		assert.Equal(t, "http://web:3000/api/auth/jwks", be.Env["JWKS_URL"])
		assert.Equal(t, mode, be.Env["TOKEN_MODE"])
		assert.Equal(t, "slow-reply", be.Env["AUTHFLOW_FAULT"])
		assert.Equal(t, "authflow.local/node:20", web.Build.Args["BASE_IMAGE"])
		assert.Equal(t, "postgres://app:app@db:5432/app?sslmode=disable", web.Env["DATABASE_URL"])
		assert.Equal(t, "http://localhost:41001/chatkit", r.App.ChatKitURL)
		assert.True(t, filepath.IsAbs(web.Build.Context))
	}
}

func TestLoad_UnknownFieldNamesFileAndField(t *testing.T) {
	_, err := parse(t, minimal+"\nextra_field: 1\n", "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test.yaml")
	assert.Contains(t, err.Error(), "extra_field")
	assert.Contains(t, err.Error(), "allowed fields")
}

func TestLoad_MissingPortSaysWhatIsAllowed(t *testing.T) {
	_, err := parse(t, strings.Replace(minimal, "    port: 3000\n", "", 1), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "test.yaml: services.web.port: missing")
	assert.Contains(t, err.Error(), "1-65535")
}

func TestLoad_BadTemplateNamesTheField(t *testing.T) {
	cases := map[string]string{
		"syntax":          `{{ .Services.web.PublicURL `,
		"unknown-service": `{{ .Services.nope.PublicURL }}`,
		"unknown-field":   `{{ .Nope }}`,
	}
	for name, tpl := range cases {
		t.Run("case="+name, func(t *testing.T) {
			src := strings.Replace(minimal, `"{{ .Postgres.DSN }}"`, `"`+tpl+`"`, 1)
			_, err := parse(t, src, "")
			require.Error(t, err)
			assert.Contains(t, err.Error(), "services.web.env.DB: bad template")
		})
	}
}

func TestLoad_TokenModeOverrideIsValidated(t *testing.T) {
	_, err := parse(t, minimal, "rsa")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `token.mode: "rsa" is not a token mode; allowed: hs256, jwks`)

	_, err = parse(t, minimal, ModeJWKS) // modes defaults to [hs256]
	require.Error(t, err)
	assert.Contains(t, err.Error(), "not one of this target's token.modes")
}

func TestLoad_ServiceNeedsExactlyOneWayToStart(t *testing.T) {
	src := strings.Replace(minimal, "    image: web:test\n", "    image: web:test\n    url: http://localhost:1\n", 1)
	_, err := parse(t, src, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "exactly one of build")
}

func TestLoad_BuildContextMustHoldADockerfile(t *testing.T) {
	dir := t.TempDir()
	src := strings.Replace(minimal, "    image: web:test\n", "    build: {context: app}\n", 1)
	_, err := Parse("test.yaml", dir, []byte(src), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "no Dockerfile at "+filepath.Join(dir, "app", "Dockerfile"))

	require.NoError(t, os.MkdirAll(filepath.Join(dir, "app"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "app", "Dockerfile"), []byte("FROM scratch\n"), 0o644))
	_, err = Parse("test.yaml", dir, []byte(src), "")
	require.NoError(t, err)
}

func TestLoad_AllProblemsAreReportedAtOnce(t *testing.T) {
	src := strings.NewReplacer("    port: 3000\n", "    port: 70000\n", "image: [pg:test]", "image: []").Replace(minimal)
	_, err := parse(t, src, "")
	var errs Errors
	require.ErrorAs(t, err, &errs)
	assert.Len(t, errs, 2, "%v", err)
}

func TestRender_ShortSecretIsRefused(t *testing.T) {
	tg, err := parse(t, minimal, "")
	require.NoError(t, err)
	_, err = tg.Render(Inputs{HostPorts: map[string]int{"web": 1}, Secret: "short"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "at least 32 characters")
}

func TestRender_ExternalServiceKeepsItsURL(t *testing.T) {
	src := strings.Replace(minimal, "    image: web:test\n    port: 3000\n", "    url: http://localhost:5173\n", 1)
	tg, err := parse(t, src, "")
	require.NoError(t, err)
	r, err := tg.Render(Inputs{Secret: strings.Repeat("x", 32)})
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:5173", r.App.WebURL)
	web, _ := r.Service("web")
	assert.Equal(t, "http://localhost:5173", web.URL)
}

// targets/README.md shows secrets and URLs read from the environment: they load when the variables are
// set, and a missing variable is named.
func TestLoad_EnvTemplatesForSecretAndURLsUseTheRealEnvironment(t *testing.T) {
	const src = `
name: envapp
secret: '{{ env "MYAPP_SECRET" }}'
postgres:
  image: [pg:test]
services:
  web:
    url: '{{ env "MYAPP_URL" }}'
app:
  web_url: "{{ .Services.web.PublicURL }}"
  chatkit_url: '{{ env "MYAPP_CHATKIT_URL" }}'
  features: {tasks: false}
`
	t.Run("set", func(t *testing.T) {
		t.Setenv("MYAPP_SECRET", strings.Repeat("k", 48))
		t.Setenv("MYAPP_URL", "http://localhost:3000")
		t.Setenv("MYAPP_CHATKIT_URL", "http://localhost:8000/chatkit")
		tg, err := parse(t, src, "")
		require.NoError(t, err)
		r, err := tg.Render(Inputs{Env: os.Getenv})
		require.NoError(t, err)
		assert.Equal(t, "http://localhost:3000", r.App.WebURL)
		assert.Len(t, r.Secret, 48)
	})
	t.Run("secret-unset", func(t *testing.T) {
		t.Setenv("MYAPP_URL", "http://localhost:3000")
		t.Setenv("MYAPP_CHATKIT_URL", "http://localhost:8000/chatkit")
		_, err := parse(t, src, "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "secret")
		assert.Contains(t, err.Error(), "MYAPP_SECRET is not set")
	})
	t.Run("url-unset", func(t *testing.T) {
		t.Setenv("MYAPP_SECRET", strings.Repeat("k", 48))
		t.Setenv("MYAPP_CHATKIT_URL", "http://localhost:8000/chatkit")
		_, err := parse(t, src, "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "services.web.url")
		assert.Contains(t, err.Error(), "MYAPP_URL is not set")
	})
	t.Run("app-url-unset", func(t *testing.T) {
		t.Setenv("MYAPP_SECRET", strings.Repeat("k", 48))
		t.Setenv("MYAPP_URL", "http://localhost:3000")
		_, err := parse(t, src, "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "app.chatkit_url")
		assert.Contains(t, err.Error(), "MYAPP_CHATKIT_URL is not set")
	})
	t.Run("short-secret-set", func(t *testing.T) {
		t.Setenv("MYAPP_SECRET", "short")
		t.Setenv("MYAPP_URL", "http://localhost:3000")
		t.Setenv("MYAPP_CHATKIT_URL", "http://localhost:8000/chatkit")
		_, err := parse(t, src, "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), "at least 32 characters")
	})
}

// A profile target extends the base: maps merge, other values replace, null removes, relative build
// contexts keep pointing where the base meant, and the service order is the base's.
func TestLoad_ExtendsLaysAProfileOverItsBase(t *testing.T) {
	root := t.TempDir()
	write := func(rel, body string) string {
		p := filepath.Join(root, rel)
		require.NoError(t, os.MkdirAll(filepath.Dir(p), 0o755))
		require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
		return p
	}
	write("base/base.yaml", `
name: base
postgres:
  image: [pg:test]
services:
  web:
    build: {context: ../web}
    port: 3000
    env: {A: "1", B: "2"}
  backend:
    image: be:test
    port: 8000
app:
  web_url: "{{ .Services.web.PublicURL }}"
  chatkit_url: "{{ .Services.backend.PublicURL }}/chatkit"
  probes: {tasks_for_user: SELECT 1}
`)
	write("web/Dockerfile", "FROM scratch\n")
	child := write("profiles/prod.yaml", `
extends: ../base/base.yaml
name: prod
services:
  web:
    env: {B: "two", APP_PROFILE: production}
  extra:
    image: x:test
    port: 9000
app:
  probes: null
  features: {tasks: false}
`)
	tg, err := Load(child, "")
	require.NoError(t, err)
	assert.Equal(t, "prod", tg.Name)
	assert.Equal(t, []string{"web", "backend", "extra"}, tg.Order)
	web := tg.Services["web"]
	assert.Equal(t, map[string]string{"A": "1", "B": "two", "APP_PROFILE": "production"}, web.Env)
	assert.Equal(t, 3000, web.Port, "fields the profile does not name stay the base's")
	r, err := tg.Render(Inputs{HostPorts: map[string]int{"web": 1, "backend": 2, "extra": 3}, Secret: strings.Repeat("s", 40)})
	require.NoError(t, err)
	rw, _ := r.Service("web")
	assert.Equal(t, filepath.Join(root, "web"), rw.Build.Context, "the base's relative context is relative to the base")
	assert.Empty(t, tg.App.Probes, "null removes the base's probes")

	loop := write("profiles/loop.yaml", "extends: loop.yaml\nname: loop\n")
	_, err = Load(loop, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "extends itself")
	missing := write("profiles/missing.yaml", "extends: nowhere.yaml\n")
	_, err = Load(missing, "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "extends")
	assert.Contains(t, err.Error(), "nowhere.yaml")
}

// Features are on unless turned off; an unknown one is an error, and tasks need their probe.
func TestLoad_FeaturesDefaultOnAndTasksNeedTheirProbe(t *testing.T) {
	tg, err := parse(t, minimal, "")
	require.NoError(t, err)
	assert.False(t, tg.App.Has(FeatureTasks))
	assert.True(t, tg.App.Has(FeatureContext), "on when not named")
	assert.True(t, tg.App.Has(FeatureBrowser))

	_, err = parse(t, strings.Replace(minimal, "features: {tasks: false}", "features: {tasks: false, todo: true}", 1), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "app.features.todo: unknown feature; known: browser, context, tasks")

	_, err = parse(t, strings.Replace(minimal, "  features: {tasks: false}\n", "", 1), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "app.probes.tasks_for_user: missing")
	assert.Contains(t, err.Error(), "app.features.tasks: false")
}

func TestLoad_BetterAuthLineDefaultsTo17AndMustBeKnown(t *testing.T) {
	tg, err := parse(t, minimal, "")
	require.NoError(t, err)
	assert.Equal(t, "1.7", tg.App.BetterAuth)
	tg, err = parse(t, strings.Replace(minimal, "features:", "better_auth: \"1.4\"\n  features:", 1), "")
	require.NoError(t, err)
	assert.Equal(t, "1.4", tg.App.BetterAuth)
	_, err = parse(t, strings.Replace(minimal, "features:", "better_auth: \"1.2\"\n  features:", 1), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `app.better_auth: "1.2" is not a Better Auth line the suites know; known: 1.4, 1.7`)
}

func TestLoad_HostPortIsCheckedAndReachesTheTemplates(t *testing.T) {
	src := strings.Replace(minimal, "    port: 3000\n", "    port: 3000\n    host_port: 43000\n", 1)
	tg, err := parse(t, src, "")
	require.NoError(t, err)
	assert.Equal(t, 43000, tg.Services["web"].HostPort)
	r, err := tg.Render(Inputs{HostPorts: map[string]int{"web": 43000}, Secret: strings.Repeat("s", 40)})
	require.NoError(t, err)
	assert.Equal(t, "http://localhost:43000", r.App.WebURL)

	_, err = parse(t, strings.Replace(minimal, "    port: 3000\n", "    port: 3000\n    host_port: 70000\n", 1), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "services.web.host_port: 70000 is not a TCP port")
}

func TestLoad_AProcessServiceListensOnItsHostPortAndReachesPostgresOnTheHost(t *testing.T) {
	dir := t.TempDir()
	src := `
name: proc
postgres:
  image: [pg:test]
services:
  web:
    process: {command: [node, server.mjs], cwd: .}
    env:
      PORT: "{{ .Services.web.Port }}"
      DATABASE_URL: "{{ .Postgres.HostDSN }}"
app:
  web_url: "{{ .Services.web.PublicURL }}"
  chatkit_url: "{{ .Services.web.InternalURL }}/chatkit"
  features: {tasks: false}
`
	tg, err := Parse("t.yaml", dir, []byte(src), "")
	require.NoError(t, err)
	r, err := tg.Render(Inputs{HostPorts: map[string]int{"web": 43001}, PostgresHostPort: 45432, Secret: strings.Repeat("s", 40)})
	require.NoError(t, err)
	web, _ := r.Service("web")
	assert.Equal(t, "43001", web.Env["PORT"], "a process listens on its host port")
	assert.Equal(t, "postgres://app:app@127.0.0.1:45432/app?sslmode=disable", web.Env["DATABASE_URL"])
	assert.Equal(t, "http://localhost:43001/chatkit", r.App.ChatKitURL, "other processes reach it on loopback")
	assert.Equal(t, dir, web.Process.Cwd)

	for bad, want := range map[string]string{
		strings.Replace(src, "process: {command: [node, server.mjs], cwd: .}", "process: {cwd: .}", 1):                       "services.web.process: give command",
		strings.Replace(src, "process: {command: [node, server.mjs], cwd: .}", "process: {shell: x, command: [y]}", 1):       "not both or neither",
		strings.Replace(src, "process: {command: [node, server.mjs], cwd: .}", "process: {command: [x], cwd: nowhere}", 1):   "services.web.process.cwd: no folder at",
		strings.Replace(src, "process: {command: [node, server.mjs], cwd: .}", "process: {command: [x]}\n    image: x:1", 1): "give exactly one of build",
	} {
		_, err := Parse("t.yaml", dir, []byte(bad), "")
		require.Error(t, err)
		assert.Contains(t, err.Error(), want)
	}
}

func TestLoad_LogsAreForURLServicesOnly(t *testing.T) {
	src := strings.Replace(minimal, "    image: web:test\n    port: 3000\n", "    url: http://localhost:3000\n    logs: {command: [docker, logs, -f, myapp]}\n", 1)
	tg, err := parse(t, src, "")
	require.NoError(t, err)
	assert.Equal(t, []string{"docker", "logs", "-f", "myapp"}, tg.Services["web"].Logs.Command)
	_, err = parse(t, strings.Replace(minimal, "    port: 3000\n", "    port: 3000\n    logs: {file: app.log}\n", 1), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "services.web.logs: only for url: services")
	_, err = parse(t, strings.Replace(src, "logs: {command: [docker, logs, -f, myapp]}", "logs: {file: a.log, shell: x}", 1), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "give exactly one of file")
}

func TestLoad_NotFoundDefaultsToTheProtocolAndMustBeKnown(t *testing.T) {
	tg, err := parse(t, minimal, "")
	require.NoError(t, err)
	assert.Equal(t, NotFoundProtocol, tg.App.NotFound)
	tg, err = parse(t, strings.Replace(minimal, "features:", "not_found: \"404\"\n  features:", 1), "")
	require.NoError(t, err)
	assert.Equal(t, NotFound404, tg.App.NotFound)
	_, err = parse(t, strings.Replace(minimal, "features:", "not_found: 403\n  features:", 1), "")
	require.Error(t, err)
	assert.Contains(t, err.Error(), `app.not_found: "403": want protocol or 404`)
}
