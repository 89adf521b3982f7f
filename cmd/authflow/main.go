// Command authflow runs the e2e suite against a target (test), prepares the machine (setup), starts a
// target's stack for manual QA (up), checks the machine (doctor), opens Playwright traces (trace) and
// removes what killed runs left behind (clean).
package main

import (
	"fmt"
	"os"

	"github.com/authflow-e2e/authflow/containers"
)

const usage = `authflow: end-to-end auth test harness for Better Auth + ChatKit apps

Usage:
  authflow test [-target FILE] [-mode M] [-run RE] [-shard i/n] [-artifacts DIR]
                                                  run the e2e suite (every token mode of the target); JUnit, go test -json, summary.md in ./artifacts
  authflow setup                                  install what the suites need: Docker (started), Chromium, the Playwright driver, base images
  authflow up [-target FILE] [-mode hs256|jwks]   start a target's stack, print its URLs and a ready test user; Ctrl-C stops it
  authflow init -url URL [-o FILE] [-force]       probe a running app and write a first target file (default authflow.yaml), TODOs for what it cannot find
  authflow doctor                                 check Docker, browser, driver, node and images; print the fix for each
  authflow trace FILE.zip                         open a Playwright trace in the trace viewer (uses the installed driver)
  authflow clean [-run ID]                        remove containers and networks of killed runs (never a running one's); -run: one run's, e.g. a kept stack

In authflow's checkout: make e2e (authflow test against the reference stack), make test (every test).
`

func main() {
	containers.RunReaperIfAsked()
	if len(os.Args) < 2 {
		fmt.Fprint(os.Stderr, usage)
		os.Exit(2)
	}
	var code int
	switch os.Args[1] {
	case "test":
		code = cmdTest(os.Args[2:])
	case "setup":
		code = cmdSetup(os.Args[2:])
	case "up":
		code = cmdUp(os.Args[2:])
	case "init":
		code = cmdInit(os.Args[2:])
	case "doctor":
		code = cmdDoctor(os.Args[2:])
	case "trace":
		code = cmdTrace(os.Args[2:])
	case "clean":
		code = cmdClean(os.Args[2:])
	case "-h", "--help", "help":
		fmt.Print(usage)
	default:
		fmt.Fprintf(os.Stderr, "authflow: unknown command %q\n\n%s", os.Args[1], usage)
		code = 2
	}
	os.Exit(code)
}
