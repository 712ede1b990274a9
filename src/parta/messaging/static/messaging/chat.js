// Parta chat page: sends through the JSON API with an idempotency key (a retry after a
// network failure reuses it, so the server stores one message), renders the messages that
// realtime/events.js announces as "parta:event", and keeps the read state current.
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
  const mayModerate = list.dataset.mayModerate === "1";
  const direct = list.dataset.direct === "1";
  const words = JSON.parse(document.getElementById("chat-strings").textContent);
  const composer = document.getElementById("composer");
  const status = composer && composer.querySelector(".status");
  const api = "/api/messaging";
  const clock = new Intl.DateTimeFormat(document.documentElement.lang, {
    timeZone: list.dataset.zone, day: "2-digit", month: "2-digit", hour: "2-digit", minute: "2-digit",
  });

  const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]").value;
  const newKey = () => (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/-/g, "");
  const wait = (ms) => new Promise((done) => setTimeout(done, ms));

  // One call; a network failure or a 5xx is retried with the same body (and so the same key).
  async function call(method, url, body, { retry = false } = {}) {
    const isForm = body instanceof FormData;
    for (let delay = 1000; ; delay = Math.min(delay * 2, 30000)) {
      let response;
      try {
        response = await fetch(api + url, {
          method, credentials: "same-origin",
          headers: isForm ? { "X-CSRFToken": csrf() } : { "Content-Type": "application/json", "X-CSRFToken": csrf() },
          body: body === undefined ? undefined : isForm ? body : JSON.stringify(body),
        });
      } catch (offline) {
        if (!retry) throw offline;
        say(words.retrying);
        await wait(delay);
        continue;
      }
      if (response.status >= 500 && retry) { say(words.retrying); await wait(delay); continue; }
      const data = response.status === 204 ? null : await response.json();
      if (!response.ok) throw new Error((data && data.detail) || response.statusText);
      return data;
    }
  }

  function say(text) { if (status) status.textContent = text || ""; }

  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) if (v !== null && v !== undefined && v !== false) node.setAttribute(k, v);
    node.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
    return node;
  }

  // As the page's linebreaksbr: each line break a <br>.
  function lines(text) {
    return text.replace(/\r\n?/g, "\n").split("\n").flatMap((line, i) => (i ? [el("br"), line] : [line]));
  }

  function button(action, label) { return el("button", { type: "button", class: "link", "data-action": action }, label); }

  function render(m) {
    const mine = m.author.id === me;
    const li = el("li", { id: "m" + m.id, "data-id": m.id, class: "msg" + (m.is_service ? " service" : "") + (mine ? " mine" : "") });
    if (m.is_service) {
      li.append(el("small", {}, m.author.name + " " + (words[m.service_kind] || m.text)));
      return li;
    }
    const meta = [clock.format(new Date(m.written_at))];
    if (m.edited) meta.push(words.edited);
    if (m.pinned) meta.push(words.pinned);
    li.append(el("b", {}, m.author.name), " ", el("small", {}, el("time", { datetime: m.written_at }, meta.join(" · "))));
    if (m.reply_to) li.append(el("blockquote", {}, m.reply_to.author + ": " + (m.reply_to.text || words.deleted)));
    if (m.deleted) { li.append(el("p", { class: "deleted" }, words.deleted)); return li; }
    li.append(el("p", { class: "text" }, ...lines(m.text)));
    for (const a of m.attachments) {
      li.append(a.preview_url
        ? el("a", { href: a.url }, el("img", { src: a.preview_url, alt: a.name, width: a.width, height: a.height, loading: "lazy" }))
        : el("a", { class: "file", href: a.url }, a.name));
    }
    const actions = el("div", { class: "actions" }, button("reply", words.reply));
    if (mine) actions.append(button("edit", words.edit));
    if (mine || mayModerate) actions.append(button("delete", words.delete));
    if (mayModerate || direct) actions.append(button(m.pinned ? "unpin" : "pin", m.pinned ? words.unpin : words.pin));
    li.append(actions);
    return li;
  }

  // Insert or replace by id, keeping id order (events and replies may cross on the wire).
  function upsert(m) {
    const node = render(m);
    const old = document.getElementById("m" + m.id);
    if (old) { old.replaceWith(node); return; }
    const later = [...list.children].find((li) => Number(li.dataset.id) > m.id);
    list.insertBefore(node, later || null);
    if (!later) node.scrollIntoView({ block: "nearest" });
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
    if (payload.message && payload.message.conversation_id === conversationId) {
      upsert(payload.message);
      if (payload.message.author.id !== me) markRead();
    } else if (payload.conversation_id === conversationId || (payload.conversation && payload.conversation.id === conversationId)) {
      if (kind === "conversation.member_left" && payload.person_id === me) { say(words.removed); if (composer) composer.hidden = true; }
      else if (kind === "conversation.deleted") { say(words.removed); if (composer) composer.hidden = true; }
      else if (kind === "conversation.updated" || kind === "conversation.member_role") location.reload();
    }
  });
  document.addEventListener("visibilitychange", markRead);

  // Buttons drawn by the server for pages without JavaScript become API calls here.
  for (const li of list.children) {
    if (li.classList.contains("service") || li.querySelector(".deleted")) continue;
    const actions = li.querySelector(".actions") || li.appendChild(el("div", { class: "actions" }));
    actions.prepend(button("reply", words.reply));
    if (li.classList.contains("mine")) actions.append(button("edit", words.edit));
  }

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
        if (text !== null) upsert(await call("PATCH", `/messages/${id}`, { text }));
      } else if (action === "delete") {
        if (confirm(words.confirm_delete)) upsert(await call("DELETE", `/messages/${id}`));
      } else if (action === "pin" || action === "unpin") {
        upsert(await call("POST", `/messages/${id}/pin`, { pinned: action === "pin" }));
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
      upsert(await call("POST", `/conversations/${conversationId}/messages`, body, { retry: true }));
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
