/**
 * The device protocol (docs/protocol.md) over the gateway's WebSocket, as a browser speaks it:
 * credentials in the query string, hello first, JSON control messages as text frames and
 * audio as binary frames. Emits `hello`, `message` (every JSON message), `audio` and `close`.
 */
export class DeviceConnection extends EventTarget {
  constructor() {
    super();
    this.ws = undefined;
    this.sessionId = undefined;
    this.replyParams = undefined;
  }

  /**
   * Opens the socket and says hello; resolves with the gateway's hello.
   * @param {{deviceId: string, token: string, micFrameMs: number, replyRate: number}} options
   */
  connect({ deviceId, token, micFrameMs, replyRate }) {
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const query = new URLSearchParams({ device_id: deviceId, token });
    const ws = new WebSocket(`${scheme}://${location.host}/v1/device?${query}`);
    ws.binaryType = 'arraybuffer';
    this.ws = ws;
    return new Promise((resolve, reject) => {
      let ready = false;
      ws.onopen = () =>
        this.send({
          type: 'hello',
          version: 1,
          transport: 'websocket',
          features: { partial_stt: true },
          audio_params: { format: 'pcm16', sample_rate: 16000, channels: 1, frame_duration: micFrameMs },
          reply_audio: { format: 'pcm16', sample_rate: replyRate },
        });
      ws.onmessage = (event) => {
        if (typeof event.data !== 'string') {
          this.dispatchEvent(new CustomEvent('audio', { detail: event.data }));
          return;
        }
        let message;
        try {
          message = JSON.parse(event.data);
        } catch {
          return;
        }
        if (message.type === 'hello' && !ready) {
          ready = true;
          this.sessionId = message.session_id;
          this.replyParams = message.audio_params;
          resolve(message);
        } else if (message.type === 'error' && !ready) {
          reject(new Error(`${message.code}: ${message.message}`));
        }
        this.dispatchEvent(new CustomEvent('message', { detail: message }));
      };
      ws.onclose = (event) => {
        // A refused upgrade (bad credentials) closes before open with code 1006.
        if (!ready) reject(new Error(event.code === 1006 ? 'connection refused (wrong device id or token?)' : `closed (${event.code})`));
        this.dispatchEvent(new CustomEvent('close', { detail: { code: event.code, reason: event.reason } }));
      };
    });
  }

  send(message) {
    if (this.ws?.readyState !== WebSocket.OPEN) return;
    this.ws.send(JSON.stringify(this.sessionId ? { session_id: this.sessionId, ...message } : message));
  }

  sendAudio(pcm) {
    if (this.ws?.readyState === WebSocket.OPEN) this.ws.send(pcm);
  }

  listenStart(turn) {
    this.send({ type: 'listen', state: 'start', mode: 'manual', turn });
  }

  listenStop(turn, frames) {
    this.send({ type: 'listen', state: 'stop', turn, frames });
  }

  close() {
    this.send({ type: 'goodbye', reason: 'console' });
    this.ws?.close(1000, 'signed out');
  }
}
