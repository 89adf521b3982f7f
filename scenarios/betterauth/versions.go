package betterauth

import "net/http"

// Version is what one Better Auth line answers where the lines differ, from its own code: the
// sign-up route's input checks and the error codes it returns (better-auth/better-auth
// packages/core/src/error/codes.ts and the email sign-up route of each release line). The suites
// check a target against the line it declares (app.better_auth), and a mismatch names the line.
type Version struct {
	Name string // "1.7"
	// MalformedEmail and MissingName are the refusals of a sign-up with such input.
	MalformedEmail, MissingName Refusal
}

// Refusal is an expected error answer.
type Refusal struct {
	Status int
	Code   string
	Why    string // how that line gets there, for the failure message
}

// Versions are the Better Auth lines the suites know.
var Versions = map[string]Version{
	"1.7": {
		Name:           "1.7",
		MalformedEmail: Refusal{http.StatusBadRequest, "VALIDATION_ERROR", "the request body is validated before anything else"},
		MissingName:    Refusal{http.StatusBadRequest, "VALIDATION_ERROR", "the request body is validated before anything else"},
	},
	"1.4": {
		Name:           "1.4",
		MalformedEmail: Refusal{http.StatusBadRequest, "INVALID_EMAIL", "the route checks the address itself"},
		// 1.4 lets a sign-up without a name through to the database, whose NOT NULL constraint refuses it
		MissingName: Refusal{http.StatusUnprocessableEntity, "FAILED_TO_CREATE_USER", "the insert fails on user.name NOT NULL"},
	},
}
