// A small ChatKit-protocol chat widget (the real ChatKit widget loads from a CDN, which the
// reference stack cannot reach). It is configured like the real one:
//
//   createChatKit(container, { api: { url, fetch } })
//
// and speaks the custom-backend protocol: one POST endpoint, {type, params} envelopes,
// threads.create / threads.add_user_message answered as SSE, threads.list / threads.get_by_id /
// items.list as JSON. Every request goes through api.fetch (the host page's custom fetch, which
// adds the Authorization header).
//
// Page contract: composer textbox labelled "Message", button "Send", message list role=log named
// "Messages" (by title, so a substring label match on "Message" finds only the composer),
// messages as <article data-role="user|assistant">, thread list [aria-label=Threads], errors in a
// role=alert element, data-chat-ready="true" on the container once mounted.

import { readSSE } from "./sse.js";

const MAX_EXTRA_PAGES = 20;

function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") node.className = v;
    else if (k === "text") node.textContent = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else node.setAttribute(k, v === true ? "" : String(v));
  }
  for (const c of children) if (c) node.append(c);
  return node;
}

function itemText(item) {
  const parts = Array.isArray(item?.content) ? item.content : [];
  return parts
    .map((p) => (p && typeof p.text === "string" ? p.text : ""))
    .join("");
}

function threadLabel(t) {
  if (t.title) return t.title;
  const d = new Date(t.created_at);
  return Number.isNaN(d.getTime()) ? "New conversation" : `Conversation ${d.toLocaleString()}`;
}

async function errorFromResponse(res) {
  let detail = "";
  try {
    const text = await res.text();
    try {
      const j = JSON.parse(text);
      detail = j.error || j.detail || j.message || "";
      if (typeof detail !== "string") detail = JSON.stringify(detail);
    } catch {
      detail = text.trim().slice(0, 200);
    }
  } catch {
    /* body unreadable */
  }
  return `Chat service error (${res.status}${res.statusText ? " " + res.statusText : ""})${detail ? ": " + detail : ""}`;
}

