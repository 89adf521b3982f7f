package containers

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
)

// InitStep is one step of a database's preparation, run once it is up and before any service starts:
// SQL (a file, executed as one script) or a command on the host (Command argv or a Shell line, in Dir),
// which gets DATABASE_URL (the host DSN) and Env. A migration tool (alembic upgrade head, npx
// @better-auth/cli migrate) is a command step.
type InitStep struct {
	SQL     string
	Command []string
	Shell   string
	Dir     string
	Env     map[string]string
}

func (s InitStep) String() string {
	switch {
	case s.SQL != "":
		return "sql " + filepath.Base(s.SQL)
	case s.Shell != "":
		return "sh -c " + s.Shell
	}
	return strings.Join(s.Command, " ")
}

// Timeouts of the database's preparation, scaled by AUTHFLOW_TIMEOUT_FACTOR.
const (
	ownDatabaseTimeout = 10 * time.Second // connecting to an already running database
	initStepTimeout    = 5 * time.Minute  // one migration or SQL file
)

// pingDSN connects to dsn once; the error says the DSN (password hidden) could not be reached.
func pingDSN(ctx context.Context, dsn string) error {
	budget := scaled(ownDatabaseTimeout)
	cctx, cancel := context.WithTimeout(ctx, budget)
	defer cancel()
	conn, err := pgx.Connect(cctx, dsn)
	if err == nil {
		err = conn.Ping(cctx)
		conn.Close(context.WithoutCancel(cctx))
	}
	if err != nil {
		return fmt.Errorf("postgres.dsn %s is not reachable within %s: %w (is the database running, and the DSN right?)", hideDSNPassword(dsn), budget, err)
	}
	return nil
}

// runInit runs the steps in order against dsn; output goes to log. A failure names the step.
func runInit(ctx context.Context, dsn string, steps []InitStep, log *ring) error {
	for i, s := range steps {
		t0 := time.Now()
		fmt.Fprintf(log, "=== postgres.init[%d]: %s\n", i, s)
		sctx, cancel := context.WithTimeout(ctx, scaled(initStepTimeout))
		err := runInitStep(sctx, dsn, s, log)
		cancel()
		if err != nil {
			return &StartError{Part: fmt.Sprintf("postgres.init[%d] (%s)", i, s), Err: err, LogTail: log.Tail(25)}
		}
		fmt.Fprintf(log, "=== postgres.init[%d] done in %.2fs\n", i, time.Since(t0).Seconds())
	}
	return nil
}

func runInitStep(ctx context.Context, dsn string, s InitStep, log *ring) error {
	if s.SQL != "" {
		b, err := os.ReadFile(s.SQL)
		if err != nil {
			return err
		}
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			return fmt.Errorf("connect: %w", err)
		}
		defer conn.Close(context.WithoutCancel(ctx))
		// the simple query protocol runs a whole script, several statements included
		if _, err := conn.PgConn().Exec(ctx, string(b)).ReadAll(); err != nil {
			return fmt.Errorf("%s: %w", s.SQL, err)
		}
		return nil
	}
	var cmd *exec.Cmd
	switch {
	case len(s.Command) > 0:
		cmd = exec.CommandContext(ctx, s.Command[0], s.Command[1:]...)
	case s.Shell != "":
		cmd = exec.CommandContext(ctx, "/bin/sh", "-c", s.Shell)
	default:
		return errors.New("an init step needs sql, command or shell")
	}
	cmd.Dir = s.Dir
	cmd.Env = append(os.Environ(), "DATABASE_URL="+dsn)
	for k, v := range s.Env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w (its output is below)", s, err)
	}
	return nil
}

// hideDSNPassword replaces the password of a postgres URL.
func hideDSNPassword(dsn string) string {
	at := strings.LastIndex(dsn, "@")
	scheme := strings.Index(dsn, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return dsn
	}
	cred := dsn[scheme+3 : at]
	if user, _, ok := strings.Cut(cred, ":"); ok {
		return dsn[:scheme+3] + user + ":xxxxx" + dsn[at:]
	}
	return dsn
}
