// Package failing is a fixture: a suite with deliberately failing tests, run by the tests of
// internal/report/cmd/summarize through gotestsum to prove that a failure reaches the JUnit file and the
// run summary with its message. It lives under testdata, so `go test ./...` never runs it.
package failing

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestSmoke_Passes(t *testing.T) {}

func TestToken_ExpiredTokenIsRejected(t *testing.T) {
	t.Log("minted an expired token")
	require.Equal(t, 401, 200, "POST /chatkit with an expired token")
}

func TestSession_ReloadKeepsTheSession(t *testing.T) {
	t.Log("a log line before the failure")
	t.Fatalf("after reload the page shows %q, want the chat; cookie better-auth.session_token=%s", "/login", "abcdefgh12345678.signaturesignature")
}

func TestIsolation_UserBCannotSeeUserAsThread(t *testing.T) {
	t.Run("case=list", func(t *testing.T) {})
	t.Run("case=get", func(t *testing.T) {
		t.Errorf("threads.get_by_id answered 200 for another user's thread, want 404")
	})
}

func TestSkip_Skipped(t *testing.T) { t.Skip("not applicable") }
