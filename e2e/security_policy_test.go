package e2e

// Policy cases of the security suite: measured and reported, not assumed. How long a token stays
// usable after sign-out (ASVS 7.4.1) and after the user is deleted (ASVS 7.4.2), and how much
// leeway the backend gives on exp and nbf (ASVS 9.2.1). Each figure goes to the test log and the
// report; a target may bound them with app.budgets (token_after_signout, token_after_user_delete,
// exp_leeway, nbf_leeway), and the test fails past the budget.

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/internal/attack"
	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/dbprobe"
)

// probeAccepts sends tok on both requests and says which accepted it.
func probeAccepts(h *fixtures.T, c context.Context, tok secret.Secret) (accepted bool, observed string) {
	var parts []string
	for _, rq := range probeRequests {
		r, err := sendWith(h, c, asBearer(tok), rq.body)
		switch {
		case r == nil:
			parts = append(parts, fmt.Sprintf("%s no answer (%v)", rq.name, err))
		case r.Status >= 200 && r.Status < 300:
			accepted = true
			parts = append(parts, fmt.Sprintf("%s %d", rq.name, r.Status))
		default:
			parts = append(parts, fmt.Sprintf("%s %d", rq.name, r.Status))
		}
	}
	return accepted, strings.Join(parts, ", ")
}

// listAccepts sends tok on threads.list only (for the leeway sweeps).
func listAccepts(h *fixtures.T, c context.Context, tok secret.Secret) (bool, int) {
	r, err := sendWith(h, c, asBearer(tok), probeRequests[0].body)
	if err != nil || r == nil {
		return false, 0
	}
	return r.Status >= 200 && r.Status < 300, r.Status
}

// tokenExp returns the token's exp.
func tokenExp(t *testing.T, tok secret.Secret) time.Time {
	t.Helper()
	claims, err := jwtforge.DecodeClaims(tok)
	require.NoError(t, err)
	exp, ok := claims["exp"].(float64)
	require.True(t, ok, "the app's token has a numeric exp")
	return time.Unix(int64(exp), 0)
}

// keysFor loads the mode's keys for the actor's token.
func keysFor(h *fixtures.T, a *fixtures.Actor) *modeKeys {
	t := h.T
	t.Helper()
	head, err := jwtforge.DecodeHeader(a.Token)
	require.NoError(t, err)
	kid, _ := head["kid"].(string)
	return loadKeys(h, a.Auth, kid)
}

// expiryCheck says whether the backend rejects a token that expired an hour ago (signed as the
// app signs), which bounds any "accepted until exp" window. known is false when no trusted key.
func expiryCheck(h *fixtures.T, c context.Context, keys *modeKeys, claims map[string]any) (enforced, known bool) {
	if keys.Trusted.IsZero() {
		return false, false
	}
	now := time.Now()
	tok, err := jwtforge.Sign(keys.Trusted, jwtforge.Merge(claims, map[string]any{"exp": now.Add(-time.Hour).Unix(), "iat": now.Add(-2 * time.Hour).Unix()}), nil)
	if err != nil {
		return false, false
	}
	ok, _ := listAccepts(h, c, tok)
	return !ok, true
}

