/**
 * `voxgate-sim talk --protocol xiaozhi`: one turn as stock xiaozhi firmware plays it (boot
 * through the OTA URL, pairing code printed, WebSocket or MQTT + UDP, MCP tools answered). The pairing code
 * goes to stdout for a person, to stderr with --json (stdout is then one JSON object).
 */
import { basename } from 'node:path';
import { isXiaozhiProtocolVersion, type XiaozhiListenMode } from '../../protocol/xiaozhi/index.ts';
import { summarizeTurn, type TurnResult } from '../turn-result.ts';
import { readMicWav, writeWav } from '../wav.ts';
import type { XiaozhiTransport } from './open-channel.ts';
import { XiaozhiSimDevice } from './xiaozhi-device.ts';

export interface XiaozhiTalkFlags {
  ota?: string;
  mac?: string;
  protocolVersion?: number;
  transport?: string;
  wav?: string;
  text?: string;
  mode: XiaozhiListenMode;
  speed: number;
  abortAfter?: number;
  out?: string;
  json: boolean;
  pairTimeout?: number;
}

export interface XiaozhiCliIo {
  stdout(text: string): void;
  stderr(text: string): void;
}

/** A command line that cannot run (the caller maps it to its usage exit code). */
export class XiaozhiUsageError extends Error {}

export function validateXiaozhiFlags(flags: XiaozhiTalkFlags): void {
  if (!flags.ota) throw new XiaozhiUsageError("--protocol xiaozhi needs --ota <url> (the firmware's OTA URL, e.g. http://host:8080/xiaozhi/ota/)");
  let scheme: string;
  try {
    scheme = new URL(flags.ota).protocol;
  } catch {
    throw new XiaozhiUsageError(`--ota ${flags.ota} is not a URL`);
  }
  if (scheme !== 'http:' && scheme !== 'https:') throw new XiaozhiUsageError('--ota must start with http:// or https://');
  if (flags.transport !== undefined && xiaozhiTransport(flags.transport) === undefined) {
    throw new XiaozhiUsageError(`--transport ${flags.transport}: xiaozhi devices use websocket or mqtt`);
  }
  if (flags.protocolVersion !== undefined && !isXiaozhiProtocolVersion(flags.protocolVersion)) throw new XiaozhiUsageError('--protocol-version must be 1, 2 or 3');
  if (flags.protocolVersion !== undefined && xiaozhiTransport(flags.transport) === 'mqtt') throw new XiaozhiUsageError('--protocol-version is the WebSocket framing: MQTT + UDP has none');
  if ((flags.wav === undefined) === (flags.text === undefined)) throw new XiaozhiUsageError('give exactly one of --wav and --text');
  if (flags.text !== undefined && flags.text.trim() === '') throw new XiaozhiUsageError('--text is empty');
}

/** `ws`/`websocket` or `mqtt` (undefined: not one of them, or not given). */
export function xiaozhiTransport(flag: string | undefined): XiaozhiTransport | undefined {
  if (flag === 'ws' || flag === 'websocket') return 'websocket';
  return flag === 'mqtt' ? 'mqtt' : undefined;
}

/** Runs the turn; returns 0 when it ran with no protocol issue, 1 otherwise. */
export async function runXiaozhiTalk(flags: XiaozhiTalkFlags, io: XiaozhiCliIo): Promise<number> {
  const human = (line: string) => !flags.json && io.stdout(`${line}\n`);
  let samples: Float32Array | undefined;
  if (flags.wav !== undefined) {
    try {
      samples = await readMicWav(flags.wav);
    } catch (error) {
      throw new XiaozhiUsageError(`--wav ${flags.wav}: ${(error as Error).message}`);
    }
  }
  const device = new XiaozhiSimDevice({
    otaUrl: flags.ota!,
    ...(flags.mac ? { mac: flags.mac } : {}),
    ...(flags.protocolVersion !== undefined && isXiaozhiProtocolVersion(flags.protocolVersion) ? { protocolVersion: flags.protocolVersion } : {}),
    ...(flags.pairTimeout !== undefined ? { pairTimeoutMs: flags.pairTimeout * 1000 } : {}),
    ...(xiaozhiTransport(flags.transport) ? { transport: xiaozhiTransport(flags.transport) } : {}),
  });
  device.on('activation', (code) => {
    const line = `pairing code: ${code}  (claim it with: voxgate device claim ${code})\n`;
    if (flags.json) io.stderr(line);
    else io.stdout(line);
  });
  device.on('issue', (issue) => !flags.json && io.stderr(`protocol issue: ${issue.kind}: ${issue.message}\n`));
  device.on('message', (message) => {
    if (message.type === 'stt') human(`heard: ${message.text}`);
    else if (message.type === 'llm') human(`emotion: ${message.emotion}`);
    else if (message.type === 'tts' && message.state === 'sentence_start') human(`reply: ${message.text}`);
  });
  const interrupted = () => void device.close();
  process.once('SIGINT', interrupted);

  let result: TurnResult | undefined;
  try {
    const hello = await device.connect();
    const over = device.transport === 'mqtt' ? `MQTT + UDP ${device.mqttChannel?.udpParams?.server}:${device.mqttChannel?.udpParams?.port}` : `WebSocket, protocol version ${device.protocolVersion}`;
    human(`connected as ${device.identity.mac} (${over}, session ${hello.session_id}), reply opus ${hello.audio_params.sample_rate} Hz`);
    if (samples) {
      human(`talking (${flags.mode}): ${basename(flags.wav!)}, ${(samples.length / 16000).toFixed(2)} s at ${flags.speed}× real time`);
      result = await device.talk(samples, { mode: flags.mode, speed: flags.speed, abortAfterMs: flags.abortAfter });
    } else {
      human(`typed: ${flags.text}`);
      result = await device.typed(flags.text!, { abortAfterMs: flags.abortAfter });
    }
    if (flags.out) await writeWav(flags.out, result.replyAudio.samples, result.replyAudio.sampleRate);
  } catch {
    // Kept in device.issues; reported below.
  } finally {
    process.removeListener('SIGINT', interrupted);
    await device.close();
  }

  const ok = device.issues.length === 0 && result !== undefined;
  if (flags.json) {
    io.stdout(
      `${JSON.stringify({
        ok,
        protocol: 'xiaozhi',
        mac: device.identity.mac,
        transport: device.transport ?? null,
        protocolVersion: device.protocolVersion,
        pairedWith: device.bootResult?.pairedWith ?? null,
        sessionId: device.sessionId ?? null,
        ...(result ? summarizeTurn(result) : {}),
        mcp: { methods: device.mcp.methods, calls: device.mcp.calls },
        deviceState: device.deviceState,
        issues: device.issues,
        out: result && flags.out ? flags.out : null,
      })}\n`,
    );
  } else if (result) {
    human(`turn ended: ${result.stopReason}`);
    for (const call of device.mcp.calls) human(`tool called: ${call.name} ${JSON.stringify(call.arguments)}`);
    human(`reply audio: ${(result.replyAudio.samples.length / result.replyAudio.sampleRate).toFixed(2)} s in ${result.replyAudio.packets} packets${flags.out ? ` → ${flags.out}` : ''}`);
  }
  return ok ? 0 : 1;
}
