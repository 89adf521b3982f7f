package e2e

// The user's whole journey in a real browser: sign-up, login, errors, the redirect, the token, the
// chat widget and its ChatKit requests, reload, isolation between users, sign-out. Every test has its
// own browser context and users and runs in parallel; paths and selectors come from the target file.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net/http"
	"strings"
	"testing"

	playwright "github.com/mxschmitt/playwright-go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/authflow-e2e/authflow/fixtures"
	"github.com/authflow-e2e/authflow/fixtures/data"
	"github.com/authflow-e2e/authflow/scenarios/browser"
	"github.com/authflow-e2e/authflow/targets"
)

// tokenMissing is what the chat page shows when it cannot get a JWT (the original regression).
const tokenMissing = "Authentication Token Missing"

func uniqueTitle(prefix string) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return prefix + "-" + hex.EncodeToString(b[:])
}

// openChat opens the chat page and waits until the widget has mounted.
func openChat(t *testing.T, s *browser.Session) browser.ChatPage {
	t.Helper()
	chat := s.ChatPage()
	require.NoError(t, chat.Open())
	require.NoError(t, chat.WaitReady())
	return chat
}

// sendAndWaitReply sends text and waits until it shows as the user's last message and the assistant's
// last message contains replyHas. A failure says what the widget showed and what ChatKit answered.
func sendAndWaitReply(t *testing.T, s *browser.Session, chat browser.ChatPage, text, replyHas string) {
	t.Helper()
	require.NoError(t, chat.Send(text))
	err := s.Expect.Locator(chat.UserMessages().Last()).ToContainText(text)
	what := "the user's message shows"
	if err == nil {
		err = s.Expect.Locator(chat.AssistantMessages().Last()).ToContainText(replyHas)
		what = "the assistant's reply shows"
	}
	require.NoError(t, err, "%s after sending %q\n%s", what, text, chatDiagnosis(s, chat))
}

// toChat waits for the page a login lands on (app.forms.login.lands_on) and goes on to the
// chat page when that is another one.
func toChat(t *testing.T, s *browser.Session, landing string) {
	t.Helper()
	require.NoError(t, s.WaitForPage(landing), "after login the app opens the %s page", landing)
	if landing != browser.PageChat {
		require.NoError(t, s.Goto(browser.PageChat))
	}
}

// chatTurn sends one message about title and waits for the reply: with the tasks feature
// "add task <title>", whose reply must name the title; without it a plain message that names the
// title, whose reply must be a new assistant message (such an app's assistant may say anything).
func chatTurn(h *fixtures.T, s *browser.Session, chat browser.ChatPage, title string) {
	t := h.T
	t.Helper()
	if h.Target.App.Has(targets.FeatureTasks) {
		sendAndWaitReply(t, s, chat, data.AddTask(title), title)
		return
	}
	before, err := chat.AssistantMessages().Count()
	require.NoError(t, err)
	text := "Please note for this test: " + title
	require.NoError(t, chat.Send(text))
	err = s.Expect.Locator(chat.UserMessages().Last()).ToContainText(text)
	what := "the user's message shows"
	if err == nil {
		err = s.Expect.Locator(chat.AssistantMessages()).ToHaveCount(before + 1)
		what = "the assistant's reply shows"
	}
	require.NoError(t, err, "%s after sending %q\n%s", what, text, chatDiagnosis(s, chat))
}

// chatDiagnosis is what the chat widget shows as errors and the requests to ChatKit so far.
func chatDiagnosis(s *browser.Session, chat browser.ChatPage) string {
	var b strings.Builder
	if texts, err := chat.Error().AllInnerTexts(); err == nil {
		for _, e := range texts {
			if e = strings.TrimSpace(e); e != "" {
				fmt.Fprintf(&b, "the page shows the error: %s\n", e)
			}
		}
	}
	b.WriteString("requests to ChatKit:\n")
	for _, r := range s.Net.ChatKit() {
		fmt.Fprintf(&b, "  %s\n", r)
	}
	return b.String()
}

// lastSeq is the sequence number of the newest recorded request (0 when none).
func lastSeq(s *browser.Session) int {
	all := s.Net.All()
	if len(all) == 0 {
		return 0
	}
	return all[len(all)-1].Seq
}

