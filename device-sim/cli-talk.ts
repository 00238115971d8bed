/**
 * `voxgate-sim talk`: one push-to-talk turn (or a typed one) against a running gateway,
 * printed for a person or as one JSON object. Exit 0 only when the turn ran with no protocol issue.
 */
import { basename } from 'node:path';
import { Command, InvalidArgumentError, Option } from 'commander';
import { checkMicParams, createTopics, DEFAULT_TOPIC_PREFIX, isValidDeviceId, MIC_SAMPLE_RATE } from '../protocol/index.ts';
import type { MicCodec } from './audio-encoder.ts';
import { micFrameCount } from './audio-encoder.ts';
import { SimDevice } from './sim-device.ts';
import { summarizeTurn, type ProtocolIssue, type TurnResult } from './turn-result.ts';
import { readMicWav, writeWav } from './wav.ts';
import { runXiaozhiTalk, validateXiaozhiFlags, XiaozhiUsageError, type XiaozhiTalkFlags } from './xiaozhi/cli-xiaozhi-talk.ts';

export const EXIT_OK = 0;
/** A protocol issue: gateway error, invalid message, refused/unauthorized connection, timeout, lost connection. */
export const EXIT_PROTOCOL = 1;
/** Bad command line or unreadable input file. */
export const EXIT_USAGE = 2;

export interface CliIo {
  /** Where the VOXGATE_SIM_* fallbacks are read (process.env in the real CLI). */
  env: Record<string, string | undefined>;
  stdout(text: string): void;
  stderr(text: string): void;
}

/** Environment fallbacks for the connection flags; an empty value counts as unset. */
export const SIM_ENV = { url: 'VOXGATE_SIM_URL', device: 'VOXGATE_SIM_DEVICE', token: 'VOXGATE_SIM_TOKEN' } as const;

/** Thrown for a command line that cannot run; the runner exits with EXIT_USAGE. */
export class UsageError extends Error {}

interface TalkFlags {
  transport: 'ws' | 'mqtt' | 'websocket';
  protocol: 'voxgate' | 'xiaozhi';
  ota?: string;
  mac?: string;
  protocolVersion?: number;
  pairTimeout?: number;
  url?: string;
  device?: string;
  token?: string;
  wav?: string;
  text?: string;
  codec: MicCodec;
  frameMs: number;
  replyCodec?: MicCodec;
  replyRate: 16000 | 24000;
  out?: string;
  json: boolean;
  speed: number;
  abortAfter?: number;
  mode: 'manual' | 'auto' | 'realtime';
  prefix: string;
}

const positiveNumber = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number > 0');
  return n;
};
const nonNegativeInteger = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError('must be a whole number ≥ 0');
  return n;
};
const positiveInteger = (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('must be a whole number > 0');
  return n;
};
const replyRate = (value: string): 16000 | 24000 => {
  const n = Number(value);
  if (n !== 16000 && n !== 24000) throw new InvalidArgumentError('must be 16000 or 24000');
  return n;
};
const deviceId = (value: string) => {
  if (!isValidDeviceId(value)) throw new InvalidArgumentError('letters, digits, _ and -, up to 64, not "gateway"');
  return value;
};

const HELP_AFTER = `
Environment (used when the flag is absent; empty counts as unset):
  VOXGATE_SIM_URL, VOXGATE_SIM_DEVICE, VOXGATE_SIM_TOKEN

Exit codes:
  0  the turn completed with no protocol issue
  1  a protocol issue: error message from the gateway, invalid message, connection
     refused or unauthorized (HTTP 401 / CONNACK 4-5), lost connection, or a timeout
  2  bad command line or unreadable WAV file

Examples:
  voxgate-sim talk --transport ws --url ws://127.0.0.1:8080 --device kitchen-1 --token T \\
      --wav question.wav --out reply.wav
  voxgate-sim talk --transport mqtt --url mqtt://127.0.0.1:1883 --device kitchen-1 --token T \\
      --text "what time is it" --json
  voxgate-sim talk ... --wav long.wav --abort-after 500    # barge in 0.5 s into the reply
  voxgate-sim talk --protocol xiaozhi --ota http://127.0.0.1:8080/xiaozhi/ota/ --mac 02:00:00:00:00:01 \
      --text "set the volume to 30"    # stock xiaozhi firmware: prints a pairing code on first boot

Stock xiaozhi firmware (--protocol xiaozhi): --ota replaces --url/--device/--token; the
transport is the one the OTA answer gives (WebSocket, or MQTT + encrypted UDP when the gateway
runs with VOXGATE_XIAOZHI_TRANSPORT=mqtt); the microphone is Opus 16 kHz in 60 ms frames and
the reply Opus 24 kHz, as the firmware has them.`;

