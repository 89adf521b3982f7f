// Package leak finds credentials in test output. A child test run with secret.CanaryEnv set records
// every secret it created (passwords, tokens, cookie values, the shared secret) in a canary file; the
// parent then scans everything the child wrote (stdout, stderr, every file under its artifacts dir,
// the entries of zip files such as Playwright traces included) for each recorded value, raw and in its
// URL- and JSON-escaped forms. Findings never contain the secret itself.
package leak

import (
	"archive/zip"
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"
)

// MinLen is the shortest value searched for: shorter values are too common to mean a leak (the
// secret package does not record them either).
const MinLen = 8

// Finding is one occurrence of a recorded secret.
type Finding struct {
	Source  string // "stdout", a file path, or "trace.zip!resources/x.json"
	Line    int    // 1-based line in Source
	Secret  int    // 1-based index of the secret in the canary list
	Kind    string // what the secret looks like: jwt, cookie value, password or token
	Form    string // raw, url-escaped or json-escaped
	Excerpt string // the line around the hit, the secret replaced by [CANARY#n], other credentials redacted by length only
}

func (f Finding) String() string {
	return fmt.Sprintf("%s:%d: secret #%d (%s, %s) appears in the output: %s", f.Source, f.Line, f.Secret, f.Kind, f.Form, f.Excerpt)
}

type needle struct {
	value  string
	secret int
	form   string
}

// Scanner searches text for a fixed set of secrets.
type Scanner struct {
	secrets []string
	byHead  map[string][]needle // first MinLen bytes of a needle -> needles
}

// ReadCanaries reads a canary file: one secret per line; empty, short and repeated lines are dropped.
// A missing file means no secret was created.
func ReadCanaries(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		if os.IsNotExist(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("read the leak canary file: %w", err)
	}
	seen := map[string]bool{}
	var out []string
	for _, line := range strings.Split(string(b), "\n") {
		line = strings.TrimRight(line, "\r")
		if len(line) < MinLen || seen[line] {
			continue
		}
		seen[line] = true
		out = append(out, line)
	}
	return out, nil
}

// NewScanner returns a scanner for secrets (values shorter than MinLen are ignored).
func NewScanner(secrets []string) *Scanner {
	s := &Scanner{secrets: secrets, byHead: map[string][]needle{}}
	for i, v := range secrets {
		if len(v) < MinLen {
			continue
		}
		forms := []needle{{v, i + 1, "raw"}}
		add := func(form, w string) {
			for _, n := range forms {
				if n.value == w {
					return
				}
			}
			forms = append(forms, needle{w, i + 1, form})
		}
		add("url-escaped", url.QueryEscape(v))
		add("url-escaped", url.PathEscape(v))
		if j, err := json.Marshal(v); err == nil {
			add("json-escaped", strings.Trim(string(j), `"`))
		}
		for _, n := range forms {
			if len(n.value) >= MinLen {
				s.byHead[n.value[:MinLen]] = append(s.byHead[n.value[:MinLen]], n)
			}
		}
	}
	return s
}

// Len returns the number of secrets searched for.
func (s *Scanner) Len() int { return len(s.secrets) }

// Bytes returns every occurrence of a secret in b, which came from source.
func (s *Scanner) Bytes(source string, b []byte) []Finding {
	if len(s.byHead) == 0 || len(b) < MinLen {
		return nil
	}
	var out []Finding
	line, lineStart := 1, 0
	for i := 0; i+MinLen <= len(b); i++ {
		if b[i] == '\n' {
			line++
			lineStart = i + 1
			continue
		}
		cands, ok := s.byHead[string(b[i:i+MinLen])]
		if !ok {
			continue
		}
		for _, n := range cands {
			if bytes.HasPrefix(b[i:], []byte(n.value)) {
				out = append(out, s.finding(source, line, b, lineStart, i, n))
				break
			}
		}
	}
	return out
}

