package browser

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	playwright "github.com/mxschmitt/playwright-go"

	"github.com/authflow-e2e/authflow/internal/redact"
)

// ConsoleEntry is a console message or an uncaught page error.
type ConsoleEntry struct {
	At time.Duration
	// Type is the console type (log, info, warning, error, debug, ...) or "pageerror".
	Type string
	Text string
	// Where is the page URL (redacted) and, for console messages, the script location.
	Where string
}

func (e ConsoleEntry) String() string {
	s := fmt.Sprintf("+%.2fs %-9s %s", e.At.Seconds(), e.Type, e.Text)
	if e.Where != "" {
		s += "  [" + e.Where + "]"
	}
	return s
}

// Console collects the console messages and uncaught page errors of one browser context.
type Console struct {
	start time.Time
	mu    sync.Mutex
	list  []ConsoleEntry
}

func newConsole(start time.Time) *Console { return &Console{start: start} }

func (c *Console) attach(ctx playwright.BrowserContext) {
	ctx.OnConsole(func(m playwright.ConsoleMessage) {
		where := ""
		if l := m.Location(); l != nil && l.URL != "" {
			where = fmt.Sprintf("%s:%d:%d", redact.URLString(l.URL), l.LineNumber, l.ColumnNumber)
		}
		c.add(ConsoleEntry{Type: m.Type(), Text: m.Text(), Where: where})
	})
	ctx.OnWebError(func(w playwright.WebError) {
		where := ""
		if p := w.Page(); p != nil {
			where = redact.URLString(p.URL())
		}
		c.add(ConsoleEntry{Type: "pageerror", Text: errorText(w.Error()), Where: where})
	})
}

// errorText is the message and, when the driver sent one, the stack of a page error.
func errorText(err error) string {
	if err == nil {
		return "(no error)"
	}
	var pe *playwright.Error
	if errors.As(err, &pe) && pe.Stack != "" {
		if strings.Contains(pe.Stack, pe.Message) {
			return pe.Stack
		}
		return pe.Message + "\n" + pe.Stack
	}
	return err.Error()
}

func (c *Console) add(e ConsoleEntry) {
	e.At = time.Since(c.start)
	e.Text = redact.String(e.Text)
	c.mu.Lock()
	c.list = append(c.list, e)
	c.mu.Unlock()
}

// All returns every entry, in order.
func (c *Console) All() []ConsoleEntry {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]ConsoleEntry(nil), c.list...)
}

// Errors returns the console messages of type error.
func (c *Console) Errors() []ConsoleEntry { return c.ofType("error") }

// PageErrors returns the uncaught page errors (exceptions and unhandled rejections).
func (c *Console) PageErrors() []ConsoleEntry { return c.ofType("pageerror") }

func (c *Console) ofType(t string) []ConsoleEntry {
	var out []ConsoleEntry
	for _, e := range c.All() {
		if e.Type == t {
			out = append(out, e)
		}
	}
	return out
}

// String is the console log, one entry per line (redacted).
func (c *Console) String() string {
	var b strings.Builder
	for _, e := range c.All() {
		b.WriteString(e.String())
		b.WriteByte('\n')
	}
	return b.String()
}