// measureWindow measures how long a token stays usable after an event (sign-out, deletion) and
// reports it against budget key.
func measureWindow(h *fixtures.T, c context.Context, a *fixtures.Actor, keys *modeKeys, figure, budgetKey, event string, after func()) {
	t := h.T
	t.Helper()
	claims, err := jwtforge.DecodeClaims(a.Token)
	require.NoError(t, err)
	ok, obs := probeAccepts(h, c, a.Token)
	require.True(t, ok, "%s: A's token must work before the %s (%s)\n%s", figure, event, obs, h.ServiceLogs(8))

	after()
	at := time.Now()
	acc0, obs0 := probeAccepts(h, c, a.Token)
	time.Sleep(2 * time.Second)
	acc2, obs2 := probeAccepts(h, c, a.Token)
	exp := tokenExp(t, a.Token)
	remaining := exp.Sub(at).Round(time.Second)
	enforced, known := expiryCheck(h, c, keys, claims)

	budget, hasBudget := policyBudget(h, budgetKey)
	var value, note string
	var window time.Duration
	unbounded := false
	switch {
	case !acc0 && !acc2:
		value = fmt.Sprintf("rejected right after the %s (%s) and at +2s (%s)", event, obs0, obs2)
	case acc0 && !acc2:
		window = 2 * time.Second
		value = fmt.Sprintf("accepted right after the %s (%s), rejected at +2s (%s): revoked within 2 s", event, obs0, obs2)
	default:
		window = remaining
		value = fmt.Sprintf("accepted right after the %s (%s) and at +2s (%s); exp is %s away, so the token stays usable for %s", event, obs0, obs2, remaining, remaining)
		switch {
		case known && !enforced:
			unbounded = true
			value = fmt.Sprintf("accepted right after the %s (%s) and at +2s (%s); expired tokens are accepted too, so the token stays usable indefinitely", event, obs0, obs2)
		case !known:
			note = "exp enforcement could not be checked (" + keys.TrustedWhy + "), so the window assumes exp is enforced"
		default:
			note = "window = time left until exp (an hour-expired token is rejected, so exp bounds it; see exp_leeway for the slack)"
		}
	}
	result := "report"
	if hasBudget {
		result = "pass"
		if unbounded || window > budget {
			result = "FAIL"
			w := window.String()
			if unbounded {
				w = "unbounded"
			}
			t.Errorf("%s: a token stays usable for %s after the %s, budget app.budgets.%s = %s: %s (ASVS 7.4.1/7.4.2: logout and account deletion must end access for downstream relying parties)",
				figure, w, event, budgetKey, budget, value)
		}
	}
	t.Logf("%s: %s [budget %s: %s]", figure, value, h.Budgets().Cell(budgetKey), result)
	if note != "" {
		t.Logf("%s: %s", figure, note)
	}
	h.Security.AddFigure(attack.Figure{Name: figure, Value: value, Budget: h.Budgets().Cell(budgetKey), Result: result, Note: note})
}

// TestSecurity_TokenAfterSignOut measures whether a signed-out user's token still opens the ChatKit
// backend, and for how long (ASVS 7.4.1).
func TestSecurity_TokenAfterSignOut(t *testing.T) {
	h := fixtures.Test(t)
	t.Cleanup(func() { writeSecurityReport(h) })
	c := h.Ctx
	a := h.NewUser("sec-signout")
	keys := keysFor(h, a)
	measureWindow(h, c, a, keys, "token after sign-out (ASVS 7.4.1)", attack.BudgetAfterSignOut, "sign-out", func() {
		require.NoError(t, a.Auth.SignOut(c), "sign-out")
		_, _, err := a.Auth.Token(c)
		require.Error(t, err, "after sign-out the token route must refuse to issue a new token (else the sign-out did not happen)")
	})
}

// TestSecurity_TokenAfterUserDelete deletes the user's rows from the database and measures whether
// the user's token still opens the ChatKit backend (ASVS 7.4.2).
func TestSecurity_TokenAfterUserDelete(t *testing.T) {
	h := fixtures.Test(t)
	t.Cleanup(func() { writeSecurityReport(h) })
	c := h.Ctx
	a := h.NewUser("sec-deleted")
	keys := keysFor(h, a)
	measureWindow(h, c, a, keys, "token after user deletion (ASVS 7.4.2)", attack.BudgetAfterUserDelete, "user's deletion", func() {
		tx, err := h.DB.Pool().Begin(c)
		require.NoError(t, err)
		defer func() { _ = tx.Rollback(c) }()
		// Better Auth's default schema; dependants first in case the foreign keys do not cascade.
		for _, q := range []string{`DELETE FROM session WHERE "userId" = $1`, `DELETE FROM account WHERE "userId" = $1`} {
			_, err := tx.Exec(c, q, a.User.ID)
			require.NoError(t, err, "delete the user's dependent rows: %s", q)
		}
		tag, err := tx.Exec(c, `DELETE FROM "user" WHERE id = $1`, a.User.ID)
		require.NoError(t, err, "delete the user row")
		require.EqualValues(t, 1, tag.RowsAffected(), "exactly one user row deleted")
		require.NoError(t, tx.Commit(c))
		_, err = h.DB.UserByEmail(c, a.Email)
		require.ErrorIs(t, err, dbprobe.ErrNotFound, "the user row is gone")
	})
}

// leewayProbes are how far past (exp) or before (nbf) the probes are.
var leewayProbes = []time.Duration{time.Second, 5 * time.Second, 30 * time.Second, time.Minute, 2 * time.Minute,
	10 * time.Minute, 30 * time.Minute, 65 * time.Minute, 3 * time.Hour}