export function registerTalkCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('talk')
    .description('hold the talk button for the length of a WAV (or send typed text), then print what the gateway answers')
    .addOption(new Option('--transport <name>', 'ws or mqtt (xiaozhi: websocket or mqtt, the one the OTA answer must offer; default: whichever it offers)').choices(['ws', 'mqtt', 'websocket']))
    .addOption(new Option('--protocol <name>', 'voxgate (default) or xiaozhi: play stock xiaozhi-esp32 firmware').choices(['voxgate', 'xiaozhi']).default('voxgate'))
    .option('--ota <url>', 'xiaozhi: the OTA URL, e.g. http://host:8080/xiaozhi/ota/')
    .option('--mac <mac>', 'xiaozhi: the device MAC (default: a random one; keep it to stay paired)')
    .addOption(new Option('--protocol-version <n>', 'xiaozhi: binary framing 1, 2 or 3 (default: what the OTA answer says)').argParser(positiveInteger))
    .addOption(new Option('--pair-timeout <s>', 'xiaozhi: how long to wait for the pairing code to be claimed').argParser(positiveNumber))
    .option('--url <url>', `ws://host:port (path /v1/device is added) or mqtt://host:port (env ${SIM_ENV.url})`)
    .option('--device <id>', `device id (env ${SIM_ENV.device})`, deviceId)
    .option('--token <token>', `device token (env ${SIM_ENV.token})`)
    .option('--wav <file>', 'speech to send: any PCM WAV (converted to mono 16 kHz)')
    .option('--text <text>', 'send typed text (listen detect) instead of audio')
    .addOption(new Option('--codec <codec>', 'microphone codec').choices(['opus', 'pcm16']).default('opus'))
    .addOption(new Option('--frame-ms <n>', 'microphone frame duration (opus 20|40|60, pcm16 20-120)').argParser(positiveInteger).default(60))
    .addOption(new Option('--reply-codec <codec>', 'reply codec (default: the microphone codec)').choices(['opus', 'pcm16']))
    .addOption(new Option('--reply-rate <hz>', 'reply sample rate: 16000 or 24000').argParser(replyRate).default(16000))
    .option('--out <file>', 'write the reply audio to this WAV')
    .option('--json', 'print one JSON object (the turn result without raw audio)', false)
    .addOption(new Option('--speed <n>', 'stream N times faster than real time (the gateway rate-limits above 2)').argParser(positiveNumber).default(1))
    .addOption(new Option('--abort-after <ms>', 'send abort this long after the first reply audio (barge-in)').argParser(nonNegativeInteger))
    .addOption(new Option('--mode <mode>', 'manual: the turn ends on release; auto: the gateway VAD may end it; realtime (xiaozhi): the mic stays open').choices(['manual', 'auto', 'realtime']).default('manual'))
    .option('--prefix <prefix>', 'MQTT topic prefix', DEFAULT_TOPIC_PREFIX)
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: TalkFlags) => {
      if (flags.protocol === 'xiaozhi') return setExitCode(await talkXiaozhi(flags, io));
      if (flags.transport === undefined) throw new UsageError("required option '--transport <name>' not specified");
      if (flags.transport === 'websocket') flags.transport = 'ws';
      if (flags.mode === 'realtime') throw new UsageError('--mode realtime is for --protocol xiaozhi');
      const connection = resolveConnection(flags, io.env);
      validate(flags, connection.url);
      setExitCode(await runTalk({ ...flags, ...connection }, io));
    });
}

/** Usage errors of xiaozhi mode are this command's usage errors. */
async function talkXiaozhi(flags: TalkFlags, io: CliIo): Promise<number> {
  const xiaozhi: XiaozhiTalkFlags = { ...flags, transport: flags.transport };
  try {
    validateXiaozhiFlags(xiaozhi);
    return await runXiaozhiTalk(xiaozhi, io);
  } catch (error) {
    if (error instanceof XiaozhiUsageError) throw new UsageError(error.message);
    throw error;
  }
}

interface Connection {
  url: string;
  device: string;
  token: string;
}

/** Flags win over the environment; each of the three is required one way or the other. */
function resolveConnection(flags: TalkFlags, env: CliIo['env']): Connection {
  const pick = (key: keyof typeof SIM_ENV, flag: string) => {
    const value = flags[key] ?? (env[SIM_ENV[key]] || undefined);
    if (value === undefined) throw new UsageError(`required option '${flag}' not specified (or set ${SIM_ENV[key]})`);
    return value;
  };
  const device = pick('device', '--device <id>');
  if (flags.device === undefined && !isValidDeviceId(device)) throw new UsageError(`${SIM_ENV.device}: invalid device id ${JSON.stringify(device)}`);
  return { url: pick('url', '--url <url>'), device, token: pick('token', '--token <token>') };
}

function validate(flags: TalkFlags, url: string): void {
  if ((flags.wav === undefined) === (flags.text === undefined)) throw new UsageError('give exactly one of --wav and --text');
  if (flags.text !== undefined && flags.text.trim() === '') throw new UsageError('--text is empty');
  validateConnectionFlags(flags, url);
}

