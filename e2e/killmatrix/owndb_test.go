package killmatrix

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/internal/artifacts"
)

// TestOwnDatabase_TheSuitePassesOnADatabaseAuthflowDidNotStart starts a Postgres as "the app's own"
// database, outside any authflow stack, and runs the whole e2e suite against the reference app (as host
// processes) on it through postgres.dsn (targets/reference-owndb.yaml).
func TestOwnDatabase_TheSuitePassesOnADatabaseAuthflowDidNotStart(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a database and a stack")
	}
	containers.PrepareEnv(false)
	ctx := context.Background()
	db, err := containers.Start(ctx, containers.NewRunID(), containers.Spec{Name: "owndb", Postgres: containers.PostgresSpec{
		Images: []string{"postgres:17-alpine", "authflow.local/postgres:17"}, Alias: "db", Database: "appdb", User: "appuser", Password: "apppw",
	}})
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close(ctx)
	c := &child{Label: "own-database,mode=hs256", Mode: hs256, Run: ".",
		Env: []string{"AUTHFLOW_TARGET=" + filepath.Join(moduleRoot(t), "targets", "reference-owndb.yaml"), "REFAPP_DATABASE_URL=" + db.Postgres.DSN}}
	c.run(t, artifacts.Default().KillMatrix())
	checkClean(t, c)
	if n := c.Result.Count().Passed; n < 50 {
		t.Errorf("only %d tests passed on the app's own database; the whole suite should run", n)
	}
}
