// Sign-in: "a new code in 5:59" counts down to the moment the server allows asking again.
// The page says the same, fixed, without JavaScript: <p data-retry-after="seconds"
// data-done="text when the wait is over"> with a <span data-countdown> inside.
const LOADED_AT = Date.now();

function format(seconds) {
  const minutes = Math.floor(seconds / 60);
  return `${minutes}:${String(seconds % 60).padStart(2, "0")}`;
}

for (const note of document.querySelectorAll("[data-retry-after]")) {
  const until = LOADED_AT + Number(note.dataset.retryAfter) * 1000;
  const shown = note.querySelector("[data-countdown]");
  const tick = () => {
    const left = Math.ceil((until - Date.now()) / 1000);
    if (left <= 0) {
      clearInterval(timer);
      note.textContent = note.dataset.done;
      return;
    }
    shown.textContent = format(left);
  };
  const timer = setInterval(tick, 1000);
  tick();
}
