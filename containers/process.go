package containers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// Process is a service run as a process on the host, the way a team runs its app locally and the way
// Playwright's webServer runs it: Command (argv) or Shell (a line for /bin/sh -c), in Dir, with the
// service's env on top of this process's environment. It runs in its own process group, its stdout and
// stderr are the service's logs, and it is stopped with its whole group (SIGTERM, then SIGKILL after
// processStopGrace). Every started process is registered on disk with its run id and owner, so the
// reaper of a killed run, or the next run's sweep, ends it like a leftover container.
type Process struct {
	Command []string
	Shell   string
	Dir     string
}

const processStopGrace = 5 * time.Second // a Node or Go server closes its listener within a second

// cmd builds the command (bound to ctx) with env on top of this process's environment. Init steps
// that are commands are built the same way.
func (p *Process) cmd(ctx context.Context, env map[string]string) (*exec.Cmd, error) {
	var c *exec.Cmd
	switch {
	case len(p.Command) > 0 && p.Shell != "":
		return nil, errors.New("a process has a command or a shell line, not both")
	case len(p.Command) > 0:
		c = exec.CommandContext(ctx, p.Command[0], p.Command[1:]...)
	case p.Shell != "":
		c = exec.CommandContext(ctx, "/bin/sh", "-c", p.Shell)
	default:
		return nil, errors.New("a process needs a command or a shell line")
	}
	c.Dir = p.Dir
	c.Env = os.Environ()
	for k, v := range env {
		c.Env = append(c.Env, k+"="+v)
	}
	return c, nil
}

// procRecord is what the registry keeps of a started process group.
type procRecord struct {
	Run     string `json:"run"`
	Service string `json:"service"`
	PGID    int    `json:"pgid"`
	Owner   int    `json:"owner"` // pid of the run that started it
	Host    string `json:"host"`
	Keep    bool   `json:"keep"`
}

// procDir is where started processes are registered (one JSON file each).
func procDir() string {
	if d := os.Getenv("XDG_RUNTIME_DIR"); d != "" {
		return filepath.Join(d, "authflow-procs")
	}
	return filepath.Join(os.TempDir(), "authflow-procs")
}

func registerProc(rec procRecord) (string, error) {
	if err := os.MkdirAll(procDir(), 0o700); err != nil {
		return "", err
	}
	b, _ := json.Marshal(rec)
	p := filepath.Join(procDir(), fmt.Sprintf("%s.%s.json", rec.Run, rec.Service))
	return p, os.WriteFile(p, b, 0o600)
}

// startProcess starts s as a host process; the caller checks readiness.
func (st *Stack) startProcess(s ServiceSpec, svc *Service) error {
	// not bound to a context: the process lives until stopProcess ends its group
	cmd, err := s.Process.cmd(context.Background(), s.Env)
	if err != nil {
		return &StartError{Part: s.Name, Err: err}
	}
	cmd.Stdout, cmd.Stderr = svc.logs, svc.logs
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return &StartError{Part: s.Name, Err: fmt.Errorf("start %s: %w", describeCmd(s.Process), err)}
	}
	host, _ := os.Hostname()
	svc.proc = cmd
	svc.procExited = make(chan struct{})
	svc.procFile, _ = registerProc(procRecord{Run: st.RunID, Service: s.Name, PGID: cmd.Process.Pid, Owner: os.Getpid(), Host: host, Keep: st.spec.Keep})
	go func() {
		svc.procErr = cmd.Wait()
		close(svc.procExited)
	}()
	return nil
}

// followLogs starts a URL service's log command (its output is the service's log). A command that
// fails at once (within logCommandGrace) stops the start, naming it with its output: a run whose
// failure messages would miss the app's logs is not one to start.
func (st *Stack) followLogs(s ServiceSpec, svc *Service) error {
	ls := s
	ls.Process = s.Logs
	ls.Env = nil
	if err := st.startProcess(ls, svc); err != nil {
		return err
	}
	select {
	case <-svc.procExited:
		if code := exitCode(svc.procErr); code != 0 {
			return &StartError{Part: s.Name, LogTail: svc.logs.Tail(10),
				Err: fmt.Errorf("the log command of this url: service (%s) failed with code %d", describeCmd(s.Logs), code)}
		}
	case <-time.After(logCommandGrace):
	}
	return nil
}

const logCommandGrace = 500 * time.Millisecond // a wrong container name or unit fails within this

func describeCmd(p *Process) string {
	if p.Shell != "" {
		return "sh -c " + p.Shell
	}
	return strings.Join(p.Command, " ")
}

// String describes the process for messages.
func (p *Process) String() string { return describeCmd(p) }

// processExited is the StartError of a process that ended before it was ready (nil while it runs).
func processExited(s ServiceSpec, svc *Service) error {
	select {
	case <-svc.procExited:
	default:
		return nil
	}
	return &StartError{Part: s.Name, LogTail: svc.logs.Tail(25),
		Err: fmt.Errorf("the process (%s) exited with code %d before %s answered (check its command, cwd and env and the log lines below)", describeCmd(s.Process), exitCode(svc.procErr), s.ReadyPath)}
}

// exitCode is a Wait error's exit code: 0 for nil, -1 when the process did not exit normally.
func exitCode(err error) int {
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0
	case errors.As(err, &ee):
		return ee.ExitCode()
	}
	return -1
}

// stopProcess ends the service's process group: SIGTERM, then SIGKILL after the grace period.
func stopProcess(svc *Service) error {
	if svc.proc == nil {
		return nil
	}
	pgid := svc.proc.Process.Pid
	_ = syscall.Kill(-pgid, syscall.SIGTERM)
	select {
	case <-svc.procExited:
	case <-time.After(scaled(processStopGrace)):
		_ = syscall.Kill(-pgid, syscall.SIGKILL)
		<-svc.procExited
	}
	// children that ignored SIGTERM and outlived the leader
	_ = syscall.Kill(-pgid, syscall.SIGKILL)
	if svc.procFile != "" {
		_ = os.Remove(svc.procFile)
	}
	return nil
}

// sweepProcs ends registered process groups: runID's (any owner), or with runID "" those whose owner
// is gone (same host, not kept). It returns how many it ended.
func sweepProcs(runID string) int {
	entries, err := os.ReadDir(procDir())
	if err != nil {
		return 0
	}
	host, _ := os.Hostname()
	n := 0
	for _, e := range entries {
		p := filepath.Join(procDir(), e.Name())
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		var rec procRecord
		if json.Unmarshal(b, &rec) != nil || rec.PGID <= 1 {
			_ = os.Remove(p)
			continue
		}
		if runID != "" && rec.Run != runID {
			continue
		}
		if runID == "" && (rec.Keep || rec.Host != host || alive(rec.Owner)) {
			continue
		}
		if syscall.Kill(-rec.PGID, syscall.SIGKILL) == nil {
			n++
		}
		_ = os.Remove(p)
	}
	return n
}
