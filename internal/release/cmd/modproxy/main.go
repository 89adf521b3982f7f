// Command modproxy writes a file-system module proxy serving the checkout's HEAD (package release) and
// prints the go install command that installs authflow from it, as an app team installs a release.
//
//	go run ./internal/release/cmd/modproxy -o artifacts/goproxy
package main

import (
	"flag"
	"fmt"
	"os"
	"os/exec"
	"strings"

	"github.com/authflow-e2e/authflow/internal/paths"
	"github.com/authflow-e2e/authflow/internal/release"
)

func main() {
	out := flag.String("o", "artifacts/goproxy", "the proxy's folder (relative to where you run it)")
	rev := flag.String("rev", "HEAD", "the commit to serve")
	flag.Parse()
	wd, err := os.Getwd()
	root := ""
	if err == nil {
		root = paths.ModuleRoot(wd)
	}
	if root == "" {
		fmt.Fprintln(os.Stderr, "modproxy: run it inside authflow's checkout")
		os.Exit(2)
	}
	p, err := release.Write(paths.Resolve(*out), root, *rev)
	if err != nil {
		fmt.Fprintf(os.Stderr, "modproxy: %v\n", err)
		os.Exit(1)
	}
	fallback, _ := exec.Command("go", "env", "GOPROXY").Output()
	if p.Dirty {
		fmt.Fprintf(os.Stderr, "modproxy: the checkout has uncommitted changes; the proxy serves the commit %s without them\n", p.Rev[:12])
	}
	fmt.Fprintf(os.Stderr, "modproxy: %s serves %s@%s (commit %s); install it with:\n", p.Dir, release.Module, p.Version, p.Rev[:12])
	fmt.Println(p.InstallCommand(strings.TrimSpace(string(fallback))))
}
