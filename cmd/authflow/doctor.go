package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/internal/stack"
	"github.com/authflow-e2e/authflow/internal/tools"
	"github.com/authflow-e2e/authflow/targets"
	"github.com/moby/moby/client"
)

type check struct {
	name   string
	ok     bool
	detail string
	fix    string
}

// cmdDoctor checks everything a run needs and prints, for each missing piece, the command that fixes it.
func cmdDoctor(args []string) int {
	if len(args) > 0 {
		fmt.Fprintln(os.Stderr, "authflow doctor takes no arguments")
		return 2
	}
	containers.PrepareEnv(false)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	checks := doctor(ctx)
	bad := 0
	for _, c := range checks {
		mark := "ok  "
		if !c.ok {
			mark = "MISSING"
			bad++
		}
		fmt.Printf("%-8s %-22s %s\n", mark, c.name, c.detail)
		if !c.ok && c.fix != "" {
			fmt.Printf("         %-22s fix: %s\n", "", c.fix)
		}
	}
	if bad > 0 {
		fmt.Printf("\n%d missing; `make setup` installs or builds all of them on Debian as root.\n", bad)
		return 1
	}
	fmt.Println("\nall set: `authflow test` runs the e2e suite (`make e2e` in authflow's checkout, against the reference stack).")
	return 0
}

func doctor(ctx context.Context) []check {
	var out []check
	cli, err := containers.Client(ctx)
	if err != nil {
		out = append(out, check{"docker daemon", false, err.Error(), "make setup (Debian, root) or start Docker; DOCKER_HOST for a remote daemon"})
	} else {
		v, _ := cli.ServerVersion(ctx, client.ServerVersionOptions{})
		out = append(out, check{"docker daemon", true, "Docker " + v.Version + " at " + cli.DaemonHost(), ""})
	}

	if p, err := tools.BrowserPath(); err != nil {
		out = append(out, check{"browser", false, err.Error(), "apt-get install -y chromium"})
	} else if p == "" {
		out = append(out, check{"browser", true, "Playwright's own build (AUTHFLOW_BROWSER=playwright)", ""})
	} else {
		out = append(out, check{"browser", true, p, ""})
	}

	node, err := tools.NodePath()
	if err != nil {
		out = append(out, check{"node", false, "node not found", "install Node.js >= " + tools.MinNode})
	} else if v, err := tools.NodeVersion(node); err != nil || !tools.AtLeast(v, tools.MinNode) {
		out = append(out, check{"node", false, fmt.Sprintf("%s is %s, need >= %s", node, v, tools.MinNode), "install Node.js >= " + tools.MinNode + " (NodeSource or nodejs.org)"})
	} else {
		out = append(out, check{"node", true, node + " v" + v, ""})
	}

	dir := tools.DriverDir()
	cliJS := filepath.Join(dir, "package", "cli.js")
	if _, err := os.Stat(cliJS); err != nil {
		out = append(out, check{"playwright driver", false, "no " + cliJS, "make setup (npm install playwright-core@" + tools.DriverVersion + ")"})
	} else {
		out = append(out, check{"playwright driver", true, dir + " (" + tools.DriverVersion + ")", ""})
	}

	t, terr := targets.Load(targetPath(), "")
	if terr != nil {
		out = append(out, check{"target", false, terr.Error(), "fix the target file"})
	} else {
		out = append(out, check{"target", true, t.Path, ""})
	}
	if cli != nil && terr == nil {
		lists := map[string][]string{"postgres image": t.Postgres.Image}
		for k, v := range t.Images {
			lists[k+" image"] = v
		}
		for name, cands := range lists {
			found := ""
			for _, c := range cands {
				if _, err := cli.ImageInspect(ctx, c); err == nil {
					found = c
					break
				}
			}
			if found == "" {
				out = append(out, check{name, false, "none of " + strings.Join(cands, ", "), "make setup (builds authflow.local/... offline)"})
			} else {
				out = append(out, check{name, true, found, ""})
			}
		}
		cli.Close()
	}
	if root, err := moduleRoot(); err == nil && terr == nil && t.Name == "reference" {
		for _, f := range []struct{ name, path, fix string }{
			{"refapp/web modules", "refapp/web/node_modules/better-auth/package.json", "cd refapp/web && npm ci"},
			{"refapp/web bundle", "refapp/web/public/app.js", "cd refapp/web && npm run build"},
			{"refapp backend binary", "refapp/backend/bin/backend", "CGO_ENABLED=0 go build -o refapp/backend/bin/backend ./refapp/backend"},
		} {
			_, err := os.Stat(filepath.Join(root, f.path))
			out = append(out, check{f.name, err == nil, f.path, f.fix})
		}
	}
	return out
}

// targetPath is AUTHFLOW_TARGET, else the reference target inside authflow's checkout, else
// authflow.yaml in the current directory (an app repository's target file).
func targetPath() string {
	if p := paths.Target(stack.DefaultTarget); os.Getenv("AUTHFLOW_TARGET") != "" || filepath.IsAbs(p) {
		return p
	}
	return appTarget
}

// moduleRoot is the folder holding authflow's go.mod, found upwards from the working directory.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	if root := paths.ModuleRoot(dir); root != "" {
		return root, nil
	}
	return "", fmt.Errorf("no go.mod of authflow above %s", dir)
}
