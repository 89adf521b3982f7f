// Package containers starts the world a test run needs: a Docker network, Postgres (through
// testcontainers-go's postgres module) and the app's services (from Dockerfiles or images), with ports
// published on 127.0.0.1 only, readiness checks, log capture, timings, bounded teardown and a sweep of
// whatever a killed run left behind. It knows nothing about Better Auth or ChatKit.
package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/moby/moby/client"
	"github.com/testcontainers/testcontainers-go"
	tclog "github.com/testcontainers/testcontainers-go/log"
)

// Labels put on everything this package creates.
const (
	LabelManaged = "org.authflow.managed" // "true"
	LabelRun     = "org.authflow.run"     // the run id
	LabelPID     = "org.authflow.pid"     // pid of the process that owns the run
	LabelHost    = "org.authflow.host"    // hostname of that process
	LabelStack   = "org.authflow.stack"   // target name
	LabelService = "org.authflow.service" // service name
	LabelImage   = "org.authflow.image"   // on images built by this package: "build"
	LabelKeep    = "org.authflow.keep"    // "true" on a stack kept for debugging (AUTHFLOW_KEEP): never swept
)

// PrepareEnv sets the testcontainers settings this harness needs unless the user set them:
// no Ryuk (its image cannot be pulled offline; the run's own teardown, reaper and sweep replace it) and
// 127.0.0.1 as the host of mapped ports (a /.dockerenv file makes testcontainers guess a gateway address).
// It must run before the first testcontainers call. Unless verbose, testcontainers' own chatter is muted.
func PrepareEnv(verbose bool) {
	setDefault("TESTCONTAINERS_RYUK_DISABLED", "true")
	setDefault("TESTCONTAINERS_HOST_OVERRIDE", "127.0.0.1")
	if !verbose {
		tclog.SetDefault(tclog.NewNoopLogger())
	}
}

func setDefault(k, v string) {
	if _, ok := os.LookupEnv(k); !ok {
		_ = os.Setenv(k, v)
	}
}

// DaemonError says the Docker daemon cannot be used and how to fix it.
type DaemonError struct {
	Host string
	Err  error
}

func (e *DaemonError) Error() string {
	return fmt.Sprintf("the Docker daemon at %s does not answer (%v). "+
		"Fix: run `make setup` (on Debian as root it installs docker.io and starts dockerd), or start Docker yourself, "+
		"or point DOCKER_HOST at a reachable daemon (e.g. DOCKER_HOST=tcp://host:2375 or ssh://user@host); `authflow doctor` checks everything",
		e.Host, e.Err)
}

func (e *DaemonError) Unwrap() error { return e.Err }

// dockerHost is where the client will connect.
func dockerHost() string {
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		return h
	}
	return "unix:///var/run/docker.sock"
}

// Client opens a Docker client and checks that the daemon answers within a few seconds.
func Client(ctx context.Context) (*testcontainers.DockerClient, error) {
	ctx, cancel := context.WithTimeout(ctx, scaled(daemonPingTimeout))
	defer cancel()
	// testcontainers falls back to other sockets when DOCKER_HOST does not answer; a user who set
	// DOCKER_HOST means that daemon, so check it first and say so if it is down.
	if h := os.Getenv("DOCKER_HOST"); h != "" {
		mc, err := client.New(client.FromEnv)
		if err != nil {
			return nil, &DaemonError{Host: h, Err: err}
		}
		_, err = mc.Ping(ctx, client.PingOptions{})
		mc.Close()
		if err != nil {
			return nil, &DaemonError{Host: h, Err: shortErr(err, "docker ping", scaled(daemonPingTimeout))}
		}
	}
	cli, err := newClient(ctx)
	if err != nil {
		return nil, &DaemonError{Host: dockerHost(), Err: err}
	}
	if _, err := cli.Ping(ctx, client.PingOptions{}); err != nil {
		_ = cli.Close()
		return nil, &DaemonError{Host: dockerHost(), Err: shortErr(err, "docker ping", scaled(daemonPingTimeout))}
	}
	return cli, nil
}

// newClient builds testcontainers' Docker client without letting a panic or a hang escape.
func newClient(ctx context.Context) (cli *testcontainers.DockerClient, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("docker client: %v", r)
		}
	}()
	return testcontainers.NewDockerClientWithOpts(ctx)
}

// shortErr keeps an error's first line; a deadline says what timed out and after which budget
// (what: "postgres start"; budget: the scaled timeout that applied).
func shortErr(err error, what string, budget time.Duration) error {
	if err == nil {
		return nil
	}
	if errors.Is(err, context.DeadlineExceeded) || isTimeout(err) {
		return &TimeoutError{What: what, Budget: budget}
	}
	s := err.Error()
	if i := strings.Index(s, "\n"); i > 0 {
		s = s[:i]
	}
	return errors.New(s)
}

// ctxBudget is what is left of ctx's deadline (0: none), for steps that run under the caller's context.
func ctxBudget(ctx context.Context) time.Duration {
	if d, ok := ctx.Deadline(); ok {
		return time.Until(d).Round(time.Second)
	}
	return 0
}

func isTimeout(err error) bool {
	var t interface{ Timeout() bool }
	return errors.As(err, &t) && t.Timeout()
}

// TimeoutError is a step that did not finish within its budget.
type TimeoutError struct {
	What   string
	Budget time.Duration
}

func (e *TimeoutError) Error() string {
	if e.Budget <= 0 {
		return fmt.Sprintf("%s: stopped by the run's own deadline (go test -timeout, or the caller's context)", e.What)
	}
	return fmt.Sprintf("%s: no answer within %s (raise AUTHFLOW_TIMEOUT_FACTOR on a slow machine)", e.What, e.Budget)
}

func (e *TimeoutError) Unwrap() error { return context.DeadlineExceeded }

// Timeouts, each scaled by AUTHFLOW_TIMEOUT_FACTOR.
const (
	daemonPingTimeout   = 5 * time.Second  // a local daemon answers a ping in milliseconds
	pullTimeout         = 20 * time.Second // an official image pull; offline it fails in well under a second
	defaultReadyTimeout = 60 * time.Second // a Node service under load can take 5 s to import its modules
	terminateTimeout    = 20 * time.Second // stop+remove of every container of a stack, in parallel
	postgresTimeout     = 60 * time.Second // initdb on tmpfs takes ~2 s; allow for a loaded machine
	buildTimeout        = 5 * time.Minute  // a web image copies node_modules; the backend copies one binary
	readyRequestTimeout = 2 * time.Second  // one readiness GET; a ready service answers in milliseconds
)

// Scaled multiplies a timeout by AUTHFLOW_TIMEOUT_FACTOR (default 1), for slow machines.
func Scaled(d time.Duration) time.Duration { return scaled(d) }

func scaled(d time.Duration) time.Duration {
	f := os.Getenv("AUTHFLOW_TIMEOUT_FACTOR")
	if f == "" {
		return d
	}
	var x float64
	if _, err := fmt.Sscanf(f, "%g", &x); err != nil || x <= 0 {
		return d
	}
	return time.Duration(float64(d) * x)
}
