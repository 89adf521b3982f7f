// Package killmatrix proves that the e2e suite is a gate (a fault the suite does not catch is a failing
// test of the harness, in the manner of mutation testing): for every fault
// switch of the reference app it runs the e2e test binary as a child process against a stack started
// with AUTHFLOW_FAULT=<fault> and requires that the suite fails, and that the tests declared below are
// among the failures. The union of the selected tests must first pass against the clean stack in each
// token mode, and no secret a child created may appear anywhere in its output or artifacts. The kill
// table is printed and written to artifacts/kill-matrix.md.
package killmatrix

// fault is a fault switch of the reference app (refapp/README.md) and what the suite must do about it.
type fault struct {
	Name string
	// Modes are the token modes the fault applies to and runs in. A fault that does not touch tokens
	// runs in hs256 only: its mechanism is the same in both modes.
	Modes []string
	// MustFail are full test names (regexps, anchored at both ends; "TestX/case=y" names a subtest)
	// that must be among the failures: a fault that no longer fails one of them is not caught by it.
	MustFail []string
	// MustPass are tests that must run and pass under the fault: they prove that the fault is
	// confined to what it breaks (a CORS fault breaks the browser, not the API).
	MustPass []string
	// MustReport, when set, must appear in a run-level problem of the child (a check TestMain makes
	// after the tests, such as the scan of the services' raw logs).
	MustReport string
	// FirstFailure, when set, must match (anchored regexp) the first failure of the run summary, whose
	// message must contain FirstMessage: the summary names the cause before what it breaks.
	FirstFailure, FirstMessage string
	// MustSay, when set, must appear in the failure message (as the run summary shows it, one line)
	// of every MustFail test: the message names the fix.
	MustSay string
	// MustNotSay must appear nowhere in the child's output or artifacts (e.g. "connection reset by
	// peer": a misleading transport error where the harness must show the real cause).
	MustNotSay string
	// Profiles are further target files (relative to the module root) of the reference app in
	// another profile that the fault also runs against, "file[:mode]" (hs256 by default), each after a
	// clean run of its own: the gate must hold where the app behaves like a real one (rate limits on,
	// RS256 keys). A fault without Modes runs only against its profiles.
	Profiles []string
}

// smoke is run for every fault besides the declared tests: a fixed set, asserted only where declared.
const smoke = "TestSmoke_.*"

const (
	hs256 = "hs256"
	jwks  = "jwks"
)

var both = []string{hs256, jwks}

