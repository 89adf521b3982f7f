package containers

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/moby/moby/client"
)

// Sweep removes containers and networks labelled by this package, and ends the host processes of
// process services (see Process). With runID set it removes that
// run's; otherwise those of runs whose owning process is gone (same host, pid no longer alive), so a
// concurrent run (another shard, a second terminal) is never touched. It returns how many it removed.
func Sweep(ctx context.Context, cli client.APIClient, runID string) (int, error) {
	procs := sweepProcs(runID) // host processes of process services, from their registry
	host, _ := os.Hostname()
	f := client.Filters{}.Add("label", LabelManaged+"=true")
	if runID != "" {
		f = f.Add("label", LabelRun+"="+runID)
	}
	dead := func(labels map[string]string) bool {
		if runID != "" {
			return true
		}
		if labels[LabelKeep] == "true" {
			return false // kept on purpose (AUTHFLOW_KEEP); removed by hand
		}
		if labels[LabelHost] != host {
			return false
		}
		pid, err := strconv.Atoi(labels[LabelPID])
		return err == nil && !alive(pid)
	}
	n := 0
	var errs []error
	ctrs, err := cli.ContainerList(ctx, client.ContainerListOptions{All: true, Filters: f})
	if err != nil {
		return 0, fmt.Errorf("list containers: %w", err)
	}
	for _, c := range ctrs.Items {
		if !dead(c.Labels) {
			continue
		}
		if _, err := cli.ContainerRemove(ctx, c.ID, client.ContainerRemoveOptions{Force: true, RemoveVolumes: true}); err != nil {
			if !takenCareOf(err) {
				errs = append(errs, err)
			}
			continue
		}
		n++
	}
	nets, err := cli.NetworkList(ctx, client.NetworkListOptions{Filters: f})
	if err != nil {
		return n, fmt.Errorf("list networks: %w", err)
	}
	for _, nw := range nets.Items {
		if !dead(nw.Labels) {
			continue
		}
		if _, err := cli.NetworkRemove(ctx, nw.ID, client.NetworkRemoveOptions{}); err != nil {
			// Forbidden is "active endpoints": containers on it whose removal another cleaner has begun
			// (Conflict above); that cleaner removes the network too, else the next sweep does.
			if !takenCareOf(err) && !cerrdefs.IsPermissionDenied(err) {
				errs = append(errs, err)
			}
			continue
		}
		n++
	}
	return n + procs, errors.Join(errs...)
}

// takenCareOf reports whether a removal error means that another cleaner has the object: it is gone
// already (NotFound) or its removal is in progress (Conflict). Two sweeps at once (two shards
// starting, or a sweep beside a run's reaper) then split the work instead of failing.
func takenCareOf(err error) bool { return cerrdefs.IsNotFound(err) || cerrdefs.IsConflict(err) }

func alive(pid int) bool {
	if pid <= 0 {
		return false
	}
	err := syscall.Kill(pid, 0)
	return err == nil || errors.Is(err, syscall.EPERM)
}

const reaperEnv = "AUTHFLOW_REAPER_RUN"

// RunReaperIfAsked turns this process into a reaper when it was started as one by StartReaper. Call it
// first thing in main and TestMain. A reaper waits until its parent's end of a pipe closes (the parent
// exited: normally, by panic, by timeout or by SIGKILL), then removes everything labelled with the
// parent's run id and exits. It ignores Ctrl-C, which the terminal sends to the parent too.
func RunReaperIfAsked() {
	runID := os.Getenv(reaperEnv)
	if runID == "" {
		return
	}
	signal.Ignore(syscall.SIGINT, syscall.SIGTERM, syscall.SIGHUP)
	msg, _ := io.ReadAll(bufio.NewReader(os.Stdin))
	if strings.TrimSpace(string(msg)) == "keep" {
		os.Exit(0) // the parent kept its stack on purpose (AUTHFLOW_KEEP)
	}
	PrepareEnv(false)
	ctx, cancel := context.WithTimeout(context.Background(), scaled(terminateTimeout))
	defer cancel()
	// The parent removes its stack itself on a normal exit; give it a moment before sweeping.
	time.Sleep(300 * time.Millisecond)
	if cli, err := Client(ctx); err == nil {
		if n, _ := Sweep(ctx, cli, runID); n > 0 {
			fmt.Fprintf(os.Stderr, "authflow reaper: removed %d containers/networks of run %s left by an abnormal exit\n", n, runID)
		}
		cli.Close()
	}
	os.Exit(0)
}

// Reaper is a running reaper process.
type Reaper struct {
	cmd *exec.Cmd
	w   io.WriteCloser
}

// StartReaper starts a copy of this executable as the reaper of runID. The reaper outlives this process
// only long enough to remove what it left; Stop ends it after a clean teardown.
func StartReaper(runID string) (*Reaper, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, fmt.Errorf("start reaper: %w", err)
	}
	cmd := exec.Command(exe, "-test.run=^$")
	cmd.Env = append(os.Environ(), reaperEnv+"="+runID)
	cmd.Stdout, cmd.Stderr = nil, os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true} // not in the terminal's process group
	w, err := cmd.StdinPipe()
	if err != nil {
		return nil, fmt.Errorf("start reaper: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start reaper: %w", err)
	}
	r := &Reaper{cmd: cmd, w: w}
	// The pipe's *os.File closes itself when garbage-collected, which the reaper would take for the
	// parent's death; keep every live reaper reachable until Stop.
	reapers.Lock()
	reapers.live[r] = true
	reapers.Unlock()
	return r, nil
}

var reapers = struct {
	sync.Mutex
	live map[*Reaper]bool
}{live: map[*Reaper]bool{}}

// Keep tells the reaper that the stack is kept on purpose (AUTHFLOW_KEEP): it exits without sweeping.
func (r *Reaper) Keep() {
	if r == nil {
		return
	}
	_, _ = io.WriteString(r.w, "keep\n")
}

// Stop closes the pipe (the reaper then sweeps, finding nothing after a clean teardown) and waits.
func (r *Reaper) Stop() {
	if r == nil {
		return
	}
	_ = r.w.Close()
	reapers.Lock()
	delete(reapers.live, r)
	reapers.Unlock()
	done := make(chan struct{})
	go func() { _ = r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(scaled(terminateTimeout)):
		_ = r.cmd.Process.Kill()
	}
}
