package main

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"

	"github.com/authflow-e2e/authflow/internal/tools"
)

// cmdTrace opens a Playwright trace zip in the trace viewer of the installed driver, on loopback.
func cmdTrace(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: authflow trace artifacts/<test>/trace.zip")
		return 2
	}
	zip := args[0]
	if _, err := os.Stat(zip); err != nil {
		fmt.Fprintf(os.Stderr, "authflow trace: %v\n", err)
		return 1
	}
	node, err := tools.NodePath()
	if err != nil {
		fmt.Fprintln(os.Stderr, "authflow trace: node not found; install Node.js >= "+tools.MinNode)
		return 1
	}
	cli := filepath.Join(tools.DriverDir(), "package", "cli.js")
	if _, err := os.Stat(cli); err != nil {
		fmt.Fprintf(os.Stderr, "authflow trace: no Playwright driver at %s; run `make setup`\n", cli)
		return 1
	}
	port := os.Getenv("AUTHFLOW_TRACE_PORT")
	if port == "" {
		port = "9323"
	}
	fmt.Printf("trace viewer: http://127.0.0.1:%s (Ctrl-C stops it)\n", port)
	cmd := exec.Command(node, cli, "show-trace", "--host", "127.0.0.1", "--port", port, zip)
	cmd.Stdout, cmd.Stderr, cmd.Stdin = os.Stdout, os.Stderr, os.Stdin
	if err := cmd.Run(); err != nil {
		fmt.Fprintf(os.Stderr, "authflow trace: %v\n", err)
		return 1
	}
	return 0
}
