// Package redact removes credentials from text before it reaches a log, an error message
// or an artifact: JWTs, Bearer and Basic credentials, Better Auth cookie values, JSON
// fields and form/query parameters that hold tokens, passwords or secrets, and any extra
// value a test registers with a [Redactor].
//
// The rules are conservative pattern matches; they are a safety net, not a licence to
// print secrets. Redaction is idempotent: redacting twice gives the same text.
package redact

import (
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Markers that replace a secret. Each names what was removed, which helps a reader of a
// failure message ("the body did contain a JWT").
const (
	Marker       = "[REDACTED]"
	MarkerJWT    = "[REDACTED-JWT]"
	markerPrefix = "[REDACTED"
)

var (
	// jwtRE matches a compact JWS: three base64url segments, the first two of which
	// decode to JSON objects ("{" followed by '"' or a space encodes as "ey", followed by
	// a line break as "ew"). The signature may be empty (alg none).
	jwtRE = regexp.MustCompile(`\be[wy][A-Za-z0-9_-]{8,}\.e[wy][A-Za-z0-9_-]*\.[A-Za-z0-9_-]*`)

	// authSchemeRE matches the credential after an HTTP auth scheme.
	authSchemeRE = regexp.MustCompile(`(?i)\b(Bearer|Basic)(\s+)([^\s",;]{8,})`) // 8+: a credential, not a word like "header:"

	// cookieRE matches Better Auth's cookies (any prefix, __Secure-/__Host- included), and
	// any other cookie whose name says it is a session or token cookie.
	cookieRE = regexp.MustCompile(`(?i)((?:__Secure-|__Host-)?[A-Za-z0-9_.-]*(?:session_token|session_data|dont_remember|session|token|auth)=)([^;\s",&]+)`)

	// jsonFieldRE matches a JSON string field whose name ends in token, password or
	// secret (token, accessToken, session_token, newPassword, client_secret, ...).
	jsonFieldRE = regexp.MustCompile(`(?i)("(?:[A-Za-z0-9_-]*(?:token|password|secret|jwt))"\s*:\s*)"((?:[^"\\]|\\.)*)"`)

	// kvRE matches key=value pairs (query strings, form bodies, key/value DSNs) whose key
	// names a token, password or secret.
	kvRE = regexp.MustCompile(`(?i)(\b[A-Za-z0-9_-]*(?:token|password|passwd|pwd|secret|jwt)=)([^&\s;",]+)`)

	// headerRE matches header lines that carry credentials, e.g. in a dumped request.
	headerRE = regexp.MustCompile(`(?im)^((?:set-auth-jwt|x-api-key|proxy-authorization|authorization)\s*:[ \t]*)(\S[^\r\n]*)`)
)

// String returns s with every credential the rules recognise replaced by a marker.
func String(s string) string {
	if s == "" {
		return s
	}
	s = headerRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := headerRE.FindStringSubmatch(m)
		return sub[1] + authValue(sub[2])
	})
	s = jwtRE.ReplaceAllString(s, MarkerJWT)
	s = authSchemeRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := authSchemeRE.FindStringSubmatch(m)
		if strings.HasPrefix(sub[3], markerPrefix) {
			return m
		}
		return sub[1] + sub[2] + Marker
	})
	s = cookieRE.ReplaceAllStringFunc(s, keepPrefix(cookieRE, Marker))
	s = jsonFieldRE.ReplaceAllStringFunc(s, func(m string) string {
		sub := jsonFieldRE.FindStringSubmatch(m)
		if sub[2] == "" || strings.HasPrefix(sub[2], markerPrefix) {
			return m
		}
		return sub[1] + `"` + Marker + `"`
	})
	s = kvRE.ReplaceAllStringFunc(s, keepPrefix(kvRE, Marker))
	return s
}

// keepPrefix returns a replacer that keeps the first group of re and replaces the second
// with marker, unless it already is a marker.
func keepPrefix(re *regexp.Regexp, marker string) func(string) string {
	return func(m string) string {
		sub := re.FindStringSubmatch(m)
		if strings.HasPrefix(sub[2], markerPrefix) {
			return m
		}
		return sub[1] + marker
	}
}

// Bytes is [String] for a byte slice.
func Bytes(b []byte) string { return String(string(b)) }

// excerptSlack is how far past the excerpt [Excerpt] still redacts.
const excerptSlack = 64 << 10

// DefaultExcerpt is the usual length of a body excerpt in an error message.
const DefaultExcerpt = 300

// Excerpt redacts b, trims trailing white space, then shortens it to at most max bytes (cut on a UTF-8 boundary, with
// "…(+N bytes)" appended) and escapes line breaks and tabs so the excerpt fits on one
// line. Redaction runs first, so a secret cut in half by the truncation is still caught.
// max <= 0 means [DefaultExcerpt].
func Excerpt(b []byte, max int) string {
	if max <= 0 {
		max = DefaultExcerpt
	}
	// Redact only a window well past the excerpt: a secret that starts inside the
	// excerpt is much shorter than the slack, and the rest is cut off anyway.
	hidden := 0
	if window := max + excerptSlack; len(b) > window {
		hidden = len(b) - window
		b = b[:window]
	}
	s := strings.TrimRight(Bytes(b), " \t\r\n")
	extra := hidden
	if len(s) > max {
		cut := max
		for cut > 0 && !utf8.RuneStart(s[cut]) {
			cut--
		}
		extra += len(s) - cut
		s = s[:cut]
	}
	s = oneLine.Replace(s)
	if extra > 0 {
		s += "…(+" + strconv.Itoa(extra) + " bytes)"
	}
	return s
}

