package probe

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/scenarios/browser"
)

// Options configure a probe.
type Options struct {
	// URL is the web app's URL, as the browser opens it (http://localhost:3000).
	URL string
	// Browser says how to launch the browser (browser.ConfigFromEnv); Launch is what the suites use.
	Browser browser.Config
	// NoBrowser skips the pages (their fields stay TODOs).
	NoBrowser bool
	// Action bounds one browser action (default 10 s).
	Action time.Duration
	// Progress gets one line per probe step (default: nothing).
	Progress func(string)
}

// prober holds the state of one probe.
type prober struct {
	opts    Options
	origin  string
	res     *Result
	http    *http.Client
	browser *browser.Browser
	action  time.Duration
	// secrets are scrubbed from every reported text.
	secrets      []string
	signUpLanded string
}

func (p *prober) logf(format string, a ...any) {
	if p.opts.Progress != nil {
		p.opts.Progress(p.scrub(fmt.Sprintf(format, a...)))
	}
}

// step runs one probe step and reports it with its timing.
func (p *prober) step(name string, f func() string) {
	start := time.Now()
	out := f()
	p.logf("init: %-28s %s (%.2fs)", name, out, time.Since(start).Seconds())
}

// scrub replaces the probe's secrets (passwords typed) in s.
func (p *prober) scrub(s string) string {
	for _, v := range p.secrets {
		if v != "" {
			s = strings.ReplaceAll(s, v, "[REDACTED]")
		}
	}
	return s
}

// Run probes the app at opts.URL and returns what it found. It signs up two throwaway users
// (probe-…@authflow.test): one through the API, one through the sign-up form. The error is for a
// probe that could not start (no app at the URL); everything else ends up in the Result.
func Run(ctx context.Context, opts Options) (*Result, error) {
	u, err := url.Parse(strings.TrimRight(opts.URL, "/"))
	if err != nil || u.Host == "" || (u.Scheme != "http" && u.Scheme != "https") {
		return nil, fmt.Errorf("-url %q: want http(s)://host:port of the running web app", opts.URL)
	}
	p := &prober{
		opts:   opts,
		origin: u.Scheme + "://" + u.Host,
		res:    newResult(strings.TrimRight(opts.URL, "/")),
		http:   &http.Client{Timeout: 15 * time.Second},
		action: opts.Action,
	}
	if p.action <= 0 {
		p.action = 10 * time.Second
	}
	r := p.res

	var reachErr error
	p.step("web app", func() string {
		st := p.status(ctx, "/")
		if st == 0 {
			reachErr = fmt.Errorf("no answer from %s", p.origin)
			return "no answer"
		}
		return fmt.Sprintf("GET / -> %d", st)
	})
	if reachErr != nil {
		return nil, reachErr
	}
	r.Services = append(r.Services, Service{Name: "web", URL: p.origin, How: "the -url given"})

	// Better Auth over HTTP.
	p.step("better auth base path", func() string {
		f, err := findBasePath(ctx, p.origin, nil)
		if err != nil {
			r.AuthBasePath = todo("%v", err)
			return err.Error()
		}
		r.AuthBasePath = f
		if f.Found() {
			r.Services[0].Ready = found(f.Value+"/ok", "Better Auth's health route answered {\"ok\":true}")
			return f.Value
		}
		return "not found"
	})
	base := r.AuthBasePath.Value
	var user *probeUser
	if base == "" {
		for _, f := range []*Finding{&r.TokenPath, &r.JWKSPath, &r.Mode, &r.Lifetime, &r.BetterAuth} {
			*f = todo("not probed: no Better Auth base path")
		}
	} else {
		p.step("better auth line", func() string {
			r.BetterAuth = betterAuthLine(ctx, p.origin, base)
			return or(r.BetterAuth.Value, "unknown")
		})
		p.step("sign up a probe user", func() string {
			u, how, err := signUp(ctx, p.origin, base)
			if err != nil {
				r.Notes = append(r.Notes, "the probe user could not be signed up: "+p.scrub(err.Error()))
				return "failed: " + err.Error()
			}
			user = u
			p.secrets = append(p.secrets, u.persona.Password.Value())
			return how
		})
	}
	var tok *issuedToken
	if user != nil {
		p.step("token and jwks", func() string {
			tok = p.tokens(ctx, user, base, nil)
			return or(r.Mode.Value, "no token mode") + " " + r.TokenPath.Value
		})
	} else if base != "" {
		for _, f := range []*Finding{&r.TokenPath, &r.JWKSPath, &r.Mode, &r.Lifetime} {
			*f = todo("not probed: the probe user could not be signed up")
		}
	}

	// The pages, in the browser.
	var observedTokens []string
	if opts.NoBrowser {
		r.Notes = append(r.Notes, "the pages were not probed (-no-browser)")
	} else if user == nil {
		r.Notes = append(r.Notes, "the pages were not probed: no probe user")
	} else {
		observedTokens = p.pages(ctx, user.persona)
	}
	if user != nil && !r.TokenPath.Found() {
		var more []string
		for _, o := range observedTokens {
			if !contains(tokenPaths, o) && o != base+"/token" {
				more = append(more, o)
			}
		}
		if len(more) > 0 {
			p.step("token route the page used", func() string {
				tok = p.tokens(ctx, user, base, more)
				return or(r.TokenPath.Value, "none")
			})
		}
	}

	// The ChatKit backend.
	if ck := r.ChatKitURL.Value; ck != "" {
		if o := originOf(ck); o != "" && o != p.origin {
			svc := Service{Name: "backend", URL: o, How: "the origin of the ChatKit endpoint the chat page called"}
			p.step("backend readiness", func() string {
				svc.Ready = p.readyPath(ctx, o)
				return or(svc.Ready.Value, "no health route")
			})
			r.Services = append(r.Services, svc)
		}
		if tok != nil {
			p.step("not_found", func() string {
				cctx, cancel := context.WithTimeout(ctx, 30*time.Second)
				defer cancel()
				r.NotFound = probeNotFound(cctx, ck, tok.Token)
				return or(r.NotFound.Value, r.NotFound.Todo)
			})
		} else {
			r.NotFound = todo("not probed: no token to call the ChatKit endpoint with")
		}
	} else {
		r.NotFound = todo("not probed: no ChatKit endpoint")
	}
	return r, nil
}

