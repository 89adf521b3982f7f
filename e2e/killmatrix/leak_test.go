package killmatrix

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/authflow-e2e/authflow/internal/leak"
)

// The leak check the clean runs rely on can fail: a secret in a child's saved -json stream, its stderr
// or a file under its artifacts dir is reported, and the report does not repeat it.
func TestLeakCheck_FailsOnSyntheticChildOutput(t *testing.T) {
	const token = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJ1c2VyLTEyMyJ9.dGhlLXNpZ25hdHVyZS1vZi10aGUtdG9rZW4"
	const password = "Aa1!9xQ/ZmN0c+Kp"
	dir := t.TempDir()
	write := func(name, s string) {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("go-test.json", `{"Action":"output","Test":"TestToken_X","Output":"    token_test.go:9: got {\"token\":\"`+token+`\"}\n"}`+"\n")
	write("stderr.txt", "authflow: sign-in body {\"password\":\"Aa1!9xQ/ZmN0c+Kp\"}\n")
	write("TestBrowser_X/network.log", "POST /api/auth/sign-in/email password=Aa1%219xQ%2FZmN0c%2BKp\n")
	write("clean.txt", "Authorization: Bearer [REDACTED-JWT]\n")

	findings, err := leakCheck([]string{token, password}, dir)
	if err != nil {
		t.Fatal(err)
	}
	got := map[string]bool{}
	for _, f := range findings {
		got[filepath.Base(f.Source)] = true
	}
	for _, want := range []string{"go-test.json", "stderr.txt", "network.log"} {
		if !got[want] {
			t.Errorf("no finding in %s; findings:\n%s", want, leak.Report(findings, 10))
		}
	}
	if got["clean.txt"] {
		t.Error("a redacted file was reported")
	}
	rep := leak.Report(findings, 10)
	if strings.Contains(rep, token) || strings.Contains(rep, password) {
		t.Errorf("the leak report repeats a secret:\n%s", rep)
	}
}
