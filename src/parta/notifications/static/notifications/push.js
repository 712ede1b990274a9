// Parta on a phone: registers the service worker (/sw.js), offers to install the app
// (beforeinstallprompt) and to turn on notifications, and tells the socket which chat this
// tab shows with focus, so no push comes for what the person is reading.
import { setFocus } from "../realtime/events.js";

const api = (method, path, body) =>
  fetch(`/api/notifications${path}`, {
    method,
    credentials: "same-origin",
    headers: {
      "Content-Type": "application/json",
      "X-CSRFToken": (document.cookie.match(/csrftoken=([^;]+)/) || [])[1] || "",
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });

function keyBytes(base64url) {
  const raw = atob(base64url.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(raw, (c) => c.charCodeAt(0));
}

async function subscribe(registration) {
  const { public_key } = await (await api("GET", "/vapid-public-key")).json();
  const subscription = await registration.pushManager.subscribe({
    userVisibleOnly: true,
    applicationServerKey: keyBytes(public_key),
  });
  await api("POST", "/push-subscriptions", subscription.toJSON());
}

async function offerPush(registration) {
  const button = document.getElementById("enable-push");
  if (!button || !("PushManager" in window) || Notification.permission === "denied") return;
  if (Notification.permission === "granted") {
    // Renewed at each visit: the server may have dropped it (a sign-out, a 410).
    return subscribe(registration).catch(() => {});
  }
  button.hidden = false;
  button.addEventListener("click", async () => {
    if ((await Notification.requestPermission()) === "granted") {
      button.hidden = true;
      await subscribe(registration);
    }
  });
}

function offerInstall() {
  const button = document.getElementById("install-app");
  if (!button) return;
  window.addEventListener("beforeinstallprompt", (event) => {
    event.preventDefault();
    button.hidden = false;
    button.onclick = async () => {
      button.hidden = true;
      await event.prompt();
    };
  });
}

function trackFocus() {
  const list = document.querySelector("#messages[data-conversation]");
  if (!list) return;
  const stream = `conversation-${list.dataset.conversation}`;
  const tell = () => setFocus(document.visibilityState === "visible" && document.hasFocus() ? stream : null);
  for (const name of ["focus", "blur"]) window.addEventListener(name, tell);
  document.addEventListener("visibilitychange", tell);
  tell();
}

offerInstall();
trackFocus();
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).then(() => navigator.serviceWorker.ready).then(offerPush);
}
