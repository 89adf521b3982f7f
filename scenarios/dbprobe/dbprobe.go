// Package dbprobe reads what landed in the app's PostgreSQL database: Better Auth's users,
// accounts and sessions (never a password hash or a session token), the schema from
// information_schema, and ad-hoc probes a target file supplies (e.g. the app's tasks
// table).
//
// Better Auth's identifiers are double-quoted camelCase ("user", "userId", "expiresAt");
// every query here quotes them.
package dbprobe

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/authflow-e2e/authflow/internal/redact"
)

// ErrNotFound is matched (errors.Is) by a [NotFoundError].
var ErrNotFound = errors.New("not found")

// NotFoundError says which row was looked for and not found.
type NotFoundError struct {
	Table, Column, Value string
}

func (e *NotFoundError) Error() string {
	return fmt.Sprintf("no %q row with %s = %q", e.Table, e.Column, e.Value)
}

// Is makes errors.Is(err, ErrNotFound) true.
func (e *NotFoundError) Is(target error) bool { return target == ErrNotFound }

// errNotOpen is returned by the methods of a nil or closed DB.
var errNotOpen = errors.New("dbprobe: database is not open")

// redactedError hides credentials in a driver error's text while keeping it unwrappable.
type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

func wrap(op string, err error) error {
	if err == nil {
		return nil
	}
	return &redactedError{msg: "dbprobe: " + op + ": " + redact.String(err.Error()), err: err}
}

// DB is a connection pool to the app's database.
type DB struct {
	pool *pgxpool.Pool
}

// Open connects to dsn (URL or key=value form) and pings the server. Errors never
// contain the password.
func Open(ctx context.Context, dsn string) (*DB, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		// pgx's message may quote the DSN; keep only the redacted text.
		return nil, fmt.Errorf("dbprobe: parse DSN: %s", redact.String(redact.URLString(err.Error())))
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, wrap("open pool", err)
	}
	if err := pool.Ping(ctx); err != nil {
		pool.Close()
		return nil, wrap(fmt.Sprintf("connect to %s:%d/%s", cfg.ConnConfig.Host, cfg.ConnConfig.Port, cfg.ConnConfig.Database), err)
	}
	return &DB{pool: pool}, nil
}

// Close closes the pool. It is safe to call on a nil DB and more than once.
func (db *DB) Close() {
	if db != nil && db.pool != nil {
		db.pool.Close()
	}
}

// Pool returns the underlying pool for queries this package does not offer.
func (db *DB) Pool() *pgxpool.Pool {
	if db == nil {
		return nil
	}
	return db.pool
}

func (db *DB) ready() error {
	if db == nil || db.pool == nil {
		return errNotOpen
	}
	return nil
}

// User is a row of Better Auth's "user" table.
type User struct {
	ID            string
	Email         string
	Name          string
	EmailVerified bool
	CreatedAt     time.Time
}

// UserByEmail returns the user with this e-mail address (compared case-insensitively, as
// Better Auth lower-cases addresses), or a *NotFoundError.
func (db *DB) UserByEmail(ctx context.Context, email string) (*User, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	var u User
	err := db.pool.QueryRow(ctx, `select "id", "email", "name", "emailVerified", "createdAt"
		from "user" where lower("email") = lower($1) order by "createdAt" limit 1`, email).
		Scan(&u.ID, &u.Email, &u.Name, &u.EmailVerified, &u.CreatedAt)
	if errors.Is(err, pgx.ErrNoRows) {
		return nil, &NotFoundError{Table: "user", Column: "email", Value: email}
	}
	if err != nil {
		return nil, wrap("user by email", err)
	}
	return &u, nil
}

// CountUsersByEmail counts users with this address, case-insensitively (more than one
// means a duplicate sign-up got through).
func (db *DB) CountUsersByEmail(ctx context.Context, email string) (int, error) {
	if err := db.ready(); err != nil {
		return 0, err
	}
	var n int
	if err := db.pool.QueryRow(ctx, `select count(*) from "user" where lower("email") = lower($1)`, email).Scan(&n); err != nil {
		return 0, wrap("count users by email", err)
	}
	return n, nil
}

// Account is a row of Better Auth's "account" table without any secret: the password
// hash is reduced to whether there is one and whether it has Better Auth's scrypt format
// (32 hex salt ":" 128 hex key), so a plain-text password shows as HasPassword without
// PasswordHashed.
type Account struct {
	ID             string
	AccountID      string
	ProviderID     string
	UserID         string
	HasPassword    bool
	PasswordHashed bool
	CreatedAt      time.Time
}

// AccountsForUser returns the user's accounts, oldest first (an e-mail/password user has
// one with ProviderID "credential").
func (db *DB) AccountsForUser(ctx context.Context, userID string) ([]Account, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `select "id", "accountId", "providerId", "userId",
		coalesce("password", '') <> '',
		coalesce("password" ~ '^[0-9a-f]{32}:[0-9a-f]{128}$', false),
		"createdAt"
		from "account" where "userId" = $1 order by "createdAt", "id"`, userID)
	if err != nil {
		return nil, wrap("accounts for user", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Account, error) {
		var a Account
		err := r.Scan(&a.ID, &a.AccountID, &a.ProviderID, &a.UserID, &a.HasPassword, &a.PasswordHashed, &a.CreatedAt)
		return a, err
	})
	if err != nil {
		return nil, wrap("accounts for user", err)
	}
	return out, nil
}

// Session is a row of Better Auth's "session" table without its token.
type Session struct {
	ID        string
	UserID    string
	ExpiresAt time.Time
	CreatedAt time.Time
	UserAgent string
	IPAddress string
}

// SessionsForUser returns the user's sessions, oldest first (expired ones included;
// compare ExpiresAt with the time yourself).
func (db *DB) SessionsForUser(ctx context.Context, userID string) ([]Session, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `select "id", "userId", "expiresAt", "createdAt",
		coalesce("userAgent", ''), coalesce("ipAddress", '')
		from "session" where "userId" = $1 order by "createdAt", "id"`, userID)
	if err != nil {
		return nil, wrap("sessions for user", err)
	}
	out, err := pgx.CollectRows(rows, func(r pgx.CollectableRow) (Session, error) {
		var s Session
		err := r.Scan(&s.ID, &s.UserID, &s.ExpiresAt, &s.CreatedAt, &s.UserAgent, &s.IPAddress)
		return s, err
	})
	if err != nil {
		return nil, wrap("sessions for user", err)
	}
	return out, nil
}

// QueryStrings runs a read query supplied by a target (e.g. `select title, completed
// from tasks where user_id = $1`) and returns each row as column name -> value in
// PostgreSQL's text form (booleans are "t"/"f", timestamps as Postgres prints them). A
// NULL value has no key in the map. Run only trusted SQL: it is executed as given.
func (db *DB) QueryStrings(ctx context.Context, sql string, args ...any) ([]map[string]string, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	all := append([]any{pgx.QueryResultFormats{pgx.TextFormatCode}}, args...)
	rows, err := db.pool.Query(ctx, sql, all...)
	if err != nil {
		return nil, wrap("query", err)
	}
	defer rows.Close()
	fields := rows.FieldDescriptions()
	var out []map[string]string
	for rows.Next() {
		row := make(map[string]string, len(fields))
		for i, raw := range rows.RawValues() {
			if raw != nil {
				row[fields[i].Name] = string(raw)
			}
		}
		out = append(out, row)
	}
	if err := rows.Err(); err != nil {
		return nil, wrap("query", err)
	}
	return out, nil
}
