package browser

import (
	"archive/zip"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	playwright "github.com/mxschmitt/playwright-go"

	"github.com/authflow-e2e/authflow/internal/redact"
)

// WriteArtifacts writes what explains a failure to dir (replacing the files there, keeping its
// folders: another session of the same test writes its own artifacts into one): a full-page
// screenshot of each open page, the Playwright trace (trace.zip, redacted), the console, the network
// log and the FailureFiles. It stops the trace, so call it once, at the end of the test. It returns
// the names of the files written; a file it could not write is named in the error.
func (s *Session) WriteArtifacts(dir string) ([]string, error) {
	if err := removeFiles(dir); err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	var files []string
	var errs []error
	write := func(name, content string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(s.scrub(content)), 0o644); err != nil {
			errs = append(errs, err)
			return
		}
		files = append(files, name)
	}

	// The screenshot first: it is the page at the moment of failure.
	var pageURLs []string
	for i, p := range s.Context.Pages() {
		name := "screenshot.png"
		if i > 0 {
			name = fmt.Sprintf("screenshot-%d.png", i+1)
		}
		pageURLs = append(pageURLs, fmt.Sprintf("%s: %s", name, redact.URLString(p.URL())))
		_, err := p.Screenshot(playwright.PageScreenshotOptions{
			Path: playwright.String(filepath.Join(dir, name)), FullPage: playwright.Bool(true),
			Timeout: playwright.Float(float64(artifactTimeout.Milliseconds())),
		})
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
			continue
		}
		files = append(files, name)
	}

	if err := s.writeTrace(filepath.Join(dir, "trace.zip")); err != nil {
		errs = append(errs, fmt.Errorf("trace.zip: %w", err))
	} else {
		files = append(files, "trace.zip")
	}

	write("console.txt", s.Console.String())
	write("network.txt", "# one line per request to the app: seq, start, kind, method, URL (query redacted), result, "+
		"[bearer] when a Bearer-scheme Authorization header was sent (its value is never recorded), time to the answer\n"+s.Net.String())
	info := fmt.Sprintf("test: %s\nsession: %s\nwritten: %s\nweb: %s\nchatkit: %s\npages:\n  %s\n",
		s.t.Name(), orDash(s.opts.Name), time.Now().UTC().Format(time.RFC3339), s.App.WebOrigin(), s.App.ChatKitURL(),
		strings.Join(pageURLs, "\n  "))
	if ps := s.Problems(); len(ps) > 0 {
		info += "guard:\n  " + strings.Join(ps, "\n  ") + "\n"
	}
	if note := s.networkChangedNote(); note != "" {
		info += note + "\n"
	}
	write("session.txt", info)
	if s.opts.FailureFiles != nil {
		extra := s.opts.FailureFiles()
		names := make([]string, 0, len(extra))
		for n := range extra {
			names = append(names, n)
		}
		sort.Strings(names)
		for _, n := range names {
			write(filepath.Base(n), extra[n])
		}
	}
	return files, errors.Join(errs...)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// writeTrace stops tracing into a temporary file, redacts it into path and removes the raw file, so an
