package dbprobe

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jackc/pgx/v5"
)

// BetterAuthSchema lists the tables and columns Better Auth 1.7 (email + password and the
// jwt plugin) requires: the core schema of https://www.better-auth.com/docs/concepts/database and
// the jwks table of https://www.better-auth.com/docs/plugins/jwt. Treat it as read-only; pass a
// copy to change it.
var BetterAuthSchema = map[string][]string{
	"user":         {"id", "name", "email", "emailVerified", "image", "createdAt", "updatedAt"},
	"session":      {"id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userAgent", "userId"},
	"account":      {"id", "accountId", "providerId", "userId", "accessToken", "refreshToken", "idToken", "accessTokenExpiresAt", "refreshTokenExpiresAt", "scope", "password", "createdAt", "updatedAt"},
	"verification": {"id", "identifier", "value", "expiresAt", "createdAt", "updatedAt"},
	"jwks":         {"id", "publicKey", "privateKey", "createdAt", "expiresAt", "alg", "crv"},
}

// BetterAuthSchemas are the required tables and columns per Better Auth line, from each line's own
// schema: in 1.4 (checked on 1.4.6) the jwt plugin's jwks table has publicKey, privateKey, createdAt and
// expiresAt, without 1.7's alg and crv; the core tables are the same. Keys are the app.better_auth values of a target.
var BetterAuthSchemas = map[string]map[string][]string{
	"1.7": BetterAuthSchema,
	"1.4": withColumns(BetterAuthSchema, "jwks", "id", "publicKey", "privateKey", "createdAt", "expiresAt"),
}

// withColumns is a copy of schema with table's columns replaced.
func withColumns(schema map[string][]string, table string, cols ...string) map[string][]string {
	out := make(map[string][]string, len(schema))
	for k, v := range schema {
		out[k] = v
	}
	out[table] = cols
	return out
}

// TableColumns returns every table of schema (the connection's current schema when
// schema is "") with its columns in ordinal order, from information_schema.
func (db *DB) TableColumns(ctx context.Context, schema string) (map[string][]string, error) {
	if err := db.ready(); err != nil {
		return nil, err
	}
	rows, err := db.pool.Query(ctx, `select table_name::text, column_name::text from information_schema.columns
		where table_schema = coalesce(nullif($1, ''), current_schema())
		order by table_name, ordinal_position`, schema)
	if err != nil {
		return nil, wrap("table columns", err)
	}
	out := map[string][]string{}
	var table, column string
	_, err = pgx.ForEachRow(rows, []any{&table, &column}, func() error {
		out[table] = append(out[table], column)
		return nil
	})
	if err != nil {
		return nil, wrap("table columns", err)
	}
	return out, nil
}

// CheckSchema compares the current schema with required (table -> columns) and returns
// a *SchemaError naming every missing table and column, or nil.
func (db *DB) CheckSchema(ctx context.Context, required map[string][]string) error {
	actual, err := db.TableColumns(ctx, "")
	if err != nil {
		return err
	}
	return CompareSchema(actual, required)
}

// SchemaError lists what a schema lacks. Names are compared exactly (camelCase matters).
type SchemaError struct {
	// MissingTables are required tables that do not exist, sorted.
	MissingTables []string
	// MissingColumns maps an existing table to its missing columns (in required order).
	MissingColumns map[string][]string
}

// Error reads e.g. `schema mismatch: missing tables "jwks", "verification"; missing
// columns "user"."image", "session"."userAgent"`.
func (e *SchemaError) Error() string {
	var parts []string
	if len(e.MissingTables) > 0 {
		q := make([]string, len(e.MissingTables))
		for i, t := range e.MissingTables {
			q[i] = fmt.Sprintf("%q", t)
		}
		parts = append(parts, "missing tables "+strings.Join(q, ", "))
	}
	if len(e.MissingColumns) > 0 {
		var q []string
		for _, t := range slices.Sorted(maps.Keys(e.MissingColumns)) {
			for _, c := range e.MissingColumns[t] {
				q = append(q, fmt.Sprintf("%q.%q", t, c))
			}
		}
		parts = append(parts, "missing columns "+strings.Join(q, ", "))
	}
	return "schema mismatch: " + strings.Join(parts, "; ")
}

// CompareSchema returns a *SchemaError naming every table and column of required that
// actual lacks, or nil. Extra tables and columns are allowed.
func CompareSchema(actual, required map[string][]string) error {
	e := &SchemaError{MissingColumns: map[string][]string{}}
	for _, table := range slices.Sorted(maps.Keys(required)) {
		cols, ok := actual[table]
		if !ok {
			e.MissingTables = append(e.MissingTables, table)
			continue
		}
		for _, c := range required[table] {
			if !slices.Contains(cols, c) {
				e.MissingColumns[table] = append(e.MissingColumns[table], c)
			}
		}
	}
	if len(e.MissingTables) == 0 && len(e.MissingColumns) == 0 {
		return nil
	}
	return e
}
