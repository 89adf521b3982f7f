package attack

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
)

var j = Judge{MaxRejectTime: 2 * time.Second}

// a token whose segments are long enough to be searched for in answers
var tok = secret.New("eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEyMzQ1Njc4In0.c2lnbmF0dXJlLW9mLXRoZS10b2tlbg")

func resp(status int, body string) *chatkit.RawResponse {
	return &chatkit.RawResponse{Status: status, Body: []byte(body), Duration: 10 * time.Millisecond}
}

func stream(body string) *chatkit.RawResponse {
	r := resp(200, body)
	r.EventStream, r.StreamStarted = true, body != ""
	return r
}

func problems(o Outcome) string { return strings.Join(o.Problems, "; ") }

func TestJudgeRejected_APlain401IsAsExpected(t *testing.T) {
	o := j.Rejected("threads.list", resp(401, `{"error":"invalid token"}`), nil, tok, false, "no signature check", nil)
	assert.Empty(t, o.Problems)
	assert.False(t, o.Accepted)
	assert.Equal(t, "threads.list 401", o.Short())
}

func TestJudgeRejected_EveryWayToGetItWrong(t *testing.T) {
	for _, c := range []struct {
		name      string
		r         *chatkit.RawResponse
		err       error
		malformed bool
		want      string
		accepted  bool
	}{
		{"accepted", resp(200, `{"data":[]}`), nil, false, "ACCEPTED (200, answered 11 bytes): no signature check", true},
		{"a 5xx", resp(500, "boom"), nil, false, "server error 500 instead of 401", false},
		{"another 4xx", resp(403, `{"error":"x"}`), nil, false, "status 403, want 401", false},
		{"400 for a well-formed token", resp(400, `{"error":"x"}`), nil, false, "status 400, want 401", false},
		{"more than an error in the 401", resp(401, `{"error":"x","user":"u"}`), nil, false, `more than {"error": "..."} (fields [user])`, false},
		{"a 401 that is not JSON", resp(401, "nope"), nil, false, "the 401 body is not a JSON object", false},
		{"the token echoed", resp(401, `{"error":"bad eyJzdWIiOiJ1c2VyLTEyMzQ1Njc4In0"}`), nil, false, "echoes segment 1 of the token", false},
		{"the user's data", resp(401, `{"error":"no such user a@example.test"}`), nil, false, "carries the user's data", false},
		{"no answer", nil, errors.New("connection refused"), false, "no answer: connection refused", false},
		{"refused in-band", stream("data: {\"type\":\"error\",\"code\":\"unauthorized\"}\n\n"), nil, false, `refused in-band: 200 text/event-stream with an error event (code "unauthorized")`, false},
		{"a stream cut", stream(""), nil, false, "stream cut after 200", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			o := j.Rejected("threads.list", c.r, c.err, tok, c.malformed, "no signature check", []string{"a@example.test"})
			assert.Contains(t, problems(o), c.want)
			assert.Equal(t, c.accepted, o.Accepted)
		})
	}
}

func TestJudgeRejected_MalformedTokensMayGet400Or431AndSlowRejectionsAreNamed(t *testing.T) {
	for _, status := range []int{400, 431} {
		o := j.Rejected("threads.list", resp(status, `{"error":"x"}`), nil, tok, true, "", nil)
		assert.Empty(t, o.Problems, "%d for a malformed token", status)
	}
	slow := resp(401, `{"error":"x"}`)
	slow.Duration = 3 * time.Second
	assert.Contains(t, problems(j.Rejected("threads.list", slow, nil, tok, false, "", nil)), "the rejection took 3s (> 2s)")
}

func TestJudgeAccepted(t *testing.T) {
	created := stream("data: {\"type\":\"thread.created\",\"thread\":{\"id\":\"thr_1\",\"created_at\":\"2026-01-01T00:00:00Z\"}}\n\n")
	assert.Empty(t, j.Accepted("threads.create", true, created, nil, "A's own token").Problems)
	assert.Empty(t, j.Accepted("threads.list", false, resp(200, `{"data":[],"has_more":false}`), nil, "").Problems)

	o := j.Accepted("threads.create", true, resp(401, `{"error":"x"}`), nil, "A's own token")
	assert.Contains(t, problems(o), "REJECTED (401), want 200: A's own token")
	assert.Contains(t, problems(j.Accepted("threads.create", true, stream("data: {\"type\":\"progress_update\"}\n\n"), nil, "")), "without a thread.created event")
	assert.Contains(t, problems(j.Accepted("threads.list", false, resp(200, "<html>"), nil, "")), "not a page")
	assert.Contains(t, problems(j.Accepted("threads.list", false, nil, errors.New("EOF"), "")), "no answer: EOF")
}

func TestRefusedInStream_AStreamWithItemsServedTheRequest(t *testing.T) {
	served := stream("data: {\"type\":\"thread.created\",\"thread\":{\"id\":\"thr_1\",\"created_at\":\"2026-01-01T00:00:00Z\"}}\n\n")
	assert.Empty(t, RefusedInStream(served))
}