func (s *Scanner) finding(source string, line int, b []byte, lineStart, at int, n needle) Finding {
	end := bytes.IndexByte(b[at:], '\n')
	if end < 0 {
		end = len(b)
	} else {
		end += at
	}
	text := string(b[lineStart:end])
	text = strings.ReplaceAll(text, n.value, fmt.Sprintf("[CANARY#%d]", n.secret))
	// Other secrets on the same line must not leak through the excerpt either.
	for i, v := range s.secrets {
		if len(v) >= MinLen {
			text = strings.ReplaceAll(text, v, fmt.Sprintf("[CANARY#%d]", i+1))
		}
	}
	if k := strings.Index(text, fmt.Sprintf("[CANARY#%d]", n.secret)); k > 80 {
		text = "..." + text[k-60:]
	}
	if len(text) > 240 {
		text = text[:240] + "..."
	}
	return Finding{Source: source, Line: line, Secret: n.secret, Kind: kind(s.secrets[n.secret-1]), Form: n.form, Excerpt: text}
}

func kind(v string) string {
	switch {
	case strings.Count(v, ".") == 2 && strings.HasPrefix(v, "ey"):
		return "jwt"
	case strings.Count(v, ".") == 1 && len(v) > 40:
		return "signed cookie value"
	case strings.HasPrefix(v, "Aa1!"):
		return "password"
	default:
		return fmt.Sprintf("token or secret, %d bytes", len(v))
	}
}

// Reader scans everything r yields.
func (s *Scanner) Reader(source string, r io.Reader) ([]Finding, error) {
	b, err := io.ReadAll(bufio.NewReader(r))
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", source, err)
	}
	return s.Bytes(source, b), nil
}

// File scans one file; a zip archive (Playwright trace) is scanned entry by entry, decompressed.
func (s *Scanner) File(path string) ([]Finding, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	if !bytes.HasPrefix(b, []byte("PK\x03\x04")) {
		return s.Bytes(path, b), nil
	}
	out := s.Bytes(path, b) // stored (uncompressed) entries and the central directory
	zr, err := zip.NewReader(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		return out, fmt.Errorf("open %s as zip: %w", path, err)
	}
	for _, f := range zr.File {
		rc, err := f.Open()
		if err != nil {
			return out, fmt.Errorf("open %s!%s: %w", path, f.Name, err)
		}
		fs, err := s.Reader(path+"!"+f.Name, rc)
		rc.Close()
		if err != nil {
			return out, err
		}
		out = append(out, fs...)
	}
	return out, nil
}

// Dir scans every regular file under root (a missing root holds nothing).
func (s *Scanner) Dir(root string) ([]Finding, error) {
	out, _, err := s.DirSince(root, time.Time{})
	return out, err
}

// DirSince scans the regular files under root last modified at or after since (a missing root holds
// nothing) and says how many it scanned: what one run wrote into a folder earlier runs wrote too.
func (s *Scanner) DirSince(root string, since time.Time) ([]Finding, int, error) {
	var out []Finding
	files := 0
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if os.IsNotExist(err) && p == root {
				return filepath.SkipDir
			}
			return err
		}
		if !d.Type().IsRegular() {
			return nil
		}
		if !since.IsZero() {
			info, err := d.Info()
			if err != nil {
				return err
			}
			if info.ModTime().Before(since) {
				return nil
			}
		}
		files++
		fs, err := s.File(p)
		out = append(out, fs...)
		return err
	})
	return out, files, err
}

// Report formats findings for a test failure: at most max lines, grouped stably.
func Report(findings []Finding, max int) string {
	sort.SliceStable(findings, func(i, j int) bool {
		if findings[i].Source != findings[j].Source {
			return findings[i].Source < findings[j].Source
		}
		return findings[i].Line < findings[j].Line
	})
	var b strings.Builder
	for i, f := range findings {
		if i == max {
			fmt.Fprintf(&b, "... and %d more\n", len(findings)-max)
			break
		}
		b.WriteString(f.String())
		b.WriteByte('\n')
	}
	return b.String()
}
