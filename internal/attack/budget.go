package attack

import (
	"fmt"
	"strings"
	"time"
)

// Policy budgets (app.budgets in the target file).
const (
	BudgetAfterSignOut    = "token_after_signout"
	BudgetAfterUserDelete = "token_after_user_delete"
	BudgetExpLeeway       = "exp_leeway"
	BudgetNbfLeeway       = "nbf_leeway"
)

// ParseBudgets reads the security budgets of app.budgets (file names the target in errors); other
// keys belong to other suites.
func ParseBudgets(file string, b map[string]string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, key := range []string{BudgetAfterSignOut, BudgetAfterUserDelete, BudgetExpLeeway, BudgetNbfLeeway} {
		v, ok := b[key]
		if !ok {
			continue
		}
		d, err := time.ParseDuration(strings.TrimSpace(v))
		if err != nil || d < 0 {
			return nil, fmt.Errorf("target %s: app.budgets.%s = %q is not a duration (write it like 30m, 60s or 0s)", file, key, v)
		}
		out[key] = d
	}
	return out, nil
}

// DefaultBudget is the budget of key when the target sets none, and why: clock-skew leeway is "some
// small leeway, usually no more than a few minutes" (RFC 7519 §4.1.4, §4.1.5), so 5 minutes; a token
// after sign-out or the user's deletion may live no longer than an access token lives (the mode's
// token.lifetime, else 1 hour): a stateless JWT ends at its exp (OWASP ASVS 7.4.1/7.4.2).
func DefaultBudget(key string, lifetime time.Duration) (time.Duration, string) {
	switch key {
	case BudgetExpLeeway, BudgetNbfLeeway:
		return 5 * time.Minute, "default: RFC 7519 §4.1.4/§4.1.5, a few minutes of leeway at most"
	}
	if lifetime <= 0 {
		return time.Hour, "default: an access token's common 1 h lifetime (the target sets no token.lifetime)"
	}
	return lifetime, "default: the mode's token.lifetime, as a stateless JWT ends at its exp"
}

// Budgets are a target's budgets with their defaults.
type Budgets struct {
	File     string            // the target file, for errors
	Set      map[string]string // app.budgets
	Lifetime time.Duration     // the mode's token.lifetime
}

// Get is key's budget: the target's, else the default. A bad value is an error.
func (b Budgets) Get(key string) (time.Duration, error) {
	all, err := ParseBudgets(b.File, b.Set)
	if err != nil {
		return 0, err
	}
	if d, ok := all[key]; ok {
		return d, nil
	}
	d, _ := DefaultBudget(key, b.Lifetime)
	return d, nil
}

// Cell formats key's budget for the report: the target's value, or the default and why.
func (b Budgets) Cell(key string) string {
	all, _ := ParseBudgets(b.File, b.Set)
	if d, ok := all[key]; ok {
		return d.String() + " (app.budgets)"
	}
	d, why := DefaultBudget(key, b.Lifetime)
	return d.String() + " (" + why + ")"
}