export function createChatKit(container, options) {
  const api = options && options.api;
  if (!api || typeof api.url !== "string" || api.url === "") {
    throw new Error(
      `ChatKit: api.url is required; got options with keys [${Object.keys(options || {}).join(", ")}]`,
    );
  }
  const doFetch = typeof api.fetch === "function" ? api.fetch : (input, init) => window.fetch(input, init);
  const storage = options.threadStorageKey || null;
  const threadCache = options.threadCacheKey || null;
  const onThreadChange = typeof options.onThreadChange === "function" ? options.onThreadChange : () => {};

  // ------------------------------------------------------------------ DOM
  const errorBox = el("div", { role: "alert", class: "ck-error", hidden: true });
  const list = el("ul", { class: "ck-threads", role: "list", "aria-label": "Threads" });
  const emptyThreads = el("p", { class: "ck-threads-empty", text: "No conversations yet." });
  const newChat = el("button", { type: "button", class: "ck-new", text: "New chat" });
  const log = el("div", { role: "log", title: "Messages", class: "ck-log", "aria-live": "polite" });
  const placeholder = el("p", { class: "ck-empty", text: "Ask me to add, list or complete tasks." });
  const input = el("textarea", {
    id: "ck-composer",
    class: "ck-input",
    rows: "1",
    placeholder: "Type a message…",
    autocomplete: "off",
  });
  const label = el("label", { for: "ck-composer", class: "sr-only", text: "Message" });
  const send = el("button", { type: "submit", class: "ck-send", text: "Send" });
  const form = el("form", { class: "ck-composer" }, label, input, send);

  const sidebar = el("aside", { class: "ck-sidebar" }, el("h2", { text: "Threads" }), newChat, list, emptyThreads);
  const main = el("section", { class: "ck-main" }, errorBox, log, form);
  container.replaceChildren(el("div", { class: "ck" }, sidebar, main));
  log.append(placeholder);

  // ------------------------------------------------------------------ state
  let threadId = null;
  let threads = [];
  let busy = false;
  let loadSeq = 0;
  const rendered = new Map(); // item id -> {node, item}

  function showError(msg) {
    errorBox.textContent = msg;
    errorBox.hidden = false;
  }
  function clearError() {
    errorBox.textContent = "";
    errorBox.hidden = true;
  }
  function setBusy(b) {
    busy = b;
    send.disabled = b;
    log.setAttribute("aria-busy", b ? "true" : "false");
  }

  function setThread(id) {
    threadId = id;
    const url = new URL(window.location.href);
    if (id) url.searchParams.set("thread", id);
    else url.searchParams.delete("thread");
    window.history.replaceState(null, "", url.pathname + url.search + url.hash);
    try {
      if (storage) id ? sessionStorage.setItem(storage, id) : sessionStorage.removeItem(storage);
    } catch {
      /* storage unavailable */
    }
    container.dataset.threadId = id || "";
    renderThreads();
    onThreadChange(id);
  }

  function renderThreads() {
    if (threadCache && threads.length > 0) {
      try {
        localStorage.setItem(threadCache, JSON.stringify(threads));
      } catch {
        /* storage unavailable */
      }
    }
    list.replaceChildren(
      ...threads.map((t) =>
        el(
          "li",
          {},
          el("button", {
            type: "button",
            class: "ck-thread",
            "data-thread-id": t.id,
            "aria-current": t.id === threadId ? "true" : undefined,
            text: threadLabel(t),
            onclick: () => {
              if (!busy) loadThread(t.id);
            },
          }),
        ),
      ),
    );
    emptyThreads.hidden = threads.length > 0;
  }

  function upsertThread(t, { top = false } = {}) {
    const i = threads.findIndex((x) => x.id === t.id);
    if (i === -1) top ? threads.unshift(t) : threads.push(t);
    else threads[i] = { ...threads[i], ...t };
    renderThreads();
  }

  function clearMessages() {
    rendered.clear();
    log.replaceChildren(placeholder);
  }

  function renderItem(item, status = "done") {
    if (!item || (item.type !== "user_message" && item.type !== "assistant_message")) return null;
    const role = item.type === "user_message" ? "user" : "assistant";
    let entry = rendered.get(item.id);
    if (!entry) {
      const node = el("article", { class: `ck-msg ck-${role}`, "data-role": role, "data-item-id": item.id });
      placeholder.remove();
      log.append(node);
      entry = { node, item };
      rendered.set(item.id, entry);
    }
    entry.item = item;
    entry.node.textContent = itemText(item);
    entry.node.dataset.status = status;
    entry.node.scrollIntoView?.({ block: "end" });
    return entry;
  }

  function applyUpdate(itemId, update) {
    const entry = rendered.get(itemId);
    if (!entry || entry.item.type !== "assistant_message" || !update) return;
    const item = entry.item;
    item.content = Array.isArray(item.content) ? item.content : [];
    const i = Number.isInteger(update.content_index) ? update.content_index : 0;
    while (item.content.length <= i) item.content.push({ type: "output_text", text: "", annotations: [] });
    switch (update.type) {
      case "assistant_message.content_part.added":
      case "assistant_message.content_part.done":
        if (update.content) item.content[i] = update.content;
        break;
      case "assistant_message.content_part.text_delta":
        item.content[i] = { ...item.content[i], text: (item.content[i].text || "") + (update.delta || "") };
        break;
      default:
        return; // annotations, widgets, workflows: not shown by this widget
    }
    renderItem(item, "streaming");
  }

  // ------------------------------------------------------------------ protocol
  async function post(body, accept) {
    return doFetch(api.url, {
      method: "POST",
      headers: { "Content-Type": "application/json", Accept: accept },
      body: JSON.stringify(body),
    });
  }

  async function request(type, params) {
    const res = await post({ type, params }, "application/json");
    if (!res.ok) throw new Error(await errorFromResponse(res));
    return res.json();
  }

  async function loadThreads() {
    try {
      const page = await request("threads.list", { limit: 50, order: "desc" });
      threads = Array.isArray(page?.data) ? page.data : [];
      if (threadCache) {
        try {
          const cached = JSON.parse(localStorage.getItem(threadCache) || "[]");
          for (const t of cached) if (!threads.some((x) => x.id === t.id)) threads.push(t);
        } catch {
          /* storage unavailable */
        }
      }
      if (threadId && !threads.some((t) => t.id === threadId)) {
        /* the current thread may be newer than the list; keep the list as the server says */
      }
      renderThreads();
    } catch (err) {
      showError(err.message || "Could not load threads.");
    }
  }

  async function loadThread(id) {
    const seq = ++loadSeq;
    clearError();
    setBusy(true);
    try {
      const thread = await request("threads.get_by_id", { thread_id: id });
      if (seq !== loadSeq) return;
      const items = Array.isArray(thread?.items?.data) ? [...thread.items.data] : [];
      let page = thread?.items;
      for (let n = 0; page?.has_more && page.after && n < MAX_EXTRA_PAGES; n++) {
        page = await request("items.list", { thread_id: id, order: "asc", limit: 50, after: page.after });
        if (Array.isArray(page?.data)) items.push(...page.data);
      }
      if (seq !== loadSeq) return;
      clearMessages();
      for (const item of items) renderItem(item);
      upsertThread({ id: thread.id || id, title: thread.title, created_at: thread.created_at });
      setThread(thread.id || id);
    } catch (err) {
      if (seq !== loadSeq) return;
      clearMessages();
      setThread(null);
      showError(err.message || "Could not load the conversation.");
    } finally {
      if (seq === loadSeq) setBusy(false);
    }
  }

  async function sendMessage(text) {
    clearError();
    setBusy(true);
    const input = { content: [{ type: "input_text", text }], attachments: [], inference_options: {} };
    const body = threadId
      ? { type: "threads.add_user_message", params: { thread_id: threadId, input } }
      : { type: "threads.create", params: { input } };

    // Show the user's message at once; the server's thread.item.done replaces it.
    const pendingId = `pending_${Date.now()}`;
    let pending = renderItem({ id: pendingId, type: "user_message", content: [{ type: "input_text", text }] }, "pending");
    const dropPending = () => {
      if (pending) {
        pending.node.remove();
        rendered.delete(pendingId);
        pending = null;
        if (rendered.size === 0) log.replaceChildren(placeholder);
      }
    };
    const openAssistant = new Set();
    let events = 0;
    let sawError = false;

    const onEvent = (ev) => {
      events++;
      switch (ev.type) {
        case "thread.created":
          if (ev.thread?.id) {
            upsertThread(ev.thread, { top: true });
            setThread(ev.thread.id);
          }
          break;
        case "thread.updated":
          if (ev.thread?.id) upsertThread(ev.thread);
          break;
        case "thread.item.added":
          if (ev.item?.type === "assistant_message") {
            openAssistant.add(ev.item.id);
            renderItem({ ...ev.item, content: Array.isArray(ev.item.content) ? ev.item.content : [] }, "streaming");
          }
          break;
        case "thread.item.updated":
          applyUpdate(ev.item_id, ev.update);
          break;
        case "thread.item.done":
        case "thread.item.replaced":
          if (ev.item?.type === "user_message" && pending) {
            // the server's copy of the message we just sent
            rendered.delete(pendingId);
            pending.node.dataset.itemId = ev.item.id;
            rendered.set(ev.item.id, { node: pending.node, item: ev.item });
            pending = null;
          }
          openAssistant.delete(ev.item?.id);
          renderItem(ev.item, "done");
          break;
        case "thread.item.removed": {
          const entry = rendered.get(ev.item_id);
          if (entry) {
            entry.node.remove();
            rendered.delete(ev.item_id);
          }
          openAssistant.delete(ev.item_id);
          break;
        }
        case "error":
          sawError = true;
          showError(ev.message || "Something went wrong while answering. Please try again.");
          break;
        default:
          break; // stream_options, progress_update, notice, client_effect, unknown types
      }
    };

    try {
      const res = await post(body, "text/event-stream");
      if (!res.ok) {
        dropPending();
        input_restore(text);
        showError(await errorFromResponse(res));
        return;
      }
      if (!res.body) throw new Error("Chat service error: empty response");
      await readSSE(res.body, (data) => {
        let ev;
        try {
          ev = JSON.parse(data);
        } catch {
          console.warn("chatkit: ignoring a malformed event");
          return;
        }
        if (ev && typeof ev === "object") onEvent(ev);
      });
      if (!sawError && (events === 0 || openAssistant.size > 0)) {
        showError("The reply was interrupted: the chat service closed the stream early.");
      }
    } catch (err) {
      if (events === 0) {
        dropPending();
        input_restore(text);
      }
      showError(
        err instanceof TypeError
          ? `Could not reach the chat service (${err.message}).`
          : err.message || "Could not send the message.",
      );
    } finally {
      for (const id of openAssistant) {
        const entry = rendered.get(id);
        if (entry) entry.node.dataset.status = "incomplete";
      }
      if (pending) pending.node.dataset.status = "sent";
      setBusy(false);
    }
  }

  function input_restore(text) {
    if (!input.value) input.value = text;
  }

  // ------------------------------------------------------------------ events
  form.addEventListener("submit", (e) => {
    e.preventDefault();
    const text = input.value.trim();
    if (!text || busy) return;
    input.value = "";
    sendMessage(text);
  });
  input.addEventListener("keydown", (e) => {
    if (e.key === "Enter" && !e.shiftKey && !e.isComposing) {
      e.preventDefault();
      form.requestSubmit();
    }
  });
  newChat.addEventListener("click", () => {
    if (busy) return;
    loadSeq++;
    clearError();
    clearMessages();
    setThread(null);
    input.focus();
  });

  // ------------------------------------------------------------------ start
  container.dataset.chatReady = "true";
  const initial = options.initialThread || null;
  renderThreads();
  loadThreads();
  if (initial) loadThread(initial);

  return {
    get threadId() {
      return threadId;
    },
    loadThread,
    sendMessage,
  };
}
