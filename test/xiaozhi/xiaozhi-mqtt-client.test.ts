/**
 * One xiaozhi device on the broker (gateway/xiaozhi/mqtt-udp/xiaozhi-mqtt-client.ts), with its
 * connection, UDP socket and session adapter replaced by recorders: channels per hello, goodbye
 * both ways, refusals, the silence rule, and one order for JSON and datagrams.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { UdpAudioServer, UdpAudioSession, UdpAudioSessionOptions } from '../../gateway/xiaozhi/mqtt-udp/udp-audio-server.ts';
import { XiaozhiMqttClient } from '../../gateway/xiaozhi/mqtt-udp/xiaozhi-mqtt-client.ts';
import type { XiaozhiChannel, XiaozhiPort } from '../../gateway/xiaozhi/xiaozhi-session.ts';
import type { DirectConnection } from '../../gateway/transport/direct-login.ts';
import { discardLogger } from '../fakes/capture-logger.ts';

const HELLO = { type: 'hello', version: 3, transport: 'udp', features: { mcp: true }, audio_params: { format: 'opus', sample_rate: 16000, channels: 1, frame_duration: 60 } };

function harness(options: { authorized?: () => boolean; idleCloseMs?: number } = {}) {
  /** What went out, in order: pushes as `json:<type>`, datagrams as `udp:<first byte>`. */
  const wire: string[] = [];
  const pendingWrites: Array<() => void> = [];
  let connectionClosed = false;
  const connection: DirectConnection = {
    remoteAddress: '192.168.1.23',
    localAddress: '192.168.1.10',
    push(_topic, payload, written) {
      const message = JSON.parse(String(payload)) as { type: string; state?: string };
      wire.push(`json:${message.type}${message.state ? `:${message.state}` : ''}`);
      pendingWrites.push(() => written?.());
    },
    close: () => void (connectionClosed = true),
  };
  const sessions: Array<UdpAudioSessionOptions & { closed: boolean }> = [];
  const udp = {
    port: 8884,
    sessionCount: 0,
    unrouted: {},
    open(o: UdpAudioSessionOptions): UdpAudioSession {
      const record = { ...o, closed: false };
      sessions.push(record);
      return {
        ssrc: sessions.length,
        key: '00'.repeat(16),
        nonce: `01000000${String(sessions.length).padStart(8, '0')}${'00'.repeat(8)}`,
        stats: { received: 0, accepted: 0, dropped: {} as never, sent: 0, unsent: 0 },
        remote: undefined,
        send: (packet) => (wire.push(`udp:${packet[0]}`), true),
        close: () => void (record.closed = true),
      };
    },
    close: async () => {},
  } as unknown as UdpAudioServer;
  const channels: XiaozhiChannel[] = [];
  const ports: Array<{ texts: string[]; audio: number; ended: string[] }> = [];
  const client = new XiaozhiMqttClient({
    deviceId: 'desk',
    udp,
    publicHost: undefined,
    stillAuthorized: options.authorized ?? (() => true),
    open(channel): XiaozhiPort {
      channels.push(channel);
      const port = { texts: [] as string[], audio: 0, ended: [] as string[] };
      ports.push(port);
      return {
        receiveText: (text) => {
          port.texts.push(text);
          // The adapter answers a hello with the server hello (its udp block from the channel).
          if ((JSON.parse(text) as { type: string }).type === 'hello') channel.sendJson({ type: 'hello', ...channel.helloFields(`s${ports.length}`), session_id: `s${ports.length}` });
        },
        receiveAudio: () => void port.audio++,
        receiveInvalid: () => {},
        disconnected: (reason) => void port.ended.push(reason),
      };
    },
    idleCloseMs: options.idleCloseMs ?? 60_000,
    logger: discardLogger(),
  });
  client.connected(connection);
  const say = (message: unknown) => client.received(Buffer.from(JSON.stringify(message)));
  /** Completes the writes pending now (not those they lead to). */
  const flush = () => {
    for (const complete of pendingWrites.splice(0)) complete();
  };
  return { client, wire, flush, say, channels, ports, sessions, closed: () => connectionClosed, pushed: () => wire.filter((w) => w.startsWith('json')) };
}

const timers: NodeJS.Timeout[] = [];
afterEach(() => timers.splice(0).forEach(clearTimeout));