// unredacted trace never lands in the artifacts directory.
func (s *Session) writeTrace(path string) error {
	tmp, err := os.MkdirTemp("", "authflow-trace-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(tmp)
	raw := filepath.Join(tmp, "raw.zip")
	if err := s.stopTracing(raw); err != nil {
		return err
	}
	return sanitizeTrace(raw, path, s.scrub, s.secretList())
}

// sanitizeTrace copies a Playwright trace zip from src to dst, redacting every text entry: the JSON
// lines of trace.trace / trace.network (string by string, so the structure stays valid: header and
// cookie values, query values, password inputs of DOM snapshots, then scrub on every string) and the
// text resources (response and request bodies) with scrub. It fails, writing nothing, when one of
// secrets is still found in any entry afterwards.
func sanitizeTrace(src, dst string, scrub func(string) string, secrets []string) error {
	r, err := zip.OpenReader(src)
	if err != nil {
		return fmt.Errorf("open the raw trace: %w", err)
	}
	defer r.Close()
	var buf bytes.Buffer
	zw := zip.NewWriter(&buf)
	for _, f := range r.File {
		rc, err := f.Open()
		if err != nil {
			return err
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			return fmt.Errorf("read %s: %w", f.Name, err)
		}
		switch {
		case isBinary(data):
		case strings.HasSuffix(f.Name, ".trace") || strings.HasSuffix(f.Name, ".network") || strings.HasSuffix(f.Name, ".stacks"):
			data = scrubJSONLines(data, scrub)
		default:
			data = []byte(scrub(string(data)))
		}
		for _, sec := range secrets {
			if sec != "" && bytes.Contains(data, []byte(sec)) {
				return fmt.Errorf("a registered secret survived redaction in %s; the trace is not kept", f.Name)
			}
		}
		w, err := zw.CreateHeader(&zip.FileHeader{Name: f.Name, Method: zip.Deflate, Modified: f.Modified})
		if err != nil {
			return err
		}
		if _, err := w.Write(data); err != nil {
			return err
		}
	}
	if err := zw.Close(); err != nil {
		return err
	}
	return os.WriteFile(dst, buf.Bytes(), 0o644)
}

func isBinary(b []byte) bool { return bytes.IndexByte(b, 0) >= 0 || !utf8.Valid(b) }

// scrubJSONLines redacts a JSON-lines file value by value; a line that is not JSON is scrubbed as text.
func scrubJSONLines(data []byte, scrub func(string) string) []byte {
	lines := bytes.Split(data, []byte("\n"))
	for i, line := range lines {
		if len(bytes.TrimSpace(line)) == 0 {
			continue
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.UseNumber()
		var v any
		if err := dec.Decode(&v); err != nil || dec.More() {
			lines[i] = []byte(scrub(string(line)))
			continue
		}
		v = scrubJSON(v, "", scrub)
		var out bytes.Buffer
		enc := json.NewEncoder(&out)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(v); err != nil {
			lines[i] = []byte(scrub(string(line)))
			continue
		}
		lines[i] = bytes.TrimRight(out.Bytes(), "\n")
	}
	return bytes.Join(lines, []byte("\n"))
}

// sensitiveHeaders are header names whose values are credentials.
var sensitiveHeaders = map[string]bool{
	"authorization": true, "proxy-authorization": true, "cookie": true, "set-cookie": true,
	"set-auth-jwt": true, "x-api-key": true,
}

// valueLists are the keys of name/value lists whose every value is redacted.
var valueLists = map[string]bool{"cookies": true, "queryString": true}

// passwordValueAttr is the attribute in which Playwright's DOM snapshots keep an input's value.
const passwordValueAttr = "__playwright_value_"

func scrubJSON(v any, parentKey string, scrub func(string) string) any {
	switch x := v.(type) {
	case string:
		return scrub(x)
	case []any:
		for i := range x {
			x[i] = scrubJSON(x[i], parentKey, scrub)
		}
		return x
	case map[string]any:
		if name, ok := x["name"].(string); ok {
			if val, ok := x["value"].(string); ok {
				switch {
				case valueLists[parentKey]:
					x["value"] = redact.Marker
				case sensitiveHeaders[strings.ToLower(name)]:
					h := redact.Header(http.Header{http.CanonicalHeaderKey(name): {val}})
					x["value"] = h.Get(name)
				}
			}
		}
		if typ, ok := x["type"].(string); ok && strings.EqualFold(typ, "password") {
			if _, ok := x[passwordValueAttr]; ok {
				x[passwordValueAttr] = ""
			}
		}
		for k, val := range x {
			x[k] = scrubJSON(val, k, scrub)
		}
		return x
	}
	return v
}

// removeFiles removes the files directly in dir (stale artifacts of an earlier run), not its folders.
func removeFiles(dir string) error {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	for _, e := range entries {
		if !e.IsDir() {
			if err := os.Remove(filepath.Join(dir, e.Name())); err != nil {
				return err
			}
		}
	}
	return nil
}
