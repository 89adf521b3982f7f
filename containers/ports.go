package containers

import (
	"context"
	"fmt"
	"strings"
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
