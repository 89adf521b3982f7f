package secret

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const canary = "s3cr3t-canary-value"

func TestSecret_NeverPrintsItsValue(t *testing.T) {
	s := New(canary)
	type persona struct {
		Name, Email string
		Password    Secret
	} // a struct holding a Secret, as data.Persona does
	p := persona{Name: "A", Email: "a@authflow.test", Password: s}
	type wrapper struct {
		P   persona
		Ptr *Secret
	}
	w := wrapper{P: p, Ptr: &s}

	outputs := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x", "%X", "%d", "%10s"} {
		outputs["secret "+verb] = fmt.Sprintf(verb, s)
		outputs["persona "+verb] = fmt.Sprintf(verb, p)
		outputs["wrapper "+verb] = fmt.Sprintf(verb, w)
	}
	outputs["Sprint"] = fmt.Sprint(s, p)
	j, err := json.Marshal(w)
	require.NoError(t, err)
	outputs["json"] = string(j)
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "password", s, "persona", p)
	outputs["slog"] = buf.String()

	for name, out := range outputs {
		assert.NotContains(t, out, canary, name)
	}
	assert.Equal(t, Redacted, s.String())
	assert.Equal(t, canary, s.Value())
}

func TestSecret_TestifyDiffDoesNotLeak(t *testing.T) {
	// A failing require.Equal prints a go-spew diff that bypasses String methods.
	mock := &recordingT{}
	type persona struct{ Password Secret }
	assert.Equal(mock, persona{Password: New(canary)}, persona{Password: New(canary + "x")})
	require.True(t, mock.failed)
	assert.NotContains(t, mock.msg, canary)
}

func TestSecret_ZeroAndEqual(t *testing.T) {
	var z Secret
	require.True(t, z.IsZero())
	require.Equal(t, "", z.Value())
	require.Equal(t, "", z.String())
	require.True(t, New("a").Equal(New("a")))
	require.False(t, New("a").Equal(New("b")))
	require.Equal(t, 1, New("a").Len())
}

type recordingT struct {
	failed bool
	msg    string
}

func (r *recordingT) Errorf(format string, args ...any) {
	r.failed = true
	r.msg += fmt.Sprintf(format, args...)
}

func TestSecret_UnmarshalJSON(t *testing.T) {
	var v struct {
		Token Secret `json:"token"`
		Other Secret `json:"other"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"token":"abc","other":null}`), &v))
	require.Equal(t, "abc", v.Token.Value())
	require.True(t, v.Other.IsZero())
	require.Error(t, json.Unmarshal([]byte(`{"token":1}`), &v))
}
