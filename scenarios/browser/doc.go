// Package browser drives the target's pages in a real browser with playwright-go: one Playwright
// driver and one browser per test process ([Launch], [Browser.Close]), a fresh browser context per
// test ([Browser.NewSession]), page objects whose paths and selectors come from the target file
// ([App], [SignUpPage], [LoginPage], [ChatPage]), a network recorder ([Recorder]) and the page's
// console and uncaught errors ([Console]).
//
// A [Session] is bound to one test: its cleanup fails the test on an uncaught page error or a 5xx
// answer of the app (the guard), and, only when the test failed, writes a Playwright trace, a
// full-page screenshot, the console and the network log (all redacted) to the session's artifacts
// directory and prints where they are. On success nothing is kept.
//
// Selectors are Playwright selectors with two authflow extensions: "frame=<css> >> <selector>" looks
// inside an iframe, and "label=<text>" finds a form control by its label like getByLabel (substring,
// case-insensitive; exact when quoted), since Playwright has no public label engine.
//
// The driver runs with TMPDIR set to a per-process scratch directory (Chromium profiles, trace
// files), removed by Close; scratch directories of processes that died are swept at the next Launch.
// The Playwright trace of a failed test is redacted entry by entry before it is written (header and
// cookie values, query values, password inputs of DOM snapshots, JWTs, registered secrets such as
// the passwords typed and the cookies injected); if a registered secret survives, no trace is kept.
//
// Nothing here starts containers or knows about a particular app beyond the target's page contract.
package browser
