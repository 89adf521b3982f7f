// Package attack judges the answers of the JWT attack matrix and the security policies, keeps their
// report and reads their budgets: the pure part of the e2e security suite, tested here without a
// stack.
//
//	judge.go   an answer to a forged or valid token: rejected as a gate must, or accepted
//	budget.go  the policy budgets of app.budgets and their defaults
//	report.go  the security report: every case and figure, as markdown
package attack

import (
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/internal/jwtforge"
	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
)

// Outcome is the judged answer to one request.
type Outcome struct {
	Request  string
	Status   int
	Accepted bool
	Took     time.Duration
	Problems []string // empty: as expected
}

// Short is the outcome in a few words: "threads.list 401", "threads.create 200 ACCEPTED".
func (o Outcome) Short() string {
	if o.Status == 0 {
		return o.Request + " no answer"
	}
	s := fmt.Sprintf("%s %d", o.Request, o.Status)
	if o.Accepted {
		s += " ACCEPTED"
	}
	return s
}

// Judge holds what a judgement depends on beyond the answer.
type Judge struct {
	// MaxRejectTime is the longest a rejection may take: more is slow work on attacker input.
	MaxRejectTime time.Duration
}

// Rejected checks a rejection: 401 (400 or 431 too when malformed), an error JSON and nothing else,
// no stream byte, no echo of the token or the user's data (private), quick, never a 5xx. weakness
// names what a backend that accepts the token lacks.
func (j Judge) Rejected(name string, r *chatkit.RawResponse, err error, tok secret.Secret, malformed bool, weakness string, private []string) Outcome {
	o := Outcome{Request: name}
	if r != nil {
		o.Status, o.Took = r.Status, r.Duration
	}
	if err != nil && r == nil {
		o.Problems = append(o.Problems, fmt.Sprintf("no answer: %v", err))
		return o
	}
	if err != nil {
		o.Problems = append(o.Problems, fmt.Sprintf("the answer was cut: %v", err))
	}
	inStream := ""
	if r.Status >= 200 && r.Status < 300 && r.EventStream {
		inStream = RefusedInStream(r)
	}
	switch {
	case inStream != "":
		// Not served, but refused only after the stream started (a backend that authenticates inside it).
		o.Problems = append(o.Problems, inStream+"; authenticate before any stream byte and answer 401")
		return o
	case r.Status >= 200 && r.Status < 300:
		o.Accepted = true
		what := "answered"
		if r.StreamStarted {
			what = "streamed"
		}
		o.Problems = append(o.Problems, fmt.Sprintf("ACCEPTED (%d, %s %d bytes): %s", r.Status, what, len(r.Body), weakness))
		return o
	case r.Status >= 500:
		o.Problems = append(o.Problems, fmt.Sprintf("server error %d instead of 401: the verifier fails on attacker input (fail-closed by accident at best): %s", r.Status, r.Excerpt()))
	case r.Status == http.StatusUnauthorized:
	case malformed && (r.Status == http.StatusBadRequest || r.Status == http.StatusRequestHeaderFieldsTooLarge):
	default:
		o.Problems = append(o.Problems, fmt.Sprintf("status %d, want 401: %s", r.Status, r.Excerpt()))
	}
	if r.StreamStarted || r.EventStream {
		o.Problems = append(o.Problems, fmt.Sprintf("the rejection came as an event stream (%d bytes): the stream started before authentication", len(r.Body)))
	}
	if r.Status == http.StatusUnauthorized {
		var m map[string]any
		if jerr := json.Unmarshal(r.Body, &m); jerr != nil {
			o.Problems = append(o.Problems, fmt.Sprintf("the 401 body is not a JSON object: %s", r.Excerpt()))
		} else {
			var extra []string
			for k, v := range m {
				if _, isStr := v.(string); k != "error" || !isStr {
					extra = append(extra, k)
				}
			}
			if len(extra) > 0 || m["error"] == nil {
				slices.Sort(extra)
				o.Problems = append(o.Problems, fmt.Sprintf("the 401 body carries more than {\"error\": \"...\"} (fields %v): %s", extra, r.Excerpt()))
			}
		}
	}
	for i := range 3 {
		if seg := jwtforge.Segment(tok, i); len(seg) >= 16 && strings.Contains(string(r.Body), seg) {
			o.Problems = append(o.Problems, fmt.Sprintf("the error body echoes segment %d of the token", i))
		}
	}
	for _, p := range private {
		if p != "" && strings.Contains(string(r.Body), p) {
			o.Problems = append(o.Problems, "the error body carries the user's data (id or e-mail)")
			break
		}
	}
	if j.MaxRejectTime > 0 && o.Took > j.MaxRejectTime {
		o.Problems = append(o.Problems, fmt.Sprintf("the rejection took %s (> %s): slow work on attacker input", o.Took.Round(time.Millisecond), j.MaxRejectTime))
	}
	return o
}

// RefusedInStream describes a 2xx event stream that carried no item: an in-band error event, or a
// body cut or ended with no event at all ("" when the stream carried items, i.e. served the request).
func RefusedInStream(r *chatkit.RawResponse) string {
	evs, _ := chatkit.ParseEvents(r.Body)
	var errCode string
	for _, e := range evs {
		switch {
		case e.Item != nil || e.Thread != nil:
			return ""
		case e.Type == chatkit.EventError && errCode == "":
			errCode = e.Code
		}
	}
	if errCode != "" {
		return fmt.Sprintf("refused in-band: %d text/event-stream with an error event (code %q) and no item", r.Status, errCode)
	}
	return fmt.Sprintf("stream cut after %d: text/event-stream, then %d byte(s) and %d event(s), with no item and no error event", r.Status, len(r.Body), len(evs))
}

// Accepted checks an accepted request: 200 and, for the stream, a thread.created event; for the list,
// a page. why says why the token must be accepted.
func (j Judge) Accepted(name string, streaming bool, r *chatkit.RawResponse, err error, why string) Outcome {
	o := Outcome{Request: name}
	if r == nil {
		o.Problems = append(o.Problems, fmt.Sprintf("no answer: %v", err))
		return o
	}
	o.Status, o.Took, o.Accepted = r.Status, r.Duration, r.Status >= 200 && r.Status < 300
	if err != nil {
		o.Problems = append(o.Problems, fmt.Sprintf("the answer was cut: %v", err))
	}
	if !o.Accepted {
		o.Problems = append(o.Problems, fmt.Sprintf("REJECTED (%d), want 200: %s: %s", r.Status, why, r.Excerpt()))
		return o
	}
	if streaming {
		evs, perr := r.Events()
		if perr != nil || !r.StreamStarted {
			o.Problems = append(o.Problems, fmt.Sprintf("200 but not a complete event stream: %v", perr))
		} else if !slices.ContainsFunc(evs, func(e chatkit.Event) bool { return e.Type == chatkit.EventThreadCreated }) {
			o.Problems = append(o.Problems, "200 stream without a thread.created event")
		}
	} else {
		var page struct {
			Data []json.RawMessage `json:"data"`
		}
		if jerr := json.Unmarshal(r.Body, &page); jerr != nil {
			o.Problems = append(o.Problems, fmt.Sprintf("200 but the threads.list body is not a page: %s", r.Excerpt()))
		}
	}
	return o
}
