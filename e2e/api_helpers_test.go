package e2e

// Helpers of the API-level suites (api_*_test.go): HTTP error assertions, token verification in
// either mode, the session cookie, percentiles, and thread ids that exist nowhere.

import (
	"errors"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/betterauth"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

// requireHTTPError asserts that err is an HTTP answer with this status and, when code is not
// empty, this machine-readable error code.
func requireHTTPError(t *testing.T, err error, status int, code, what string) *httperr.Error {
	t.Helper()
	require.Error(t, err, "%s: want HTTP %d %s, got a success", what, status, code)
	he := httperr.As(err)
	require.NotNil(t, he, "%s: want HTTP %d, got a transport error: %v", what, status, err)
	require.Equal(t, status, he.Status, "%s: wrong status: %v", what, err)
	if code != "" {
		require.Equal(t, code, he.Code, "%s: wrong error code: %v", what, err)
	}
	return he
}

// sessionCookie returns the client's session cookie (Better Auth names it
// "<prefix>.session_token", with a __Secure- prefix on https).
func sessionCookie(c *betterauth.Client) (betterauth.Cookie, bool) {
	for _, ck := range c.Cookies() {
		if strings.HasSuffix(ck.Name, "session_token") && !ck.Value.IsZero() {
			return ck, true
		}
	}
	return betterauth.Cookie{}, false
}

// verifyToken verifies tok the way the target's backend must, as its token mode says (the shared
// secret, or the JWKS fetched through c with the target's issuer and audience). It requires exp.
func verifyToken(h *fixtures.T, c *betterauth.Client, tok secret.Secret) (map[string]any, error) {
	t := h.T
	t.Helper()
	return h.Target.Mode.Verify(h.Ctx, h.TokenEnv(c), tok.Value())
}

// missingThreadID returns an id of the shape of like (an id the server issued) that names no thread.
func missingThreadID(like string) string { return chatkit.MissingID(like) }

// percentile returns the p-th percentile (0 < p <= 100, nearest rank) of ds.
func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	sort.Slice(s, func(i, j int) bool { return s[i] < s[j] })
	rank := int(p/100*float64(len(s))+0.9999999) - 1
	return s[min(max(rank, 0), len(s)-1)]
}

// itemTexts returns "<type>:<text>" for each item, for messages.
func itemTexts(items []chatkit.Item) []string {
	out := make([]string, len(items))
	for i, it := range items {
		txt := it.Text()
		if len(txt) > 60 {
			txt = txt[:60] + "…"
		}
		out[i] = it.Type + ":" + txt
	}
	return out
}

// idsOf returns the ids of items.
func idsOf[T any](list []T, id func(T) string) []string {
	out := make([]string, len(list))
	for i, v := range list {
		out[i] = id(v)
	}
	return out
}

// requireNoDuplicates fails when ids holds a value twice.
func requireNoDuplicates(t *testing.T, ids []string, what string) {
	t.Helper()
	seen := map[string]int{}
	for i, id := range ids {
		if j, ok := seen[id]; ok {
			require.Failf(t, what+": duplicate", "id %s appears at positions %d and %d of %v", id, j, i, ids)
		}
		seen[id] = i
	}
}

// failureKind classifies an error of a load-test step for the report.
func failureKind(err error) string {
	switch {
	case err == nil:
		return ""
	case errors.Is(err, httperr.ErrRateLimited):
		return "rate-limited (429)"
	case httperr.StatusOf(err) != 0:
		return fmt.Sprintf("HTTP %d", httperr.StatusOf(err))
	default:
		var ib *chatkit.InBandError
		if errors.As(err, &ib) {
			return "in-band error event " + ib.Code
		}
		return "no answer / transport"
	}
}

// authClient is h.AuthClient (its own client address) with extra headers on every request
// and, when tr is not nil, a transport of its own.
func authClient(h *fixtures.T, header http.Header, tr http.RoundTripper) *betterauth.Client {
	t := h.T
	t.Helper()
	opts := h.AuthOptions()
	opts.Header, opts.Transport = header, tr
	c, err := betterauth.New(opts)
	require.NoError(t, err)
	return c
}
