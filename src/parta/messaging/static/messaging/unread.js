// The unread total on every signed-in page: the badges on «Сообщения» (header and tab bar)
// and «(N) » before the tab's title. The server's number (drawn into the page, or from
// /api/messaging/unread) is the truth; between two readings a message from someone else adds
// one, unless this tab shows its chat with focus (chat.js marks it read at once). Messages at
// or below the number the total was counted at are in it already: realtime may replay them.
import { start as startEvents } from "../realtime/events.js";

const badges = [...document.querySelectorAll(".unread-total")];
if (badges.length) start();

function start() {
  const me = Number(badges[0].dataset.me);
  let total = Number(badges[0].querySelector(".count").textContent) || 0;
  let newest = Number(badges[0].dataset.newest) || 0;
  const counted = new Set();
  const bareTitle = document.title.replace(/^\(\d+\) /, "");

  function show() {
    for (const badge of badges) {
      badge.querySelector(".count").textContent = String(total);
      badge.hidden = total <= 0;
    }
    document.title = total > 0 ? `(${total}) ${bareTitle}` : bareTitle;
  }

  // The chat this tab shows, if the person is looking at it.
  const shown = document.querySelector("#messages[data-conversation]");
  const looking = (conversationId) => shown !== null
    && Number(shown.dataset.conversation) === conversationId
    && document.visibilityState === "visible" && document.hasFocus();

  let asking = null;
  function recount() {
    if (asking) return;
    asking = setTimeout(async () => {
      try {
        const response = await fetch("/api/messaging/unread", { credentials: "same-origin", headers: { Accept: "application/json" } });
        if (response.ok) {
          const body = await response.json();
          total = body.total;
          newest = Math.max(newest, body.newest);
          show();
        }
      } catch {
        // Offline: the next change asks again.
      } finally {
        asking = null;
      }
    }, 300);
  }

  document.addEventListener("parta:event", ({ detail }) => {
    const { kind, payload } = detail;
    if (kind === "message.created") {
      const m = payload.message;
      if (m.id <= newest || counted.has(m.id)) return;
      counted.add(m.id);
      if (m.author.id === me || m.is_service || looking(m.conversation_id)) return;
      total += 1;
      show();
    } else if (kind === "message.deleted" || kind === "conversation.read" || kind === "conversation.deleted"
      || (kind === "conversation.member_left" && payload.person_id === me)
      || (kind === "conversation.member_joined" && payload.person_id === me)) {
      recount();
    }
  });
  document.addEventListener("parta:resync", recount);
  // The first page of a tab listens "from now on": a message between drawing and listening.
  document.addEventListener("parta:ready", ({ detail }) => { if (detail.blind) recount(); });
  show();
  // Pages without live parts of their own still hear of new messages (the first caller of
  // start wins: the chat and the list pass the number they were drawn at).
  startEvents();
}
