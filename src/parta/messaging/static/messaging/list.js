// Parta chat list: keeps each row's unread badge, last message and time current from the
// events realtime/events.js announces, and moves a row with a new message to the top of the
// rows that are not pinned. Rows that come or go (a new chat, one left or deleted, or missed
// events after "parta:resync") are fetched again as the server draws them (_row.html).
import { start as startEvents } from "../realtime/events.js";
import { keepLabelsCurrent, stamper } from "./moments.js";

const chats = document.getElementById("chats");
if (chats) {
  start(chats);
  startEvents({ after: Number(chats.dataset.eventsAfter) });
}

function start(chats) {
  const me = Number(chats.dataset.me);
  const words = JSON.parse(document.getElementById("chat-strings").textContent);
  const stampers = new Map();
  const stampIn = (row) => {
    const key = row.dataset.zone + " " + row.dataset.today;
    if (!stampers.has(key)) stampers.set(key, stamper(words.moments, row.dataset.zone, row.dataset.today));
    return stampers.get(key);
  };
  keepLabelsCurrent(chats, (time) => stampIn(time.closest("li")));
  const rowOf = (id) => chats.querySelector(`li[data-conversation="${Number(id)}"]`);

  // The page again, for its #chats: coalesced, so a burst of changes costs one fetch.
  let refetching = null;
  function refetch() {
    if (refetching) return;
    refetching = setTimeout(async () => {
      try {
        const response = await fetch(location.pathname, { credentials: "same-origin" });
        if (response.ok) {
          const page = new DOMParser().parseFromString(await response.text(), "text/html");
          const fresh = page.getElementById("chats");
          if (fresh) chats.replaceChildren(...fresh.childNodes);
        }
      } finally {
        refetching = null;
      }
    }, 300);
  }

  function setBadge(row, n) {
    const badge = row.querySelector(".badge");
    badge.textContent = String(Math.max(0, n));
    badge.hidden = n <= 0;
  }
  const badgeOf = (row) => Number(row.querySelector(".badge").textContent) || 0;

  // A message counts as _unread_in counts it: someone else's, not a notice, not deleted.
  const counts = (m) => m.author.id !== me && !m.is_service && !m.deleted;

  // The row's last message, worded as _row.html words it.
  function showLast(row, m, preview) {
    const what = row.querySelector(".what");
    const who = row.querySelector(".who");
    who.textContent = m.author.short_name;
    who.title = m.author.name;
    what.textContent = m.deleted ? words.deleted
      : m.is_service && words[m.service_kind] ? words[m.service_kind]
      : preview || "📎 " + words.attachment;
    what.classList.toggle("deleted", m.deleted);
    row.querySelector(".last").hidden = false;
    const time = row.querySelector("time");
    const { text, title } = stampIn(row)(m.written_at);
    time.setAttribute("datetime", m.written_at);
    time.textContent = text;
    time.title = title;
    row.querySelector(".when").hidden = false;
  }

  // Above the pinned rows' end: a pinned row keeps its place among the pinned.
  function raise(row) {
    if (row.dataset.pinned) return;
    const list = row.parentElement;
    const firstFree = [...list.children].find((li) => !li.dataset.pinned);
    if (firstFree !== row) list.insertBefore(row, firstFree);
  }

  document.addEventListener("parta:event", ({ detail }) => {
    const { kind, payload } = detail;
    const row = rowOf(payload.conversation_id);
    if (kind === "message.created") {
      const m = payload.message;
      if (!row) return refetch();
      if (m.id <= Number(row.dataset.last)) return; // replayed: the row shows it already
      row.dataset.last = m.id;
      showLast(row, m, payload.preview);
      if (counts(m) && m.id > Number(row.dataset.read)) setBadge(row, badgeOf(row) + 1);
      raise(row);
    } else if (kind === "message.edited" || kind === "message.deleted") {
      const m = payload.message;
      if (!row) return;
      if (m.id === Number(row.dataset.last)) showLast(row, m, payload.preview);
      // A deleted unread message is no longer counted.
      if (kind === "message.deleted" && m.author.id !== me && !m.is_service && m.id > Number(row.dataset.read)) {
        setBadge(row, badgeOf(row) - 1);
      }
    } else if (kind === "conversation.read") {
      if (!row) return;
      row.dataset.read = Math.max(Number(row.dataset.read), payload.read_up_to);
      // Read to the end: nothing left; read partly: only the server knows what remains.
      if (payload.read_up_to >= Number(row.dataset.last)) setBadge(row, 0);
      else refetch();
    } else if (kind === "conversation.created" || kind === "conversation.deleted"
      || kind === "conversation.updated" || kind === "conversation.member_joined"
      || kind === "conversation.member_left") {
      // Another member joining or leaving changes nothing here; someone else's rows never come.
      if ((kind === "conversation.member_joined" || kind === "conversation.member_left") && payload.person_id !== me && row) return;
      refetch();
    }
  });
  document.addEventListener("parta:resync", refetch);
  chats.dataset.ready = "1";
}
