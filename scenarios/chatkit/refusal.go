package chatkit

import (
	"errors"
	"fmt"
	"strings"

	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

// RefusalKind says how a streaming request that the backend must refuse (a thread the caller cannot
// see, a bad token) was answered.
type RefusalKind string

const (
	// RefusedByStatus: a non-2xx answer before any stream byte. The right way.
	RefusedByStatus RefusalKind = "refused with an HTTP status before the stream"
	// RefusedInBand: a 2xx stream whose only answer is an in-band error event.
	RefusedInBand RefusalKind = "refused in-band with an error event after 200"
	// StreamCut: a 2xx answer that carried neither an error event nor anything of a reply: the body
	// was cut or ended empty (the SDK's process() failing inside the stream), or it was no stream.
	StreamCut RefusalKind = "stream cut after 200"
	// Served: the stream carried items or a reply: the request was not refused.
	Served RefusalKind = "served"
	// NoAnswer: no HTTP answer arrived.
	NoAnswer RefusalKind = "no answer"
)

// Refusal is the classified answer of a streaming request.
type Refusal struct {
	Kind   RefusalKind
	Status int
	// Events and Bytes are what the stream carried.
	Events, Bytes int
	// Code is the in-band error's code (RefusedInBand).
	Code string
	// Cut reports that the body ended mid-stream (a read error), not cleanly.
	Cut bool
	Err error
}

// ClassifyRefusal classifies what [Client.Stream] returned for a request that must be refused.
func ClassifyRefusal(s *Stream, err error) Refusal {
	if s == nil {
		return Refusal{Kind: NoAnswer, Err: err}
	}
	r := Refusal{Status: s.Status, Events: len(s.Events), Bytes: s.Bytes, Err: err}
	r.Cut = err != nil && s.Status/100 == 2 && httperr.As(err) == nil && !isInBand(err)
	switch {
	case s.Status < 200 || s.Status > 299:
		r.Kind = RefusedByStatus
	case len(s.Items) > 0 || s.AssistantDone:
		r.Kind = Served
	case len(s.ErrorEvents()) > 0:
		r.Kind, r.Code = RefusedInBand, s.ErrorEvents()[0].Code
	default:
		r.Kind = StreamCut
	}
	return r
}

func isInBand(err error) bool {
	var ib *InBandError
	return errors.As(err, &ib)
}

// String describes the answer in one line, naming the fix where the answer is not the right one.
func (r Refusal) String() string {
	switch r.Kind {
	case RefusedByStatus:
		return fmt.Sprintf("HTTP %d before any stream byte", r.Status)
	case RefusedInBand:
		return fmt.Sprintf("HTTP %d text/event-stream, then an in-band error event (code %q) after %d event(s): answer 404 "+
			"before any stream byte instead (the refusal came only after the stream started)", r.Status, r.Code, r.Events)
	case StreamCut:
		how := "ended"
		if r.Cut {
			how = "cut"
		}
		return fmt.Sprintf("%d stream %s at %d bytes (%d events), no error event: resolve and authorize the thread before "+
			"calling process() and answer 404 before any stream byte (the ChatKit SDK's process() loads the thread only inside "+
			"the stream)", r.Status, how, r.Bytes, r.Events)
	case Served:
		return fmt.Sprintf("HTTP %d with a stream of %d event(s) that carried items or a reply: the request was served, not refused", r.Status, r.Events)
	default:
		msg := "no answer"
		if r.Err != nil {
			msg += ": " + strings.TrimSpace(r.Err.Error())
		}
		return msg
	}
}
