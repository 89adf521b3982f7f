package probe

import (
	"encoding/json"
	"fmt"

	playwright "github.com/mxschmitt/playwright-go"
)

// Element is one element of a page as the browser sees it: its role (explicit or implicit), an
// approximation of its accessible name, the text of its labels, its data-* and a few other
// attributes. The selectors written are checked against the page with Playwright's own engines, so
// the approximation only has to point at the right element.
type Element struct {
	Index   int               `json:"i"`
	Tag     string            `json:"tag"`
	Type    string            `json:"type"`
	Role    string            `json:"role"`
	Name    string            `json:"name"`
	Label   string            `json:"label"`
	Text    string            `json:"text"`
	ID      string            `json:"id"`
	Attrs   map[string]string `json:"attrs"`
	Visible bool              `json:"visible"`
	// Form is the index of the element's form in document.forms, -1 outside a form.
	Form int `json:"form"`
	// Parent is the Index of the nearest collected ancestor, -1 for none.
	Parent int `json:"parent"`
}

// Snapshot is the collected elements of one page (main frame), in document order.
type Snapshot []Element

// snapshotJS collects the elements that matter for selectors: controls, links, landmarks, anything
// with an id, a role, an aria-label, a title, aria-live or a data-* attribute.
const snapshotJS = `() => {
  const implicit = (el) => {
    const t = el.tagName.toLowerCase(), type = (el.getAttribute('type') || '').toLowerCase();
    switch (t) {
      case 'a': return el.hasAttribute('href') ? 'link' : '';
      case 'button': return 'button';
      case 'input':
        if (['button', 'submit', 'reset', 'image'].includes(type)) return 'button';
        if (type === 'checkbox') return 'checkbox';
        if (type === 'radio') return 'radio';
        if (type === 'hidden' || type === 'password') return '';
        return 'textbox';
      case 'textarea': return 'textbox';
      case 'select': return 'combobox';
      case 'article': return 'article';
      case 'form': return 'form';
      case 'nav': return 'navigation';
      case 'main': return 'main';
      case 'aside': return 'complementary';
      case 'ul': case 'ol': return 'list';
      case 'li': return 'listitem';
      case 'output': return 'status';
      case 'h1': case 'h2': case 'h3': case 'h4': case 'h5': case 'h6': return 'heading';
    }
    return '';
  };
  const clean = (s) => (s || '').replace(/\s+/g, ' ').trim();
  const text = (el) => clean(el.innerText || el.textContent).slice(0, 200);
  const labelText = (el) => el.labels && el.labels.length ? clean([...el.labels].map((l) => l.textContent).join(' ')) : '';
  const name = (el, role) => {
    const by = el.getAttribute('aria-labelledby');
    if (by) {
      const s = clean(by.split(/\s+/).map((id) => { const n = document.getElementById(id); return n ? n.textContent : ''; }).join(' '));
      if (s) return s;
    }
    const al = clean(el.getAttribute('aria-label'));
    if (al) return al;
    const lt = labelText(el);
    if (lt) return lt;
    const t = el.tagName.toLowerCase();
    if (t === 'input' && ['submit', 'button', 'reset'].includes((el.type || '').toLowerCase())) return clean(el.value);
    if (['button', 'link', 'heading', 'listitem', 'tab', 'menuitem', 'option'].includes(role)) { const s = text(el); if (s) return s; }
    return clean(el.getAttribute('title') || el.getAttribute('placeholder') || el.getAttribute('alt') || '');
  };
  const keep = new Set(['a', 'button', 'input', 'textarea', 'select', 'form', 'article', 'nav', 'main', 'aside', 'ul', 'ol', 'h1', 'h2', 'h3', 'output', 'iframe']);
  const forms = [...document.forms];
  const idx = new Map();
  const out = [];
  for (const el of document.body ? document.body.querySelectorAll('*') : []) {
    if (out.length >= 4000) break;
    const t = el.tagName.toLowerCase();
    const names = el.getAttributeNames();
    const data = names.filter((n) => n.startsWith('data-'));
    if (!(keep.has(t) || el.id || el.hasAttribute('role') || el.hasAttribute('aria-label') || el.hasAttribute('aria-live') ||
      el.hasAttribute('title') || el.isContentEditable && !el.parentElement.isContentEditable || data.length)) continue;
    const role = clean(el.getAttribute('role')).split(' ')[0] || (el.isContentEditable ? 'textbox' : implicit(el));
    const attrs = {};
    for (const n of names) {
      if (n.startsWith('data-') || ['aria-label', 'aria-live', 'title', 'name', 'type', 'autocomplete', 'placeholder',
        'href', 'role', 'hidden', 'aria-hidden', 'class', 'for', 'required', 'contenteditable', 'src'].includes(n)) {
        attrs[n] = (el.getAttribute(n) || '').slice(0, 200);
      }
    }
    const st = getComputedStyle(el);
    const visible = el.getClientRects().length > 0 && st.visibility !== 'hidden' && st.display !== 'none';
    let parent = -1;
    for (let p = el.parentElement; p; p = p.parentElement) { if (idx.has(p)) { parent = idx.get(p); break; } }
    const form = el.closest('form');
    idx.set(el, out.length);
    out.push({ i: out.length, tag: t, type: (el.getAttribute('type') || '').toLowerCase(), role, name: name(el, role),
      label: labelText(el), text: text(el), id: el.id || '', attrs, visible, form: form ? forms.indexOf(form) : -1, parent });
  }
  return JSON.stringify(out);
}`

// TakeSnapshot collects the page's elements.
func TakeSnapshot(page playwright.Page) (Snapshot, error) {
	v, err := page.Evaluate(snapshotJS)
	if err != nil {
		return nil, fmt.Errorf("snapshot: %w", firstLine(err))
	}
	s, ok := v.(string)
	if !ok {
		return nil, fmt.Errorf("snapshot: unexpected result %T", v)
	}
	var snap Snapshot
	if err := json.Unmarshal([]byte(s), &snap); err != nil {
		return nil, fmt.Errorf("snapshot: %w", err)
	}
	return snap, nil
}

// Visible returns the visible elements.
func (s Snapshot) Visible() Snapshot {
	var out Snapshot
	for _, e := range s {
		if e.Visible {
			out = append(out, e)
		}
	}
	return out
}

// Ancestors returns e's collected ancestors, nearest first.
func (s Snapshot) Ancestors(e Element) []Element {
	var out []Element
	for p := e.Parent; p >= 0 && p < len(s); p = s[p].Parent {
		out = append(out, s[p])
	}
	return out
}
