// Parta's service worker: keeps the app shell (notifications/shell.py: every static file of
// Parta's apps and the offline page) for a second load without the network and for offline
// use, shows pushes (notifications.services.send) and opens the chat at the message on a tap.
// The version is a hash of the files' contents: a changed file changes this script, and the
// new worker fetches the shell afresh into a cache of its own.
const CACHE = "parta-shell-{{ version }}";
const SHELL = {{ shell|safe }};
const ICON = {{ icon|safe }};

self.addEventListener("install", (event) => {
  // "reload": past the HTTP cache, which may still hold the previous version of a file.
  const requests = SHELL.map((url) => new Request(url, { cache: "reload" }));
  event.waitUntil(caches.open(CACHE).then((cache) => cache.addAll(requests)));
  self.skipWaiting();
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    caches.keys().then((names) => Promise.all(names.filter((n) => n !== CACHE).map((n) => caches.delete(n))))
  );
  self.clients.claim();
});

self.addEventListener("fetch", (event) => {
  const request = event.request;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== location.origin) return;
  if (url.pathname.startsWith("/static/")) {
    // The cache holds this version's files, so a copy found is the current one; anything
    // else under /static/ (the admin's) goes to the network and its HTTP cache.
    event.respondWith(caches.open(CACHE).then((cache) => cache.match(request)).then((hit) => hit || fetch(request)));
  } else if (request.mode === "navigate") {
    event.respondWith(fetch(request).catch(() => caches.match("/offline/")));
  }
});

self.addEventListener("push", (event) => {
  const data = event.data ? event.data.json() : {};
  event.waitUntil(
    self.registration.showNotification(data.title || "Парта", {
      body: data.body || "",
      tag: data.tag || `conversation-${data.conversation_id}`,
      silent: Boolean(data.silent),
      icon: ICON,
      data: { url: data.url || "/messages/" },
    })
  );
});

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  const url = new URL(event.notification.data.url, location.origin).href;
  event.waitUntil(
    self.clients.matchAll({ type: "window", includeUncontrolled: true }).then((tabs) => {
      for (const tab of tabs) {
        if (tab.url === url && "focus" in tab) return tab.focus();
      }
      return self.clients.openWindow(url);
    })
  );
});