func TestBrowser_SignUpThroughTheFormLandsOnTheChatPageSignedIn(t *testing.T) {
	h := fixtures.Test(t)
	s := h.BrowserSession(t, "")
	u := data.NewPersona("browser-signup", "Browser Signup")

	page := s.SignUpPage()
	require.NoError(t, page.SignUp(u))
	landing := page.Landing()
	if landing != browser.PageChat {
		// an app that sends a new user to another page (app.forms.signup.lands_on), e.g. the login page
		require.NoError(t, s.WaitForPage(landing), "after sign-up the app opens the %s page (app.forms.signup.lands_on)", landing)
		require.NoError(t, s.LoginPage().LogIn(u), "the new user signs in")
		toChat(t, s, s.LoginPage().Landing())
	} else {
		require.NoError(t, s.WaitForPage(browser.PageChat), "after sign-up the app opens the chat page")
	}
	require.NoError(t, s.ChatPage().WaitReady())
	assert.True(t, signedIn(h, s), "the browser holds a valid session")

	c := h.Ctx
	row, err := h.DB.UserByEmail(c, u.Email)
	require.NoError(t, err, "the user row after sign-up through the form")
	assert.Equal(t, u.Name, row.Name)
	if landing == browser.PageChat {
		assert.Equal(t, 1, sessionCount(h, row.ID), "one session row: the sign-up signed the user in")
	} else {
		assert.GreaterOrEqual(t, sessionCount(h, row.ID), 1, "a session row for the signed-in user")
	}
	signUp, ok := s.Net.WaitFor(func(r browser.Request) bool {
		return r.Kind == browser.KindAuth && r.Method == http.MethodPost && r.Done()
	}, fixtures.BrowserSettle)
	require.True(t, ok, "the form posted to the auth API:\n%s", s.Net)
	assert.True(t, signUp.OK(), "sign-up answered 2xx: %s", signUp)
}

func TestBrowser_LogInThroughTheFormLandsOnTheChatPage(t *testing.T) {
	h := fixtures.Test(t)
	a := h.NewUser("browser-login")
	before := sessionCount(h, a.User.ID)
	s := h.BrowserSession(t, "")

	require.NoError(t, s.LoginPage().LogIn(a.Persona))
	toChat(t, s, s.LoginPage().Landing())
	require.NoError(t, s.ChatPage().WaitReady())
	assert.True(t, signedIn(h, s), "the browser holds a valid session")
	assert.Equal(t, before+1, sessionCount(h, a.User.ID), "the login created one session row")
}

func TestBrowser_WrongPasswordShowsAnErrorAndCreatesNoSession(t *testing.T) {
	h := fixtures.Test(t)
	a := h.NewUser("browser-wrongpw")
	before := sessionCount(h, a.User.ID)
	s := h.BrowserSession(t, "")
	login := s.LoginPage()

	require.NoError(t, login.Open())
	require.NoError(t, login.Submit(a.Email, data.NewPassword()))
	require.NoError(t, s.Expect.Locator(login.Error()).ToBeVisible(), "an error message shows")
	require.NoError(t, s.Expect.Locator(login.Error()).Not().ToHaveText(""), "the error says something")
	signIn, ok := s.Net.WaitFor(func(r browser.Request) bool {
		return r.Kind == browser.KindAuth && r.Method == http.MethodPost && r.Done()
	}, fixtures.BrowserSettle)
	require.True(t, ok, "the form posted to the auth API:\n%s", s.Net)
	assert.True(t, signIn.Status >= 400 && signIn.Status < 500, "a wrong password is a 4xx: %s", signIn)

	assert.True(t, s.OnPage(browser.PageLogin), "stays on the login page, at %s", s.Page.URL())
	assert.False(t, signedIn(h, s), "the browser holds no session")
	assert.Equal(t, before, sessionCount(h, a.User.ID), "no session row was created")
}

func TestBrowser_DuplicateEmailShowsAnErrorAndCreatesNoSession(t *testing.T) {
	h := fixtures.Test(t)
	a := h.NewUser("browser-dup")
	before := sessionCount(h, a.User.ID)
	s := h.BrowserSession(t, "")
	signUp := s.SignUpPage()

	require.NoError(t, signUp.Open())
	require.NoError(t, signUp.Submit("Someone Else", a.Email, data.NewPassword()))
	require.NoError(t, s.Expect.Locator(signUp.Error()).ToBeVisible(), "an error message shows")
	require.NoError(t, s.Expect.Locator(signUp.Error()).Not().ToHaveText(""), "the error says something")
	res, ok := s.Net.WaitFor(func(r browser.Request) bool {
		return r.Kind == browser.KindAuth && r.Method == http.MethodPost && r.Done()
	}, fixtures.BrowserSettle)
	require.True(t, ok, "the form posted to the auth API:\n%s", s.Net)
	assert.True(t, res.Status >= 400 && res.Status < 500, "a duplicate e-mail is a 4xx: %s", res)

	assert.True(t, s.OnPage(browser.PageSignUp), "stays on the sign-up page, at %s", s.Page.URL())
	assert.False(t, signedIn(h, s), "the browser holds no session")
	assert.Equal(t, before, sessionCount(h, a.User.ID), "no session row was created for the existing user")
	n, err := h.DB.CountUsersByEmail(h.Ctx, a.Email)
	require.NoError(t, err)
	assert.Equal(t, 1, n, "still one user with that e-mail")
}

