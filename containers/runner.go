package containers

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/network"
)

// A Runner starts and stops one kind of service, in the manner of testcontainers' Run(ctx, img,
// opts...) and Playwright's webServer: Start brings it up and sets its PublicURL, the stack then
// polls its readiness URL (asking Exited whether it died meanwhile), and Close calls Stop. The kinds
// are registered in this file's init (containerRunner, processRunner, urlRunner); a new kind is one
// file with a Runner and its [RegisterRunner] call, plus the field of [ServiceSpec] it serves.
type Runner interface {
	// Start starts the service on the stack (image: the built or named image, for kinds that use one).
	Start(ctx context.Context, st *Stack, s ServiceSpec, svc *Service, image string) error
	// Exited returns a *StartError when the service ended before it was ready, nil while it runs or
	// when the kind cannot tell.
	Exited(ctx context.Context, st *Stack, s ServiceSpec, svc *Service) error
	// Stop ends the service (nothing for a service the stack did not start).
	Stop(ctx context.Context, svc *Service) error
}

// kind is a registered Runner and the specs it serves.
type kind struct {
	name   string
	serves func(ServiceSpec) bool
	runner Runner
}

var (
	kindsMu sync.RWMutex
	kinds   []kind
)

// RegisterRunner adds a kind of service: serves picks the specs it runs (the first registered kind
// that serves a spec wins).
func RegisterRunner(name string, serves func(ServiceSpec) bool, r Runner) {
	kindsMu.Lock()
	defer kindsMu.Unlock()
	kinds = append(kinds, kind{name, serves, r})
}

func init() {
	RegisterRunner("url", func(s ServiceSpec) bool { return s.URL != "" }, urlRunner{})
	RegisterRunner("process", func(s ServiceSpec) bool { return s.Process != nil }, processRunner{})
	RegisterRunner("container", func(s ServiceSpec) bool { return s.Build != nil || s.Image != "" }, containerRunner{})
}

// runnerFor returns the kind that runs s.
func runnerFor(s ServiceSpec) (string, Runner, error) {
	kindsMu.RLock()
	defer kindsMu.RUnlock()
	for _, k := range kinds {
		if k.serves(s) {
			return k.name, k.runner, nil
		}
	}
	return "", nil, fmt.Errorf("service %s: no kind of service runs it (set build, image, process or url)", s.Name)
}

// containerRunner runs a service as a container on the stack's network.
type containerRunner struct{}

func (containerRunner) Start(ctx context.Context, st *Stack, s ServiceSpec, svc *Service, image string) error {
	port := strconv.Itoa(s.ContainerPort) + "/tcp"
	budget := ctxBudget(ctx)
	ctr, err := testcontainers.Run(ctx, image,
		testcontainers.WithEnv(s.Env),
		testcontainers.WithExposedPorts(port),
		publish(port, s.HostPort),
		testcontainers.WithLabels(st.labels(s.Name)),
		testcontainers.WithLogConsumers(svc.logs),
		network.WithNetwork([]string{s.Alias}, st.network),
	)
	svc.Container = ctr
	if err != nil {
		return &StartError{Part: s.Name, Err: shortErr(err, "start container "+s.Name, budget), LogTail: svc.logs.Tail(20)}
	}
	mapped, err := ctr.MappedPort(ctx, port)
	if err != nil {
		if exited := st.exited(ctx, s, svc); exited != nil {
			return exited
		}
		return &StartError{Part: s.Name, Err: err, LogTail: svc.logs.Tail(20)}
	}
	svc.PublicURL = fmt.Sprintf("http://localhost:%d", mapped.Num())
	return nil
}

func (containerRunner) Exited(ctx context.Context, st *Stack, s ServiceSpec, svc *Service) error {
	return st.containerExited(ctx, s, svc)
}

func (containerRunner) Stop(ctx context.Context, svc *Service) error {
	if svc.Container == nil {
		return nil
	}
	return svc.Container.Terminate(ctx, testcontainers.StopTimeout(2*time.Second))
}

// processRunner runs a service as a host process listening on 127.0.0.1:HostPort (process.go).
type processRunner struct{}

func (processRunner) Start(_ context.Context, st *Stack, s ServiceSpec, svc *Service, _ string) error {
	svc.PublicURL = fmt.Sprintf("http://localhost:%d", s.HostPort)
	return st.startProcess(s, svc)
}

func (processRunner) Exited(_ context.Context, _ *Stack, s ServiceSpec, svc *Service) error {
	return processExited(s, svc)
}

func (processRunner) Stop(_ context.Context, svc *Service) error { return stopProcess(svc) }

// urlRunner is a service that already runs at a URL: nothing is started but its log command.
type urlRunner struct{}

func (urlRunner) Start(_ context.Context, st *Stack, s ServiceSpec, svc *Service, _ string) error {
	svc.PublicURL = strings.TrimRight(s.URL, "/")
	if s.Logs != nil {
		return st.followLogs(s, svc)
	}
	return nil
}

func (urlRunner) Exited(context.Context, *Stack, ServiceSpec, *Service) error { return nil }

func (urlRunner) Stop(_ context.Context, svc *Service) error { return stopProcess(svc) } // its log command
