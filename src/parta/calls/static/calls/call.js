// Parta call page: WebRTC in a mesh, signaled over /ws/calls/<id>/ (see calls/consumers.py),
// or through a Janus SFU when the server's media plan says so (topology "janus").
// Mesh: the newcomer offers to everyone already in the call; ICE candidates that come before
// the remote description wait; beyond the mesh's limit video is dropped and only sound flows.
// Janus: janus.js (vendor/, loaded only then) publishes this page's camera in three simulcast
// layers and subscribes to everyone else's in one PeerConnection; a weak link asks Janus for
// a lower layer. A mesh call that grows past the limit moves to Janus: the pages are told.
// Low bitrates (the plan's caps) keep calls usable on rural links either way.
// A broadcast's viewer (config.role "viewer", and Janus's credentials without "publish")
// opens no camera or microphone and only subscribes: it finds the presenters' feeds by
// listing the room's participants whenever the signaling says someone came or changed.
// window.partaCall exposes the peers (and their RTCPeerConnection) and the Janus handles
// for tests and debugging.
const config = JSON.parse(document.getElementById("call-config").textContent);
const words = config.strings;
const viewer = config.role === "viewer";
const status = document.getElementById("call-status");
const peersBox = document.getElementById("peers");
const localVideo = document.getElementById("local");
const controls = document.getElementById("controls");
const FINAL = { 1000: "", 4403: "refused", 4404: "refused", 4409: "removed", 4410: "ended" };

const peers = new Map(); // peer id → {pc, name, figure, pending: [], state}
let socket = null;
let me = null;
let media = { topology: "mesh", video: !config.audio_only, max_video_bitrate: 250000, max_audio_bitrate: 32000 };
let sfu = null; // {janus, publisher, subscriber, feeds: Map feed id → {figure, video, audio}, mids}
let iceServers = [];
let local = new MediaStream();
let camera = null; // the camera track, kept while the screen is shown
let screen = null;
let moderator = false;
let over = false;
const state = { audio: true, video: !config.audio_only, screen: false, hand: false };
window.partaCall = { peers, state, config, sfu: () => sfu };

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
  controls.querySelector("[data-action=end]").hidden = !moderator;
  if (viewer) return; // nothing of theirs to switch
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
  if (sfu) sfu.janus.destroy();
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
      if (viewer && sfu && sfu.lister) listFeeds(sfu);
      if (media.topology === "janus" || viewer) break; // the media comes through Janus
      addPeer(message);
      if (message.offer) await offer(message.peer);
      break;
    case "peer-left":
      dropPeer(message.peer);
      if (viewer && sfu) dropFeedOf(sfu, message.peer);
      break;
    case "signal":
      await signal(message.from, message.data);
      break;
    case "state":
      showState(message.peer, message.state);
      if (viewer && sfu && sfu.lister) listFeeds(sfu);
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

