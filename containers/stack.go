package containers

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/netip"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/moby/moby/api/types/container"
	mnet "github.com/moby/moby/api/types/network"
	"github.com/testcontainers/testcontainers-go"
	"github.com/testcontainers/testcontainers-go/modules/postgres"
	"github.com/testcontainers/testcontainers-go/network"
)

// PostgresSpec is the database of a stack.
type PostgresSpec struct {
	Images                          []string // candidates, first present (or pullable) wins
	Alias, Database, User, Password string
	HostPort                        int // published on 127.0.0.1:HostPort; 0 picks a free one
	// DSN is the app's own database: nothing is started, it must answer. Init runs on either.
	DSN  string
	Init []InitStep
}

// ServiceSpec is one service. Exactly one of Build, Image, Process and URL is set.
type ServiceSpec struct {
	Name, Alias string
	Build       *Build
	Image       string
	Process     *Process // a host process listening on 127.0.0.1:HostPort
	URL         string   // already running: nothing is started, only readiness is checked
	// Logs of a URL service: a command whose output is the service's log (a file is followed with
	// tail -F); it runs from start to teardown like a process service.
	Logs          *Process
	ContainerPort int
	HostPort      int // published on 127.0.0.1:HostPort; 0 picks a free one
	Env           map[string]string
	ReadyPath     string
	ReadyStatus   int
	ReadyTimeout  time.Duration
}

// Build is a Dockerfile build; Context is an absolute folder.
type Build struct {
	Context, Dockerfile string
	Args                map[string]string
}

// Spec is a whole stack.
type Spec struct {
	Name     string
	Postgres PostgresSpec
	Services []ServiceSpec
	// Progress receives one line per phase (nil: silent).
	Progress func(format string, args ...any)
	// Redact is applied to every captured log line (nil: none).
	Redact func(string) string
	// Keep leaves everything running on Close and prints how to remove it (AUTHFLOW_KEEP=1).
	Keep bool
}

// Phase is one timed step of a start or teardown.
type Phase struct {
	Name     string
	Duration time.Duration
}

// Stack is a running stack.
type Stack struct {
	RunID    string
	Name     string
	Postgres *Postgres
	Services map[string]*Service
	Timings  []Phase

	spec    Spec
	prov    *testcontainers.DockerProvider
	network *testcontainers.DockerNetwork
	mu      sync.Mutex
	closed  bool
}

// RawLog is every log line the service wrote, unredacted, and the number of lines not kept. It exists
// for the leak scan, which searches it for the credentials a run created: never print or store it.
func (s *Service) RawLog() ([]byte, int) {
	if s.logs == nil {
		return nil, 0
	}
	return s.logs.rawLog()
}

// RawLog is [Service.RawLog] for the database.
func (p *Postgres) RawLog() ([]byte, int) { return p.logs.rawLog() }

// Postgres is the running database.
type Postgres struct {
	Container *postgres.PostgresContainer
	Image     string
	// DSN reaches it from the host (127.0.0.1:<mapped port>); InternalDSN from the stack's network.
	DSN, InternalDSN string
	logs             *ring
}

// Service is a running (or external) service.
type Service struct {
	Name      string
	Image     string
	Built     bool // the image was built in this run (false: reused by content hash)
	PublicURL string
	// Kind is the kind of service that runs it (container, process, url; see [Runner]).
	Kind      string
	Container testcontainers.Container
	logs      *ring
	runner    Runner

	proc       *exec.Cmd     // a process service's command
	procExited chan struct{} // closed when it has exited
	procErr    error         // its Wait result
	procFile   string        // its registry entry
}

// Logs returns the service's last n log lines (redacted).
func (s *Service) Logs(n int) []string {
	if s.logs == nil {
		return nil
	}
	return s.logs.Tail(n)
}

// Logs returns the last n log lines of Postgres.
func (p *Postgres) Logs(n int) []string { return p.logs.Tail(n) }

// NewRunID returns a short random id that labels everything one run creates.
func NewRunID() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// FreePort returns a port that is free on 127.0.0.1 and reserved for this process (reservePort). It is
// used to pick a host port before the service starts, when the service must know its own public URL.
func FreePort() (int, error) { return reservePort() }

// PortFree reports whether port is free on 127.0.0.1; if not, the error says what holds it when that
// can be found (a container of this or another run, or a process).
func PortFree(port int) error {
	l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err == nil {
		return l.Close()
	}
	return fmt.Errorf("port %d on 127.0.0.1 is taken%s; stop what holds it or pick another host_port", port, portHolder(port))
}

// StartError is a failed start: which part failed and its last log lines.
type StartError struct {
	Part    string // "postgres", "network", "images" or a service name
	Err     error
	LogTail []string
}

