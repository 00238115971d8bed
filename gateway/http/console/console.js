/**
 * The voxgate console: sign in as a device, hold the button to talk, see the transcript,
 * the reply and the turn's timings, hear the reply as it arrives; below, the devices.
 * Plain DOM, no framework. Credentials live in this tab only (sessionStorage).
 */
import { DeviceConnection } from './device-connection.js';
import { MicCapture } from './mic-capture.js';
import { ReplyPlayer } from './reply-player.js';

/** 60 ms frames: 1,920 bytes each, well inside the protocol's 20–120 ms for pcm16. */
const MIC_FRAME_MS = 60;
const REPLY_RATE = 24000;
/** The device list is refreshed this often while signed in. */
const DEVICE_REFRESH_MS = 5000;

const $ = (id) => document.getElementById(id);
const ui = {
  status: $('status'),
  form: $('sign-in-form'),
  signIn: $('sign-in'),
  talk: $('talk'),
  devices: $('devices'),
  talkButton: $('talk-button'),
  signOut: $('sign-out-button'),
  partial: $('partial'),
  final: $('final'),
  reply: $('reply'),
  turnStatus: $('turn-status'),
  timings: $('timings').querySelector('tbody'),
  deviceList: $('device-list').querySelector('tbody'),
  error: $('error'),
};

const mic = new MicCapture(MIC_FRAME_MS);
const player = new ReplyPlayer();
let connection;
let credentials;
let refreshTimer;
let nextTurn = 1;
/** The turn in progress: its id and the moments (performance.now()) it went through. */
let turn;

function setState(state, text = state) {
  document.body.dataset.state = state;
  ui.status.textContent = text;
}

function showError(text) {
  ui.error.hidden = !text;
  ui.error.textContent = text ?? '';
}

// ---- sign in / out -------------------------------------------------------------

ui.form.addEventListener('submit', async (event) => {
  event.preventDefault();
  showError();
  credentials = { deviceId: $('device-id').value.trim(), token: $('token').value, apiKey: $('api-key').value.trim() };
  sessionStorage.setItem('voxgate-console', JSON.stringify(credentials));
  await connect();
});

ui.signOut.addEventListener('click', () => {
  sessionStorage.removeItem('voxgate-console');
  connection?.close();
});

async function connect() {
  setState('connecting', 'connecting…');
  try {
    // Both need the click that got us here (browsers start audio only after a gesture).
    await player.open();
    if (!mic.context) await mic.open();
    connection = new DeviceConnection();
    connection.addEventListener('message', (e) => onMessage(e.detail));
    connection.addEventListener('audio', (e) => onAudio(e.detail));
    connection.addEventListener('close', (e) => onClose(e.detail));
    const hello = await connection.connect({ deviceId: credentials.deviceId, token: credentials.token, micFrameMs: MIC_FRAME_MS, replyRate: REPLY_RATE });
    player.setSampleRate(hello.audio_params?.sample_rate ?? REPLY_RATE);
  } catch (err) {
    setState('signed-out', 'signed out');
    showError(`Could not connect: ${err.message}`);
    return;
  }
  ui.signIn.hidden = true;
  ui.talk.hidden = false;
  ui.devices.hidden = false;
  ui.talkButton.disabled = false;
  setState('ready', `connected as ${credentials.deviceId}`);
  refreshDevices();
  refreshTimer = setInterval(refreshDevices, DEVICE_REFRESH_MS);
}

function onClose(detail) {
  clearInterval(refreshTimer);
  player.stop();
  ui.talkButton.disabled = true;
  ui.signIn.hidden = false;
  ui.talk.hidden = true;
  setState('signed-out', 'signed out');
  if (detail.code !== 1000) showError(`Disconnected (${detail.code}${detail.reason ? `: ${detail.reason}` : ''})`);
}

// ---- push to talk ----------------------------------------------------------------

async function press() {
  if (ui.talkButton.disabled || turn?.recording) return;
  player.stop(); // barge-in: a new listen start also tells the gateway to stop speaking
  player.reset();
  turn = { id: nextTurn++, recording: true, marks: { press: performance.now() }, frames: 0 };
  for (const el of [ui.partial, ui.final, ui.reply]) el.textContent = '';
  ui.turnStatus.textContent = 'listening';
  ui.talkButton.setAttribute('aria-pressed', 'true');
  renderTimings();
  connection.listenStart(turn.id);
  mic.start();
  setState('listening');
}

async function release() {
  if (!turn?.recording) return;
  const current = turn;
  current.recording = false;
  current.marks.release = performance.now();
  ui.talkButton.setAttribute('aria-pressed', 'false');
  const frames = await mic.stop();
  connection.listenStop(current.id, frames);
  ui.turnStatus.textContent = 'thinking';
  setState('thinking');
}

mic.onFrame = (pcm) => {
  if (!turn) return;
  connection.sendAudio(pcm);
};

ui.talkButton.addEventListener('pointerdown', (e) => {
  ui.talkButton.setPointerCapture(e.pointerId);
  press();
});
ui.talkButton.addEventListener('pointerup', release);
ui.talkButton.addEventListener('pointercancel', release);
document.addEventListener('keydown', (e) => {
  if (e.code === 'Space' && !e.repeat && e.target.tagName !== 'INPUT' && !ui.talk.hidden) {
    e.preventDefault();
    press();
  }
});
document.addEventListener('keyup', (e) => {
  if (e.code === 'Space' && e.target.tagName !== 'INPUT') release();
});

