package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/authflow-e2e/authflow/internal/suite"
)

// cmdSetup installs and starts what the suites need on this machine (the Docker engine, Chromium,
// the Playwright driver, the local base images), from any directory: it runs the setup script of the
// suites' own source, the one `make setup` runs.
func cmdSetup(args []string) int {
	if len(args) > 0 && (args[0] == "-h" || args[0] == "--help") {
		fmt.Print("usage: authflow setup\n\nInstalls or builds only what is missing: Docker (and starts dockerd), Chromium, the Playwright driver,\nthe base images. One line per step with its time; a failing step prints its fix.\n")
		return 0
	}
	src, err := suite.FindSource()
	if err != nil {
		fmt.Fprintf(os.Stderr, "authflow setup: %v\n", err)
		return 2
	}
	return runSetup(src, args)
}

// runSetup runs scripts/setup.sh of the source with bash (a module-cache copy keeps no +x bits).
func runSetup(src suite.Source, args []string) int {
	cmd := exec.Command("bash", append([]string{filepath.Join(src.Dir, "scripts", "setup.sh")}, args...)...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Run(); err != nil {
		if exit, ok := err.(*exec.ExitError); ok {
			return exit.ExitCode()
		}
		fmt.Fprintf(os.Stderr, "authflow setup: %v\n", err)
		return 2
	}
	return 0
}
