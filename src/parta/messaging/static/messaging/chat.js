// Parta chat page: sends through the JSON API with an idempotency key (a retry after a
// network failure reuses it, so the server stores one message), renders the messages that
// realtime/events.js announces as "parta:event", and keeps the read state current.
import { start as startEvents } from "../realtime/events.js";
import { keepLabelsCurrent, stamper } from "./moments.js";

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
  const lang = document.documentElement.lang;
  const decimal = new Intl.NumberFormat(lang, { minimumFractionDigits: 1, maximumFractionDigits: 1, useGrouping: false });
  const plural = new Intl.PluralRules(lang);

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

  const stamp = stamper(words.moments, list.dataset.zone, list.dataset.today);
  keepLabelsCurrent(list, () => stamp);

  // Django's filesizeformat, in its own words (a no-break space, one decimal).
  function size(bytes) {
    const units = [["GB", 1024 ** 3], ["MB", 1024 ** 2], ["KB", 1024]];
    const [unit, scale] = units.find(([, s]) => bytes >= s) || [];
    const label = unit
      ? words.size_units[unit].replace("%s", decimal.format(Math.round((bytes / scale) * 10) / 10))
      : words.size_bytes[plural.select(bytes)].replace("%(size)d", String(bytes));
    return label.replace(/ /g, "\u00a0");
  }

  // As the page's linebreaksbr: each line break a <br>.
  function lines(text) {
    return text.replace(/\r\n?/g, "\n").split("\n").flatMap((line, i) => (i ? [document.createElement("br"), line] : [line]));
  }

  // conversation.html's <template>, in its order: blank messages and files drawn by _message.html.
  const [mineProto, theirsProto, deletedProto, serviceProto, quoteProto, imageProto, fileProto] =
    document.getElementById("message-prototypes").content.children;
  const fill = (node, selector, text) => { node.querySelector(selector).textContent = text; };

  function render(m) {
    const mine = m.author.id === me;
    const proto = m.is_service ? serviceProto : m.deleted ? deletedProto : mine ? mineProto : theirsProto;
    const li = proto.cloneNode(true);
    li.id = "m" + m.id;
    li.dataset.id = m.id;
    li.classList.toggle("mine", mine);
    fill(li, ".author", m.author.name);
    if (m.is_service) { fill(li, ".what", words[m.service_kind] || m.text); return li; }
    const time = li.querySelector("time");
    time.setAttribute("datetime", m.written_at);
    const { text, title } = stamp(m.written_at);
    time.textContent = text;
    time.title = title;
    li.querySelector(".edited").hidden = !m.edited;
    li.querySelector(".pinned-mark").hidden = !m.pinned;
    if (m.reply_to) {
      const quote = quoteProto.cloneNode(true);
      fill(quote, ".author", m.reply_to.author);
      fill(quote, ".quoted", m.reply_to.text || words.reply_deleted);
      li.querySelector(".head").after(quote);
    }
    if (m.deleted) return li;
    li.querySelector(".text").append(...lines(m.text));
    const files = li.querySelector(".files");
    for (const a of m.attachments) {
      const link = (a.preview_url ? imageProto : fileProto).cloneNode(true);
      link.setAttribute("href", a.url);
      if (a.preview_url) {
        const img = link.querySelector("img");
        for (const [name, value] of [["src", a.preview_url], ["alt", a.name], ["width", a.width], ["height", a.height]]) img.setAttribute(name, value);
      } else {
        fill(link, ".name", a.name);
        fill(link, "small", size(a.size));
      }
      files.append(link);
    }
    for (const action of li.querySelectorAll("[formaction]")) {
      action.setAttribute("formaction", action.getAttribute("formaction").replace(/\/0\/$/, `/${m.id}/`));
    }
    const pin = li.querySelector("[value=pin]");
    if (pin && m.pinned) { pin.value = "unpin"; pin.textContent = words.unpin; }
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

  // The page's forms post without JavaScript; here their buttons become API calls.
  document.getElementById("message-action").addEventListener("submit", (event) => {
    event.preventDefault();
    if (event.submitter) act(event.submitter.value, event.submitter.closest("li"));
  });
  list.addEventListener("click", (event) => {
    const target = event.target.closest("button[data-action]");
    if (target) act(target.dataset.action, target.closest("li"));
  });

  // The text as typed: each <br> a line break.
  const textOf = (li) => [...li.querySelector(".text").childNodes].map((n) => (n.nodeName === "BR" ? "\n" : n.textContent)).join("");

  function replyTo(li) {
    composer.elements.reply_to.value = li ? li.dataset.id : "";
    const note = composer.querySelector(".replying");
    note.hidden = !li;
    if (li) note.firstElementChild.textContent = words.replying + " " + li.querySelector(".author").textContent;
  }

  // Inline edit: a textarea in place of the text until it is saved or cancelled.
  function edit(li) {
    if (li.querySelector(".editing")) return;
    const body = li.querySelector(".text");
    const form = document.createElement("form");
    form.className = "editing";
    const field = document.createElement("textarea");
    field.name = "text";
    field.value = textOf(li);
    field.setAttribute("aria-label", words.edit);
    field.rows = Math.min(8, field.value.split("\n").length + 1);
    const save = document.createElement("button");
    save.textContent = words.save;
    const cancel = document.createElement("button");
    cancel.type = "button";
    cancel.textContent = words.cancel;
    form.append(field, save, " ", cancel);
    const close = () => { form.remove(); body.hidden = false; };
    cancel.addEventListener("click", close);
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      try { upsert(await call("PATCH", `/messages/${li.dataset.id}`, { text: field.value })); } catch (refused) { say(refused.message); close(); }
    });
    body.hidden = true;
    body.after(form);
    field.focus();
  }

  async function act(action, li) {
    const id = Number(li.dataset.id);
    const menu = li.querySelector("details");
    if (menu) menu.open = false;
    try {
      if (action === "reply") {
        replyTo(li);
        composer.elements.text.focus();
      } else if (action === "copy") {
        await navigator.clipboard.writeText(textOf(li));
        say(words.copied);
      } else if (action === "edit") {
        edit(li);
      } else if (action === "delete") {
        if (confirm(words.confirm_delete)) upsert(await call("DELETE", `/messages/${id}`));
      } else if (action === "pin" || action === "unpin") {
        upsert(await call("POST", `/messages/${id}/pin`, { pinned: action === "pin" }));
      }
    } catch (refused) { say(refused.message); }
  }

  // Older messages load as their link scrolls into view; the view stays on what was read.
  const older = document.getElementById("older");
  if (older) {
    let loading = false;
    const loadOlder = async () => {
      if (loading || !older.isConnected) return;
      loading = true;
      try {
        const page = await call("GET", `/conversations/${conversationId}/messages?before=${older.dataset.before}&limit=50`);
        const height = document.documentElement.scrollHeight;
        const first = list.firstElementChild;
        for (const m of page) list.insertBefore(render(m), first);
        window.scrollBy(0, document.documentElement.scrollHeight - height);
        if (page.length < 50) older.parentElement.remove();
        else { older.dataset.before = page[0].id; older.href = `?before=${page[0].id}`; }
      } catch (refused) { say(refused.message); }
      loading = false;
    };
    new IntersectionObserver((seen) => { if (seen.some((e) => e.isIntersecting)) loadOlder(); }).observe(older);
  }

  // Open at the first unread message, or else at the newest.
  const landing = document.getElementById("unread") || list.lastElementChild;
  if (landing) landing.scrollIntoView({ block: landing.id === "unread" ? "start" : "end" });

  if (composer) startComposer();
  markRead();
  list.dataset.ready = "1";

  function startComposer() {
    let sending = false;
    const form = composer.elements;
    const chosen = composer.querySelector(".chosen");
    const thumbnail = chosen.querySelector("img");
    composer.querySelector(".cancel-reply").addEventListener("click", () => replyTo(null));
    const showFile = () => {
      const file = form.file.files[0];
      chosen.hidden = !file;
      URL.revokeObjectURL(thumbnail.src);
      thumbnail.hidden = !(file && file.type.startsWith("image/"));
      thumbnail.src = thumbnail.hidden ? "" : URL.createObjectURL(file);
      if (file) { fill(chosen, ".name", file.name); fill(chosen, ".size", size(file.size)); }
    };
    form.file.addEventListener("change", showFile);
    composer.querySelector(".cancel-file").addEventListener("click", () => { form.file.value = ""; showFile(); });
    composer.addEventListener("submit", async (event) => {
      event.preventDefault();
      if (sending) return;
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
        replyTo(null);
        showFile();
        form.idempotency_key.value = newKey();
        say("");
      } catch (refused) {
        say(refused.message);
      } finally {
        sending = false;
      }
    });
    form.text.addEventListener("keydown", (event) => {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) composer.requestSubmit();
    });
  }
}
