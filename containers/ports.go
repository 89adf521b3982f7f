package containers

import (
	"context"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"

	psnet "github.com/shirou/gopsutil/v4/net"
	"github.com/shirou/gopsutil/v4/process"
)

// portHolder describes what listens on a TCP port (" (held by pid 123 node server.mjs)"), or "" when
// that cannot be found (another user's process without root, a platform gopsutil cannot read).
func portHolder(port int) string {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conns, err := psnet.ConnectionsWithContext(ctx, "tcp")
	if err != nil {
		return ""
	}
	for _, c := range conns {
		if c.Status != "LISTEN" || int(c.Laddr.Port) != port || c.Pid == 0 {
			continue
		}
		what := fmt.Sprintf("pid %d", c.Pid)
		if p, err := process.NewProcessWithContext(ctx, c.Pid); err == nil {
			if cmd, err := p.CmdlineWithContext(ctx); err == nil && cmd != "" {
				if len(cmd) > 120 {
					cmd = cmd[:120] + "..."
				}
				what += " " + cmd
			}
		}
		if strings.Contains(what, "docker-proxy") {
			what += fmt.Sprintf("; a container publishes it: docker ps --filter publish=%d", port)
		}
		return " (held by " + what + ")"
	}
	return ""
}

// Host ports picked ahead of a service's start (FreePort) are not taken from the kernel's ephemeral
// range: a port picked there by listening on :0 and closing can be handed out again before Docker
// binds it, as the source port of any outgoing connection or as the host port Docker gives a
// container of another run (a kill-matrix child failed on "Bind for 127.0.0.1:45865 failed: port is
// already allocated"). Below that range, a port is taken only by whoever binds it on purpose, and an
// flock on a file per port keeps two authflow processes on this machine from picking the same one.
// The lock is held until the process ends (the kernel then drops it, whatever the ending).
var portLocks struct {
	sync.Mutex
	held []*os.File
}

// portRange is where reservePort picks: [10000, start of the ephemeral range), or nothing when that
// range starts too low to leave room.
func portRange() (lo, hi int) {
	lo, hi = 10000, 32768 // Linux's default ephemeral range starts at 32768
	if b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		if f := strings.Fields(string(b)); len(f) == 2 {
			if n, err := strconv.Atoi(f[0]); err == nil {
				hi = n
			}
		}
	}
	if hi-lo < 1000 {
		return 0, 0
	}
	return lo, hi
}

// reservePort picks a random free port in portRange that no other authflow process holds, and holds
// it; where there is no such range it falls back to a port the kernel picks.
func reservePort() (int, error) {
	lo, hi := portRange()
	if lo == 0 {
		return kernelPort()
	}
	dir := filepath.Join(os.TempDir(), "authflow-ports")
	if err := os.MkdirAll(dir, 0o777); err != nil {
		return kernelPort()
	}
	for range 200 {
		p := lo + mrand.IntN(hi-lo)
		f, err := os.OpenFile(filepath.Join(dir, strconv.Itoa(p)), os.O_CREATE|os.O_RDWR, 0o666)
		if err != nil {
			continue
		}
		if syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB) != nil || PortFree(p) != nil {
			f.Close() // held by another authflow process, or bound by someone
			continue
		}
		portLocks.Lock()
		portLocks.held = append(portLocks.held, f)
		portLocks.Unlock()
		return p, nil
	}
	return kernelPort()
}

// kernelPort is a port that is free on 127.0.0.1 right now, picked by the kernel.
func kernelPort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, fmt.Errorf("pick a free port on 127.0.0.1: %w", err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}