func TestBrowser_UnauthenticatedChatVisitRedirectsToLogin(t *testing.T) {
	h := fixtures.Test(t)
	s := h.BrowserSession(t, "")

	require.NoError(t, s.Goto(browser.PageChat))
	require.NoError(t, s.WaitForPage(browser.PageLogin), "the chat page sends a visitor without a session to the login page")
	require.NoError(t, s.Expect.Locator(s.Locator(browser.SelLoginEmail)).ToBeVisible(), "the login form shows")
	for _, r := range s.Net.Kind(browser.KindToken) {
		assert.False(t, r.OK(), "no token is handed out without a session: %s", r)
	}
}

func TestBrowser_ChatPageFetchesTheTokenAndNeverShowsTokenMissing(t *testing.T) {
	h := fixtures.Test(t)
	s, _ := h.SignedInBrowserSession(t, "browser-token", "")
	require.NoError(t, s.WatchText(tokenMissing))

	chat := openChat(t, s)
	tok, ok := s.Net.WaitFor(func(r browser.Request) bool { return r.Kind == browser.KindToken && r.Done() }, fixtures.BrowserSettle)
	require.True(t, ok, "the chat page requests %s:\n%s", h.Target.App.TokenPath, s.Net)
	assert.Equal(t, http.MethodGet, tok.Method)
	assert.Equal(t, http.StatusOK, tok.Status, "the token route answers 200: %s", tok)

	s.WaitIdle(nil, fixtures.BrowserSettle)
	require.NoError(t, s.Expect.Locator(chat.Error().Filter(playwright.LocatorFilterOptions{HasText: tokenMissing})).ToHaveCount(0))
	assert.False(t, s.SawText(tokenMissing), "%q never appeared on the page", tokenMissing)
}

func TestBrowser_AddTaskShowsTheReplyAndStoresTheTaskForThatUser(t *testing.T) {
	h := fixtures.Test(t)
	h.Needs(targets.FeatureTasks)
	s, a := h.SignedInBrowserSession(t, "browser-task", "")
	chat := openChat(t, s)

	sendAndWaitReply(t, s, chat, data.MsgAddTask, "buy milk")
	assert.Equal(t, []string{"buy milk"}, h.Tasks(t, a.User.ID), "the task belongs to the signed-in user")
}

// TestBrowser_EveryChatKitRequestCarriesABearerToken is the Authorization-header check: the widget's
// custom fetch must add the user's JWT to every request to the ChatKit endpoint.
func TestBrowser_EveryChatKitRequestCarriesABearerToken(t *testing.T) {
	h := fixtures.Test(t)
	s, _ := h.SignedInBrowserSession(t, "browser-bearer", "")
	isChatKit := func(r browser.Request) bool { return r.Kind == browser.KindChatKit }
	chat := openChat(t, s)
	s.WaitIdle(isChatKit, fixtures.BrowserSettle)
	mark := lastSeq(s)

	msg := data.MsgGreeting
	if h.Target.App.Has(targets.FeatureTasks) {
		msg = data.MsgAddTask
	}
	require.NoError(t, chat.Send(msg))
	_, sent := s.Net.WaitFor(func(r browser.Request) bool { return isChatKit(r) && r.Seq > mark }, fixtures.BrowserSettle)
	require.True(t, sent, "sending a message made no request to %s:\n%s", h.Target.App.ChatKitURL, s.Net)
	require.Empty(t, s.WaitIdle(isChatKit, fixtures.BrowserSettle), "ChatKit requests still pending")

	// The header check comes first: when it fails, the reply cannot come either.
	ck := s.Net.ChatKit()
	require.NotEmpty(t, ck)
	for _, r := range ck {
		assert.True(t, r.Bearer, "ChatKit request without an Authorization: Bearer header: %s", r)
		assert.True(t, r.OK(), "ChatKit request not answered 2xx: %s", r)
	}
	if t.Failed() {
		return // waiting for a reply that cannot come would only add the timeout
	}
	reply := s.Expect.Locator(chat.AssistantMessages().Last()).Not().ToBeEmpty()
	if h.Target.App.Has(targets.FeatureTasks) {
		reply = s.Expect.Locator(chat.AssistantMessages().Last()).ToContainText("buy milk")
	}
	require.NoError(t, reply, "the assistant's reply shows\n%s", chatDiagnosis(s, chat))
	// requests the widget made once the reply was in (a thread list refresh) carry the token too
	require.Empty(t, s.WaitIdle(isChatKit, fixtures.BrowserSettle), "ChatKit requests still pending")
	for _, r := range s.Net.ChatKit()[len(ck):] {
		assert.True(t, r.Bearer, "ChatKit request without an Authorization: Bearer header: %s", r)
	}
}

