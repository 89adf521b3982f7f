// Package stack joins a target file to the containers that run it: it resolves the target's images,
// picks host ports, renders the templates and starts the stack. Both the e2e suites and the CLI use it.
package stack

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"os"
	"time"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/targets"
)

// DefaultTarget is the target used when AUTHFLOW_TARGET is not set, relative to the module root.
const DefaultTarget = "targets/reference.yaml"

// Options for Up.
type Options struct {
	Progress func(format string, args ...any)
	Redact   func(string) string
	Keep     bool
	// Env looks up template env values (default os.Getenv).
	Env func(string) string
}

// Env is a running target: the rendered description plus the containers.
type Env struct {
	Target   *targets.Target
	Rendered *targets.Rendered
	Stack    *containers.Stack
	Timings  []containers.Phase
}

// Up starts the target's stack.
func Up(ctx context.Context, t *targets.Target, runID string, opt Options) (*Env, error) {
	if opt.Env == nil {
		opt.Env = os.Getenv
	}
	progress := opt.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	t0 := time.Now()
	cli, err := containers.Client(ctx)
	if err != nil {
		return nil, err
	}
	images := map[string]string{}
	for name, cands := range t.Images {
		img, err := containers.ResolveImage(ctx, cli, cands)
		if err != nil {
			cli.Close()
			return nil, fmt.Errorf("target %s: images.%s: %w", t.Path, name, err)
		}
		images[name] = img
	}
	cli.Close()
	ports := map[string]int{}
	for _, name := range t.Order {
		if t.Services[name].URL != "" {
			continue
		}
		if hp := t.Services[name].HostPort; hp != 0 {
			if err := containers.PortFree(hp); err != nil {
				return nil, fmt.Errorf("target %s: services.%s.host_port: %w", t.Path, name, err)
			}
			ports[name] = hp
			continue
		}
		p, err := containers.FreePort()
		if err != nil {
			return nil, err
		}
		ports[name] = p
	}
	// Postgres's host port is chosen before start too, so .Postgres.HostDSN (for process services) renders.
	pgPort, err := containers.FreePort()
	if err != nil {
		return nil, err
	}
	r, err := t.Render(targets.Inputs{HostPorts: ports, PostgresHostPort: pgPort, Secret: randomSecret(), Images: images, Env: opt.Env})
	if err != nil {
		return nil, err
	}
	resolved := time.Since(t0)
	progress("stack: %-28s %6.2fs  target %s, token mode %s", "resolve", resolved.Seconds(), t.Path, r.TokenMode)
	spec := containers.Spec{
		Name:     t.Name,
		Progress: opt.Progress,
		Redact:   opt.Redact,
		Keep:     opt.Keep,
		Postgres: containers.PostgresSpec{
			Images: r.Postgres.Images, Alias: r.Postgres.Alias, Database: r.Postgres.Database,
			User: r.Postgres.User, Password: r.Postgres.Password, HostPort: pgPort, DSN: r.Postgres.DSN,
		},
	}
	for _, st := range r.Postgres.Init {
		spec.Postgres.Init = append(spec.Postgres.Init, containers.InitStep{SQL: st.SQL, Command: st.Command, Shell: st.Shell, Dir: st.Cwd, Env: st.Env})
	}
	for _, s := range r.Services {
		cs := containers.ServiceSpec{
			Name: s.Name, Alias: s.Alias, Image: s.Image, URL: s.URL, ContainerPort: s.Port, HostPort: s.HostPort,
			Env: s.Env, ReadyPath: s.Ready.Path, ReadyStatus: s.Ready.Status, ReadyTimeout: s.Ready.Timeout.D(),
		}
		if s.Build != nil {
			cs.Build = &containers.Build{Context: s.Build.Context, Dockerfile: s.Build.Dockerfile, Args: s.Build.Args}
		}
		if s.Process != nil {
			cs.Process = &containers.Process{Command: s.Process.Command, Shell: s.Process.Shell, Dir: s.Process.Cwd}
		}
		if l := s.Logs; l != nil {
			cs.Logs = &containers.Process{Command: l.Command, Shell: l.Shell}
			if l.File != "" {
				cs.Logs.Command = []string{"tail", "-F", "-n", "0", l.File} // follow from now, across rotations
			}
		}
		spec.Services = append(spec.Services, cs)
	}
	st, err := containers.Start(ctx, runID, spec)
	if err != nil {
		return nil, err
	}
	timings := append([]containers.Phase{{Name: "resolve", Duration: resolved}}, st.Timings...)
	timings = append(timings, containers.Phase{Name: "stack ready (total)", Duration: time.Since(t0)})
	return &Env{Target: t, Rendered: r, Stack: st, Timings: timings}, nil
}

func randomSecret() string {
	b := make([]byte, 36)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b) // 48 characters
}