// faults is the declared expectation per fault. Only the tests named here (and the smoke set) run
// for a fault; the clean stack runs their union per mode and must pass all of it.
var faults = []fault{
	{
		Name:  "no-token-route",
		Modes: both, // the route is the custom HS256 route in hs256 mode and the jwt plugin's in jwks mode
		MustFail: []string{
			"TestToken_IsIssuedAfterSignIn",
			"TestToken_ClaimsNameTheUserAndExpireWithinTheModesLifetime",
			"TestToken_SignatureVerifiesWithTheModesKey",
			"TestSmoke_SignUpTokenAndChatCreateATaskForThatUser",
		},
		Profiles: []string{"targets/reference-production.yaml"},
	},
	{
		Name:  "missing-auth-tables",
		Modes: both, // jwks mode also needs the jwks table
		MustFail: []string{
			"TestSchema_BetterAuthTablesHaveTheColumnsBetterAuthNeeds",
			"TestSchema_UserEmailIsUnique",
			"TestSchema_AuthOkRouteAnswers200",
			"TestSignUp_CreatesTheUserAndACredentialAccount",
			"TestSignUp_SignsTheNewUserIn",
			"TestSmoke_SignUpTokenAndChatCreateATaskForThatUser",
		},
	},
	{
		Name:  "secret-mismatch",
		Modes: []string{hs256}, // jwks mode has no shared signing secret
		MustFail: []string{
			"TestSmoke_SignUpTokenAndChatCreateATaskForThatUser",
			"TestChatKit_CreateThreadStreamsTheEventsInOrder",
			"TestChatKit_AddUserMessageContinuesTheThreadWithContext",
		},
	},
	{
		Name:     "no-auth-header",
		Modes:    []string{hs256},
		MustFail: []string{"TestBrowser_EveryChatKitRequestCarriesABearerToken"}, // the Authorization-header check
	},
	{
		Name:     "chat-init-broken",
		Modes:    []string{hs256},
		MustFail: []string{"TestBrowser_ChatWidgetMounts"},
	},
	{
		Name:  "no-user-scoping",
		Modes: []string{hs256},
		MustFail: []string{
			"TestIsolation_UserBCannotReachUserAsThread/case=get_by_id",
			"TestIsolation_UserBCannotReachUserAsThread/case=list",
		},
		Profiles: []string{"targets/reference-process.yaml"}, // the backend as a host process

	},
	{
		// The official ChatKit SDK's unmapped NotFoundError, against the SDK-like profile.
		Name: "not-found-500",
		MustFail: []string{
			"TestIsolation_UserBCannotReachUserAsThread/case=get_by_id",
			"TestIsolation_UserBCannotReachUserAsThread/case=update",
			"TestChatKit_DeleteRemovesTheThread/case=get-by-id",
		},
		MustSay:    "map the ChatKit SDK's NotFoundError to 404",
		MustNotSay: "connection reset by peer",
		Profiles:   []string{"targets/reference-sdk.yaml"},
	},
	{
		// The SDK's process() loading the thread inside the stream, against the SDK-like profile.
		Name: "thread-lookup-in-stream",
		MustFail: []string{
			"TestIsolation_UserBCannotReachUserAsThread/case=add_user_message",
			"TestIsolation_ForeignAndMissingThreadIDsAnswerAlike/case=threads.add_user_message",
			"TestChatKit_DeleteRemovesTheThread/case=add-user-message",
		},
		MustSay:    "resolve and authorize the thread before calling process()",
		MustNotSay: "connection reset by peer",
		Profiles:   []string{"targets/reference-sdk.yaml"},
	},
	{
		Name:  "skip-signature-check",
		Modes: both, // HMAC and EdDSA verification are different code paths
		MustFail: []string{
			"TestSecurity_JWTAttackMatrix/case=sig-stripped",
			"TestSecurity_JWTAttackMatrix/case=sig-corrupted",
			"TestSecurity_JWTAttackMatrix/case=claims-tampered-sub",
			"TestChatKit_RequestsWithoutAValidTokenAreRefused/case=changed-sub",
		},
		Profiles: []string{"targets/reference-rs256.yaml:jwks"}, // keyfunc over an RS256 JWKS
	},
	{
		Name:  "accept-alg-none",
		Modes: both,
		MustFail: []string{ // every spelling of "none" with an empty signature
			"TestSecurity_JWTAttackMatrix/case=alg-none-lowercase",
			"TestSecurity_JWTAttackMatrix/case=alg-none-capitalized",
			"TestSecurity_JWTAttackMatrix/case=alg-none-uppercase",
			"TestSecurity_JWTAttackMatrix/case=alg-none-mixedcase",
		},
	},
	{
		Name:  "ignore-expiry",
		Modes: both, // jwks: the suite signs an expired token with the web's own key, recovered from its jwks table
		MustFail: []string{
			"TestSecurity_JWTAttackMatrix/case=exp-expired",
			"TestSecurity_JWTAttackMatrix/case=exp-missing",
		},
		Profiles: []string{"targets/reference-rs256.yaml:jwks"}, // the recovered key is RSA there
	},
	{
		Name:     "no-login-redirect",
		Modes:    []string{hs256},
		MustFail: []string{"TestBrowser_UnauthenticatedChatVisitRedirectsToLogin"},
	},
	{
		Name:  "cors-no-authorization",
		Modes: []string{hs256},
		// The browser cannot send the token at all; the API-level preflight check names the cause.
		MustFail: []string{
			"TestBrowser_AddTaskShowsTheReplyAndStoresTheTaskForThatUser",
			"TestChatKit_CORSPreflightAllowsTheAppOriginToSendTheToken",
		},
		MustPass: []string{
			"TestChatKit_CreateThreadStreamsTheEventsInOrder",
			"TestChatKit_AddUserMessageContinuesTheThreadWithContext",
			"TestToken_IsIssuedAfterSignIn",
			"TestSmoke_SignUpTokenAndChatCreateATaskForThatUser",
		},
	},
	{
		Name:  "sub-is-email",
		Modes: []string{hs256}, // the custom HS256 route; the jwt plugin sets sub itself
		// The wrong sub breaks the task rows, the isolation and the smoke test too; the summary must
		// lead with the token test that names sub.
		MustFail: []string{
			"TestToken_ClaimsNameTheUserAndExpireWithinTheModesLifetime/case=sub-is-the-user-id",
			"TestSmoke_SignUpTokenAndChatCreateATaskForThatUser",
		},
		FirstFailure: "TestToken_ClaimsNameTheUserAndExpireWithinTheModesLifetime/case=sub-is-the-user-id",
		FirstMessage: "sub",
	},
	{
		Name:     "identity-from-request",
		Modes:    []string{hs256}, // the backend's identity, the same in both modes
		MustFail: []string{"TestIsolation_IdentityComesOnlyFromTheTokensSub/header=X-User-Id", "TestIsolation_IdentityComesOnlyFromTheTokensSub/metadata=user_id"},
		MustPass: []string{"TestIsolation_TwoUsersOnOneKeepAliveConnectionGetTheirOwnThreads"},
	},
	{
		Name:     "identity-per-connection",
		Modes:    []string{hs256},
		MustFail: []string{"TestIsolation_TwoUsersOnOneKeepAliveConnectionGetTheirOwnThreads"},
	},
	{
		Name:     "token-from-latest-session",
		Modes:    []string{hs256}, // the custom HS256 route
		MustFail: []string{"TestToken_NamesTheCallersUserWhenAnotherUserSignedInAfter"},
	},
	{
		Name:     "token-route-accepts-bearer",
		Modes:    []string{hs256},
		MustFail: []string{"TestToken_IsIssuedOnlyForALiveSession/case=after-sign-out"},
		MustPass: []string{"TestToken_IsIssuedAfterSignIn"},
	},
	{
		Name:     "exp-leeway-1h",
		Modes:    both, // jwks: the suite signs with the web's own key, recovered from its jwks table
		MustFail: []string{"TestSecurity_ClockSkewLeeway/case=exp-leeway"},
		MustPass: []string{"TestSecurity_JWTAttackMatrix"}, // an hour-expired token is still refused
	},
	{
		Name:     "shared-thread-cache",
		Modes:    []string{hs256},
		MustFail: []string{"TestBrowser_ASecondUserInTheSameBrowserSeesNothingOfTheFirst"},
		MustPass: []string{"TestBrowser_AnotherUserDoesNotSeeTheConversation"}, // separate contexts: the old test misses it
	},
	{
		Name:     "email-case-sensitive",
		Modes:    []string{hs256},
		MustFail: []string{"TestSignUp_AnAddressIsOneAccountWhateverItsLetterCase"},
		MustPass: []string{"TestSignUp_DuplicateEmailIsRefusedWithoutASecondRow"}, // lower case first: the old test misses it
	},
	{
		Name:       "log-signup-body",
		Modes:      []string{hs256}, // the web's logging, the same in both modes
		MustReport: "a service logged a credential this run created",
		MustPass:   []string{"TestSignUp_InvalidInputIsRefused"}, // failed sign-ups: the path that logs
	},
	{
		Name:       "log-authorization",
		Modes:      []string{hs256},
		MustReport: "a service logged a credential this run created",
		MustPass:   []string{"TestChatKit_CreateThreadStreamsTheEventsInOrder"},
	},
	{
		Name:     "slow-reply",
		Modes:    []string{hs256},
		MustFail: []string{"TestLoad_FiftyUsersSignUpAndChatConcurrently"}, // the chat reply's p95 reaches 5 s
	},
}
