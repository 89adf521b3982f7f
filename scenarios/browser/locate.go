package browser

import playwright "github.com/mxschmitt/playwright-go"

// Locate resolves a selector in the target file's syntax ("label=<text>", "frame=<css> >> <sel>",
// any Playwright selector) from the page root, exactly as the page objects do. It is for code that
// drives pages outside a [Session], such as `authflow init`'s probe, which must check that the
// selectors it writes find what it saw.
func Locate(page playwright.Page, sel string) playwright.Locator { return locate(page, sel) }