func or(s, dflt string) string {
	if s == "" {
		return dflt
	}
	return s
}

// tokens finds the token route, the JWKS and the token mode, and returns the token the harness's
// mode would use (nil when none).
func (p *prober) tokens(ctx context.Context, u *probeUser, base string, extra []string) *issuedToken {
	r := p.res
	var route *issuedToken
	var tried []string
	cands := append([]string{base + "/token"}, tokenPaths...)
	if extra != nil {
		cands = extra
	}
	for _, path := range cands {
		t, st, err := fetchToken(ctx, u.client, path)
		tried = append(tried, fmt.Sprintf("%s (%s)", path, statusText(st, err)))
		if t != nil {
			route = t
			break
		}
	}
	plugin := sessionJWT(ctx, u.client)
	jwksPath, keys, jwksTried := findJWKS(ctx, u.client, base)
	if jwksPath != "" {
		algs := map[string]bool{}
		for _, k := range keys {
			algs[or(k.Alg, k.Kty)] = true
		}
		r.JWKSPath = found(jwksPath, "GET %s answered a JWKS with %d key(s) (%s)", jwksPath, len(keys), strings.Join(slices.Sorted(maps.Keys(algs)), ", "))
	} else {
		r.JWKSPath = todo("no JWKS at %s (needed in jwks mode)", strings.Join(jwksTried, ", "))
	}
	use := route
	switch {
	case route != nil:
		r.TokenPath = found(route.Path, "GET %s with the probe user's session cookie answered {\"token\": <%s JWT>}", route.Path, route.Info.Alg)
	case plugin != nil:
		use = plugin
		r.TokenPath = todo("no token route answered a JWT (%s); get-session sends one in set-auth-jwt, which the harness cannot ask for: give the route the app's pages fetch their token from", strings.Join(tried, ", "))
	default:
		r.TokenPath = todo("no token route answered a JWT (%s) and get-session sent no set-auth-jwt", strings.Join(tried, ", "))
		r.Mode = todo("no token found")
		r.Lifetime = todo("no token found")
		return nil
	}
	if plugin != nil && route != nil && plugin.Info.Alg != route.Info.Alg {
		r.Notes = append(r.Notes, fmt.Sprintf("get-session also sends a %s token in set-auth-jwt (Better Auth's jwt plugin is on): if the backend verifies those, jwks mode may work too", plugin.Info.Alg))
	}
	mode, why := ModeOf(use.Info, keys)
	if mode == "" {
		r.Mode = todo("%s", why)
		r.Lifetime = todo("no token mode")
		return nil
	}
	where := "the token route's"
	if use.Path == "" {
		where = "get-session's set-auth-jwt"
	}
	r.Mode = found(mode, "%s JWT: %s", where, why)
	if lt := RoundLifetime(use.Info.Lifetime()); lt != "" {
		r.Lifetime = found(lt, "exp - iat of %s token is %s", where, use.Info.Lifetime())
	} else {
		r.Lifetime = todo("the token has no iat or exp")
	}
	if mode == "jwks" {
		if use.Info.Alg != "EdDSA" {
			r.Alg = found(use.Info.Alg, "the token's header says alg %s (EdDSA is the jwt plugin's default)", use.Info.Alg)
		}
		if use.Info.Issuer != "" {
			r.Issuer = found(use.Info.Issuer, "the token's iss claim")
		} else {
			r.Issuer = todo("the token has no iss claim")
		}
		switch len(use.Info.Audience) {
		case 0:
			r.Audience = todo("the token has no aud claim")
		case 1:
			r.Audience = found(use.Info.Audience[0], "the token's aud claim")
		default:
			r.Audience = Finding{Value: use.Info.Audience[0], How: fmt.Sprintf("the first of the token's %d aud values (%s)", len(use.Info.Audience), strings.Join(use.Info.Audience, ", "))}
		}
	}
	return use
}

