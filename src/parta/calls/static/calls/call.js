// Parta call page: WebRTC in a mesh, signaled over /ws/calls/<id>/ (see calls/consumers.py).
// The newcomer offers to everyone already in the call; ICE candidates that come before the
// remote description wait. Low bitrates (set by the server's media plan) keep calls usable
// on rural links; beyond the mesh's limit video is dropped and only sound flows.
// window.partaCall exposes the peers (and their RTCPeerConnection) for tests and debugging.
const config = JSON.parse(document.getElementById("call-config").textContent);
const words = config.strings;
const status = document.getElementById("call-status");
const peersBox = document.getElementById("peers");
const localVideo = document.getElementById("local");
const controls = document.getElementById("controls");
const FINAL = { 1000: "", 4403: "refused", 4404: "refused", 4409: "removed", 4410: "ended" };

const peers = new Map(); // peer id → {pc, name, figure, pending: [], state}
let socket = null;
let me = null;
let media = { video: !config.audio_only, max_video_bitrate: 250000, max_audio_bitrate: 32000 };
let iceServers = [];
let local = new MediaStream();
let camera = null; // the camera track, kept while the screen is shown
let screen = null;
let moderator = false;
let over = false;
const state = { audio: true, video: !config.audio_only, screen: false, hand: false };
window.partaCall = { peers, state, config };

const say = (text) => { status.textContent = text || ""; };
const send = (message) => { if (socket && socket.readyState === WebSocket.OPEN) socket.send(JSON.stringify(message)); };
const csrf = () => document.querySelector("[name=csrfmiddlewaretoken]").value;

