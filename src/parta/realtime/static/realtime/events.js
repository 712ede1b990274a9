// Parta realtime: one WebSocket per tab. It resumes from the last event number (kept in
// sessionStorage), reconnects with backoff, asks again when a number is skipped, and polls
// /api/realtime/events while the socket cannot connect. Each event is dispatched on document
// as CustomEvent("parta:event", {detail: {type, seq, kind, payload, at}}); "parta:resync"
// means missed events are gone for good: reload the state shown. "parta:ready" (detail
// {seq, blind}) says the socket is caught up; `blind`: it started "from now on", with no
// number to resume from, so what came before it is not among the events: read the state.
//
//   import { start } from "/static/realtime/events.js";
//   start({ after: 17 });  // optional: the number the page was rendered at
//   setFocus("conversation-12");  // what the tab shows with focus (null: nothing), told to
//                                 // the server at once and again after each reconnect
const KEY = "parta.realtime.seq";
const PING_MS = 25000;
const PONG_WAIT_MS = 10000;
const POLL_MS = 5000;
const MAX_BACKOFF_MS = 30000;
const NOT_SIGNED_IN = 4401;

let seq = null;
let socket = null;
let failures = 0;
let polling = false;
let pollTimer = null;
let started = false;
let focus = null;
let blind = false; // the last resume named no number

function remember(n) {
  seq = n;
  sessionStorage.setItem(KEY, String(n));
}

function take(message) {
  if (message.type === "event") {
    if (seq !== null && message.seq <= seq) return; // seen already
    if (seq !== null && message.seq > seq + 1) return resume(); // a gap: ask again
    remember(message.seq);
    document.dispatchEvent(new CustomEvent("parta:event", { detail: message }));
  } else if (message.type === "resync") {
    remember(message.seq);
    document.dispatchEvent(new CustomEvent("parta:resync", { detail: message }));
  } else if (message.type === "ready") {
    remember(message.seq);
    document.dispatchEvent(new CustomEvent("parta:ready", { detail: { seq: message.seq, blind } }));
    blind = false;
  }
}

function resume() {
  blind = seq === null;
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "resume", after: seq }));
  } else if (polling) {
    poll();
  }
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}/ws/events/`);
  let opened = false;
  let pingTimer = null;
  let pongTimer = null;
  socket = ws;

  const lost = (code) => {
    ws.onclose = ws.onmessage = null;
    clearInterval(pingTimer);
    clearTimeout(pongTimer);
    if (socket === ws) socket = null;
    if (code === NOT_SIGNED_IN) return stopPolling();
    failures = opened ? 0 : failures + 1;
    if (failures >= 2) startPolling();
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(failures, 5));
    setTimeout(connect, backoff * (0.5 + Math.random() / 2));
  };

  ws.onopen = () => {
    opened = true;
    stopPolling();
    resume();
    if (focus !== null) ws.send(JSON.stringify({ type: "focus", stream: focus }));
    pingTimer = setInterval(() => {
      ws.send(JSON.stringify({ type: "ping" }));
      clearTimeout(pongTimer);
      // No pong: the link died without telling anyone. Drop it and reconnect.
      pongTimer = setTimeout(() => {
        lost();
        ws.close();
      }, PONG_WAIT_MS);
    }, PING_MS);
  };
  ws.onmessage = (e) => {
    const message = JSON.parse(e.data);
    if (message.type === "pong") clearTimeout(pongTimer);
    else take(message);
  };
  ws.onclose = (e) => lost(e.code);
}

async function poll() {
  clearTimeout(pollTimer);
  let again = POLL_MS;
  try {
    const query = seq === null ? "" : `?after=${seq}`;
    const response = await fetch(`/api/realtime/events${query}`, {
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    });
    if (response.status === 401) return stopPolling();
    if (response.ok) {
      const body = await response.json();
      if (body.resync) take({ type: "resync", seq: body.seq });
      for (const event of body.events) take({ type: "event", ...event });
      if (seq === null) {
        blind = true; // polled "from now on"
        take({ type: "ready", seq: body.seq });
      }
      if (body.more) again = 0;
    }
  } catch {
    // Offline for now: the next round tries again.
  }
  if (polling) pollTimer = setTimeout(poll, again);
}

function startPolling() {
  if (!polling) {
    polling = true;
    poll();
  }
}

function stopPolling() {
  polling = false;
  clearTimeout(pollTimer);
}

export function setFocus(stream) {
  if (stream === focus) return;
  focus = stream;
  if (socket && socket.readyState === WebSocket.OPEN) {
    socket.send(JSON.stringify({ type: "focus", stream }));
  }
}

export function start({ after = null } = {}) {
  if (started) return;
  started = true;
  const stored = sessionStorage.getItem(KEY);
  seq = stored === null ? after : Number(stored);
  connect();
}