func (e *StartError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "start %s: %v", e.Part, e.Err)
	if len(e.LogTail) > 0 {
		fmt.Fprintf(&b, "\n--- last %d log lines of %s ---\n%s", len(e.LogTail), e.Part, strings.Join(e.LogTail, "\n"))
	}
	return b.String()
}

func (e *StartError) Unwrap() error { return e.Err }

// Start brings a stack up: images and Postgres in parallel, then every service in parallel, each
// checked for readiness. On failure everything already started is removed before Start returns.
func Start(ctx context.Context, runID string, spec Spec) (st *Stack, err error) {
	progress := spec.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	st = &Stack{RunID: runID, Name: spec.Name, Services: map[string]*Service{}, spec: spec}
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("start stack %s: panic: %v", spec.Name, r)
		}
		if err != nil {
			cctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), scaled(terminateTimeout))
			defer cancel()
			st.spec.Keep = false
			_ = st.Close(cctx)
			st = nil
		}
	}()
	phase := func(name string, start time.Time) {
		d := time.Since(start)
		st.Timings = append(st.Timings, Phase{name, d})
		progress("stack: %-28s %6.2fs", name, d.Seconds())
	}

	t0 := time.Now()
	cli, err := Client(ctx)
	if err != nil {
		return st, err
	}
	defer cli.Close()
	st.prov, err = testcontainers.NewDockerProvider()
	if err != nil {
		return st, &DaemonError{Host: dockerHost(), Err: err}
	}
	if n, err := Sweep(ctx, cli, ""); err == nil && n > 0 {
		progress("stack: removed %d leftovers of killed runs", n)
	}
	phase("docker", t0)

	labels := st.labels("")
	t0 = time.Now()
	st.network, err = network.New(ctx, network.WithLabels(labels))
	if err != nil {
		return st, &StartError{Part: "network", Err: err}
	}
	phase("network", t0)

	// Images of the services build while Postgres starts.
	type built struct {
		builtImage
		err  error
		took time.Duration
	}
	images := make(map[string]chan built, len(spec.Services))
	for _, s := range spec.Services {
		ch := make(chan built, 1)
		images[s.Name] = ch
		go func(s ServiceSpec) {
			t := time.Now()
			switch {
			case s.Build != nil:
				b, err := buildImage(ctx, st.prov, spec.Name+"-"+s.Name, s.Build.Context, s.Build.Dockerfile, s.Build.Args, ForceRebuild())
				ch <- built{b, err, time.Since(t)}
			default:
				ch <- built{builtImage: builtImage{Ref: s.Image}, took: time.Since(t)}
			}
		}(s)
	}

	t0 = time.Now()
	if spec.Postgres.DSN != "" {
		if err := pingDSN(ctx, spec.Postgres.DSN); err != nil {
			return st, &StartError{Part: "postgres", Err: err}
		}
		st.Postgres = &Postgres{DSN: spec.Postgres.DSN, InternalDSN: spec.Postgres.DSN, Image: "the app's own database", logs: newRing(200)}
	} else {
		pg, err := st.startPostgres(ctx, cli)
		if err != nil {
			return st, err
		}
		st.Postgres = pg
	}
	pg := st.Postgres
	phase("postgres ("+pg.Image+")", t0)
	if len(spec.Postgres.Init) > 0 {
		t0 = time.Now()
		pg.logs.redact = st.spec.Redact
		if err := runInit(ctx, pg.DSN, spec.Postgres.Init, pg.logs); err != nil {
			return st, err
		}
		phase(fmt.Sprintf("postgres.init (%d steps)", len(spec.Postgres.Init)), t0)
	}

	var wg sync.WaitGroup
	errs := make([]error, len(spec.Services))
	services := make([]*Service, len(spec.Services))
	for i, s := range spec.Services {
		wg.Add(1)
		go func() {
			defer wg.Done()
			b := <-images[s.Name]
			if b.err != nil {
				errs[i] = &StartError{Part: s.Name, Err: b.err}
				return
			}
			if s.Build != nil {
				name := "image " + s.Name + " (" + b.How() + ")"
				st.mu.Lock()
				st.Timings = append(st.Timings, Phase{name, b.took})
				st.mu.Unlock()
				progress("stack: %-28s %6.2fs  %s", name, b.took.Seconds(), b.Ref)
			}
			t := time.Now()
			svc, err := st.startService(ctx, s, b.Ref)
			services[i] = svc
			if svc != nil {
				svc.Built = b.Fresh
			}
			if err != nil {
				errs[i] = err
				return
			}
			st.mu.Lock()
			st.Timings = append(st.Timings, Phase{"service " + s.Name, time.Since(t)})
			st.mu.Unlock()
			progress("stack: %-28s %6.2fs  %s", "service "+s.Name, time.Since(t).Seconds(), svc.PublicURL)
		}()
	}
	wg.Wait()
	for i, s := range services {
		if s != nil {
			st.Services[spec.Services[i].Name] = s
		}
	}
	if err := errors.Join(errs...); err != nil {
		return st, err
	}
	return st, nil
}