// TestSecurity_ClockSkewLeeway measures the largest expired-by (exp) and not-yet-valid-by (nbf)
// offset the backend still accepts, with tokens signed as the app signs them (the shared
// secret, or the web's key recovered from its jwks table, n/a when that is impossible).
func TestSecurity_ClockSkewLeeway(t *testing.T) {
	h := fixtures.Test(t)
	t.Cleanup(func() { writeSecurityReport(h) })
	c := h.Ctx
	a := h.NewUser("sec-leeway")
	keys := keysFor(h, a)
	claims, err := jwtforge.DecodeClaims(a.Token)
	require.NoError(t, err)

	for _, lw := range []struct {
		name, budgetKey, claim, asvs string
		set                          func(now time.Time, d time.Duration) map[string]any
	}{
		{"exp leeway", attack.BudgetExpLeeway, "exp", "ASVS 9.2.1", func(now time.Time, d time.Duration) map[string]any {
			return map[string]any{"exp": now.Add(-d).Unix(), "iat": now.Add(-10 * time.Minute).Unix()}
		}},
		{"nbf leeway", attack.BudgetNbfLeeway, "nbf", "ASVS 9.2.1", func(now time.Time, d time.Duration) map[string]any {
			return map[string]any{"nbf": now.Add(d).Unix()}
		}},
	} {
		t.Run("case="+strings.ReplaceAll(lw.name, " ", "-"), func(t *testing.T) {
			h := h.Sub(t)
			figure := fmt.Sprintf("%s (%s)", lw.name, lw.asvs)
			budget, hasBudget := policyBudget(h, lw.budgetKey)
			if keys.Trusted.IsZero() {
				why := "n/a in token mode " + h.Target.TokenMode + ": no token can be signed as the app signs (" + keys.TrustedWhy + ")"
				t.Logf("%s: %s", figure, why)
				h.Security.AddFigure(attack.Figure{Name: figure, Value: "n/a", Budget: h.Budgets().Cell(lw.budgetKey), Result: "n/a", Note: why})
				return
			}
			probes := append([]time.Duration(nil), leewayProbes...)
			if hasBudget && !slices.Contains(probes, budget+time.Second) {
				probes = append(probes, budget+time.Second) // the direct check: just past the budget must be rejected
				slices.Sort(probes)
			}
			var largest time.Duration
			var smallestRejected time.Duration = -1
			var obs []string
			for _, d := range probes {
				now := time.Now()
				tok, err := jwtforge.Sign(keys.Trusted, jwtforge.Merge(claims, lw.set(now, d)), nil)
				require.NoError(t, err)
				ok, status := listAccepts(h, c, tok)
				mark := "rejected"
				if ok {
					mark = "accepted"
					if d > largest {
						largest = d
					}
				} else if smallestRejected < 0 || d < smallestRejected {
					smallestRejected = d
				}
				obs = append(obs, fmt.Sprintf("%s by %s: %s (%d)", lw.claim, d, mark, status))
			}
			var value string
			// at: where an offset lies, as the report reads it ("exp+1h", "1m before nbf")
			at := func(d time.Duration) string {
				if lw.claim == "exp" {
					return "exp+" + d.String()
				}
				return d.String() + " before nbf"
			}
			monotonic := smallestRejected < 0 || largest < smallestRejected
			switch {
			case largest == 0:
				value = fmt.Sprintf("no leeway: rejected at %s already", at(probes[0]))
			case smallestRejected < 0:
				value = fmt.Sprintf("accepted at every probe up to %s (%s looks unchecked)", at(largest), lw.claim)
			default:
				value = fmt.Sprintf("accepted until %s, rejected from %s", at(largest), at(smallestRejected))
			}
			if !monotonic {
				value += " (not monotonic: accepted past a rejected offset)"
			}
			note := strings.Join(obs, "; ") + "; signed with the " + keys.Trusted.String()
			result := "report"
			if hasBudget {
				result = "pass"
				if largest > budget || (smallestRejected < 0 && largest >= budget) {
					result = "FAIL"
					t.Errorf("%s: the backend accepts tokens %s by %s, past the budget app.budgets.%s = %s (%s)", figure,
						map[string]string{"exp": "expired", "nbf": "not yet valid"}[lw.claim], largest, lw.budgetKey, budget, note)
				}
			}
			assert.True(t, monotonic, "%s: acceptance is not monotonic in the offset: %s", figure, note)
			t.Logf("%s: %s [budget %s: %s]; %s", figure, value, h.Budgets().Cell(lw.budgetKey), result, note)
			h.Security.AddFigure(attack.Figure{Name: figure, Value: value, Budget: h.Budgets().Cell(lw.budgetKey), Result: result, Note: note})
		})
	}
}
