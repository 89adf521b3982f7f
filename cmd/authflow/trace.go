package main

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"syscall"

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
	if err := cmd.Start(); err != nil {
		fmt.Fprintf(os.Stderr, "authflow trace: %v\n", err)
		return 1
	}
	// A plain kill of authflow (not only Ctrl-C in a terminal) stops the viewer too.
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM, syscall.SIGHUP)
	defer signal.Stop(sigs)
	go func() {
		for s := range sigs {
			_ = cmd.Process.Signal(s)
		}
	}()
	if err := cmd.Wait(); err != nil && !isSignalExit(err) {
		fmt.Fprintf(os.Stderr, "authflow trace: %v\n", err)
		return 1
	}
	return 0
}

// isSignalExit reports whether the viewer ended because it was told to stop.
func isSignalExit(err error) bool {
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			return true
		}
	}
	return false
}
