package probe

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"

	"github.com/authflow-e2e/authflow/internal/secret"
	"github.com/authflow-e2e/authflow/scenarios/chatkit"
	"github.com/authflow-e2e/authflow/scenarios/httperr"
)

// Observed is one request a page made, as recorded in the browser: never a header value or a body,
// only the ChatKit request type when the body is a JSON object with a "type".
type Observed struct {
	Method string
	// URL is without query and fragment.
	URL string
	// Type is the JSON body's "type" (POST only), e.g. threads.list.
	Type   string
	Bearer bool
	Status int
}

// chatKitTypes are the ChatKit protocol's request types.
var chatKitTypes = map[string]bool{
	chatkit.TypeThreadsCreate: true, chatkit.TypeThreadsAddUserMessage: true, chatkit.TypeThreadsGetByID: true,
	chatkit.TypeThreadsList: true, chatkit.TypeItemsList: true, chatkit.TypeThreadsUpdate: true, chatkit.TypeThreadsDelete: true,
	"threads.retry_after_item": true, "threads.custom_action": true, "threads.add_client_tool_output": true,
	"items.feedback": true, "attachments.create": true, "attachments.delete": true,
}

// BodyType returns the "type" of a JSON object body when it is a ChatKit request type.
func BodyType(body string) string {
	var v struct {
		Type string `json:"type"`
	}
	if json.Unmarshal([]byte(body), &v) != nil || !chatKitTypes[v.Type] {
		return ""
	}
	return v.Type
}

// PickChatKit picks the ChatKit endpoint from the requests a chat page made: the URL that got the
// most POSTs with a ChatKit request type. how lists the types seen there.
func PickChatKit(reqs []Observed) (endpoint, how string) {
	count := map[string]int{}
	types := map[string]map[string]bool{}
	bearer := map[string]bool{}
	for _, r := range reqs {
		if r.Method != "POST" || r.Type == "" {
			continue
		}
		count[r.URL]++
		if types[r.URL] == nil {
			types[r.URL] = map[string]bool{}
		}
		types[r.URL][r.Type] = true
		bearer[r.URL] = bearer[r.URL] || r.Bearer
	}
	best := ""
	for _, u := range slices.Sorted(maps.Keys(count)) {
		if best == "" || count[u] > count[best] {
			best = u
		}
	}
	if best == "" {
		return "", ""
	}
	ts := slices.Sorted(maps.Keys(types[best]))
	sort.Strings(ts)
	how = fmt.Sprintf("the chat page POSTed %s to it", strings.Join(ts, ", "))
	if bearer[best] {
		how += " with a bearer token"
	}
	return best, how
}

// originOf is scheme://host[:port] of an absolute URL ("" if it is not one).
func originOf(u string) string {
	scheme, rest, ok := strings.Cut(u, "://")
	if !ok {
		return ""
	}
	host, _, _ := strings.Cut(rest, "/")
	return scheme + "://" + host
}

// probeNotFound asks the ChatKit endpoint for the items of a thread that does not exist (an id of
// the shape of one the server issued to the probe user, when there is one): 404 is app.not_found
// "404"; anything else leaves the protocol default with what it answered.
func probeNotFound(ctx context.Context, endpoint string, tok secret.Secret) Finding {
	c := &chatkit.Client{URL: endpoint, Token: chatkit.StaticToken(tok)}
	like := ""
	if page, err := c.ListThreads(ctx, 1, "", ""); err == nil && len(page.Data) > 0 {
		like = page.Data[0].ID
	}
	missing := "thr_" + randomHex(8)
	if like != "" {
		missing = chatkit.MissingID(like)
	}
	_, err := c.ListItems(ctx, missing, 0, "", "")
	var he *httperr.Error
	switch {
	case err == nil:
		return found("protocol", "the default: items.list of a missing thread (%s) answered 2xx (the protocol's empty page), not 404", missing)
	case errors.As(err, &he) && he.Status == 404:
		return found("404", "items.list of a missing thread (%s) answered 404", missing)
	case errors.As(err, &he):
		return found("protocol", "the default: items.list of a missing thread (%s) answered %d, not 404 (the suites report a 5xx as a finding)", missing, he.Status)
	}
	return Finding{Todo: fmt.Sprintf("left at the default (protocol): items.list of a missing thread failed: %v", firstLine(err))}
}

func randomHex(n int) string {
	b := make([]byte, (n+1)/2)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)[:n]
}
