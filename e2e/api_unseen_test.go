package e2e

// Judging the answers about a thread the caller cannot see (missing, deleted or another user's) by
// effect, under the target's app.not_found: such a request must be refused, or, where the ChatKit
// protocol allows it (items.list, threads.delete), answered with nothing; it must never carry the
// owner's data (and the tests check the owner's thread afterwards through the owner). A 5xx and a
// stream cut after 200 are findings whose messages name the fix.

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/authflow-e2e/authflow/internal/report"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
	"github.com/authflow-e2e/authflow/targets"
)

// noteAnswer logs an answer the suite accepts although another is preferred; the run summary lists it.
func noteAnswer(t *testing.T, format string, args ...any) {
	t.Helper()
	t.Logf(report.NotePrefix+format, args...)
}

// unseenThread is a thread the caller cannot see, and the owner's data that must not reach the caller.
type unseenThread struct {
	what  string   // e.g. "user A's thread", "a deleted thread"
	who   string   // the caller, e.g. "user B" (default "the caller")
	leaks []string // texts of the owner's thread (message, title)
	// notFound is how the target answers a thread the caller cannot see (app.not_found).
	notFound string
}

func (u unseenThread) caller() string {
	if u.who == "" {
		return "the caller"
	}
	return u.who
}

// fix5xx names the fix of a 5xx for an unseen thread first (the summary keeps one line of 240
// characters), then what it breaks.
const fix5xx = "map the ChatKit SDK's NotFoundError to 404 (an exception handler for chatkit.store.NotFoundError); a 5xx " +
	"here is unmapped: uvicorn then drops the keep-alive connection, and without CORS headers a browser sees a network error"

// requireJSON judges the answer r (err: none arrived) to a non-streaming request of type typ.
func (u unseenThread) requireJSON(t *testing.T, typ string, r *chatkit.RawResponse, err error) {
	t.Helper()
	if !assert.NoError(t, err, "%s of %s: no answer", typ, u.what) {
		return
	}
	u.requireNoLeak(t, typ, string(r.Body))
	if r.Status/100 != 2 {
		u.requireRefusalStatus(t, typ, r.Status, r.Excerpt())
		return
	}
	strict := u.notFound == targets.NotFound404
	switch typ {
	case chatkit.TypeItemsList:
		var p chatkit.Page[json.RawMessage]
		if err := json.Unmarshal(r.Body, &p); err != nil || len(p.Data) > 0 {
			assert.Fail(t, fmt.Sprintf("%s of %s answered %d with items (%s): %s was served %s",
				typ, u.what, r.Status, r.Excerpt(), u.caller(), u.what))
			return
		}
		if strict {
			assert.Fail(t, fmt.Sprintf("%s of %s answered %d with an empty page; the target requires 404 (app.not_found: \"404\")", typ, u.what, r.Status))
			return
		}
		noteAnswer(t, "%s of %s answered %d with an empty page (the ChatKit SDK's answer, conformant); 404 is preferred", typ, u.what, r.Status)
	case chatkit.TypeThreadsDelete:
		if strict {
			assert.Fail(t, fmt.Sprintf("%s of %s answered %d %s; the target requires 404 (app.not_found: \"404\")", typ, u.what, r.Status, r.Excerpt()))
			return
		}
		noteAnswer(t, "%s of %s answered %d %s as a no-op (the ChatKit SDK's answer, conformant); 404 is preferred", typ, u.what, r.Status, r.Excerpt())
	default:
		assert.Fail(t, fmt.Sprintf("%s of %s answered %d %s: it must be refused (404), not served", typ, u.what, r.Status, r.Excerpt()))
	}
}

// requireStream judges the answer to a streaming request (threads.add_user_message).
func (u unseenThread) requireStream(t *testing.T, s *chatkit.Stream, err error) {
	t.Helper()
	typ := chatkit.TypeThreadsAddUserMessage
	r := chatkit.ClassifyRefusal(s, err)
	if err != nil {
		u.requireNoLeak(t, typ, err.Error())
	}
	if s != nil {
		u.requireNoLeak(t, typ, s.Text)
	}
	switch r.Kind {
	case chatkit.RefusedByStatus:
		body := ""
		if he := httperr.As(err); he != nil {
			body = he.Body
		}
		u.requireRefusalStatus(t, typ, r.Status, body)
	case chatkit.Served:
		assert.Fail(t, fmt.Sprintf("%s to %s: %s; %s's message went into %s", typ, u.what, r, u.caller(), u.what))
	default: // the message leads with the fix: the summary keeps one line of 240 characters
		assert.Fail(t, fmt.Sprintf("%s: %s", typ, r))
	}
}

// requireRefusalStatus judges a non-2xx refusal: 404 (or 403 under the protocol), never a 5xx.
func (u unseenThread) requireRefusalStatus(t *testing.T, typ string, status int, body string) {
	t.Helper()
	switch {
	case status >= 500:
		leak := ""
		if strings.Contains(body, "Traceback") || strings.Contains(body, "File \"") {
			leak = " The body also leaks a traceback."
		}
		assert.Fail(t, fmt.Sprintf("%s of %s answered %d: %s.%s Body: %s", typ, u.what, status, fix5xx, leak, body))
	case u.notFound == targets.NotFound404:
		assert.Equal(t, http.StatusNotFound, status, "%s of %s: the target requires 404 (app.not_found: \"404\"): %s", typ, u.what, body)
	default:
		assert.Contains(t, []int{http.StatusForbidden, http.StatusNotFound}, status,
			"%s of %s: want 404 (or 403) for a thread the caller cannot see, got %d: %s", typ, u.what, status, body)
		if status == http.StatusForbidden {
			noteAnswer(t, "%s of %s answered 403; 404 is preferred", typ, u.what)
		}
	}
}

// requireNoLeak fails when an answer carries the owner's data.
func (u unseenThread) requireNoLeak(t *testing.T, typ, answer string) {
	t.Helper()
	if i := slices.IndexFunc(u.leaks, func(l string) bool { return l != "" && strings.Contains(answer, l) }); i >= 0 {
		assert.Fail(t, fmt.Sprintf("%s of %s: the answer carries that thread's data: %s was served %s", typ, u.what, u.caller(), u.what))
	}
}
