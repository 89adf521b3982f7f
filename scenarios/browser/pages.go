package browser

import (
	"fmt"

	playwright "github.com/mxschmitt/playwright-go"

	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/internal/secret"
)

// SignUpPage is the target's sign-up page (app.pages.signup, app.selectors.signup_*).
type SignUpPage struct{ s *Session }

// SignUpPage returns the sign-up page object of the session.
func (s *Session) SignUpPage() SignUpPage { return SignUpPage{s} }

// Open navigates to the sign-up page.
func (p SignUpPage) Open() error { return p.s.Goto(PageSignUp) }

// Submit fills the form and clicks the submit button (the password is registered as a secret). A
// target that describes its form (app.forms.signup) gets its steps, with values derived from these.
func (p SignUpPage) Submit(name, email string, password secret.Secret) error {
	p.s.Secret(password.Value())
	if f := p.s.App.cfg.SignUpForm; len(f.Steps) > 0 {
		if err := f.fill(p.s, "sign-up", name, email, password); err != nil {
			return err
		}
		if err := p.s.Locator(SelSignUpSubmit).Click(); err != nil {
			return fmt.Errorf("sign-up form: click %s: %w", SelSignUpSubmit, err)
		}
		return nil
	}
	steps := []struct {
		key, value string
	}{{SelSignUpName, name}, {SelSignUpEmail, email}, {SelSignUpPassword, password.Value()}}
	for _, st := range steps {
		if err := p.s.Locator(st.key).Fill(st.value); err != nil {
			return fmt.Errorf("sign-up form: fill %s: %w", st.key, err)
		}
	}
	if err := p.s.Locator(SelSignUpSubmit).Click(); err != nil {
		return fmt.Errorf("sign-up form: click %s: %w", SelSignUpSubmit, err)
	}
	return nil
}

// SignUp opens the page and submits the persona.
func (p SignUpPage) SignUp(u data.Persona) error {
	if err := p.Open(); err != nil {
		return err
	}
	return p.Submit(u.Name, u.Email, u.Password)
}

// Error is the form's error message (app.selectors.error).
func (p SignUpPage) Error() playwright.Locator { return p.s.Locator(SelError) }

// Landing is the page a successful sign-up leads to (app.forms.signup.lands_on, default chat).
func (p SignUpPage) Landing() string { return p.s.App.cfg.SignUpForm.Landing() }

// LoginPage is the target's login page (app.pages.login, app.selectors.login_*).
type LoginPage struct{ s *Session }

// LoginPage returns the login page object of the session.
func (s *Session) LoginPage() LoginPage { return LoginPage{s} }

// Open navigates to the login page.
func (p LoginPage) Open() error { return p.s.Goto(PageLogin) }

// Submit fills the form and clicks the submit button (the password is registered as a secret).
func (p LoginPage) Submit(email string, password secret.Secret) error {
	p.s.Secret(password.Value())
	if f := p.s.App.cfg.LoginForm; len(f.Steps) > 0 {
		if err := f.fill(p.s, "login", "", email, password); err != nil {
			return err
		}
		if err := p.s.Locator(SelLoginSubmit).Click(); err != nil {
			return fmt.Errorf("login form: click %s: %w", SelLoginSubmit, err)
		}
		return nil
	}
	if err := p.s.Locator(SelLoginEmail).Fill(email); err != nil {
		return fmt.Errorf("login form: fill %s: %w", SelLoginEmail, err)
	}
	if err := p.s.Locator(SelLoginPassword).Fill(password.Value()); err != nil {
		return fmt.Errorf("login form: fill %s: %w", SelLoginPassword, err)
	}
	if err := p.s.Locator(SelLoginSubmit).Click(); err != nil {
		return fmt.Errorf("login form: click %s: %w", SelLoginSubmit, err)
	}
	return nil
}

// LogIn opens the page and submits the persona's email and password.
func (p LoginPage) LogIn(u data.Persona) error {
	if err := p.Open(); err != nil {
		return err
	}
	return p.Submit(u.Email, u.Password)
}

// Error is the form's error message (app.selectors.error).
func (p LoginPage) Error() playwright.Locator { return p.s.Locator(SelError) }

// Landing is the page a successful login leads to (app.forms.login.lands_on, default chat).
func (p LoginPage) Landing() string { return p.s.App.cfg.LoginForm.Landing() }

// ChatPage is the target's chat page with the ChatKit widget (app.pages.chat).
type ChatPage struct{ s *Session }

// ChatPage returns the chat page object of the session.
func (s *Session) ChatPage() ChatPage { return ChatPage{s} }

// Open navigates to the chat page.
func (p ChatPage) Open() error { return p.s.Goto(PageChat) }

// WaitReady waits until the widget has mounted (app.selectors.chat_ready).
func (p ChatPage) WaitReady() error {
	if err := p.s.Expect.Locator(p.Ready()).ToBeAttached(); err != nil {
		return fmt.Errorf("the chat widget did not mount (%s on %s): %w", SelChatReady, p.s.App.PagePath(PageChat), err)
	}
	return nil
}

// Ready is the mounted widget (app.selectors.chat_ready).
func (p ChatPage) Ready() playwright.Locator { return p.s.Locator(SelChatReady) }

// Composer is the message input (app.selectors.composer).
func (p ChatPage) Composer() playwright.Locator { return p.s.Locator(SelComposer) }

// SendButton is the send button (app.selectors.send).
func (p ChatPage) SendButton() playwright.Locator { return p.s.Locator(SelSend) }

// Messages is the message list (app.selectors.messages).
func (p ChatPage) Messages() playwright.Locator { return p.s.Locator(SelMessages) }

// UserMessages are the user's messages (app.selectors.user_message).
func (p ChatPage) UserMessages() playwright.Locator { return p.s.Locator(SelUserMessage) }

// AssistantMessages are the assistant's messages (app.selectors.assistant_message).
func (p ChatPage) AssistantMessages() playwright.Locator { return p.s.Locator(SelAssistantMessage) }

// Threads is the thread list (app.selectors.threads).
func (p ChatPage) Threads() playwright.Locator { return p.s.Locator(SelThreads) }

// Error is the page's or the widget's error message (app.selectors.error).
func (p ChatPage) Error() playwright.Locator { return p.s.Locator(SelError) }

// SignOutButton is the sign-out button (app.selectors.sign_out).
func (p ChatPage) SignOutButton() playwright.Locator { return p.s.Locator(SelSignOut) }

// Send types text into the composer and clicks send.
func (p ChatPage) Send(text string) error {
	if err := p.Composer().Fill(text); err != nil {
		return fmt.Errorf("chat: fill %s: %w", SelComposer, err)
	}
	if err := p.SendButton().Click(); err != nil {
		return fmt.Errorf("chat: click %s: %w", SelSend, err)
	}
	return nil
}

// SignOut clicks the sign-out button.
func (p ChatPage) SignOut() error {
	if err := p.SignOutButton().Click(); err != nil {
		return fmt.Errorf("chat: click %s: %w", SelSignOut, err)
	}
	return nil
}