func (st *Stack) labels(service string) map[string]string {
	host, _ := os.Hostname()
	l := map[string]string{
		LabelManaged: "true", LabelRun: st.RunID, LabelPID: strconv.Itoa(os.Getpid()), LabelHost: host, LabelStack: st.Name,
	}
	if service != "" {
		l[LabelService] = service
	}
	if st.spec.Keep {
		l[LabelKeep] = "true"
	}
	return l
}

// publish binds a container port on 127.0.0.1 only, on hostPort (0: any free port).
func publish(port string, hostPort int) testcontainers.CustomizeRequestOption {
	return testcontainers.WithHostConfigModifier(func(hc *container.HostConfig) {
		if hc.PortBindings == nil {
			hc.PortBindings = mnet.PortMap{}
		}
		hp := ""
		if hostPort > 0 {
			hp = strconv.Itoa(hostPort)
		}
		hc.PortBindings[mnet.MustParsePort(port)] = []mnet.PortBinding{{HostIP: netip.MustParseAddr("127.0.0.1"), HostPort: hp}}
	})
}

func (st *Stack) startPostgres(ctx context.Context, cli *testcontainers.DockerClient) (*Postgres, error) {
	p := st.spec.Postgres
	img, err := ResolveImage(ctx, cli, p.Images)
	if err != nil {
		return nil, &StartError{Part: "postgres", Err: err}
	}
	logs := newRing(200)
	logs.redact = st.spec.Redact
	pctx, cancel := context.WithTimeout(ctx, scaled(postgresTimeout))
	defer cancel()
	ctr, err := postgres.Run(pctx, img,
		postgres.WithDatabase(p.Database), postgres.WithUsername(p.User), postgres.WithPassword(p.Password),
		postgres.BasicWaitStrategies(),
		postgres.WithSQLDriver("pgx"),
		testcontainers.WithTmpfs(map[string]string{"/var/lib/postgresql/data": "rw"}),
		testcontainers.WithLabels(st.labels("postgres")),
		testcontainers.WithLogConsumers(logs),
		publish("5432/tcp", p.HostPort),
		network.WithNetwork([]string{p.Alias}, st.network),
	)
	pg := &Postgres{Container: ctr, Image: img, logs: logs}
	if ctr != nil {
		st.Postgres = pg
	}
	if err != nil {
		return nil, &StartError{Part: "postgres", Err: shortErr(err, "postgres start", scaled(postgresTimeout)), LogTail: logs.Tail(20)}
	}
	pg.DSN, err = ctr.ConnectionString(ctx, "sslmode=disable")
	if err != nil {
		return nil, &StartError{Part: "postgres", Err: err}
	}
	pg.InternalDSN = fmt.Sprintf("postgres://%s:%s@%s:5432/%s?sslmode=disable", p.User, p.Password, p.Alias, p.Database)
	return pg, nil
}

func (st *Stack) startService(ctx context.Context, s ServiceSpec, image string) (*Service, error) {
	svc := &Service{Name: s.Name, Image: image, logs: newRing(300)}
	svc.logs.redact = st.spec.Redact
	k, r, err := runnerFor(s)
	if err != nil {
		return nil, &StartError{Part: s.Name, Err: err}
	}
	svc.Kind, svc.runner = k, r
	if err := r.Start(ctx, st, s, svc, image); err != nil {
		return svc, err
	}
	return svc, st.waitReady(ctx, s, svc)
}

