// Parta chat page: sends through the JSON API with an idempotency key (a retry after a
// network failure reuses it, so the server stores one message), keeps the read state
// current, and shows the messages that realtime/events.js announces as "parta:event" or
// the API answers with. It draws no message itself: it asks the page's own view for the
// messages as _message.html draws them (messaging.views.message_items), so a message looks
// the same live and after a reload, in the reader's language and with their controls.
import { start as startEvents } from "../realtime/events.js";

const list = document.getElementById("messages");
if (list) {
  start(list);
  // Live events from the number this page was rendered at.
  startEvents({ after: Number(list.dataset.eventsAfter) });
}

function start(list) {
  const conversationId = Number(list.dataset.conversation);
  const me = Number(list.dataset.me);
  const words = JSON.parse(document.getElementById("chat-strings").textContent);
  const composer = document.getElementById("composer");
  const status = composer && composer.querySelector(".status");
  const api = "/api/messaging";

  const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]").value;
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/-/g, "");
  const wait = (ms) => new Promise((done) => setTimeout(done, ms));

  // One request; a network failure or a 5xx is retried with the same body (and so the
  // same key).
  async function request(url, options, retry) {
    for (let delay = 1000; ; delay = Math.min(delay * 2, 30000)) {
      let response;
      try {
        response = await fetch(url, { credentials: "same-origin", ...options });
      } catch (offline) {
        if (!retry) throw offline;
        say(words.retrying);
        await wait(delay);
        continue;
      }
      if (response.status >= 500 && retry) { say(words.retrying); await wait(delay); continue; }
      return response;
    }
  }

  async function call(method, url, body, { retry = false } = {}) {
    const isForm = body instanceof FormData;
    const response = await request(api + url, {
      method,
      headers: isForm ? { "X-CSRFToken": csrf() } : { "Content-Type": "application/json", "X-CSRFToken": csrf() },
      body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
    }, retry);
    const data = response.status === 204 ? null : await response.json();
    if (!response.ok) throw new Error((data && data.detail) || response.statusText);
    return data;
  }

  function say(text) { if (status) status.textContent = text || ""; }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
    node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  }

  function button(action, label) { return el("button", { type: "button", class: "link", "data-action": action }, label); }

  // The page's controls of a message drawn by the server: reply, and edit for one's own
  // (delete and pin come drawn, for those who may use them, as forms for pages without
  // JavaScript; their submits become API calls below).
  function enhance(li) {
    if (li.classList.contains("service") || li.querySelector(".deleted")) return;
    const actions = li.querySelector(".actions") || li.appendChild(el("div", { class: "actions" }));
    actions.prepend(button("reply", words.reply));
    if (li.classList.contains("mine")) actions.append(button("edit", words.edit));
  }

  // Insert or replace by id, keeping id order (events and replies may cross on the wire).
  function put(li) {
    enhance(li);
    const old = document.getElementById(li.id);
    if (old) { old.replaceWith(li); return; }
    const id = Number(li.dataset.id);
    const later = [...list.children].find((item) => Number(item.dataset.id) > id);
    list.insertBefore(li, later || null);
    if (!later) li.scrollIntoView({ block: "nearest" });
  }

  // Messages to draw again, asked for together: a burst of events costs one request.
  const wanted = new Set();
  let drawing = false;
  async function redraw(id) {
    wanted.add(id);
    if (drawing) return;
    drawing = true;
    try {
      while (wanted.size) {
        const ids = [...wanted];
        wanted.clear();
        const response = await request(`${list.dataset.items}?ids=${ids.join(",")}`, {}, true);
        if (!response.ok) continue; // no longer a member: nothing to draw
        const items = document.createElement("template");
        items.innerHTML = await response.text();
        for (const li of [...items.content.children]) put(li);
      }
    } finally {
      drawing = false;
    }
  }

  let readTimer = null;
  function markRead() {
    clearTimeout(readTimer);
    readTimer = setTimeout(() => {
      if (document.visibilityState === "visible") call("POST", `/conversations/${conversationId}/read`, {}).catch(() => {});
    }, 800);
  }

  document.addEventListener("parta:event", ({ detail }) => {
    const { kind, payload } = detail;
    if (payload.conversation_id !== conversationId) return;
    if (payload.message) {
      redraw(payload.message.id);
      if (payload.message.author.id !== me) markRead();
    } else {
      if (kind === "conversation.member_left" && payload.person_id === me) { say(words.removed); if (composer) composer.hidden = true; }
      else if (kind === "conversation.deleted") { say(words.removed); if (composer) composer.hidden = true; }
      else if (kind === "conversation.updated" || kind === "conversation.member_role") location.reload();
    }
  });
  document.addEventListener("visibilitychange", markRead);

  for (const li of list.children) enhance(li);

  list.addEventListener("submit", (event) => {
    event.preventDefault();
    const action = event.submitter && event.submitter.value;
    act(action, event.target.closest("li"));
  });
  list.addEventListener("click", (event) => {
    const target = event.target.closest("button[data-action]");
    if (target) act(target.dataset.action, target.closest("li"));
  });

  async function act(action, li) {
    const id = Number(li.dataset.id);
    try {
      if (action === "reply") {
        composer.elements.reply_to.value = id;
        const note = composer.querySelector(".replying");
        note.textContent = words.replying + " " + li.querySelector("b").textContent;
        note.hidden = false;
        composer.elements.text.focus();
      } else if (action === "edit") {
        const text = prompt(words.edit, li.querySelector(".text").textContent);
        if (text !== null) redraw((await call("PATCH", `/messages/${id}`, { text })).id);
      } else if (action === "delete") {
        if (confirm(words.confirm_delete)) redraw((await call("DELETE", `/messages/${id}`)).id);
      } else if (action === "pin" || action === "unpin") {
        redraw((await call("POST", `/messages/${id}/pin`, { pinned: action === "pin" })).id);
      }
    } catch (refused) { say(refused.message); }
  }

  if (!composer) return;
  let sending = false;
  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    if (sending) return;
    const form = composer.elements;
    const text = form.text.value;
    const file = form.file.files[0];
    if (!text.trim() && !file) return;
    sending = true;
    say(words.sending);
    try {
      const attachment_ids = [];
      if (file) {
        const upload = new FormData();
        upload.append("file", file);
        attachment_ids.push((await call("POST", `/conversations/${conversationId}/attachments`, upload, { retry: true })).id);
      }
      const body = { text, idempotency_key: form.idempotency_key.value, reply_to: Number(form.reply_to.value) || null, attachment_ids };
      // Shown only once the server has committed it (the answer) or announced it (the event).
      await redraw((await call("POST", `/conversations/${conversationId}/messages`, body, { retry: true })).id);
      composer.reset();
      form.reply_to.value = "";
      composer.querySelector(".replying").hidden = true;
      form.idempotency_key.value = newKey();
      say("");
    } catch (refused) {
      say(refused.message);
    } finally {
      sending = false;
    }
  });
  composer.elements.text.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) composer.requestSubmit();
  });
  markRead();
}
