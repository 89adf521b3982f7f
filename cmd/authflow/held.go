package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/goccy/go-yaml"

	"github.com/authflow-e2e/authflow/internal/stack"
)

// writeHeldTarget writes the target file of the stack `authflow up` holds, so the suites can run
// against it without starting anything (like Playwright's reuseExistingServer): it extends the
// original target, turns every service into a url: service (a container's logs come from `docker logs
// -f`), names the stack's Postgres as postgres.dsn (no init: it ran already) and fixes the shared
// secret and the token mode. The file holds that throwaway stack's secret, so it is written 0600 and
// removed when the stack stops.
func writeHeldTarget(path string, env *stack.Env) error {
	r := env.Rendered
	services := map[string]any{}
	for _, s := range r.Services {
		svc := env.Stack.Services[s.Name]
		if svc == nil {
			continue
		}
		held := map[string]any{"build": nil, "image": nil, "process": nil, "host_port": nil, "url": svc.PublicURL}
		if svc.Container != nil {
			held["logs"] = map[string]any{"command": []string{"docker", "logs", "-f", "--since", "0s", svc.Container.GetContainerID()}}
		}
		services[s.Name] = held
	}
	doc := map[string]any{
		"extends":  env.Target.Path,
		"name":     r.Name + "-held",
		"secret":   r.Secret,
		"token":    map[string]any{"mode": r.TokenMode, "modes": []string{r.TokenMode}},
		"postgres": map[string]any{"dsn": env.Stack.Postgres.DSN, "init": nil},
		"services": services,
	}
	if !filepath.IsAbs(env.Target.Path) {
		abs, err := filepath.Abs(env.Target.Path)
		if err != nil {
			return err
		}
		doc["extends"] = abs
	}
	b, err := yaml.Marshal(doc)
	if err != nil {
		return err
	}
	header := fmt.Sprintf("# Written by `authflow up` for the stack it holds (run %s); removed when it stops.\n"+
		"# Run the suites against it: authflow test -target %s -mode %s\n", env.Stack.RunID, path, r.TokenMode)
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, append([]byte(header), b...), 0o600)
}
