package betterauth

import (
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/authflow-e2e/authflow/internal/secret"
)

// Cookie is a cookie of the session with every attribute a browser needs to have it
// injected (Playwright's BrowserContext.AddCookies takes exactly these). Value is a
// [secret.Secret]: call Value.Value() to inject it.
type Cookie struct {
	Name  string
	Value secret.Secret
	// Domain is the cookie's domain; for a host-only cookie (Better Auth sets no Domain)
	// it is the base URL's host name and HostOnly is true.
	Domain   string
	HostOnly bool
	Path     string
	HTTPOnly bool
	Secure   bool
	// SameSite is "Lax", "Strict", "None" or "" (not set).
	SameSite string
	// Expires is zero for a session cookie.
	Expires time.Time
}

// Cookies returns the cookies the client would send to its base URL, with the attributes
// they were set with, sorted by name.
func (c *Client) Cookies() []Cookie {
	return c.jar.cookiesFor(c.base)
}

type cookieKey struct{ name, domain, path string }

type recordedCookie struct {
	c        http.Cookie
	hostOnly bool
	expires  time.Time
}

// recordingJar is a cookiejar.Jar that also remembers each cookie's attributes, which
// cookiejar.Jar.Cookies does not return.
type recordingJar struct {
	jar  *cookiejar.Jar
	mu   sync.Mutex
	seen map[cookieKey]recordedCookie
}

func newRecordingJar() *recordingJar {
	j, _ := cookiejar.New(nil) // cookiejar.New never fails with nil options
	return &recordingJar{jar: j, seen: map[cookieKey]recordedCookie{}}
}

// SetCookies implements http.CookieJar.
func (j *recordingJar) SetCookies(u *url.URL, cookies []*http.Cookie) {
	j.jar.SetCookies(u, cookies)
	now := time.Now()
	j.mu.Lock()
	defer j.mu.Unlock()
	for _, c := range cookies {
		hostOnly := c.Domain == ""
		domain := strings.TrimPrefix(strings.ToLower(c.Domain), ".")
		if hostOnly {
			domain = u.Hostname()
		}
		path := c.Path
		if path == "" || path[0] != '/' {
			path = defaultPath(u.Path)
		}
		k := cookieKey{c.Name, domain, path}
		var exp time.Time
		switch {
		case c.MaxAge < 0:
			delete(j.seen, k)
			continue
		case c.MaxAge > 0:
			exp = now.Add(time.Duration(c.MaxAge) * time.Second)
		case !c.Expires.IsZero():
			if !c.Expires.After(now) {
				delete(j.seen, k)
				continue
			}
			exp = c.Expires
		}
		j.seen[k] = recordedCookie{c: *c, hostOnly: hostOnly, expires: exp}
	}
}

// Cookies implements http.CookieJar.
func (j *recordingJar) Cookies(u *url.URL) []*http.Cookie { return j.jar.Cookies(u) }

// cookiesFor joins what the jar would send to u with the recorded attributes.
func (j *recordingJar) cookiesFor(u *url.URL) []Cookie {
	sent := j.jar.Cookies(u)
	j.mu.Lock()
	defer j.mu.Unlock()
	var out []Cookie
	for _, s := range sent {
		var best *recordedCookie
		var bestKey cookieKey
		for k, r := range j.seen {
			if k.name == s.Name && r.c.Value == s.Value && (best == nil || len(k.path) > len(bestKey.path)) {
				best, bestKey = &r, k
			}
		}
		c := Cookie{Name: s.Name, Value: secret.New(s.Value), Domain: u.Hostname(), HostOnly: true, Path: "/"}
		if best != nil {
			c.Domain, c.HostOnly, c.Path = bestKey.domain, best.hostOnly, bestKey.path
			c.HTTPOnly, c.Secure, c.Expires = best.c.HttpOnly, best.c.Secure, best.expires
			c.SameSite = sameSite(best.c.SameSite)
		}
		out = append(out, c)
	}
	slices.SortFunc(out, func(a, b Cookie) int { return strings.Compare(a.Name, b.Name) })
	return out
}

// copyFrom puts the cookies that src would send to u into j.
func (j *recordingJar) copyFrom(src *recordingJar, u *url.URL) {
	var cs []*http.Cookie
	for _, c := range src.cookiesFor(u) {
		hc := &http.Cookie{
			Name: c.Name, Value: c.Value.Value(), Path: c.Path, Expires: c.Expires,
			HttpOnly: c.HTTPOnly, Secure: c.Secure, SameSite: parseSameSite(c.SameSite),
		}
		if !c.HostOnly {
			hc.Domain = c.Domain
		}
		cs = append(cs, hc)
	}
	j.SetCookies(u, cs)
}

func defaultPath(p string) string {
	i := strings.LastIndex(p, "/")
	if i <= 0 {
		return "/"
	}
	return p[:i]
}

func sameSite(s http.SameSite) string {
	switch s {
	case http.SameSiteLaxMode:
		return "Lax"
	case http.SameSiteStrictMode:
		return "Strict"
	case http.SameSiteNoneMode:
		return "None"
	}
	return ""
}

func parseSameSite(s string) http.SameSite {
	switch s {
	case "Lax":
		return http.SameSiteLaxMode
	case "Strict":
		return http.SameSiteStrictMode
	case "None":
		return http.SameSiteNoneMode
	}
	return http.SameSiteDefaultMode
}
