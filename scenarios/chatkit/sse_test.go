package chatkit

import (
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/require"
)

func readAll(r io.Reader) ([]string, error) {
	sr := NewSSEReader(r)
	var out []string
	for {
		d, err := sr.Next()
		if err == io.EOF {
			return out, nil
		}
		if err != nil {
			return out, err
		}
		out = append(out, string(d))
	}
}

func TestSSEReader_Framing(t *testing.T) {
	cases := []struct {
		name, in string
		want     []string
	}{
		{"sdk framing", "data: {\"a\":1}\n\ndata: {\"b\":2}\n\n", []string{`{"a":1}`, `{"b":2}`}},
		{"no space after colon", "data:{\"a\":1}\n\n", []string{`{"a":1}`}},
		{"only one space is stripped", "data:  x\n\n", []string{" x"}},
		{"multi-line data joined by LF", "data: line1\ndata: line2\ndata:\n\n", []string{"line1\nline2\n"}},
		{"event id retry and comments ignored", ": hello\nevent: message\nid: 7\nretry: 100\nfoo: bar\ndata: x\n\n", []string{"x"}},
		{"CRLF", "data: a\r\n\r\ndata: b\r\n\r\n", []string{"a", "b"}},
		{"lone CR", "data: a\r\rdata: b\r\r", []string{"a", "b"}},
		{"BOM", "\xEF\xBB\xBFdata: a\n\n", []string{"a"}},
		{"event without data skipped", "event: ping\n\n: keepalive\n\ndata: a\n\n", []string{"a"}},
		{"field without colon", "data\n\n", []string{""}},
		{"several blank lines", "\n\n\ndata: a\n\n\n\n", []string{"a"}},
		{"empty body", "", nil},
		{"trailing comment after last event", "data: a\n\n: bye\n", []string{"a"}},
	}
	for _, c := range cases {
		t.Run("case="+c.name, func(t *testing.T) {
			got, err := readAll(strings.NewReader(c.in))
			require.NoError(t, err)
			require.Equal(t, c.want, got)
			// Byte-at-a-time delivery gives the same events.
			got, err = readAll(iotest.OneByteReader(strings.NewReader(c.in)))
			require.NoError(t, err)
			require.Equal(t, c.want, got)
		})
	}
}

func TestSSEReader_CutStreamIsAnError(t *testing.T) {
	cases := map[string]string{
		"partial line":                 "data: {\"a\":1}\n\ndata: {\"type\":\"thread.it",
		"data line without blank line": "data: {\"a\":1}\n\ndata: {\"b\":2}\n",
		"event field then end":         "data: {\"a\":1}\n\nevent: x\n",
		"partial last line":            "data: {\"a\":1}\n\ndata: b",
	}
	for name, in := range cases {
		t.Run("case="+name, func(t *testing.T) {
			got, err := readAll(strings.NewReader(in))
			require.Error(t, err)
			require.ErrorIs(t, err, io.ErrUnexpectedEOF)
			require.ErrorIs(t, err, ErrStreamCut)
			require.Equal(t, []string{`{"a":1}`}, got, "events before the cut are still returned")
		})
	}
}

func TestSSEReader_ReadErrorsPassThrough(t *testing.T) {
	cut := io.MultiReader(strings.NewReader("data: a\n\n"), iotest.ErrReader(io.ErrUnexpectedEOF))
	sr := NewSSEReader(cut)
	d, err := sr.Next()
	require.NoError(t, err)
	require.Equal(t, "a", string(d))
	_, err = sr.Next()
	require.ErrorIs(t, err, io.ErrUnexpectedEOF, "a cut connection between events is not a clean end")
	_, err2 := sr.Next()
	require.Equal(t, err, err2, "the error sticks")

	boom := errors.New("connection reset by peer")
	_, err = readAll(iotest.ErrReader(boom))
	require.ErrorIs(t, err, boom)
}

func TestSSEReader_LineTooLong(t *testing.T) {
	_, err := readAll(strings.NewReader("data: " + strings.Repeat("x", MaxEventBytes+10) + "\n\n"))
	require.Error(t, err)
}