func statusText(st int, err error) string {
	switch {
	case err != nil:
		return err.Error()
	case st == 200:
		return "200 without a JWT"
	}
	return fmt.Sprint(st)
}

// readyPath finds a health route of the backend: the first of a few common paths that answers 200.
func (p *prober) readyPath(ctx context.Context, origin string) Finding {
	for _, path := range []string{"/health", "/healthz", "/api/health", "/ready", "/readyz"} {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, origin+path, nil)
		if err != nil {
			continue
		}
		res, err := p.http.Do(req)
		if err != nil {
			continue
		}
		res.Body.Close()
		if res.StatusCode == 200 {
			return found(path, "GET %s answered 200", path)
		}
	}
	return todo("none of /health, /healthz, /api/health, /ready, /readyz answered 200; without ready: the service's URL is checked")
}

// pages probes the sign-up, login and chat pages in the browser as persona u (the API-made user)
// and a second throwaway user, and returns the token-like paths the chat page fetched.
func (p *prober) pages(ctx context.Context, u data.Persona) (tokenLike []string) {
	r := p.res
	var err error
	p.step("browser", func() string {
		p.browser, err = browser.Launch(p.opts.Browser)
		if err != nil {
			return "failed: " + firstLine(err).Error()
		}
		return "Chromium " + p.browser.Version()
	})
	if err != nil {
		r.Notes = append(r.Notes, "the pages were not probed: "+firstLine(err).Error())
		return nil
	}
	defer p.browser.Close()

	a, err := p.newTab()
	if err != nil {
		r.Notes = append(r.Notes, err.Error())
		return nil
	}
	defer a.close()
	var homeLinks []Link
	landing := "/"
	p.step("home page", func() string {
		if err := p.open(a, "/"); err != nil {
			return err.Error()
		}
		landing = a.path()
		snap, err := TakeSnapshot(a.page)
		if err != nil {
			return err.Error()
		}
		homeLinks = append(Links(snap, p.origin, reSignUp), Links(snap, p.origin, reLogin)...)
		return fmt.Sprintf("/ shows %s, %d sign-up/sign-in link(s)", landing, len(homeLinks))
	})
	signupLinks, loginLinks := splitLinks(homeLinks)

	var suPath, liPath string
	var suForm, liForm Form
	var seen []Link
	// authPage finds the page key ("login", "signup") among cands and records it in r.Pages.
	authPage := func(key, what string, cands []Link) (path string, form Form, seen []Link) {
		p.step(what+" page", func() string {
			var how string
			path, form, how, seen = p.findAuthPage(ctx, a, key, cands)
			if path == "" {
				r.Pages[key] = todo("none of %s shows a %s form", strings.Join(linkPaths(cands), ", "), what)
				return "not found"
			}
			r.Pages[key] = found(path, "%s", how)
			return path
		})
		return path, form, seen
	}
	liPath, liForm, seen = authPage("login", "login",
		append(append([]Link{{Path: landing, Name: landingName(landing)}}, loginLinks...), pathLinks(LoginPaths)...))
	more, _ := splitLinks(seen)
	suPath, suForm, _ = authPage("signup", "sign-up", append(append(append([]Link{}, signupLinks...), more...), pathLinks(SignUpPaths)...))
	if suPath != "" {
		p.step("sign-up form", func() string {
			np := data.NewPersona("probe-form", "Probe Form")
			p.secrets = append(p.secrets, np.Password.Value())
			if err := p.open(a, suPath); err != nil {
				return err.Error()
			}
			waitVisible(a, "input[type=password]", 3*time.Second)
			p.signUpForm(a, suPath, suForm, np)
			if len(r.SignUpSteps) > 0 {
				return fmt.Sprintf("%d steps (more than name, email, password)", len(r.SignUpSteps))
			}
			return "name, email, password"
		})
	} else {
		for _, k := range []string{"signup_name", "signup_email", "signup_password", "signup_submit"} {
			r.Selectors[k] = todo("not probed: no sign-up page found")
		}
	}

	b, err := p.newTab()
	if err != nil {
		r.Notes = append(r.Notes, err.Error())
		return nil
	}
	defer b.close()
	landed := ""
	if liPath != "" {
		p.step("login form and error", func() string {
			if err := p.open(b, liPath); err != nil {
				return err.Error()
			}
			waitVisible(b, "input[type=password]", 3*time.Second)
			landed = p.loginForm(b, liPath, liForm, u)
			return "error " + or(r.Selectors["error"].Value, "not found") + ", signed in -> " + or(landed, "stayed")
		})
	} else {
		for _, k := range []string{"login_email", "login_password", "login_submit", "error"} {
			r.Selectors[k] = todo("not probed: no login page found")
		}
	}
	// Where a new account lands: the login page, or (default) the chat page.
	if p.signUpLanded != "" {
		if p.signUpLanded == liPath {
			r.SignUpLandsOn = found("login", "signing up through the form went to %s, the login page", liPath)
		}
	}
	if landed == "" {
		// Not signed in through the form: the API user's session would do, but a browser without it
		// cannot reach the chat page.
		r.Notes = append(r.Notes, "the browser is not signed in; the chat page was not probed")
		r.Pages["chat"] = todo("not probed: the login form did not sign the probe user in")
		return nil
	}
	p.step("chat page", func() string {
		cands := []Link{{Path: landed}}
		if p.signUpLanded != "" && p.signUpLanded != liPath {
			cands = append(cands, Link{Path: p.signUpLanded})
		}
		if snap, err := TakeSnapshot(b.page); err == nil {
			cands = append(cands, Links(snap, p.origin, reChat)...)
		}
		cands = append(cands, pathLinks(ChatPaths)...)
		p.chatPage(ctx, b, cands)
		return or(r.Pages["chat"].Value, "not found") + ", chatkit " + or(r.ChatKitURL.Value, "not seen")
	})
	if c := r.Pages["chat"].Value; c != "" && p.signUpLanded != "" && p.signUpLanded != liPath && p.signUpLanded != c {
		r.SignUpLandsOn = todo("signing up through the form went to %s, neither the login nor the chat page", p.signUpLanded)
	}
	for _, o := range b.requests() {
		if o.Method == http.MethodGet && strings.HasPrefix(o.URL, p.origin+"/") && strings.Contains(strings.ToLower(o.URL), "token") {
			path := strings.TrimPrefix(o.URL, p.origin)
			if !contains(tokenLike, path) {
				tokenLike = append(tokenLike, path)
			}
		}
	}
	if len(tokenLike) > 0 && r.TokenPath.Found() && !contains(tokenLike, r.TokenPath.Value) {
		r.Notes = append(r.Notes, fmt.Sprintf("the chat page fetched %s, not %s: check app.token_path", strings.Join(tokenLike, ", "), r.TokenPath.Value))
	} else if len(tokenLike) > 0 && r.TokenPath.Found() {
		tp := r.TokenPath
		tp.How += "; the chat page fetches it too"
		r.TokenPath = tp
	}
	return tokenLike
}

// landingName names the page / lands on, when that is not / itself (a redirect to the login page).
func landingName(landing string) string {
	if landing == "/" {
		return ""
	}
	return "/ (home)"
}

// splitLinks separates sign-up links from login links.
func splitLinks(ls []Link) (signup, login []Link) {
	for _, l := range ls {
		switch {
		case reSignUp.MatchString(l.Name):
			signup = append(signup, l)
		case reLogin.MatchString(l.Name):
			login = append(login, l)
		}
	}
	return signup, login
}

// firstLine is err's first line (Playwright's errors carry a call log after it).
func firstLine(err error) error {
	if err == nil {
		return nil
	}
	s, _, _ := strings.Cut(err.Error(), "\n")
	return errors.New(s)
}
