package e2e

// API-level service-level check: 50 virtual users at once sign up, fetch a token and send a
// ChatKit message. Reports p50/p95 per step and fails on any failed request (a 429 reported as
// rate limiting, not as a flaky test) or when the chat reply's p95 reaches the spec's 5 s.

import (
	"fmt"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/containers"
	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
)

const (
	loadUsers = 50
	// loadChatP95 is the spec's bound on the chat reply (whole stream, to the assistant's done).
	loadChatP95 = 5 * time.Second
)

// loadBudget bounds the whole load run: 50 scrypt sign-ups on a loaded 2-core machine take a few
// seconds, each reply well under one; anything near this bound is a hang, not slowness.
var loadBudget = containers.Scaled(2 * time.Minute)

// loadStep is one measured step of one virtual user.
type loadStep struct {
	took time.Duration
	err  error
}

// loadVU is what one virtual user did.
type loadVU struct {
	persona             data.Persona
	userID              string
	signUp, token, chat loadStep
	reply               string
	threadID            string
}

// runVU signs a fresh persona up, fetches a token and sends one ChatKit message, timing each step.
// It stops at the first failed step.
func runVU(h *fixtures.T, v *loadVU, start <-chan struct{}) {
	c := h.Ctx
	tr := betterauth.NewTransport() // a user of its own: its own connections, as a browser has
	defer tr.CloseIdleConnections()
	opts := h.AuthOptionsAs(v.persona.ClientAddr)
	opts.Transport = tr
	// Each request is bounded by the run's context: under 50 concurrent scrypt hashes on a small
	// machine a sign-up may queue far longer than fixtures.RequestTimeout; the report shows it.
	opts.Timeout = loadBudget
	cl, err := betterauth.New(opts)
	<-start
	if err != nil {
		v.signUp.err = err
		return
	}
	t0 := time.Now()
	u, err := cl.SignUpAs(c, v.persona)
	v.signUp = loadStep{time.Since(t0), err}
	if err != nil {
		return
	}
	v.userID = u.ID
	t0 = time.Now()
	tok, _, err := cl.Token(c)
	v.token = loadStep{time.Since(t0), err}
	if err != nil {
		return
	}
	ck := h.ChatKit(tok)
	ck.Header = h.ClientAddrHeader(v.persona.ClientAddr)
	ck.HTTPClient = &http.Client{Transport: tr, Timeout: loadBudget}
	t0 = time.Now()
	s, err := ck.CreateThread(c, data.MsgGreeting)
	v.chat = loadStep{time.Since(t0), err}
	if err == nil && !s.AssistantDone {
		v.chat.err = fmt.Errorf("the stream ended without the assistant's reply (events %v)", s.Types())
	}
	if s != nil {
		v.reply, v.threadID = s.Text, s.ThreadID
	}
}

// loadReport summarises one step over all virtual users that reached it: its timings and its
// failures grouped by kind.
func loadReport(t *testing.T, name string, vus []*loadVU, step func(*loadVU) loadStep) (p95 time.Duration, failures []string) {
	t.Helper()
	var ok []time.Duration
	kinds := map[string]int{}
	var example = map[string]string{}
	reached := 0
	for _, v := range vus {
		s := step(v)
		if s.took == 0 && s.err == nil {
			continue // an earlier step failed
		}
		reached++
		if s.err != nil {
			k := failureKind(s.err)
			kinds[k]++
			if example[k] == "" {
				example[k] = s.err.Error()
			}
			continue
		}
		ok = append(ok, s.took)
	}
	p95 = percentile(ok, 95)
	t.Logf("%-8s %2d/%2d ok  p50 %6s  p95 %6s  max %6s", name, len(ok), reached,
		percentile(ok, 50).Round(time.Millisecond), p95.Round(time.Millisecond), percentile(ok, 100).Round(time.Millisecond))
	keys := make([]string, 0, len(kinds))
	for k := range kinds {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		failures = append(failures, fmt.Sprintf("%s: %d× %s (e.g. %s)", name, kinds[k], k, example[k]))
	}
	return p95, failures
}