// A participant's tile: their video, name and, for moderators, the buttons that reach
// their signaling peer (none when it is unknown).
function peerFigure(name, peer) {
  const figure = document.createElement("figure");
  figure.className = "peer";
  const video = document.createElement("video");
  video.autoplay = true;
  video.playsInline = true;
  const caption = document.createElement("figcaption");
  const label = document.createElement("span");
  label.textContent = name;
  caption.append(label);
  if (moderator && peer) {
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
  return { figure, video };
}

function addPeer({ peer, name, state: theirs }) {
  if (peers.has(peer)) return;
  const pc = new RTCPeerConnection({ iceServers });
  const { figure, video } = peerFigure(name, peer);
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

// Caps each sender at the plan's bitrate (RTCRtpSender.setParameters, no renegotiation);
// simulcast layers keep the caps they were made with (layers()).
async function capBitrates(pc) {
  for (const sender of pc.getSenders()) {
    if (!sender.track) continue;
    const params = sender.getParameters();
    if (params.encodings && params.encodings.length > 1) continue;
    if (!params.encodings || !params.encodings.length) params.encodings = [{}];
    params.encodings[0].maxBitrate = sender.track.kind === "video" ? media.max_video_bitrate : media.max_audio_bitrate;
    try { await sender.setParameters(params); } catch (error) { /* some browsers refuse before sending */ }
  }
}

// The plan says whether video flows now: beyond the mesh's limit only sound is sent; on
// Janus the page (re)joins the call's room with the credentials the server gave it.
function applyPlan(plan) {
  const hadVideo = media.video;
  media = { ...media, ...plan };
  if (media.topology === "janus") {
    for (const id of [...peers.keys()]) dropPeer(id);
    if (!plan.janus) say(words.sfu_down);
    else if (!sfu) startJanus(plan.janus).catch((error) => say(error.message));
  }
  if (!media.video && hadVideo && camera) say(words.audio_only);
  for (const sender of videoSenders()) sender.replaceTrack(currentVideo());
  for (const { pc } of peers.values()) capBitrates(pc);
  showButtons();
}

const currentVideo = () => (media.video && state.video ? screen || camera : null);

function videoSenders() {
  const senders = [];
  const pcs = [...peers.values()].map((peer) => peer.pc);
  if (sfu && sfu.publisher && sfu.publisher.webrtcStuff.pc) pcs.push(sfu.publisher.webrtcStuff.pc);
  for (const pc of pcs) {
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

// ---------------------------------------------------------------- through Janus

function loadScript(src) {
  return new Promise((resolve, reject) => {
    const script = document.createElement("script");
    script.src = src;
    script.onload = resolve;
    script.onerror = () => reject(new Error(words.sfu_down));
    document.head.append(script);
  });
}

// The plan's video cap for the top layer; the others get a half and a quarter of it, so a
// receiver on a weak link (which Janus moves to a lower layer) needs a quarter.
const layers = () => ({ high: media.max_video_bitrate, medium: Math.round(media.max_video_bitrate / 2), low: Math.round(media.max_video_bitrate / 4) });

async function startJanus(credentials) {
  sfu = { janus: null, publisher: null, subscriber: null, feeds: new Map(), mids: new Map(), joined: false };
  const entry = sfu;
  if (!window.Janus) {
    await loadScript("/static/calls/vendor/adapter.min.js");
    await loadScript("/static/calls/vendor/janus.min.js");
  }
  await new Promise((resolve) => window.Janus.init({ debug: false, dependencies: window.Janus.useDefaultDependencies({ adapter: window.adapter }), callback: resolve }));
  const { room, token } = credentials;
  // The display is for the pages only (attendance reads the token): the signaling peer id
  // lets moderators' buttons reach this participant.
  const display = JSON.stringify({ peer: me, name: credentials.display });
  entry.janus = new window.Janus({
    server: new URL(credentials.server, location.href).href,
    token,
    iceServers,
    success: () => entry.janus.attach({
      plugin: "janus.plugin.videoroom",
      success: (handle) => {
        if (credentials.publish === false) { // a viewer: Janus would refuse their join
          entry.lister = handle;
          entry.credentials = credentials;
          listFeeds(entry);
          return;
        }
        entry.publisher = handle;
        handle.send({ message: { request: "join", ptype: "publisher", room, display, token } });
      },
      error: (error) => say(String(error)),
      onmessage: (message, jsep) => onPublisher(entry, credentials, message, jsep),
      // Told again once the media flows, so that a broadcast's viewers look for this feed.
      webrtcState: (on) => { if (on) { capBitrates(entry.publisher.webrtcStuff.pc); send({ type: "state", ...state }); } },
      iceState: (ice) => { if (ice === "failed") restartPublisher(entry); },
    }),
    error: (error) => { if (!over) say(words.sfu_down + " " + error); },
  });
}

function onPublisher(entry, credentials, message, jsep) {
  const event = message.videoroom;
  if (jsep) entry.publisher.handleRemoteJsep({ jsep });
  if (message.error) { say(message.error); return; }
  if (event === "joined") {
    entry.joined = true;
    entry.privateId = message.private_id;
    publish(entry);
  }
  if (message.publishers) subscribe(entry, credentials, message.publishers);
  for (const gone of [message.leaving, message.unpublished]) {
    if (gone && gone !== "ok") dropFeed(entry, gone);
  }
}

function publish(entry) {
  const tracks = [];
  const microphone = local.getAudioTracks()[0];
  if (microphone) tracks.push({ type: "audio", capture: microphone, recv: false });
  const video = currentVideo();
  if (video) tracks.push({ type: "video", capture: video, recv: false, simulcast: true, simulcastMaxBitrates: layers() });
  if (!tracks.length) return; // no devices: this page only watches
  entry.publisher.createOffer({
    tracks,
    success: (jsep) => entry.publisher.send({ message: { request: "configure", audio: Boolean(microphone), video: Boolean(video), bitrate: media.max_video_bitrate }, jsep }),
    error: (error) => say(String(error)),
  });
}

// A phone that changes networks (Wi-Fi to 3G), or one whose checks all failed, tries again
// with new ICE credentials instead of staying dark: the publisher offers anew, and Janus
// offers the subscriber anew when asked to restart (answered like its first offer).
function restartPublisher(entry) {
  if (over || !entry.publisher) return;
  entry.publisher.createOffer({
    iceRestart: true,
    success: (jsep) => entry.publisher.send({ message: { request: "configure" }, jsep }),
    error: (error) => say(String(error)),
  });
}

function restartSubscriber(entry) {
  if (!over && entry.subscriber && entry.subscriber !== "joining") entry.subscriber.send({ message: { request: "configure", restart: true } });
}

function subscribe(entry, credentials, publishers) {
  const streams = [];
  for (const publisher of publishers) {
    if (entry.feeds.has(publisher.id)) continue;
    addFeed(entry, publisher);
    // A listed participant carries no streams: subscribe to all of theirs.
    for (const stream of publisher.streams || [{}]) {
      if (!stream.disabled) streams.push({ feed: publisher.id, mid: stream.mid });
    }
  }
  if (!streams.length) return;
  if (entry.subscriber === "joining" && entry.lister) { // a viewer lists again once joined
    for (const { feed } of streams) dropFeed(entry, feed);
    entry.again = true;
    return;
  }
  if (entry.subscriber) {
    entry.subscriber.send({ message: { request: "subscribe", streams } });
    return;
  }
  entry.subscriber = "joining";
  entry.janus.attach({
    plugin: "janus.plugin.videoroom",
    success: (handle) => {
      entry.subscriber = handle;
      handle.send({ message: { request: "join", ptype: "subscriber", room: credentials.room, streams, token: credentials.token, private_id: entry.privateId } });
    },
    error: (error) => say(String(error)),
    iceState: (ice) => { if (ice === "failed") restartSubscriber(entry); },
    onmessage: (message, jsep) => {
      for (const stream of message.streams || []) {
        if (stream.feed_id !== undefined) entry.mids.set(stream.mid, stream.feed_id);
      }
      if (jsep) {
        entry.subscriber.createAnswer({
          jsep,
          tracks: [{ type: "data" }],
          success: (answer) => {
            entry.subscriber.send({ message: { request: "start", room: credentials.room }, jsep: answer });
            if (entry.again) { entry.again = false; listFeeds(entry); }
          },
          error: (error) => say(String(error)),
        });
      }
    },
    onremotetrack: (track, mid, on) => showTrack(entry, track, mid, on),
    // The link to this page is losing packets: ask Janus for the lowest layer of that video.
    slowLink: (uplink, lost, mid) => {
      if (!uplink && mid !== undefined && entry.subscriber.send) entry.subscriber.send({ message: { request: "configure", streams: [{ mid, substream: 0 }] } });
    },
  });
}

// A viewer's way to the presenters' feeds: the room's participants that publish.
function listFeeds(entry) {
  const { room } = entry.credentials;
  entry.lister.send({
    message: { request: "listparticipants", room },
    success: (answer) => subscribe(entry, entry.credentials, (answer.participants || []).filter((p) => p.publisher)),
  });
}

function dropFeedOf(entry, peer) {
  for (const [id, feed] of entry.feeds) if (feed.peer === peer) dropFeed(entry, id);
}

function feedName(publisher) {
  try { return JSON.parse(publisher.display); } catch (error) { return { peer: null, name: publisher.display || "" }; }
}

function addFeed(entry, publisher) {
  const { peer, name } = feedName(publisher);
  const { figure, video } = peerFigure(name, peer);
  const audio = document.createElement("audio");
  audio.autoplay = true;
  figure.append(audio);
  entry.feeds.set(publisher.id, { figure, video, audio, peer, name });
}

function showTrack(entry, track, mid, on) {
  const feed = entry.feeds.get(entry.mids.get(mid));
  if (!feed) return;
  const element = track.kind === "video" ? feed.video : feed.audio;
  element.srcObject = on ? new MediaStream([track]) : null;
}

function dropFeed(entry, id) {
  const feed = entry.feeds.get(id);
  if (!feed) return;
  feed.figure.remove();
  entry.feeds.delete(id);
}

function showState(peer, theirs) {
  const entry = peers.get(peer) || (sfu && [...sfu.feeds.values()].find((feed) => feed.peer === peer));
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
const list = document.getElementById("call-messages");
if (list && config.conversation_id) {
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
  list.scrollTop = list.scrollHeight;
}
if (composer && config.conversation_id) {
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
if (viewer) {
  state.audio = state.video = false;
  showButtons();
} else {
  await openDevices();
}
connect();
