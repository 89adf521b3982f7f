// Browser entry point, bundled into public/app.js. Each page's <body data-page="..."> picks its code.
import { authClient, errorMessage } from "./auth.js";
import { createChatKit } from "./chatkit.js";

const $ = (sel) => document.querySelector(sel);

function showAlert(box, msg) {
  box.textContent = msg;
  box.hidden = false;
}
function hideAlert(box) {
  box.textContent = "";
  box.hidden = true;
}

async function loadConfig() {
  const res = await fetch("/config.json", { cache: "no-store" });
  if (!res.ok) throw new Error(`config.json: ${res.status}`);
  return res.json();
}

// authForm wires a sign-up or sign-in form: submit(form) calls the better-auth client; on success the
// user goes to the form's data-lands-on page (default the chat page), on failure the server's message
// (or submit's own, returned as {error: {message}}) shows in the form's alert.
function authForm(formSelector, verb, submit) {
  const form = $(formSelector);
  const landsOn = form.dataset.landsOn || "/chat";
  const alertBox = $("#form-error");
  const button = form.querySelector("button[type=submit]");
  form.addEventListener("submit", async (e) => {
    e.preventDefault();
    hideAlert(alertBox);
    button.disabled = true;
    try {
      const { error } = await submit(form.elements);
      if (error) {
        showAlert(alertBox, errorMessage(error, `${verb} failed.`));
        return;
      }
      window.location.assign(landsOn);
    } catch (err) {
      showAlert(alertBox, `${verb} failed: ${err.message || err}`);
    } finally {
      button.disabled = false;
    }
  });
}

// ---------------------------------------------------------------- /signup

function signupPage() {
  authForm("#signup-form", "Sign up", (f) => {
    if (!f.firstName) {
      return authClient.signUp.email({ name: f.name.value, email: f.email.value, password: f.password.value });
    }
    // the production profile's form: first and last name, the password twice, the terms
    if (f.password.value !== f.confirmPassword.value) return { error: { message: "Passwords do not match." } };
    if (!f.terms.checked) return { error: { message: "Please accept the Terms of Service." } };
    const name = `${f.firstName.value.trim()} ${f.lastName.value.trim()}`.trim();
    return authClient.signUp.email({ name, email: f.email.value, password: f.password.value });
  });
}

// ---------------------------------------------------------------- /login

function loginPage() {
  authForm("#login-form", "Sign in", (f) =>
    authClient.signIn.email({ email: f.email.value, password: f.password.value }));
}

// ---------------------------------------------------------------- /chat

function decodeExp(token) {
  try {
    const payload = token.split(".")[1].replace(/-/g, "+").replace(/_/g, "/");
    const json = JSON.parse(atob(payload.padEnd(payload.length + ((4 - (payload.length % 4)) % 4), "=")));
    return typeof json.exp === "number" ? json.exp * 1000 : null;
  } catch {
    return null;
  }
}

async function fetchToken(tokenPath) {
  try {
    const res = await fetch(tokenPath, { credentials: "include", cache: "no-store" });
    if (!res.ok) return null;
    const body = await res.json().catch(() => null);
    return body && typeof body.token === "string" && body.token ? body.token : null;
  } catch {
    return null;
  }
}

async function chatPage() {
  const status = $("#chat-status");
  const alertBox = $("#page-error");
  const root = $("#chat-root");
  const who = $("#who");

  $("#sign-out").addEventListener("click", async () => {
    try {
      await authClient.signOut();
    } finally {
      try {
        for (const k of Object.keys(sessionStorage)) if (k.startsWith("chat.thread.")) sessionStorage.removeItem(k);
      } catch {
        /* storage unavailable */
      }
      window.location.assign("/login");
    }
  });

  let config;
  try {
    config = await loadConfig();
  } catch (err) {
    status.hidden = true;
    showAlert(alertBox, `Could not load the page configuration (${err.message}).`);
    return;
  }
  const faults = new Set(config.faults || []);

  const { data: session } = await authClient.getSession().catch(() => ({ data: null }));
  if (!session?.user && !faults.has("no-login-redirect")) {
    window.location.replace("/login");
    return;
  }
  if (session?.user) who.textContent = session.user.email;

  let token = await fetchToken(config.tokenPath);
  status.hidden = true;
  if (!token) {
    showAlert(alertBox, "Authentication Token Missing");
    return;
  }
  let tokenExp = decodeExp(token);

  // Fresh token when the current one is about to expire (HS256: 30 min, jwt plugin: 15 min).
  async function currentToken() {
    if (tokenExp && tokenExp - Date.now() < 60_000) {
      const fresh = await fetchToken(config.tokenPath);
      if (!fresh) throw new Error("Authentication Token Missing: the session has ended, sign in again.");
      token = fresh;
      tokenExp = decodeExp(fresh);
    }
    return token;
  }

  // The custom fetch every ChatKit request goes through: it adds the user's JWT.
  const customFetch = faults.has("no-auth-header")
    ? (input, init) => fetch(input, { ...init }) // the regression: the Authorization header is dropped
    : async (input, init) => {
        const bearer = await currentToken();
        return fetch(input, {
          ...init,
          headers: { ...Object.fromEntries(new Headers(init?.headers ?? {})), Authorization: `Bearer ${bearer}` },
        });
      };

  const storageKey = `chat.thread.${session?.user?.id || "anonymous"}`;
  let initialThread = new URL(window.location.href).searchParams.get("thread");
  if (!initialThread) {
    try {
      initialThread = sessionStorage.getItem(storageKey);
    } catch {
      initialThread = null;
    }
  }

  const chatOptions = {
    api: { url: config.chatkitUrl, fetch: customFetch },
    initialThread,
    threadStorageKey: storageKey,
    // The regression: the thread list cached in localStorage under one key for everyone, kept after sign-out.
    ...(faults.has("shared-thread-cache") ? { threadCacheKey: "chat.threads" } : {}),
  };
  // The regression: the options wrapped once more, as in `useChatKit({ options: { api } })`.
  const widgetConfig = faults.has("chat-init-broken") ? { options: chatOptions } : chatOptions;

  try {
    createChatKit(root, widgetConfig);
  } catch (err) {
    console.error("chat widget failed to mount:", err);
  }
}

// ---------------------------------------------------------------- dispatch

const pages = { signup: signupPage, login: loginPage, chat: chatPage };
const page = pages[document.body.dataset.page];
if (page) {
  Promise.resolve()
    .then(page)
    .catch((err) => console.error(err));
}