func TestBrowser_ReloadKeepsTheSessionAndTheConversation(t *testing.T) {
	h := fixtures.Test(t)
	s, _ := h.SignedInBrowserSession(t, "browser-reload", "")
	chat := openChat(t, s)
	title := uniqueTitle("reload")
	chatTurn(h, s, chat, title)
	s.WaitIdle(nil, fixtures.BrowserSettle)
	replies, err := chat.AssistantMessages().Count()
	require.NoError(t, err)

	_, err = s.Page.Reload()
	require.NoError(t, err)
	require.NoError(t, chat.WaitReady(), "the chat page still opens after a reload (the session survived)")
	assert.True(t, s.OnPage(browser.PageChat), "still on the chat page, at %s", s.Page.URL())
	require.NoError(t, s.Expect.Locator(chat.UserMessages().Filter(playwright.LocatorFilterOptions{HasText: title})).ToHaveCount(1),
		"the user's message is back after the reload")
	if h.Target.App.Has(targets.FeatureTasks) {
		require.NoError(t, s.Expect.Locator(chat.AssistantMessages().Filter(playwright.LocatorFilterOptions{HasText: title})).ToHaveCount(1),
			"the assistant's reply is back after the reload")
	} else {
		require.NoError(t, s.Expect.Locator(chat.AssistantMessages()).ToHaveCount(replies), "the assistant's replies are back after the reload")
	}
}

func TestBrowser_AnotherUserDoesNotSeeTheConversation(t *testing.T) {
	h := fixtures.Test(t)
	sa, a := h.SignedInBrowserSession(t, "browser-owner", "")
	chatA := openChat(t, sa)
	title := uniqueTitle("private")
	chatTurn(h, sa, chatA, title)
	sa.WaitIdle(nil, fixtures.BrowserSettle)
	where := sa.Page.URL() // the conversation's address, if the app keeps it in the URL

	sb, b := h.SignedInBrowserSession(t, "browser-other", "user-b")
	_, err := sb.Page.Goto(where)
	require.NoError(t, err)
	chatB := sb.ChatPage()
	require.NoError(t, chatB.WaitReady())
	require.Empty(t, sb.WaitIdle(nil, fixtures.BrowserSettle), "user B's requests settle")
	require.NotEmpty(t, sb.Net.ChatKit(), "user B's chat page talked to ChatKit:\n%s", sb.Net)

	require.NoError(t, sb.Expect.Locator(chatB.UserMessages().Filter(playwright.LocatorFilterOptions{HasText: title})).ToHaveCount(0),
		"user B does not see user A's message")
	require.NoError(t, sb.Expect.Locator(sb.Page.Locator("body")).Not().ToContainText(title),
		"nothing of user A's conversation is on user B's page (messages, thread titles)")
	t.Run("part=task-rows", func(t *testing.T) {
		h := h.Sub(t)
		h.Needs(targets.FeatureTasks)
		assert.NotContains(t, h.Tasks(t, b.User.ID), title, "user B has no such task")
		assert.Contains(t, h.Tasks(t, a.User.ID), title, "the task is user A's")
	})
}

func TestBrowser_SignOutReturnsToLoginAndLocksTheChatPage(t *testing.T) {
	h := fixtures.Test(t)
	s, a := h.SignedInBrowserSession(t, "browser-signout", "")
	chat := openChat(t, s)
	require.Equal(t, 1, sessionCount(h, a.User.ID), "the injected session is the user's only one")

	require.NoError(t, chat.SignOut())
	require.NoError(t, s.WaitForPage(browser.PageLogin), "sign-out ends on the login page")
	assert.False(t, signedIn(h, s), "the browser holds no session after sign-out")
	assert.Equal(t, 0, sessionCount(h, a.User.ID), "sign-out removed the session row")

	require.NoError(t, s.Goto(browser.PageChat))
	require.NoError(t, s.WaitForPage(browser.PageLogin), "the chat page is no longer reachable")
	status, _ := getWithCookies(t, s, s.App.TokenURL())
	assert.True(t, status >= 400, "no token after sign-out, got HTTP %d", status)
	_, _, err := a.Auth.Token(context.Background())
	assert.Error(t, err, "the HTTP client that shared the session gets no token either")
}

