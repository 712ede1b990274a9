// The call panel of a conversation page: a call or a broadcast starting or ending in this
// conversation shows or hides «Присоединиться» / «Смотреть» live (events from
// realtime/events.js).
const panel = document.getElementById("call-panel");
if (panel) {
  const conversationId = Number(panel.dataset.conversation);
  const startForms = panel.querySelector(".call-start");
  document.addEventListener("parta:event", (event) => {
    const { kind, payload } = event.detail;
    const call = payload && payload.call;
    if (!call || call.conversation_id !== conversationId) return;
    for (const join of panel.querySelectorAll(".call-join")) {
      const shown = kind === "call.started" && join.dataset.kind === (call.kind || "call");
      if (shown) join.querySelector("a").href = call.url;
      join.hidden = !shown;
    }
    startForms.hidden = kind === "call.started";
  });
}
