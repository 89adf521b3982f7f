package leak

import (
	"archive/zip"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

const (
	jwt      = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ1c2VyLTEifQ.c2lnbmF0dXJlLXRoYXQtaXMtbG9uZw"
	password = "Aa1!kX9/+q=Zr&s%20"
	cookie   = "Xq3kS0mMbZ2pE1v7Yq0m8aL4wN6tR2uY.k1Yz/2b+Q9ZlFv3nR1sP0oU8iT7yW5eQ4rD6cX2aB9m0="
)

func canaryFile(t *testing.T, lines ...string) string {
	p := filepath.Join(t.TempDir(), "canary")
	if err := os.WriteFile(p, []byte(strings.Join(lines, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

func scanner(t *testing.T) *Scanner {
	secrets, err := ReadCanaries(canaryFile(t, jwt, "short", password, jwt, "", cookie))
	if err != nil {
		t.Fatal(err)
	}
	if len(secrets) != 3 {
		t.Fatalf("ReadCanaries kept %d secrets, want 3 (short, empty and repeated lines dropped)", len(secrets))
	}
	return NewScanner(secrets)
}

// The checker can fail: each secret, in each form a log line might hold it, is found, and the report
// never repeats the secret.
func TestScannerFindsEverySecretInSyntheticOutput(t *testing.T) {
	s := scanner(t)
	for _, tc := range []struct{ name, out, form string }{
		{"jwt in a header dump", "Authorization: Bearer " + jwt, "raw"},
		{"password in a JSON body", `{"email":"a@b.c","password":"` + strings.ReplaceAll(password, "&", `\u0026`) + `"}`, "json-escaped"},
		{"password in a form body", "email=a%40b.c&password=" + url.QueryEscape(password), "url-escaped"},
		{"cookie value", "    client_test.go:12: cookie better-auth.session_token=" + cookie + "; Path=/", "raw"},
		{"cookie value url-escaped", "set-cookie: better-auth.session_token=" + url.QueryEscape(cookie), "url-escaped"},
	} {
		t.Run("case="+tc.name, func(t *testing.T) {
			fs := s.Bytes("stdout", []byte("=== RUN TestX\nnoise line\n"+tc.out+"\n--- FAIL: TestX\n"))
			if len(fs) == 0 {
				t.Fatalf("no finding in %q", tc.out)
			}
			f := fs[0]
			if f.Source != "stdout" || f.Line != 3 || f.Form != tc.form {
				t.Errorf("finding = %+v, want stdout line 3, form %s", f, tc.form)
			}
			for _, v := range []string{jwt, password, cookie, url.QueryEscape(password), url.QueryEscape(cookie)} {
				if strings.Contains(Report(fs, 10), v) {
					t.Fatalf("the report repeats a secret: %s", Report(fs, 10))
				}
			}
			if !strings.Contains(f.String(), fmt.Sprintf("[CANARY#%d]", f.Secret)) {
				t.Errorf("the excerpt does not mark the hit: %s", f)
			}
		})
	}
}

func TestScannerIsQuietOnRedactedOutput(t *testing.T) {
	s := scanner(t)
	out := "Authorization: Bearer [REDACTED-JWT]\n{\"password\":\"[REDACTED]\"}\ncookie better-auth.session_token=[REDACTED]\n" +
		jwt[:20] + "...\n" + strings.Repeat("x", 5000)
	if fs := s.Bytes("stdout", []byte(out)); len(fs) != 0 {
		t.Fatalf("false positives:\n%s", Report(fs, 10))
	}
	if NewScanner(nil).Bytes("stdout", []byte(out)) != nil {
		t.Fatal("an empty scanner found something")
	}
}

func TestDirScansFilesAndZipEntries(t *testing.T) {
	s := scanner(t)
	root := t.TempDir()
	sub := filepath.Join(root, "TestBrowser_X")
	if err := os.MkdirAll(sub, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "console.txt"), []byte("ok\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(sub, "network.log"), []byte("GET /chat\ncookie: x="+cookie+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	zf, err := os.Create(filepath.Join(sub, "trace.zip"))
	if err != nil {
		t.Fatal(err)
	}
	zw := zip.NewWriter(zf)
	w, _ := zw.Create("trace.network")
	fmt.Fprintf(w, "%s\n", strings.Repeat(`{"type":"resource"}`, 100))
	fmt.Fprintf(w, `{"headers":[{"name":"authorization","value":"Bearer %s"}]}`+"\n", jwt)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	zf.Close()

	fs, err := s.Dir(root)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range fs {
		got[filepath.Base(f.Source)] = true
	}
	if !got["network.log"] || !got["trace.zip!trace.network"] || len(got) != 2 {
		t.Fatalf("findings in %v, want network.log and trace.zip!trace.network:\n%s", got, Report(fs, 10))
	}
	if fs, err := s.Dir(filepath.Join(root, "missing")); err != nil || len(fs) != 0 {
		t.Fatalf("missing dir: %v %v", fs, err)
	}
}
