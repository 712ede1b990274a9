// The chat page's bell (notifications/_chat_bell.html): its form posts here without a
// reload, and the server's redraw of the same template replaces it.
document.addEventListener("submit", async (event) => {
  const form = event.target.closest(".chat-bell form");
  if (!form) return;
  event.preventDefault();
  const body = new FormData(form);
  if (event.submitter) body.append(event.submitter.name, event.submitter.value);
  const error = form.querySelector(".bell-error");
  try {
    const response = await fetch(form.action, {
      method: "POST", body, credentials: "same-origin", headers: { "X-Parta-Fragment": "1" },
    });
    const text = await response.text();
    if (!response.ok) {
      // A refusal of a choice is plain text; any other is the site's whole error page.
      const plain = (response.headers.get("Content-Type") || "").startsWith("text/plain");
      error.textContent = plain ? text : response.statusText || String(response.status);
      return;
    }
    const redrawn = document.createRange().createContextualFragment(text).firstElementChild;
    form.closest(".chat-bell").replaceWith(redrawn);
    redrawn.querySelector("summary").focus();
  } catch (offline) {
    error.textContent = offline.message;
  }
});