/** The flags every simulator command shares: microphone codec and frame, URL scheme for the transport, topic prefix. */
export function validateConnectionFlags(
  flags: { codec: string; frameMs: number; transport: string; prefix: string },
  url: string,
): void {
  const mic = checkMicParams({ format: flags.codec, sample_rate: MIC_SAMPLE_RATE, channels: 1, frame_duration: flags.frameMs });
  if (!mic.ok) throw new UsageError(`--codec/--frame-ms: ${mic.reason}`);
  let scheme: string;
  try {
    scheme = new URL(url).protocol;
  } catch {
    throw new UsageError(`--url ${url} is not a URL`);
  }
  const allowed = flags.transport === 'ws' ? ['ws:', 'wss:'] : ['mqtt:', 'mqtts:', 'tcp:'];
  if (!allowed.includes(scheme)) throw new UsageError(`--url for --transport ${flags.transport} must start with ${allowed.map((s) => `${s}//`).join(' or ')}`);
  try {
    createTopics(flags.prefix);
  } catch (error) {
    throw new UsageError(`--prefix: ${(error as Error).message}`);
  }
}

async function runTalk(flags: TalkFlags & Connection, io: CliIo): Promise<number> {
  const human = (line: string) => !flags.json && io.stdout(`${line}\n`);
  let samples: Float32Array | undefined;
  if (flags.wav !== undefined) {
    try {
      samples = await readMicWav(flags.wav);
    } catch (error) {
      throw new UsageError(`--wav ${flags.wav}: ${(error as Error).message}`);
    }
  }
  const device = new SimDevice({
    transport: flags.transport === 'ws' ? 'websocket' : 'mqtt',
    url: flags.url,
    deviceId: flags.device,
    token: flags.token,
    prefix: flags.prefix,
    codec: flags.codec,
    frameMs: flags.frameMs,
    replyFormat: flags.replyCodec ?? flags.codec,
    replyRate: flags.replyRate,
  });
  device.on('issue', (issue) => !flags.json && io.stderr(`protocol issue: ${describeIssue(issue)}\n`));
  device.on('message', (message) => {
    if (message.type === 'stt') human(message.final ? `final: ${message.text}` : `partial: ${message.text}`);
    else if (message.type === 'tts' && message.state === 'sentence_start') human(`reply: ${message.text}`);
  });
  const interrupted = () => void device.close('interrupted');
  process.once('SIGINT', interrupted);

  let result: TurnResult | undefined;
  try {
    const hello = await device.connect();
    human(`connected as ${flags.device} over ${device.transport} (session ${hello.session_id}), reply ${hello.audio_params.format} ${hello.audio_params.sample_rate} Hz`);
    if (samples) {
      const seconds = samples.length / MIC_SAMPLE_RATE;
      human(`talking: ${basename(flags.wav!)}, ${seconds.toFixed(2)} s in ${micFrameCount(samples.length, flags.frameMs)} ${flags.codec} frames of ${flags.frameMs} ms at ${flags.speed}× real time`);
      result = await device.talk(samples, { speed: flags.speed, abortAfterMs: flags.abortAfter, mode: flags.mode === 'realtime' ? 'auto' : flags.mode });
    } else {
      human(`typed: ${flags.text}`);
      result = await device.typed(flags.text!, { abortAfterMs: flags.abortAfter });
    }
    if (flags.out) await writeWav(flags.out, result.replyAudio.samples, result.replyAudio.sampleRate);
  } catch {
    // Already recorded in device.issues (connect/hello failures); reported below.
  } finally {
    process.removeListener('SIGINT', interrupted);
    await device.close();
  }

  const ok = device.issues.length === 0 && result !== undefined;
  if (flags.json) {
    io.stdout(
      `${JSON.stringify({
        ok,
        device: flags.device,
        transport: device.transport,
        sessionId: device.sessionId ?? null,
        ...(result ? summarizeTurn(result) : {}),
        issues: device.issues,
        out: result && flags.out ? flags.out : null,
      })}\n`,
    );
  } else if (result) {
    printTurn(result, flags, human);
  }
  return ok ? EXIT_OK : EXIT_PROTOCOL;
}

function printTurn(result: TurnResult, flags: TalkFlags & Connection, human: (line: string) => void): void {
  const ms = (value: number | null) => (value === null ? '—' : `${Math.round(value)} ms`);
  const t = result.timings;
  human(`turn ${result.turn ?? '?'} ended: ${result.stopReason}`);
  human(`timings: release → final ${ms(t.releaseToFinalMs)}, release → first reply audio ${ms(t.releaseToFirstAudioMs)}, total ${ms(t.totalMs)}`);
  if (result.abortSent) human(`barge-in: abort → tts stop ${ms(t.abortToStopMs)}, abort → last audio ${ms(t.abortToLastAudioMs)} (${result.audioPacketsAfterAbort} packets after abort)`);
  const seconds = result.replyAudio.samples.length / result.replyAudio.sampleRate;
  human(`reply audio: ${seconds.toFixed(2)} s in ${result.replyAudio.packets} packets${flags.out ? ` → ${flags.out}` : ''}`);
}

function describeIssue(issue: ProtocolIssue): string {
  return `${issue.kind}${issue.turn !== undefined ? ` (turn ${issue.turn})` : ''}: ${issue.message}`;
}
