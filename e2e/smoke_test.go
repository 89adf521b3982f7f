package e2e

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/targets"
)

// TestSmoke_SignUpTokenAndChatCreateATaskForThatUser walks the fixed app's manual test plan once, over
// HTTP: sign up, fetch the token, ask the ChatKit backend to add a task, and find the rows in Postgres
// (for an app without tasks, the chat part runs and the task part is reported n/a).
func TestSmoke_SignUpTokenAndChatCreateATaskForThatUser(t *testing.T) {
	h := fixtures.Test(t)
	c := h.Ctx
	a := h.NewUser("smoke")

	u, err := h.DB.UserByEmail(c, a.Email)
	require.NoError(t, err, "the user row after sign-up")
	assert.Equal(t, a.User.ID, u.ID)
	accts, err := h.DB.AccountsForUser(c, u.ID)
	require.NoError(t, err)
	require.Len(t, accts, 1, "one account row (credential) after sign-up")
	assert.True(t, accts[0].HasPassword, "the credential account holds a password hash")
	sessions, err := h.DB.SessionsForUser(c, u.ID)
	require.NoError(t, err)
	assert.NotEmpty(t, sessions, "a session row after the automatic sign-in of sign-up")

	msg := data.MsgGreeting
	if h.Target.App.Has(targets.FeatureTasks) {
		msg = data.AddTask("buy milk")
	}
	s, err := a.ChatKit.CreateThread(c, msg)
	require.NoError(t, err, "threads.create with the user's token\n%s", h.ServiceLogs(10))
	require.True(t, s.AssistantDone, "the assistant's reply completed; events: %v", s.Types())
	assert.NotEmpty(t, s.Text, "the assistant replied")
	assert.NotEmpty(t, s.ThreadID)

	t.Run("part=task-row", func(t *testing.T) {
		h := h.Sub(t)
		h.Needs(targets.FeatureTasks)
		assert.Contains(t, s.Text, "buy milk", "the assistant confirms the task")
		assert.Equal(t, []string{"buy milk"}, h.Tasks(t, u.ID), "the task row belongs to this user")
	})
}