func TestBrowser_ChatWidgetMounts(t *testing.T) {
	h := fixtures.Test(t)
	s, _ := h.SignedInBrowserSession(t, "browser-mount", "")
	chat := openChat(t, s)

	require.NoError(t, s.Expect.Locator(chat.Composer()).ToBeEditable(), "the composer takes input")
	require.NoError(t, s.Expect.Locator(chat.SendButton()).ToBeVisible(), "the send button shows")
	require.NoError(t, s.Expect.Locator(chat.Messages()).ToBeVisible(), "the message list shows")
	require.NoError(t, s.Expect.Locator(chat.Threads()).ToBeAttached(), "the thread list is there")
	require.NoError(t, s.Expect.Locator(chat.SignOutButton()).ToBeVisible(), "the sign-out button shows")
	require.Empty(t, s.WaitIdle(nil, fixtures.BrowserSettle))
	for _, e := range s.Console.Errors() {
		// A failed resource load is the network's story (the recorder and the guard judge those);
		// anything else logged as an error while mounting is the widget's.
		if !strings.HasPrefix(e.Text, "Failed to load resource") {
			t.Errorf("console error while the widget mounted: %s", e)
		}
	}
}

// TestBrowser_ASecondUserInTheSameBrowserSeesNothingOfTheFirst signs user A in through the form in
// one browser context, chats and signs out through the page, then signs user B in in the same
// context: nothing of A's conversation may be on B's page (a thread list cached in the browser's
// storage and kept after sign-out would show it; separate contexts cannot see that).
func TestBrowser_ASecondUserInTheSameBrowserSeesNothingOfTheFirst(t *testing.T) {
	h := fixtures.Test(t)
	s := h.BrowserSession(t, "")
	a, b := h.NewUser("same-browser-a"), h.NewUser("same-browser-b")
	title := uniqueTitle("first-user")

	require.NoError(t, s.LoginPage().LogIn(a.Persona))
	toChat(t, s, s.LoginPage().Landing())
	chat := s.ChatPage()
	require.NoError(t, chat.WaitReady())
	chatTurn(h, s, chat, title)
	s.WaitIdle(nil, fixtures.BrowserSettle)
	require.NoError(t, chat.SignOut())
	require.NoError(t, s.WaitForPage(browser.PageLogin), "sign-out ends on the login page")

	require.NoError(t, s.LoginPage().LogIn(b.Persona), "user B signs in in the same browser")
	toChat(t, s, s.LoginPage().Landing())
	require.NoError(t, chat.WaitReady())
	require.Empty(t, s.WaitIdle(nil, fixtures.BrowserSettle), "user B's requests settle")
	require.NoError(t, s.Expect.Locator(s.Page.Locator("body")).Not().ToContainText(title),
		"user B's page shows user A's conversation (%s): the page keeps user data in the browser across sign-out", title)
}

// getWithCookies sends a GET with the context's cookies (not through a page) and returns status and body.
func getWithCookies(t *testing.T, s *browser.Session, url string) (int, string) {
	t.Helper()
	res, err := s.Context.Request().Get(url)
	require.NoError(t, err, "GET %s with the browser's cookies", url)
	defer res.Dispose()
	body, err := res.Body()
	require.NoError(t, err)
	return res.Status(), string(body)
}

// signedIn reports whether the context's cookies carry a valid session, by asking Better Auth's
// get-session (it answers null without one).
func signedIn(h *fixtures.T, s *browser.Session) bool {
	t := h.T
	t.Helper()
	status, body := getWithCookies(t, s, s.App.URL(strings.TrimRight(h.Target.App.AuthBasePath, "/")+"/get-session"))
	require.Equal(t, http.StatusOK, status, "get-session")
	return strings.TrimSpace(body) != "null" && strings.Contains(body, `"user"`)
}

// sessionCount is the number of rows in the session table for the user.
func sessionCount(h *fixtures.T, userID string) int {
	t := h.T
	t.Helper()
	c, cancel := context.WithTimeout(context.Background(), fixtures.RequestTimeout)
	defer cancel()
	rows, err := h.DB.SessionsForUser(c, userID)
	require.NoError(t, err)
	return len(rows)
}
