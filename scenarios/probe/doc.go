// Package probe finds what a target file says about an app by probing the running app the way a
// client does: Better Auth's HTTP API, its token and JWKS routes, the web pages in a real browser and
// the ChatKit requests those pages make. `authflow init` writes a first target file from its [Result].
//
// Nothing here is specific to the reference app: every value comes from an answer of the app, a
// page's links, roles, accessible names and data attributes, or a request the page made; what the
// probe cannot establish is left as a TODO, never guessed.
//
// Files:
//   - probe.go: [Run], the whole probe in order (HTTP first, then the browser), with one progress
//     line per step and its timing.
//   - result.go: [Result] and [Finding], what was found and how.
//   - auth.go: the Better Auth HTTP probes: the base path (/ok), a throwaway sign-up, the token
//     routes, the JWKS, the Better Auth line.
//   - jwt.go: reading a JWT's header and claims into a token mode, algorithm, lifetime, issuer and
//     audience (pure).
//   - snapshot.go: the elements of a page as the browser sees them (role, accessible name, label,
//     data attributes), collected by one script ([Snapshot]).
//   - selectors.go: choosing selectors in the harness's syntax (label=..., role=...[name='...']) and
//     form steps from a snapshot (pure).
//   - pages.go: the browser probes: finding the sign-up, login and chat pages, filling forms, the
//     error box, sign-out, the chat widget's selectors.
//   - chatkit.go: picking the ChatKit endpoint from recorded requests (pure) and the not_found probe.
//   - render.go: the target file as commented YAML (pure).
//
// Secrets never leave the process: the probe user's password, cookies and tokens are used, not
// printed, and every error text is scrubbed of them before it is reported.
package probe
