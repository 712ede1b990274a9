// The call panel of a conversation page: a call starting or ending in this conversation
// shows or hides «Присоединиться» live (events from realtime/events.js).
const panel = document.getElementById("call-panel");
if (panel) {
  const conversationId = Number(panel.dataset.conversation);
  const join = panel.querySelector(".call-join");
  const startForm = panel.querySelector(".call-start");
  document.addEventListener("parta:event", (event) => {
    const { kind, payload } = event.detail;
    const call = payload && payload.call;
    if (!call || call.conversation_id !== conversationId) return;
    if (kind === "call.started") {
      join.querySelector("a").href = call.url;
      join.hidden = false;
      startForm.hidden = true;
    } else if (kind === "call.ended") {
      join.hidden = true;
      startForm.hidden = false;
    }
  });
}