// TestLoad_FiftyUsersSignUpAndChatConcurrently runs 50 virtual users at once, each with its own
// client address (app.client_ip_header) so a per-IP rate limiter sees 50 clients. Not parallel: the figures are the
// stack's alone, not shared with the other suites.
func TestLoad_FiftyUsersSignUpAndChatConcurrently(t *testing.T) {
	h := fixtures.Test(t, fixtures.Serial(), fixtures.Within(loadBudget))
	c := h.Ctx
	vus := make([]*loadVU, loadUsers)
	for i := range vus {
		vus[i] = &loadVU{persona: data.NewPersona("load", fmt.Sprintf("Load User %d", i+1))}
	}
	if hdr := h.Target.App.ClientIPHeader; hdr != "" {
		t.Logf("%d virtual users at once; each sends its own client address in %s (%s ... %s) on every auth request, "+
			"so a per-IP rate limit counts them as %d clients", loadUsers, hdr, vus[0].persona.ClientAddr,
			vus[loadUsers-1].persona.ClientAddr, loadUsers)
	} else {
		t.Logf("%d virtual users at once; the target sets app.client_ip_header: none, so they send no client address", loadUsers)
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i := range vus {
		wg.Go(func() { runVU(h, vus[i], start) })
	}
	began := time.Now()
	close(start)
	wg.Wait()
	wall := time.Since(began)
	t.Logf("all %d virtual users done in %s (budget %s)", loadUsers, wall.Round(time.Millisecond), loadBudget)
	require.NoError(t, c.Err(), "the load run hit its %s bound: the stack hangs under %d users\n%s", loadBudget, loadUsers, h.ServiceLogs(20))

	var failures []string
	for _, st := range []struct {
		name string
		step func(*loadVU) loadStep
	}{
		{"sign-up", func(v *loadVU) loadStep { return v.signUp }},
		{"token", func(v *loadVU) loadStep { return v.token }},
	} {
		_, f := loadReport(t, st.name, vus, st.step)
		failures = append(failures, f...)
	}
	chatP95, f := loadReport(t, "chat", vus, func(v *loadVU) loadStep { return v.chat })
	failures = append(failures, f...)

	rateLimited := false
	for _, f := range failures {
		rateLimited = rateLimited || strings.Contains(f, "429")
	}
	hint := ""
	if rateLimited {
		hint = "\nrate limited (429): the app limits requests per client although each virtual user sent its own " +
			"client address in " + h.Target.App.ClientIPHeader + "; a real launch with 50 users at once would hit the same limit " +
			"(if the app reads the address from another header, set app.client_ip_header)"
	}
	require.Empty(t, failures, "every request of every virtual user must succeed:\n%s%s\n%s",
		strings.Join(failures, "\n"), hint, h.ServiceLogs(20))

	assert.Less(t, chatP95, loadChatP95, "the chat reply's p95 is %s with %d concurrent users (spec: under %s)",
		chatP95.Round(time.Millisecond), loadUsers, loadChatP95)
	ids := map[string]bool{}
	threads := map[string]bool{}
	for i, v := range vus {
		ids[v.userID] = true
		threads[v.threadID] = true
		assert.NotEmpty(t, v.reply, "virtual user %d got an empty reply", i+1)
	}
	assert.Len(t, ids, loadUsers, "%d distinct users signed up", loadUsers)
	assert.Len(t, threads, loadUsers, "each virtual user got a thread of its own")
	recorded := 0
	for i, v := range vus {
		n, err := h.DB.CountUsersByEmail(h.Ctx, v.persona.Email)
		require.NoError(t, err)
		assert.Equal(t, 1, n, "virtual user %d has exactly one user row", i+1)
		if rows, err := h.DB.SessionsForUser(h.Ctx, v.userID); err == nil && len(rows) > 0 && rows[0].IPAddress == v.persona.ClientAddr {
			recorded++
		}
	}
	t.Logf("the app recorded the virtual user's own client address as the session's IP for %d/%d users", recorded, loadUsers)
}