var oneLine = strings.NewReplacer("\r", `\r`, "\n", `\n`, "\t", `\t`)

// URL returns u as a string with the password of its user info and every query value
// replaced by a marker (keys stay, so "?access_token=[REDACTED]" still says what was
// sent). The fragment is dropped.
func URL(u *url.URL) string {
	if u == nil {
		return ""
	}
	c := *u
	c.Fragment, c.RawFragment = "", ""
	if c.User != nil {
		if _, ok := c.User.Password(); ok {
			c.User = url.UserPassword(c.User.Username(), "REDACTED")
		}
	}
	q := c.RawQuery
	c.RawQuery = ""
	c.ForceQuery = false
	s := c.String()
	if q == "" {
		return String(s)
	}
	parts := strings.Split(q, "&")
	for i, p := range parts {
		k, _, hasValue := strings.Cut(p, "=")
		if hasValue {
			parts[i] = k + "=" + Marker
		}
	}
	return String(s) + "?" + strings.Join(parts, "&")
}

// URLString parses raw and returns [URL] of it; text that does not parse is passed
// through [String].
func URLString(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return String(raw)
	}
	return URL(u)
}

// sensitiveHeaders carry credentials in their whole value.
var sensitiveHeaders = map[string]bool{
	"Authorization":       true,
	"Proxy-Authorization": true,
	"Cookie":              true,
	"Set-Cookie":          true,
	"Set-Auth-Jwt":        true,
	"X-Api-Key":           true,
}

// Header returns a copy of h in which credential-bearing headers keep only their
// structure: Authorization keeps its scheme ("Bearer [REDACTED]"), Cookie and Set-Cookie
// keep names and attributes, and every other value goes through [String].
func Header(h http.Header) http.Header {
	out := make(http.Header, len(h))
	for k, vs := range h {
		ck := http.CanonicalHeaderKey(k)
		nv := make([]string, len(vs))
		for i, v := range vs {
			switch {
			case ck == "Authorization" || ck == "Proxy-Authorization":
				nv[i] = authValue(v)
			case ck == "Cookie":
				nv[i] = cookieHeader(v)
			case ck == "Set-Cookie":
				nv[i] = setCookie(v)
			case sensitiveHeaders[ck]:
				nv[i] = Marker
			default:
				nv[i] = String(v)
			}
		}
		out[k] = nv
	}
	return out
}

func authValue(v string) string {
	scheme, rest, ok := strings.Cut(strings.TrimSpace(v), " ")
	if !ok || strings.TrimSpace(rest) == "" {
		if v == "" {
			return ""
		}
		// A bare credential without a scheme: hide it whole.
		if !strings.EqualFold(v, "bearer") && !strings.EqualFold(v, "basic") {
			return Marker
		}
		return v
	}
	return scheme + " " + Marker
}

// cookieHeader keeps the names of "a=1; b=2" and hides every value.
func cookieHeader(v string) string {
	parts := strings.Split(v, ";")
	for i, p := range parts {
		name, _, ok := strings.Cut(p, "=")
		if ok {
			parts[i] = name + "=" + Marker
		}
	}
	return strings.Join(parts, ";")
}

// setCookie hides the value of "name=value; Path=/; HttpOnly" and keeps the attributes.
func setCookie(v string) string {
	first, attrs, hasAttrs := strings.Cut(v, ";")
	name, _, ok := strings.Cut(first, "=")
	if !ok {
		return String(v)
	}
	out := name + "=" + Marker
	if hasAttrs {
		out += ";" + attrs
	}
	return out
}

// Redactor applies the rules of [String] and also hides exact values a test knows to be
// secret (the shared BETTER_AUTH_SECRET, a persona's password, a raw session token),
// which no pattern could recognise. The zero Redactor is ready to use; it is not safe for
// concurrent Add and String calls.
type Redactor struct {
	values []string
}

// minSecretLen keeps short, common strings ("a", "ok") from being registered and then
// blotting out unrelated text.
const minSecretLen = 6

// Add registers exact secret values; values shorter than 6 bytes are ignored.
func (r *Redactor) Add(values ...string) {
	for _, v := range values {
		if len(v) >= minSecretLen {
			r.values = append(r.values, v)
		}
	}
}

// String applies the pattern rules of [String], then hides the registered values (and
// their URL-encoded forms) wherever they are left.
func (r *Redactor) String(s string) string {
	s = String(s)
	for _, v := range r.values {
		s = strings.ReplaceAll(s, v, Marker)
		if e := url.QueryEscape(v); e != v {
			s = strings.ReplaceAll(s, e, Marker)
		}
	}
	return s
}

// Excerpt is [Excerpt] with the registered values redacted as well.
func (r *Redactor) Excerpt(b []byte, max int) string {
	return Excerpt([]byte(r.String(string(b))), max)
}