async function openDevices() {
  try {
    local = await navigator.mediaDevices.getUserMedia({ audio: true, video: !config.audio_only });
  } catch (error) {
    try {
      local = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (again) {
      local = new MediaStream();
      say(words.no_devices);
    }
  }
  camera = local.getVideoTracks()[0] || null;
  state.video = Boolean(camera);
  state.audio = local.getAudioTracks().length > 0;
  localVideo.srcObject = local;
  showButtons();
}

function showButtons() {
  const mic = controls.querySelector("[data-action=mic]");
  const cam = controls.querySelector("[data-action=cam]");
  mic.setAttribute("aria-pressed", String(state.audio));
  mic.textContent = state.audio ? words.mic_on : words.mic_off;
  cam.setAttribute("aria-pressed", String(state.video));
  cam.textContent = state.video ? words.cam_on : words.cam_off;
  cam.disabled = !camera || !media.video;
  controls.querySelector("[data-action=screen]").textContent = state.screen ? words.screen_stop : words.screen;
  controls.querySelector("[data-action=screen]").disabled = !camera || !navigator.mediaDevices.getDisplayMedia;
  controls.querySelector("[data-action=hand]").textContent = state.hand ? words.hand_down : words.hand;
  controls.querySelector("[data-action=end]").hidden = !moderator;
}

function connect() {
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  const ws = new WebSocket(`${scheme}://${location.host}${config.socket}`);
  let beat = null;
  socket = ws;
  ws.onopen = () => {
    say("");
    beat = setInterval(() => send({ type: "heartbeat" }), config.heartbeat_ms);
  };
  ws.onmessage = (event) => take(JSON.parse(event.data));
  ws.onclose = (event) => {
    clearInterval(beat);
    for (const id of [...peers.keys()]) dropPeer(id);
    if (socket === ws) socket = null;
    if (over) return;
    if (event.code in FINAL) return finish(FINAL[event.code]);
    say(words.reconnecting);
    setTimeout(connect, 2000);
  };
}

function finish(reason) {
  over = true;
  for (const track of local.getTracks()) track.stop();
  if (screen) screen.stop();
  controls.hidden = true;
  say(reason ? words[reason] : "");
  if (reason === "" || reason === "ended") {
    location.href = config.conversation_id ? `/messages/${config.conversation_id}/` : "/calls/";
  }
}

async function take(message) {
  switch (message.type) {
    case "welcome":
      me = message.peer;
      moderator = message.moderator;
      iceServers = message.ice_servers;
      applyPlan(message.media);
      // Links and guests are for the school's staff: a student's own call stays closed.
      manage.hidden = !moderator || !manage.dataset.mayOpen;
      send({ type: "state", ...state });
      showButtons();
      break;
    case "peer-joined":
      addPeer(message);
      if (message.offer) await offer(message.peer);
      break;
    case "peer-left":
      dropPeer(message.peer);
      break;
    case "signal":
      await signal(message.from, message.data);
      break;
    case "state":
      showState(message.peer, message.state);
      break;
    case "media":
      applyPlan(message);
      break;
    case "muted":
      setAudio(false);
      say(words.muted);
      break;
    case "removed":
    case "ended":
      over = true;
      finish(message.type);
      break;
    case "error":
      say(message.detail);
      break;
  }
}

function addPeer({ peer, name, state: theirs }) {
  if (peers.has(peer)) return;
  const pc = new RTCPeerConnection({ iceServers });
  const figure = document.createElement("figure");
  figure.className = "peer";
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  const caption = document.createElement("figcaption");
  const label = document.createElement("span");
  label.textContent = name;
  caption.append(label);
  if (moderator) {
    for (const [action, text] of [["mute", words.mute], ["remove", words.remove]]) {
      const button = document.createElement("button");
      button.type = "button";
      button.textContent = text;
      button.addEventListener("click", () => {
        if (action === "remove" && !confirm(words.confirm_remove)) return;
        send({ type: action, peer });
      });
      caption.append(button);
    }
  }
  figure.append(video, caption);
  peersBox.append(figure);
  const entry = { pc, name, figure, pending: [], state: theirs };
  peers.set(peer, entry);
  for (const track of local.getTracks()) {
    const sender = pc.addTrack(track, local);
    if (track.kind === "video") sender.replaceTrack(currentVideo());
  }
  pc.ontrack = (event) => { video.srcObject = event.streams[0] || new MediaStream([event.track]); };
  pc.onicecandidate = (event) => {
    if (event.candidate) send({ type: "signal", to: peer, data: { candidate: event.candidate.toJSON() } });
  };
  pc.onconnectionstatechange = () => { if (pc.connectionState === "connected") capBitrates(pc); };
  showState(peer, theirs);
}

function dropPeer(peer) {
  const entry = peers.get(peer);
  if (!entry) return;
  entry.pc.close();
  entry.figure.remove();
  peers.delete(peer);
}

async function offer(peer) {
  const { pc } = peers.get(peer);
  await pc.setLocalDescription(await pc.createOffer());
  send({ type: "signal", to: peer, data: { sdp: pc.localDescription.toJSON() } });
}

async function signal(from, data) {
  const entry = peers.get(from);
  if (!entry) return;
  const { pc } = entry;
  if (data.sdp) {
    await pc.setRemoteDescription(data.sdp);
    for (const candidate of entry.pending.splice(0)) await pc.addIceCandidate(candidate);
    if (data.sdp.type === "offer") {
      await pc.setLocalDescription(await pc.createAnswer());
      send({ type: "signal", to: from, data: { sdp: pc.localDescription.toJSON() } });
    }
  } else if (data.candidate) {
    if (pc.remoteDescription) await pc.addIceCandidate(data.candidate);
    else entry.pending.push(data.candidate);
  }
}

// Caps each sender at the plan's bitrate (RTCRtpSender.setParameters, no renegotiation).
async function capBitrates(pc) {
  for (const sender of pc.getSenders()) {
    if (!sender.track) continue;
    const params = sender.getParameters();
    if (!params.encodings || !params.encodings.length) params.encodings = [{}];
    params.encodings[0].maxBitrate = sender.track.kind === "video" ? media.max_video_bitrate : media.max_audio_bitrate;
    try { await sender.setParameters(params); } catch (error) { /* some browsers refuse before sending */ }
  }
}

// The plan says whether video flows now: beyond the mesh's limit only sound is sent.
function applyPlan(plan) {
  const hadVideo = media.video;
  media = { ...media, ...plan };
  if (!media.video && hadVideo && camera) say(words.audio_only);
  for (const sender of videoSenders()) sender.replaceTrack(currentVideo());
  for (const { pc } of peers.values()) capBitrates(pc);
  showButtons();
}

const currentVideo = () => (media.video && state.video ? screen || camera : null);

function videoSenders() {
  const senders = [];
  for (const { pc } of peers.values()) {
    for (const transceiver of pc.getTransceivers()) {
      if (transceiver.receiver.track.kind === "video") senders.push(transceiver.sender);
    }
  }
  return senders;
}

function setAudio(on) {
  for (const track of local.getAudioTracks()) track.enabled = on;
  state.audio = on && local.getAudioTracks().length > 0;
  send({ type: "state", audio: state.audio });
  showButtons();
}

function setVideo(on) {
  state.video = on && Boolean(camera);
  for (const sender of videoSenders()) sender.replaceTrack(currentVideo());
  if (camera) camera.enabled = state.video;
  send({ type: "state", video: state.video });
  showButtons();
}

async function toggleScreen() {
  if (screen) {
    screen.stop();
    screen = null;
  } else {
    const shown = await navigator.mediaDevices.getDisplayMedia({ video: true });
    screen = shown.getVideoTracks()[0];
    screen.addEventListener("ended", () => { screen = null; setVideo(state.video); state.screen = false; send({ type: "state", screen: false }); showButtons(); });
  }
  state.screen = Boolean(screen);
  localVideo.srcObject = screen ? new MediaStream([screen]) : local;
  send({ type: "state", screen: state.screen });
  setVideo(true);
}

function showState(peer, theirs) {
  const entry = peers.get(peer);
  if (!entry || !theirs) return;
  entry.state = theirs;
  entry.figure.classList.toggle("hand", Boolean(theirs.hand));
  entry.figure.classList.toggle("silent", theirs.audio === false);
  entry.figure.title = theirs.hand ? `${entry.name} ${words.hand_raised}` : entry.name;
}

async function api(method, url, body) {
  const response = await fetch(url, {
    method,
    headers: { "Content-Type": "application/json", "X-CSRFToken": csrf() },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const data = await response.json();
  if (!response.ok) throw new Error(data.detail || response.statusText);
  return data;
}

controls.addEventListener("click", async (event) => {
  const action = event.target.closest("button")?.dataset.action;
  if (action === "mic") setAudio(!state.audio);
  else if (action === "cam") setVideo(!state.video);
  else if (action === "screen") toggleScreen().catch((error) => say(error.message));
  else if (action === "hand") { state.hand = !state.hand; send({ type: "state", hand: state.hand }); showButtons(); }
  else if (action === "leave") { send({ type: "leave" }); }
  else if (action === "end" && confirm(words.confirm_end)) send({ type: "end" });
});

const manage = document.getElementById("manage");
manage.addEventListener("click", async (event) => {
  if (event.target.dataset.action !== "link") return;
  try {
    const { link } = await api("POST", `/api/calls/${config.call_id}/link`);
    const box = document.getElementById("new-link");
    box.querySelector("input").value = link;
    box.hidden = false;
    say(words.link_made);
  } catch (error) { say(error.message); }
});
manage.addEventListener("change", async (event) => {
  if (event.target.dataset.action !== "anonymous") return;
  try {
    await api("PATCH", `/api/calls/${config.call_id}`, { allow_anonymous: event.target.checked });
  } catch (error) { event.target.checked = !event.target.checked; say(error.message); }
});

// Messages written during the call go to its conversation (through the messaging API).
const composer = document.getElementById("call-composer");
if (composer && config.conversation_id) {
  const list = document.getElementById("call-messages");
  const { start } = await import("/static/realtime/events.js");
  document.addEventListener("parta:event", (event) => {
    const { kind, payload } = event.detail;
    const message = payload && payload.message;
    if (kind !== "message.created" || !message || message.conversation_id !== config.conversation_id || message.is_service) return;
    const item = document.createElement("li");
    item.textContent = `${message.author.name}: ${message.text}`;
    list.append(item);
    list.scrollTop = list.scrollHeight;
  });
  start();
  composer.addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = document.getElementById("call-text");
    const text = input.value.trim();
    if (!text) return;
    const key = (crypto.randomUUID ? crypto.randomUUID() : String(Date.now()) + Math.random()).replace(/-/g, "");
    try {
      await api("POST", `/api/messaging/conversations/${config.conversation_id}/messages`, { text, idempotency_key: key });
      input.value = "";
    } catch (error) { say(error.message); }
  });
}

window.addEventListener("pagehide", () => send({ type: "leave" }));
await openDevices();
connect();
