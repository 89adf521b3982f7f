package chatkit

import (
	"bufio"
	"io"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func sdkConfig(faults ...string) Config {
	c := hsConfig(faults...)
	c.Profile = ProfileSDK
	return c
}

// testSDKProfile: CHATKIT_PROFILE=sdk answers where the protocol leaves a choice as the official
// SDK does (a conformant app, NotFoundError mapped to 404 for get_by_id and update).
func testSDKProfile(t *testing.T, store *Store) {
	ist := time.FixedZone("IST", 5*3600+30*60)
	saved := time.Local
	time.Local = ist // TZ=Asia/Kolkata in the SDK-profile target; the subtests of TestWithPostgres run one at a time
	t.Cleanup(func() { time.Local = saved; sdkWire.Store(false) })

	e := newEnv(t, sdkConfig(), store)
	alice, bob := userToken(t, newUser("sdk-alice")), userToken(t, newUser("sdk-bob"))
	start := time.Now()
	events := e.turn(alice, createReq("alice's sdk thread"))
	th := obj(events[0].Data["thread"])
	id, _ := th["id"].(string)
	assert.Regexp(t, `^thr_[0-9a-f]{8}$`, id, "the SDK's id shape")
	assert.NotContains(t, th, "title", "thread.created carries no title")
	assert.Contains(t, eventTypes(events), "stream_options")
	stamp, _ := th["created_at"].(string)
	assert.Regexp(t, `^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?$`, stamp, "a naive timestamp, no zone")
	local, err := time.ParseInLocation("2006-01-02T15:04:05.999999", stamp, ist)
	require.NoError(t, err)
	assert.WithinDuration(t, start, local, 5*time.Second, "local wall time of the server's zone")
	assert.Regexp(t, regexp.QuoteMeta(start.In(ist).Format("2006-01-02T15")), stamp, "not UTC")

	missing := "thr_0badf00d"
	for _, who := range []struct{ name, id string }{{"missing", missing}, {"foreign", id}} {
		t.Run("items.list of a "+who.name+" thread is an empty page", func(t *testing.T) {
			e.t = t
			status, _, body := e.rawCall(bob, typed("items.list", map[string]any{"thread_id": who.id}))
			assert.Equal(t, http.StatusOK, status)
			assert.Equal(t, `{"data":[],"has_more":false}`, body)
		})
		t.Run("threads.delete of a "+who.name+" thread is a no-op", func(t *testing.T) {
			e.t = t
			status, _, body := e.rawCall(bob, typed("threads.delete", map[string]any{"thread_id": who.id}))
			assert.Equal(t, http.StatusOK, status)
			assert.Equal(t, `{}`, body)
		})
		t.Run("threads.get_by_id of a "+who.name+" thread is 404", func(t *testing.T) {
			e.t = t
			e.call(bob, typed("threads.get_by_id", map[string]any{"thread_id": who.id}), http.StatusNotFound)
		})
	}
	e.t = t
	got := e.call(alice, typed("threads.get_by_id", map[string]any{"thread_id": id}), http.StatusOK)
	assert.Len(t, obj(got["items"])["data"], 2, "bob's delete changed nothing of alice's")
}

// testFaultNotFound500: a missing thread is the SDK's unhandled NotFoundError under uvicorn: 500
// text/plain without CORS headers, and the keep-alive connection is closed without Connection: close.
func testFaultNotFound500(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(FaultNotFound500), store)
	tok := userToken(t, newUser("nf500"))
	conn, err := net.Dial("tcp", strings.TrimPrefix(e.srv.URL, "http://"))
	require.NoError(t, err)
	defer conn.Close()
	body := `{"type":"threads.get_by_id","params":{"thread_id":"thr_ffffffffffffffff"}}`
	_, err = io.WriteString(conn, "POST /chatkit HTTP/1.1\r\nHost: x\r\nOrigin: http://app.test:3000\r\nAuthorization: Bearer "+tok+
		"\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body))+"\r\n\r\n"+body)
	require.NoError(t, err)
	br := bufio.NewReader(conn)
	resp, err := http.ReadResponse(br, nil)
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, "Internal Server Error", string(b))
	assert.Equal(t, "text/plain; charset=utf-8", resp.Header.Get("Content-Type"))
	assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), "no CORS headers on the 500")
	assert.False(t, resp.Close, "no Connection: close")
	_ = conn.SetReadDeadline(time.Now().Add(2 * time.Second))
	_, err = br.ReadByte()
	assert.ErrorIs(t, err, io.EOF, "the server closed the connection")
}

// testFaultThreadLookupInStream: add_user_message of a missing thread starts the stream and then cuts it.
func testFaultThreadLookupInStream(t *testing.T, store *Store) {
	e := newEnv(t, hsConfig(FaultThreadLookupInStream), store)
	tok := userToken(t, newUser("instream"))
	resp := e.post(tok, addReq("thr_ffffffffffffffff", "hello?"))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.Equal(t, "text/event-stream; charset=utf-8", resp.Header.Get("Content-Type"))
	b, err := io.ReadAll(resp.Body)
	assert.Empty(t, b, "no event")
	assert.ErrorIs(t, err, io.ErrUnexpectedEOF, "the body is cut, not ended")
	// An existing thread still streams its reply.
	id := e.newThread(tok, "a thread that exists")
	events := e.turn(tok, addReq(id, "and a second message"))
	assert.Contains(t, eventTypes(events), "thread.item.done")
}
