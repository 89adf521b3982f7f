package chatkit

import (
	"errors"
	"fmt"
	"log"
	"net/http"
	"slices"
	"strings"
	"time"
)

// Token modes (TOKEN_MODE).
const (
	ModeHS256 = "hs256"
	ModeJWKS  = "jwks"
)

// Backend fault switches (AUTHFLOW_FAULT); see refapp/README.md.
const (
	FaultSecretMismatch      = "secret-mismatch"
	FaultNoUserScoping       = "no-user-scoping"
	FaultSkipSignatureCheck  = "skip-signature-check"
	FaultAcceptAlgNone       = "accept-alg-none"
	FaultIgnoreExpiry        = "ignore-expiry"
	FaultCORSNoAuthorization = "cors-no-authorization"
	FaultSlowReply           = "slow-reply"
	// FaultIdentityFromRequest takes the user id from an X-User-Id header or the request's
	// metadata.user_id when present, instead of only from the token's sub.
	FaultIdentityFromRequest = "identity-from-request"
	// FaultIdentityPerConnection caches the first verified user of a keep-alive connection and
	// serves every later request on it as that user.
	FaultIdentityPerConnection = "identity-per-connection"
	// FaultExpLeewayHour accepts tokens up to 59 minutes after their exp.
	FaultExpLeewayHour = "exp-leeway-1h"
	// FaultLogAuthorization logs every request's Authorization header in full.
	FaultLogAuthorization = "log-authorization"
	// FaultNotFound500 answers a missing or foreign thread as an SDK backend without an exception
	// handler does: 500 text/plain "Internal Server Error" without CORS headers, and then closes the
	// keep-alive connection without Connection: close (uvicorn).
	FaultNotFound500 = "not-found-500"
	// FaultThreadLookupInStream resolves the thread of threads.add_user_message only after the
	// stream started, as the SDK's process() does: a missing or foreign thread gets 200
	// text/event-stream and then a body cut at 0 bytes.
	FaultThreadLookupInStream = "thread-lookup-in-stream"
)

// Profiles (CHATKIT_PROFILE): how the backend behaves where the protocol leaves a choice. Not
// fault switches: a profile is conformant.
const (
	// ProfileReference is the default: 404 for every request about a missing or foreign thread,
	// RFC 3339 UTC timestamps, ids of 16 hex characters.
	ProfileReference = "reference"
	// ProfileSDK answers as a backend built on the official ChatKit Python SDK (with NotFoundError
	// mapped to 404, as such apps fix it): items.list of a missing or foreign thread is an empty page,
	// threads.delete of one is a 200 {} no-op, timestamps are naive local time (TZ decides the zone),
	// ids are the prefix and 8 hex characters.
	ProfileSDK = "sdk"
)

var backendFaults = []string{
	FaultSecretMismatch, FaultNoUserScoping, FaultSkipSignatureCheck, FaultAcceptAlgNone,
	FaultIgnoreExpiry, FaultCORSNoAuthorization, FaultSlowReply, FaultIdentityFromRequest, FaultIdentityPerConnection,
	FaultLogAuthorization, FaultExpLeewayHour, FaultNotFound500, FaultThreadLookupInStream,
}

// Faults that belong to the web service; the backend ignores them without a warning.
var webFaults = []string{
	"no-token-route", "missing-auth-tables", "no-auth-header", "chat-init-broken", "no-login-redirect",
	"sub-is-email", "token-from-latest-session", "token-route-accepts-bearer", "log-signup-body", "email-case-sensitive", "shared-thread-cache",
}

// Faults is the set of active backend fault switches.
type Faults map[string]bool

// ParseFaults reads a comma-separated AUTHFLOW_FAULT value. It returns the backend faults and the
// names that are neither backend nor web faults (unknown, to be warned about).
func ParseFaults(s string) (Faults, []string) {
	f := Faults{}
	var unknown []string
	for _, name := range strings.Split(s, ",") {
		name = strings.ToLower(strings.TrimSpace(name))
		switch {
		case name == "":
		case slices.Contains(backendFaults, name):
			f[name] = true
		case slices.Contains(webFaults, name):
		default:
			unknown = append(unknown, name)
		}
	}
	return f, unknown
}

// Names lists the active faults in a stable order.
func (f Faults) Names() []string {
	var out []string
	for _, n := range backendFaults {
		if f[n] {
			out = append(out, n)
		}
	}
	return out
}