// ---- what the gateway says -----------------------------------------------------------

function onMessage(message) {
  const now = performance.now();
  const ours = turn && (message.turn === undefined || message.turn === turn.id);
  switch (message.type) {
    case 'stt':
      if (!ours) return;
      if (!message.final) {
        turn.marks.firstPartial ??= now;
        ui.partial.textContent = message.text;
        return;
      }
      turn.marks.final = now;
      ui.partial.textContent = '';
      ui.final.textContent = message.text || '(nothing heard)';
      if (!message.text) finishTurn('nothing heard');
      break;
    case 'tts':
      if (!ours) return;
      if (message.state === 'start') {
        setState('speaking');
        ui.turnStatus.textContent = 'speaking';
      } else if (message.state === 'sentence_start') {
        turn.marks.firstSentence ??= now;
        ui.reply.textContent = `${ui.reply.textContent} ${message.text}`.trim();
      } else if (message.state === 'stop') {
        const current = turn;
        current.marks.ttsStop = now;
        // The turn is over for the user when the last of its audio has played.
        player.drained().then(() => finishTurn(message.reason ?? 'done', current));
      }
      break;
    case 'error':
      showError(`${message.code}: ${message.message}`);
      break;
    default:
      break;
  }
  renderTimings();
}

function onAudio(packet) {
  if (!turn || turn.done) return;
  turn.marks.firstAudio ??= performance.now();
  player.enqueue(packet);
}

function finishTurn(reason, which = turn) {
  if (!turn || turn !== which || turn.done) return;
  turn.done = true;
  turn.marks.played = performance.now();
  turn.playedMs = player.playedMs;
  ui.turnStatus.textContent = reason === 'done' ? 'done' : reason;
  ui.turnStatus.dataset.playedMs = String(Math.round(player.playedMs));
  setState('ready', `connected as ${credentials.deviceId}`);
  renderTimings();
  refreshDevices();
}

// ---- timings ---------------------------------------------------------------------------

const STAGES = [
  { label: 'held the button', from: 'press', to: 'release' },
  { label: 'release → final transcript', from: 'release', to: 'final', gateway: 'releaseToFinalMs' },
  { label: 'final → first LLM token', gateway: 'finalToFirstTokenMs' },
  { label: 'release → first reply audio', from: 'release', to: 'firstAudio', gateway: 'releaseToFirstAudioMs' },
  { label: 'release → reply played to the end', from: 'release', to: 'played' },
];

function renderTimings(gatewayTimings) {
  if (gatewayTimings && turn) turn.gateway = gatewayTimings;
  const marks = turn?.marks ?? {};
  const rows = STAGES.map((stage) => {
    const here = stage.from && marks[stage.from] !== undefined && marks[stage.to] !== undefined ? `${Math.round(marks[stage.to] - marks[stage.from])} ms` : '';
    const there = stage.gateway && turn?.gateway?.[stage.gateway] !== undefined ? `${Math.round(turn.gateway[stage.gateway])} ms` : '';
    return [stage.label, here, there];
  });
  if (turn?.done) rows.push(['reply audio played', `${Math.round(turn.playedMs)} ms`, '']);
  ui.timings.replaceChildren(...rows.map((cells) => row(cells)));
}

function row(cells) {
  const tr = document.createElement('tr');
  for (const text of cells) {
    const td = document.createElement('td');
    td.textContent = text;
    tr.append(td);
  }
  return tr;
}

// ---- devices -----------------------------------------------------------------------------

async function refreshDevices() {
  if (!credentials) return;
  const headers = credentials.apiKey
    ? { authorization: `Bearer ${credentials.apiKey}` }
    : { authorization: `Bearer ${credentials.token}`, 'device-id': credentials.deviceId };
  let body;
  try {
    const response = await fetch('/api/devices', { headers, cache: 'no-store' });
    body = await response.json();
    if (!response.ok) throw new Error(body.error?.message ?? response.statusText);
  } catch (err) {
    showError(`Device list: ${err.message}`);
    return;
  }
  ui.deviceList.replaceChildren(
    ...body.devices.map((d) => {
      const status = d.online ? `online (${d.transport}, ${d.state})` : `offline${d.last_seen_at ? `, seen ${new Date(d.last_seen_at).toLocaleString()}` : ''}`;
      const last = d.last_turn ? `${d.last_turn.outcome}: “${d.last_turn.transcript}” → “${d.last_turn.reply}”` : '—';
      const tr = row([`${d.name} (${d.id})`, status, last]);
      tr.dataset.deviceId = d.id;
      tr.children[1].className = d.online ? 'online' : 'offline';
      return tr;
    }),
  );
  const mine = body.devices.find((d) => d.id === credentials.deviceId);
  if (mine?.last_turn && turn?.done && mine.last_turn.turn === turn.id) renderTimings(mine.last_turn.timings);
}

// ---- restore a sign-in of this tab -------------------------------------------------------

const saved = sessionStorage.getItem('voxgate-console');
if (saved) {
  try {
    const values = JSON.parse(saved);
    $('device-id').value = values.deviceId ?? '';
    $('token').value = values.token ?? '';
    $('api-key').value = values.apiKey ?? '';
  } catch {
    sessionStorage.removeItem('voxgate-console');
  }
}
