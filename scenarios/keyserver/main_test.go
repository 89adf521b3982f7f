package main

import (
	"encoding/json"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func newTestServer(t *testing.T) *httptest.Server {
	t.Helper()
	ts := httptest.NewServer(newServer(log.New(io.Discard, "", 0)))
	t.Cleanup(ts.Close)
	return ts
}

func do(t *testing.T, method, u, body string, h map[string]string) (*http.Response, string) {
	t.Helper()
	req, err := http.NewRequest(method, u, strings.NewReader(body))
	require.NoError(t, err)
	for k, v := range h {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func requests(t *testing.T, base string, since int64) Requests {
	t.Helper()
	_, body := do(t, http.MethodGet, base+"/_authflow/requests?since="+itoa(since), "", nil)
	var r Requests
	require.NoError(t, json.Unmarshal([]byte(body), &r))
	return r
}

func itoa(n int64) string { b, _ := json.Marshal(n); return string(b) }

func TestKeyserver_ServesUploadedFilesAndRecordsEveryOtherRequest(t *testing.T) {
	ts := newTestServer(t)
	resp, _ := do(t, http.MethodPut, ts.URL+"/_authflow/files/jku/abc.json", `{"keys":[]}`, map[string]string{"Content-Type": "application/json"})
	require.Equal(t, http.StatusNoContent, resp.StatusCode)

	resp, body := do(t, http.MethodGet, ts.URL+"/jku/abc.json?x=1", "", map[string]string{"Authorization": "Bearer secret-value"})
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "application/json", resp.Header.Get("Content-Type"))
	assert.Equal(t, `{"keys":[]}`, body)
	resp, _ = do(t, http.MethodGet, ts.URL+"/missing", "", nil)
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)

	r := requests(t, ts.URL, 0)
	require.Len(t, r.Requests, 2, "admin calls are not recorded")
	assert.Equal(t, "/jku/abc.json", r.Requests[0].Path)
	assert.Equal(t, "x=1", r.Requests[0].Query)
	assert.Equal(t, "[not recorded]", r.Requests[0].Headers["Authorization"], "credentials are never recorded")
	assert.Equal(t, "/missing", r.Requests[1].Path)
	assert.Equal(t, int64(2), r.Next)
	assert.Empty(t, requests(t, ts.URL, r.Next).Requests)
}

func TestKeyserver_FetchMakesARequestTheRecorderSees(t *testing.T) {
	ts := newTestServer(t)
	resp, body := do(t, http.MethodPost, ts.URL+"/_authflow/fetch?url="+url.QueryEscape(ts.URL+"/canary/n1"), "", nil)
	require.Equal(t, http.StatusOK, resp.StatusCode, body)
	assert.JSONEq(t, `{"status":404}`, body)
	r := requests(t, ts.URL, 0)
	require.Len(t, r.Requests, 1)
	assert.Equal(t, "/canary/n1", r.Requests[0].Path)
	assert.Equal(t, "authflow-keyserver-selftest", r.Requests[0].UserAgent)

	resp, _ = do(t, http.MethodPost, ts.URL+"/_authflow/fetch?url=file:///etc/passwd", "", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	resp, _ = do(t, http.MethodPut, ts.URL+"/_authflow/files/_authflow/requests", "x", nil)
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}