// Config configures the handler. Zero durations take the defaults below.
type Config struct {
	TokenMode   string // hs256 (default) or jwks
	Secret      string // BETTER_AUTH_SECRET (hs256)
	JWKSURL     string // JWKS_URL (jwks)
	Issuer      string // JWT_ISSUER (jwks)
	Audience    string // JWT_AUDIENCE (jwks)
	CORSOrigins []string
	Faults      Faults
	// NoTasks is ASSISTANT_TASKS=off: an app profile whose assistant keeps no task list (as many
	// real ChatKit backends): task commands are plain messages. Not a fault switch.
	NoTasks bool
	// Profile is CHATKIT_PROFILE: ProfileReference (default) or ProfileSDK.
	Profile string

	Logger *log.Logger // nil: log.Default()

	SlowReplyDelay     time.Duration // slow-reply sleep, default 6 s
	DeltaDelay         time.Duration // pause between text deltas, default 10 ms; negative: none
	JWKSRefreshMinimum time.Duration // at most one JWKS fetch per this interval, default 5 s
	JWKSClient         *http.Client  // default: 5 s timeout
	ClockSkew          time.Duration // leeway for nbf and iat, default 60 s
}

const (
	DefaultSlowReplyDelay     = 6 * time.Second
	DefaultDeltaDelay         = 10 * time.Millisecond
	DefaultJWKSRefreshMinimum = 5 * time.Second
	DefaultClockSkew          = 60 * time.Second
)

// ConfigFromEnv builds a Config from the environment (getenv is os.Getenv in main).
// It returns the names in AUTHFLOW_FAULT that no service knows, for a warning.
func ConfigFromEnv(getenv func(string) string) (Config, []string, error) {
	faults, unknown := ParseFaults(getenv("AUTHFLOW_FAULT"))
	cfg := Config{
		TokenMode:   strings.ToLower(strings.TrimSpace(getenv("TOKEN_MODE"))),
		Secret:      getenv("BETTER_AUTH_SECRET"),
		JWKSURL:     strings.TrimSpace(getenv("JWKS_URL")),
		Issuer:      strings.TrimSpace(getenv("JWT_ISSUER")),
		Audience:    strings.TrimSpace(getenv("JWT_AUDIENCE")),
		CORSOrigins: ParseOrigins(getenv("CORS_ORIGINS")),
		Faults:      faults,
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("ASSISTANT_TASKS"))); v {
	case "", "on":
	case "off":
		cfg.NoTasks = true
	default:
		return cfg, unknown, fmt.Errorf("ASSISTANT_TASKS must be on or off, got %q", v)
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("CHATKIT_PROFILE"))); v {
	case "", ProfileReference:
		cfg.Profile = ProfileReference
	case ProfileSDK:
		cfg.Profile = ProfileSDK
	default:
		return cfg, unknown, fmt.Errorf("CHATKIT_PROFILE must be %s or %s, got %q", ProfileReference, ProfileSDK, v)
	}
	if cfg.TokenMode == "" {
		cfg.TokenMode = ModeHS256
	}
	return cfg, unknown, cfg.Validate()
}

// Validate checks that the settings the token mode needs are present.
func (c Config) Validate() error {
	var errs []string
	switch c.TokenMode {
	case ModeHS256:
		if c.Secret == "" {
			errs = append(errs, "BETTER_AUTH_SECRET is required when TOKEN_MODE=hs256")
		}
	case ModeJWKS:
		for _, v := range []struct{ name, val string }{
			{"JWKS_URL", c.JWKSURL}, {"JWT_ISSUER", c.Issuer}, {"JWT_AUDIENCE", c.Audience},
		} {
			if v.val == "" {
				errs = append(errs, v.name+" is required when TOKEN_MODE=jwks")
			}
		}
	default:
		errs = append(errs, fmt.Sprintf("TOKEN_MODE must be %q or %q, got %q", ModeHS256, ModeJWKS, c.TokenMode))
	}
	if len(errs) == 0 {
		return nil
	}
	return errors.New(strings.Join(errs, "; "))
}

// ParseOrigins splits CORS_ORIGINS; trailing slashes are dropped ("http://x:1/" == "http://x:1").
func ParseOrigins(s string) []string {
	var out []string
	for _, o := range strings.Split(s, ",") {
		o = strings.TrimRight(strings.TrimSpace(o), "/")
		if o != "" {
			out = append(out, o)
		}
	}
	return out
}

func (c *Config) setDefaults() {
	if c.TokenMode == "" {
		c.TokenMode = ModeHS256
	}
	if c.Faults == nil {
		c.Faults = Faults{}
	}
	if c.Profile == "" {
		c.Profile = ProfileReference
	}
	if c.Logger == nil {
		c.Logger = log.Default()
	}
	if c.SlowReplyDelay == 0 {
		c.SlowReplyDelay = DefaultSlowReplyDelay
	}
	if c.DeltaDelay == 0 {
		c.DeltaDelay = DefaultDeltaDelay
	}
	if c.JWKSRefreshMinimum == 0 {
		c.JWKSRefreshMinimum = DefaultJWKSRefreshMinimum
	}
	if c.JWKSClient == nil {
		c.JWKSClient = &http.Client{Timeout: 5 * time.Second}
	}
	if c.ClockSkew == 0 {
		c.ClockSkew = DefaultClockSkew
	}
}
