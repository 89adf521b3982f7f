package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/authflow-e2e/authflow/containers"
)

// cmdClean removes what killed runs left behind (containers and networks whose owning process is
// gone), never a running run's, and with -run a given run's, such as a stack kept with AUTHFLOW_KEEP.
func cmdClean(args []string) int {
	fs := flag.NewFlagSet("clean", flag.ContinueOnError)
	run := fs.String("run", "", "remove this run's containers and networks (the run id a kept stack printed), running or not")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(os.Stderr, "authflow clean: unexpected argument %q\n", fs.Arg(0))
		return 2
	}
	containers.PrepareEnv(false)
	ctx, cancel := context.WithTimeout(context.Background(), containers.Scaled(60*time.Second))
	defer cancel()
	cli, err := containers.Client(ctx)
	if err != nil {
		fmt.Fprintln(os.Stderr, "authflow clean:", err)
		return 1
	}
	defer cli.Close()
	n, err := containers.Sweep(ctx, cli, *run)
	what := "leftovers of runs whose process is gone"
	if *run != "" {
		what = "containers and networks of run " + *run
	}
	fmt.Printf("authflow clean: removed %d %s\n", n, what)
	if err != nil {
		fmt.Fprintln(os.Stderr, "authflow clean:", err)
		return 1
	}
	return 0
}
