// Command backend is refapp's Go ChatKit backend (see refapp/README.md for the contract).
package main

import (
	"context"
	"errors"
	"log"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"
	_ "time/tzdata" // the image has no zoneinfo; TZ (the SDK profile's local time) needs it

	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authflow-e2e/authflow/refapp/backend/chatkit"
)

func main() {
	log.SetFlags(log.LstdFlags | log.LUTC | log.Lmicroseconds)
	log.SetPrefix("backend: ")
	if err := run(); err != nil {
		log.Fatalf("fatal: %v", err)
	}
}

func run() error {
	cfg, unknownFaults, err := chatkit.ConfigFromEnv(os.Getenv)
	if err != nil {
		return err
	}
	dsn := os.Getenv("DATABASE_URL")
	if dsn == "" {
		return errors.New("DATABASE_URL is required")
	}
	port := strings.TrimSpace(os.Getenv("PORT"))
	if port == "" {
		port = "8000"
	}
	cfg.Logger = log.Default()

	if names := cfg.Faults.Names(); len(names) > 0 {
		log.Printf("active faults: %s", strings.Join(names, ", "))
	} else {
		log.Printf("active faults: none")
	}
	if len(unknownFaults) > 0 {
		log.Printf("warning: ignoring unknown fault names: %s", strings.Join(unknownFaults, ", "))
	}
	log.Printf("token mode %s; profile %s (local zone %s); CORS origins: %q", cfg.TokenMode, cfg.Profile, time.Now().Format("MST -07:00"), cfg.CORSOrigins)

	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	poolCfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return errors.New("DATABASE_URL is not a valid Postgres DSN") // the DSN holds a password: not echoed
	}
	pool, err := pgxpool.NewWithConfig(ctx, poolCfg)
	if err != nil {
		return err
	}
	defer pool.Close()
	store := chatkit.NewStore(pool)
	if err := migrateWithRetry(ctx, store); err != nil {
		if ctx.Err() != nil {
			log.Printf("shutting down before the database was ready")
			return nil
		}
		return err
	}

	handler, err := chatkit.New(cfg, store)
	if err != nil {
		return err
	}
	srv := &http.Server{
		Handler:           handler,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       120 * time.Second,
	}
	ln, err := net.Listen("tcp", ":"+port)
	if err != nil {
		return err
	}
	log.Printf("listening on :%s", port)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Printf("shutting down")
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	return nil
}

// migrateWithRetry creates the tables, waiting up to 60 s for Postgres to accept connections.
func migrateWithRetry(ctx context.Context, store *chatkit.Store) error {
	deadline := time.Now().Add(60 * time.Second)
	for {
		attemptCtx, cancel := context.WithTimeout(ctx, 5*time.Second)
		err := store.Migrate(attemptCtx)
		cancel()
		if err == nil {
			log.Printf("database schema ready")
			return nil
		}
		if ctx.Err() != nil || time.Now().After(deadline) {
			return errors.New("database not ready: " + err.Error())
		}
		log.Printf("database not ready yet: %v", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Second):
		}
	}
}
