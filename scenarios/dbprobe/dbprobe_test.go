package dbprobe

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestCompareSchema_NamesEveryMissingTableAndColumn(t *testing.T) {
	actual := map[string][]string{
		"user":    {"id", "name", "email", "emailVerified", "createdAt", "updatedAt", "role"}, // no image, one extra
		"session": {"id", "expiresAt", "token", "createdAt", "updatedAt", "ipAddress", "userid", "UserAgent"},
		"account": BetterAuthSchema["account"],
		"tasks":   {"id", "user_id", "title"},
	}
	err := CompareSchema(actual, BetterAuthSchema)
	var se *SchemaError
	require.ErrorAs(t, err, &se)
	require.Equal(t, []string{"jwks", "verification"}, se.MissingTables)
	require.Equal(t, map[string][]string{
		"user":    {"image"},
		"session": {"userAgent", "userId"}, // names are case-sensitive
	}, se.MissingColumns)
	require.Equal(t,
		`schema mismatch: missing tables "jwks", "verification"; missing columns "session"."userAgent", "session"."userId", "user"."image"`,
		err.Error())
}

func TestCompareSchema_CompleteSchemaPasses(t *testing.T) {
	actual := map[string][]string{}
	for tbl, cols := range BetterAuthSchema {
		actual[tbl] = append([]string{"extra"}, cols...)
	}
	actual["tasks"] = []string{"id"}
	require.NoError(t, CompareSchema(actual, BetterAuthSchema))
	require.NoError(t, CompareSchema(actual, nil))

	err := CompareSchema(nil, map[string][]string{"tasks": {"id"}})
	require.EqualError(t, err, `schema mismatch: missing tables "tasks"`)
}

func TestBetterAuthSchema_MatchesTheResearchedSQL(t *testing.T) {
	require.Len(t, BetterAuthSchema, 5)
	require.Contains(t, BetterAuthSchema["user"], "emailVerified")
	require.Contains(t, BetterAuthSchema["session"], "userId")
	require.Contains(t, BetterAuthSchema["account"], "password")
	require.Contains(t, BetterAuthSchema["jwks"], "privateKey")
	require.Contains(t, BetterAuthSchema["verification"], "identifier")
	n := 0
	for _, c := range BetterAuthSchema {
		n += len(c)
	}
	require.Equal(t, 7+8+13+6+7, n)
}

func TestNotFoundError_IsErrNotFound(t *testing.T) {
	err := fmt.Errorf("check sign-up: %w", &NotFoundError{Table: "user", Column: "email", Value: "a@authflow.test"})
	require.ErrorIs(t, err, ErrNotFound)
	require.EqualError(t, err, `check sign-up: no "user" row with email = "a@authflow.test"`)
	var nf *NotFoundError
	require.ErrorAs(t, err, &nf)
	require.Equal(t, "user", nf.Table)
}

func TestOpen_ErrorsNeverShowThePassword(t *testing.T) {
	const pw = "Sup3rSecretPw"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, dsn := range []string{
		"postgres://app:" + pw + "@127.0.0.1:1/app?sslmode=disable&connect_timeout=2",
		"host=127.0.0.1 port=1 user=app password=" + pw + " dbname=app sslmode=disable connect_timeout=2",
		"postgres://app:" + pw + "@127.0.0.1:notaport/app",
		"host=127.0.0.1 password=" + pw + " sslmode=bogus",
	} {
		db, err := Open(ctx, dsn)
		require.Error(t, err, dsn)
		require.Nil(t, db)
		require.NotContains(t, err.Error(), pw)
		require.Contains(t, err.Error(), "dbprobe: ")
	}
}

func TestMethods_OnAClosedOrNilDBFailCleanly(t *testing.T) {
	ctx := context.Background()
	var db *DB
	db.Close()
	require.Nil(t, db.Pool())
	_, err := db.UserByEmail(ctx, "a@b.test")
	require.ErrorIs(t, err, errNotOpen)
	_, err = db.CountUsersByEmail(ctx, "a@b.test")
	require.Error(t, err)
	_, err = db.AccountsForUser(ctx, "u")
	require.Error(t, err)
	_, err = db.SessionsForUser(ctx, "u")
	require.Error(t, err)
	_, err = db.TableColumns(ctx, "")
	require.Error(t, err)
	require.Error(t, db.CheckSchema(ctx, BetterAuthSchema))
	_, err = db.QueryStrings(ctx, "select 1")
	require.Error(t, err)
	require.Error(t, (&DB{}).CheckSchema(ctx, nil))
}

func TestRedactedError_KeepsTheCause(t *testing.T) {
	cause := errors.New(`connect failed: password=hunter2hunter2`)
	err := wrap("connect", cause)
	require.ErrorIs(t, err, cause)
	require.NotContains(t, err.Error(), "hunter2hunter2")
	require.NoError(t, wrap("x", nil))
}
