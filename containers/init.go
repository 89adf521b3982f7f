package containers

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
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
	if s.SQL != "" {
		return "sql " + filepath.Base(s.SQL)
	}
	return s.process().String()
}

// process is a command step as a Process, built like a process service's command.
func (s InitStep) process() *Process { return &Process{Command: s.Command, Shell: s.Shell, Dir: s.Dir} }

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
	env := map[string]string{"DATABASE_URL": dsn}
	for k, v := range s.Env {
		env[k] = v
	}
	cmd, err := s.process().cmd(ctx, env)
	if err != nil {
		return fmt.Errorf("an init step needs sql, command or shell: %w", err)
	}
	cmd.Stdout, cmd.Stderr = log, log
	if err := cmd.Run(); err != nil {
		return fmt.Errorf("%s: %w (its output is below)", s, err)
	}
	return nil
}

// hideDSNPassword replaces the password of a postgres URL (net/url's Redacted).
func hideDSNPassword(dsn string) string {
	if u, err := url.Parse(dsn); err == nil {
		return u.Redacted()
	}
	return "(a DSN that is not a URL)"
}