// waitReady polls the readiness URL until it answers the expected status, the service's container
// stops, or the timeout passes; each failure says which and shows the service's last log lines.
func (st *Stack) waitReady(ctx context.Context, s ServiceSpec, svc *Service) error {
	if s.ReadyPath == "" {
		return nil
	}
	timeout := s.ReadyTimeout
	if timeout == 0 {
		timeout = defaultReadyTimeout
	}
	timeout = scaled(timeout)
	want := s.ReadyStatus
	if want == 0 {
		want = http.StatusOK
	}
	u := svc.PublicURL + s.ReadyPath
	hc := &http.Client{Timeout: scaled(readyRequestTimeout)}
	deadline := time.Now().Add(timeout)
	var last string
	for i := 0; ; i++ {
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
		resp, err := hc.Do(req)
		if err == nil {
			body, _ := io.ReadAll(io.LimitReader(resp.Body, 300))
			resp.Body.Close()
			if resp.StatusCode == want {
				return nil
			}
			last = fmt.Sprintf("answered %d %s", resp.StatusCode, strings.TrimSpace(string(body)))
		} else {
			last = shortErr(err, "GET "+u, hc.Timeout).Error()
		}
		if i%5 == 4 {
			if exited := st.exited(ctx, s, svc); exited != nil {
				return exited
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return &StartError{Part: s.Name, LogTail: svc.logs.Tail(25),
				Err: fmt.Errorf("not ready after %s: GET %s %s (expected %d; raise the target's ready.timeout or AUTHFLOW_TIMEOUT_FACTOR if the machine is slow)", timeout, u, last, want)}
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// exited returns a StartError when the service ended before it was ready (its kind tells).
func (st *Stack) exited(ctx context.Context, s ServiceSpec, svc *Service) error {
	if svc.runner == nil {
		return nil
	}
	return svc.runner.Exited(ctx, st, s, svc)
}

// containerExited returns a StartError when the service's container is no longer running.
func (st *Stack) containerExited(ctx context.Context, s ServiceSpec, svc *Service) error {
	if svc.Container == nil {
		return nil
	}
	state, err := svc.Container.State(ctx)
	if err != nil || state.Running {
		return nil
	}
	time.Sleep(200 * time.Millisecond) // let the log consumer catch the last lines
	tail := svc.logs.Tail(25)
	if len(tail) == 0 {
		if rc, err := svc.Container.Logs(ctx); err == nil {
			b, _ := io.ReadAll(io.LimitReader(rc, 64<<10))
			rc.Close()
			r := newRing(25)
			r.redact = st.spec.Redact
			_, _ = r.Write(b) // testcontainers' Logs demultiplexes Docker's stdout/stderr frames itself
			tail = r.Lines()
		}
	}
	return &StartError{Part: s.Name, LogTail: tail,
		Err: fmt.Errorf("the container exited with code %d before %s answered (check its env and the log lines below)", state.ExitCode, s.ReadyPath)}
}

// Close removes every container and the network of the stack, in parallel and bounded in time. With
// Keep set it leaves them running and says how to remove them. Safe to call more than once.
func (st *Stack) Close(ctx context.Context) error {
	if st == nil {
		return nil
	}
	st.mu.Lock()
	if st.closed {
		st.mu.Unlock()
		return nil
	}
	st.closed = true
	st.mu.Unlock()
	progress := st.spec.Progress
	if progress == nil {
		progress = func(string, ...any) {}
	}
	if st.spec.Keep {
		progress("stack: AUTHFLOW_KEEP is set: the stack keeps running (run %s). Remove it with:\n"+
			"  go run ./cmd/authflow clean -run %s", st.RunID, st.RunID)
		return nil
	}
	t0 := time.Now()
	ctx, cancel := context.WithTimeout(ctx, scaled(terminateTimeout))
	defer cancel()
	var (
		wg   sync.WaitGroup
		emu  sync.Mutex
		errs []error
	)
	stop := func(f func() error) {
		wg.Go(func() {
			if err := f(); err != nil {
				emu.Lock()
				errs = append(errs, err)
				emu.Unlock()
			}
		})
	}
	for _, s := range st.Services {
		if s.runner != nil {
			stop(func() error { return s.runner.Stop(ctx, s) })
		}
	}
	if st.Postgres != nil && st.Postgres.Container != nil {
		stop(func() error { return st.Postgres.Container.Terminate(ctx, testcontainers.StopTimeout(2*time.Second)) })
	}
	wg.Wait()
	if st.network != nil {
		errs = append(errs, st.network.Remove(ctx))
	}
	err := errors.Join(errs...)
	if err != nil {
		// Whatever Terminate missed, the label sweep removes.
		if cli, cerr := Client(ctx); cerr == nil {
			_, _ = Sweep(ctx, cli, st.RunID)
			cli.Close()
		}
	}
	st.Timings = append(st.Timings, Phase{"teardown", time.Since(t0)})
	progress("stack: %-28s %6.2fs", "teardown", time.Since(t0).Seconds())
	return err
}

// StartService starts one more service on the running stack's network (for example a helper the
// suites need next to the app, like a recording key server). It is removed with the stack.
func (st *Stack) StartService(ctx context.Context, s ServiceSpec) (*Service, error) {
	image := s.Image
	if s.Build != nil {
		b, err := buildImage(ctx, st.prov, st.Name+"-"+s.Name, s.Build.Context, s.Build.Dockerfile, s.Build.Args, ForceRebuild())
		if err != nil {
			return nil, &StartError{Part: s.Name, Err: err}
		}
		image = b.Ref
	}
	t0 := time.Now()
	svc, err := st.startService(ctx, s, image)
	if svc != nil {
		st.mu.Lock()
		st.Services[s.Name] = svc
		st.Timings = append(st.Timings, Phase{"service " + s.Name, time.Since(t0)})
		st.mu.Unlock()
	}
	if err == nil && st.spec.Progress != nil {
		st.spec.Progress("stack: %-28s %6.2fs  %s", "service "+s.Name, time.Since(t0).Seconds(), svc.PublicURL)
	}
	return svc, err
}