describe('xiaozhi MQTT client', () => {
  it('a hello opens a channel: a UDP session with the hello\'s frame duration, and the server hello with its udp block', () => {
    const h = harness();
    h.say(HELLO);
    expect(h.sessions).toHaveLength(1);
    expect(h.sessions[0]!.frameMs).toBe(60);
    expect(h.channels[0]!.transport).toBe('mqtt');
    expect(h.channels[0]!.helloFields('x')).toEqual({ transport: 'udp', udp: { server: '192.168.1.10', port: 8884, key: '00'.repeat(16), nonce: expect.stringMatching(/^01/), encryption: 'aes-128-ctr' } });
    expect(h.pushed()).toEqual(['json:hello']);
    expect(h.client.hasChannel).toBe(true);
  });

  it('one order for both paths: a datagram waits for JSON sent before it, JSON waits for datagrams held before it', () => {
    const h = harness();
    h.say(HELLO);
    h.flush();
    const channel = h.channels[0]!;
    channel.sendJson({ type: 'tts', state: 'start' });
    channel.sendAudio(Uint8Array.of(1));
    channel.sendJson({ type: 'tts', state: 'sentence_start' });
    channel.sendAudio(Uint8Array.of(2));
    // Only `tts start` is on its way; the datagram and what follows it wait.
    expect(h.wire.slice(1)).toEqual(['json:tts:start']);
    h.flush();
    expect(h.wire.slice(1)).toEqual(['json:tts:start', 'udp:1', 'json:tts:sentence_start']);
    h.flush();
    expect(h.wire.slice(1)).toEqual(['json:tts:start', 'udp:1', 'json:tts:sentence_start', 'udp:2']);
    // With nothing pending a datagram goes at once.
    channel.sendAudio(Uint8Array.of(3));
    channel.sendJson({ type: 'tts', state: 'stop' });
    expect(h.wire.slice(-2)).toEqual(['udp:3', 'json:tts:stop']);
  });

  it('goodbye from the device ends the channel without an answer; the next hello opens a new one on the same connection', () => {
    const h = harness();
    h.say(HELLO);
    h.say({ session_id: 's1', type: 'goodbye' });
    expect(h.ports[0]!.texts.at(-1)).toContain('goodbye');
    expect(h.ports[0]!.ended).toEqual(['goodbye from the device']);
    expect(h.sessions[0]!.closed).toBe(true);
    expect(h.pushed()).toEqual(['json:hello']);
    h.say(HELLO);
    expect(h.sessions).toHaveLength(2);
    expect(h.client.hasChannel).toBe(true);
    expect(h.closed()).toBe(false);
  });

  it('the gateway ending a channel says goodbye with its session id; a new hello replaces a channel without one', () => {
    const h = harness();
    h.say(HELLO);
    h.say(HELLO);
    expect(h.ports[0]!.ended).toEqual(['replaced by a new hello']);
    expect(h.pushed()).toEqual(['json:hello', 'json:hello']);
    h.channels[1]!.close('idle');
    expect(h.pushed()).toEqual(['json:hello', 'json:hello', 'json:goodbye']);
    expect(h.ports[1]!.ended).toEqual(['idle']);
    expect(h.sessions.every((s) => s.closed)).toBe(true);
    h.channels[1]!.sendAudio(Uint8Array.of(9)); // late audio of an ended channel goes nowhere
    expect(h.wire.filter((w) => w.startsWith('udp'))).toEqual([]);
  });

  it('a hello of another version or transport gets error bad_message and no channel', () => {
    const h = harness();
    h.say({ ...HELLO, version: 1 });
    h.say({ ...HELLO, transport: 'websocket' });
    expect(h.pushed()).toEqual(['json:error', 'json:error']);
    expect(h.sessions).toEqual([]);
  });

  it('a message for a channel it does not have gets goodbye; one without a session id is ignored', () => {
    const h = harness();
    h.say({ session_id: 'old', type: 'listen', state: 'start', mode: 'auto' });
    h.say({ type: 'listen', state: 'stop' });
    h.say({ session_id: 'old', type: 'goodbye' });
    h.client.received(Buffer.from('not json'));
    expect(h.pushed()).toEqual(['json:goodbye']);
  });

  it('credentials no longer valid at a hello: the connection is closed, no channel', () => {
    const h = harness({ authorized: () => false });
    h.say(HELLO);
    expect(h.closed()).toBe(true);
    expect(h.sessions).toEqual([]);
  });

  it('nothing from the device for idleCloseMs ends the channel with goodbye; anything from it restarts the clock', async () => {
    const h = harness({ idleCloseMs: 150 });
    h.say(HELLO);
    await new Promise((resolve) => timers.push(setTimeout(resolve, 100)));
    h.say({ session_id: 's1', type: 'listen', state: 'stop' });
    await new Promise((resolve) => timers.push(setTimeout(resolve, 100)));
    expect(h.ports[0]!.ended).toEqual([]);
    await new Promise((resolve) => timers.push(setTimeout(resolve, 100)));
    expect(h.ports[0]!.ended).toEqual(['nothing from the device for 150 ms']);
    expect(h.pushed().at(-1)).toBe('json:goodbye');
  });

  it('the MQTT connection ending ends the channel, with nothing sent', () => {
    const h = harness();
    h.say(HELLO);
    h.client.disconnected('keepalive timeout');
    expect(h.ports[0]!.ended).toEqual(['mqtt connection ended: keepalive timeout']);
    expect(h.pushed()).toEqual(['json:hello']);
    h.say(HELLO); // after the end: ignored
    expect(h.sessions).toHaveLength(1);
  });

  it('close (gateway stopping) says goodbye and resolves once it is written', async () => {
    const h = harness();
    h.say(HELLO);
    h.flush();
    let done = false;
    const closing = h.client.close('gateway stopping').then(() => (done = true));
    await Promise.resolve();
    expect(h.pushed().at(-1)).toBe('json:goodbye');
    expect(done).toBe(false);
    h.flush();
    await closing;
    expect(h.ports[0]!.ended).toEqual(['gateway stopping']);
  });
});