// TestParseBudgets checks the parsing of app.budgets (it was the e2e suite's
// TestSecurity_BudgetsParse, which needed the stack only because it lived there).
func TestParseBudgets(t *testing.T) {
	got, err := ParseBudgets("t.yaml", map[string]string{
		"token_after_signout": "30m", "exp_leeway": " 60s ", "nbf_leeway": "0s", "p95_latency": "whatever",
	})
	require.NoError(t, err, "other suites' budget keys are not ours to parse")
	assert.Equal(t, map[string]time.Duration{"token_after_signout": 30 * time.Minute, "exp_leeway": time.Minute, "nbf_leeway": 0}, got)

	for _, bad := range []string{"30", "soon", "-1m", ""} {
		_, err := ParseBudgets("t.yaml", map[string]string{"token_after_user_delete": bad})
		require.Error(t, err, "%q", bad)
		assert.Contains(t, err.Error(), "t.yaml: app.budgets.token_after_user_delete")
		assert.Contains(t, err.Error(), "is not a duration")
	}
}

func TestBudgets_TheTargetsValueElseTheDefaultAndWhy(t *testing.T) {
	b := Budgets{File: "t.yaml", Set: map[string]string{BudgetExpLeeway: "1m"}, Lifetime: 15 * time.Minute}
	d, err := b.Get(BudgetExpLeeway)
	require.NoError(t, err)
	assert.Equal(t, time.Minute, d)
	assert.Equal(t, "1m0s (app.budgets)", b.Cell(BudgetExpLeeway))

	d, err = b.Get(BudgetNbfLeeway)
	require.NoError(t, err)
	assert.Equal(t, 5*time.Minute, d, "RFC 7519: a few minutes of leeway at most")
	d, err = b.Get(BudgetAfterSignOut)
	require.NoError(t, err)
	assert.Equal(t, 15*time.Minute, d, "a token lives until its exp: the mode's lifetime")
	assert.Contains(t, b.Cell(BudgetAfterSignOut), "15m0s (default: the mode's token.lifetime")

	d, _ = DefaultBudget(BudgetAfterUserDelete, 0)
	assert.Equal(t, time.Hour, d, "no token.lifetime: an access token's common hour")

	_, err = Budgets{File: "t.yaml", Set: map[string]string{BudgetAfterSignOut: "soon"}}.Get(BudgetExpLeeway)
	assert.ErrorContains(t, err, "app.budgets.token_after_signout", "a bad value anywhere in app.budgets is an error")
}

func TestReport_MarkdownOrdersCasesCountsThemAndEscapesCells(t *testing.T) {
	r := &Report{Target: "reference", Mode: "hs256", MaxRejectTime: 2 * time.Second}
	r.AddRow(Row{Order: 2, Case: "alg-none", Group: "alg", Expected: "reject", Observed: "threads.list 401", Result: "pass"})
	r.AddRow(Row{Order: 1, Case: "resign|pipe", Group: "keys", Expected: "reject", Observed: "line\nbreak", Result: "FAIL"})
	r.AddRow(Row{Order: 3, Case: "jku", Group: "header", Result: "n/a"})
	r.AddFigure(Figure{Name: "exp leeway", Value: "no leeway", Budget: "1m0s (app.budgets)", Result: "pass"})
	r.AddNote("matrix timings: %d cases", 3)
	md := r.Markdown(time.Date(2026, 12, 1, 12, 0, 0, 0, time.UTC))

	assert.Contains(t, md, "# JWT attack matrix: target reference, token mode hs256")
	assert.Contains(t, md, "Generated 2026-12-01T12:00:00Z; AUTHFLOW_FAULT=none.")
	assert.Contains(t, md, "< 2s, never 5xx")
	assert.Contains(t, md, "Cases: 3 (pass 1, FAIL 1, n/a 1, report-only 0)")
	assert.Less(t, strings.Index(md, `resign\|pipe`), strings.Index(md, "alg-none"), "cases in their order, | escaped")
	assert.Contains(t, md, "| line break |", "a cell is one line")
	assert.Contains(t, md, "## Policy figures (measured)")
	assert.Contains(t, md, "- matrix timings: 3 cases")
}

func TestReport_CellsAreRedacted(t *testing.T) {
	r := &Report{Target: "t", Mode: "jwks", Fault: "skip-signature-check"}
	r.AddRow(Row{Case: "c", Observed: "answered with " + tok.Value(), Result: "FAIL"})
	md := r.Markdown(time.Now())
	assert.NotContains(t, md, tok.Value(), "a token in an observation never reaches the report")
	assert.Contains(t, md, "AUTHFLOW_FAULT=skip-signature-check")
}

func TestReport_WriteFile(t *testing.T) {
	r := &Report{Target: "t", Mode: "hs256"}
	r.AddRow(Row{Case: "c", Result: "pass"})
	p := t.TempDir() + "/sub/security-report-hs256.md"
	require.NoError(t, r.WriteFile(p))
	b, err := readFile(p)
	require.NoError(t, err)
	assert.Contains(t, b, "Cases: 1 (pass 1")
}

func readFile(p string) (string, error) {
	b, err := os.ReadFile(p)
	return string(b), err
}
