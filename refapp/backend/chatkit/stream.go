package chatkit

import (
	"net/http"
)

// stream writes ChatKit server-sent events: each event is exactly "data: <compact json>\n\n",
// flushed at once. No event:, id:, comments, heartbeats or terminal sentinel: the end of the body
// ends the stream.
type stream struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	err error
}

func startStream(w http.ResponseWriter) *stream {
	h := w.Header()
	h.Set("Content-Type", "text/event-stream; charset=utf-8")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	st := &stream{w: w, rc: http.NewResponseController(w)}
	st.err = st.rc.Flush()
	return st
}

// send writes one event; after the first failure (client gone) it keeps returning that error.
func (st *stream) send(v any) error {
	if st.err != nil {
		return st.err
	}
	b, err := marshalCompact(v)
	if err != nil {
		st.err = err
		return err
	}
	buf := make([]byte, 0, len(b)+8)
	buf = append(buf, "data: "...)
	buf = append(buf, b...)
	buf = append(buf, "\n\n"...)
	if _, err := st.w.Write(buf); err != nil {
		st.err = err
		return err
	}
	st.err = st.rc.Flush()
	return st.err
}
