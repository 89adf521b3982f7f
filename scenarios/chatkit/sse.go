package chatkit

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// MaxEventBytes bounds one SSE line and one event's data (a ChatKit event carries at most
// one thread item, far below this).
const MaxEventBytes = 16 << 20

// ErrStreamCut is wrapped (together with io.ErrUnexpectedEOF) by the error an
// [SSEReader] returns when the body ends inside an event.
var ErrStreamCut = errors.New("event stream ended inside an event")

// SSEReader parses a Server-Sent Events body incrementally (it never reads more than it
// needs to return the next event). It follows the WHATWG rules that matter for ChatKit:
//
//   - "data:" with or without one leading space; several data lines are joined by "\n";
//   - "event:", "id:", "retry:", unknown fields and ":" comments are ignored;
//   - an event is dispatched on a blank line; an event without data lines is skipped;
//   - lines end with "\n", "\r\n" or "\r"; a leading UTF-8 BOM is skipped.
//
// A body that ends between events is a normal end ([io.EOF]). A body that ends inside an
// event (a partial line, or field lines without the closing blank line) is an error that
// matches both [io.ErrUnexpectedEOF] and [ErrStreamCut]; a failed read is returned
// wrapped, so a cut connection (io.ErrUnexpectedEOF from the chunked reader) is never
// mistaken for the end of the stream.
type SSEReader struct {
	sc      *bufio.Scanner
	partial bool // the last line had no terminator
	started bool // first line read (BOM check)
	err     error
}

// NewSSEReader returns a reader of the events in r.
func NewSSEReader(r io.Reader) *SSEReader {
	s := &SSEReader{}
	s.sc = bufio.NewScanner(r)
	s.sc.Buffer(make([]byte, 0, 64<<10), MaxEventBytes)
	s.sc.Split(s.splitLines)
	return s
}

// splitLines splits on \n, \r\n and \r, and remembers whether the final line was cut.
func (s *SSEReader) splitLines(data []byte, atEOF bool) (int, []byte, error) {
	for i, b := range data {
		switch b {
		case '\n':
			return i + 1, data[:i], nil
		case '\r':
			if i+1 < len(data) {
				if data[i+1] == '\n' {
					return i + 2, data[:i], nil
				}
				return i + 1, data[:i], nil
			}
			if !atEOF {
				return 0, nil, nil // need one more byte to tell \r from \r\n
			}
			return i + 1, data[:i], nil
		}
	}
	if atEOF && len(data) > 0 {
		s.partial = true
		return len(data), data, nil
	}
	return 0, nil, nil
}

// Next returns the data of the next event. It returns io.EOF at a clean end of the body.
// After an error every call returns the same error.
func (s *SSEReader) Next() ([]byte, error) {
	if s.err != nil {
		return nil, s.err
	}
	var data bytes.Buffer
	hasData, inEvent := false, false
	for s.sc.Scan() {
		line := s.sc.Bytes()
		if !s.started {
			s.started = true
			line = bytes.TrimPrefix(line, []byte("\xEF\xBB\xBF"))
		}
		if s.partial {
			s.err = fmt.Errorf("%w after %q: %w", ErrStreamCut, truncate(line, 40), io.ErrUnexpectedEOF)
			return nil, s.err
		}
		if len(line) == 0 {
			if hasData {
				return data.Bytes(), nil
			}
			inEvent = false
			continue
		}
		if line[0] == ':' {
			continue
		}
		field, value, found := bytes.Cut(line, []byte(":"))
		if found && len(value) > 0 && value[0] == ' ' {
			value = value[1:]
		}
		inEvent = true
		if string(field) != "data" {
			continue // event, id, retry and unknown fields carry nothing ChatKit uses
		}
		if hasData {
			data.WriteByte('\n')
		}
		if data.Len()+len(value) > MaxEventBytes {
			s.err = fmt.Errorf("event stream: event data exceeds %d bytes", MaxEventBytes)
			return nil, s.err
		}
		data.Write(value)
		hasData = true
	}
	if err := s.sc.Err(); err != nil {
		s.err = fmt.Errorf("read event stream: %w", err)
		return nil, s.err
	}
	if inEvent {
		s.err = fmt.Errorf("%w (no blank line after the last field): %w", ErrStreamCut, io.ErrUnexpectedEOF)
		return nil, s.err
	}
	s.err = io.EOF
	return nil, io.EOF
}

func truncate(b []byte, n int) string {
	if len(b) > n {
		return string(b[:n]) + "…"
	}
	return string(b)
}
