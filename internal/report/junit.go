package report

import (
	"bytes"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/authflow-e2e/authflow/internal/redact"
)

// AnnotateJUnit rewrites a JUnit file written by gotestsum so that each <failure message="Failed">
// carries the test's first failure message (gotestsum keeps the full output in the element's body,
// which is kept but passed through the redaction rules as a safety net). Test cases are matched by
// name against the runs.
func AnnotateJUnit(path string, runs []*Run) error {
	in, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	out, err := annotate(in, func(name string) string {
		for _, r := range runs {
			if t := r.Test(name); t != nil && t.Failed() {
				return r.FailureMessage(name)
			}
		}
		return ""
	})
	if err != nil {
		return fmt.Errorf("annotate %s: %w", path, err)
	}
	return os.WriteFile(path, out, 0o644)
}

func annotate(in []byte, message func(test string) string) ([]byte, error) {
	dec := xml.NewDecoder(bytes.NewReader(in))
	var buf bytes.Buffer
	buf.WriteString(xml.Header)
	enc := xml.NewEncoder(&buf)
	enc.Indent("", "\t")
	var testcase string
	inFailure := false
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, err
		}
		switch t := tok.(type) {
		case xml.ProcInst:
			continue // the header is written above
		case xml.CharData:
			if len(bytes.TrimSpace(t)) == 0 {
				continue // re-indented by the encoder
			}
			if inFailure {
				tok = xml.CharData(redact.String(string(t)))
			}
		case xml.StartElement:
			switch t.Name.Local {
			case "testcase":
				testcase = attr(t, "name")
			case "skipped":
				for i := range t.Attr {
					t.Attr[i].Value = redact.String(t.Attr[i].Value)
				}
			case "failure":
				inFailure = true
				if m := message(testcase); m != "" {
					for i := range t.Attr {
						if t.Attr[i].Name.Local == "message" {
							t.Attr[i].Value = m
						}
					}
				}
			}
			tok = t
		case xml.EndElement:
			switch t.Name.Local {
			case "testcase":
				testcase = ""
			case "failure":
				inFailure = false
			}
		}
		if err := enc.EncodeToken(tok); err != nil {
			return nil, err
		}
	}
	if err := enc.Flush(); err != nil {
		return nil, err
	}
	buf.WriteString("\n")
	return buf.Bytes(), nil
}

func attr(e xml.StartElement, name string) string {
	for _, a := range e.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}
