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
// Nothing here starts containers or knows about a particular app beyond the target's page contract.
package browser
