package e2e

// API-level suite of the database schema Better Auth needs: the five tables with their columns
// (from information_schema), the uniqueness of e-mail addresses, and Better Auth's own readiness
// route, which answers 200 only when its schema check passes.

import (
	"maps"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/scenarios/dbprobe"
)

// TestSchema_BetterAuthTablesHaveTheColumnsBetterAuthNeeds checks each of Better Auth's tables
// (user, session, account, verification, jwks) against the schema of the Better Auth line the target
// declares (dbprobe.BetterAuthSchemas, app.better_auth); a failure names every missing table or column.
func TestSchema_BetterAuthTablesHaveTheColumnsBetterAuthNeeds(t *testing.T) {
	h := fixtures.Test(t)
	line := h.Target.App.BetterAuth
	schema, ok := dbprobe.BetterAuthSchemas[line]
	require.True(t, ok, "no schema for Better Auth %s", line)
	actual, err := h.DB.TableColumns(h.Ctx, "")
	require.NoError(t, err, "read the schema from information_schema")
	for _, table := range slices.Sorted(maps.Keys(schema)) {
		t.Run("case=table-"+table, func(t *testing.T) {
			required := map[string][]string{table: slices.Clone(schema[table])}
			err := dbprobe.CompareSchema(actual, required)
			assert.NoError(t, err, "Better Auth %s's schema (app.better_auth): Better Auth fails every request (500) when its schema is incomplete; run its migration", line)
		})
	}
	t.Run("case=checked-live", func(t *testing.T) {
		h := h.Sub(t)
		// The same check against the live database, as CheckSchema runs it.
		err := h.DB.CheckSchema(h.Ctx, schema)
		require.NoError(t, err, "schema check against the running database")
		// ...and the check is not blind: a column nobody has is reported by name.
		err = h.DB.CheckSchema(h.Ctx, map[string][]string{"user": {"id", "authflowNoSuchColumn"}})
		require.Error(t, err, "a schema check that finds nothing missing cannot be trusted")
		assert.Contains(t, err.Error(), "authflowNoSuchColumn", "the message names the missing column")
	})
}

// TestSchema_UserEmailIsUnique checks that the database itself refuses a second row with the same
// address (a unique constraint or index on "user".email), so concurrent sign-ups cannot both win.
func TestSchema_UserEmailIsUnique(t *testing.T) {
	h := fixtures.Test(t)
	var n int
	err := h.DB.Pool().QueryRow(h.Ctx, `
		SELECT count(*) FROM information_schema.table_constraints tc
		JOIN information_schema.key_column_usage k
		  ON k.constraint_name = tc.constraint_name AND k.table_schema = tc.table_schema AND k.table_name = tc.table_name
		WHERE tc.table_schema = current_schema() AND tc.table_name = 'user'
		  AND tc.constraint_type IN ('UNIQUE', 'PRIMARY KEY') AND k.column_name = 'email'
		  AND (SELECT count(*) FROM information_schema.key_column_usage k2
		       WHERE k2.constraint_name = tc.constraint_name AND k2.table_schema = tc.table_schema) = 1`).Scan(&n)
	require.NoError(t, err)
	if n == 0 { // a unique index without a constraint does not show in information_schema
		err = h.DB.Pool().QueryRow(h.Ctx, `SELECT count(*) FROM pg_indexes
			WHERE schemaname = current_schema() AND tablename = 'user'
			  AND indexdef ILIKE 'CREATE UNIQUE INDEX%' AND indexdef ~* '\(\s*"?email"?\s*\)'`).Scan(&n)
		require.NoError(t, err)
	}
	assert.Positive(t, n, `"user".email has no unique constraint or index: two concurrent sign-ups of one address can both succeed`)
}

// TestSchema_AuthOkRouteAnswers200 calls Better Auth's readiness route <auth base>/ok, which runs
// its schema check (unlike a plain health route).
func TestSchema_AuthOkRouteAnswers200(t *testing.T) {
	h := fixtures.Test(t)
	cl := authClient(h, nil, nil)
	resp, err := cl.Do(h.Ctx, http.MethodGet, cl.AuthURL("/ok"), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.Status, "GET %s/ok: %s\n%s", h.Target.App.AuthBasePath, resp, h.ServiceLogs(10))
	var body struct {
		OK bool `json:"ok"`
	}
	require.NoError(t, resp.JSON(&body))
	assert.True(t, body.OK, "the readiness answer says ok: %s", resp)
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"), "JSON answer, got %q", resp.Header.Get("Content-Type"))
}
