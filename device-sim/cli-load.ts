/**
 * `voxgate-sim load`: many simulated wearables against a running gateway (device/load.ts),
 * printed as a summary for a person or as one JSON object. Exit 0 only when every device
 * connected and every turn completed with no protocol issue.
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { DEFAULT_TOPIC_PREFIX } from '../protocol/index.ts';
import type { MicCodec } from './audio-encoder.ts';
import { EXIT_OK, EXIT_PROTOCOL, SIM_ENV, UsageError, validateConnectionFlags, type CliIo } from './cli-talk.ts';
import { parseCredential, readCredentialsFile, type DeviceCredentials } from './load-credentials.ts';
import { DEFAULT_LOAD_AUDIO, loadRecordings, type LoadRecording } from './load-recordings.ts';
import { formatLoadReport, loadSucceeded } from './load-report.ts';
import { DEFAULT_CONNECT_CONCURRENCY, DEFAULT_PAUSE_MS, DEFAULT_START_SPREAD_MS, runLoad, type LoadOptions } from './load.ts';
import { XiaozhiSimDevice } from './xiaozhi/xiaozhi-device.ts';

/** Idle mode with no --duration holds the connections this long (Ctrl-C ends it sooner). */
export const DEFAULT_IDLE_HOLD_S = 60;
/** Upper bound on --devices: enough for the 2,000-device idle test, small enough that a typo cannot exhaust the machine. */
export const MAX_LOAD_DEVICES = 10_000;
const DEFAULT_ID_PREFIX = 'load-';

interface LoadFlags {
  transport?: 'ws' | 'mqtt';
  protocol: 'voxgate' | 'xiaozhi';
  ota?: string;
  url?: string;
  devices?: number;
  device: string[];
  devicesFile?: string;
  register: boolean;
  dataDir?: string;
  idPrefix: string;
  audio: string[];
  holdMs: number;
  codec: MicCodec;
  frameMs: number;
  replyRate: 16000 | 24000;
  turns?: number;
  duration?: number;
  idle: boolean;
  startSpread: number;
  pause: [number, number];
  seed: number;
  connectConcurrency: number;
  maxRun?: number;
  prefix: string;
  json: boolean;
}

const integerIn = (min: number, max: number) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) throw new InvalidArgumentError(`must be a whole number from ${min} to ${max}`);
  return n;
};
const positiveSeconds = (value: string) => {
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError('must be a number of seconds > 0');
  return n;
};
const pauseRange = (value: string): [number, number] => {
  const match = /^(\d+)(?:-(\d+))?$/.exec(value.trim());
  if (!match) throw new InvalidArgumentError('must be MS or MIN-MAX in ms, e.g. 500-2000');
  const min = Number(match[1]);
  const max = match[2] === undefined ? min : Number(match[2]);
  if (max < min) throw new InvalidArgumentError('MIN must not be larger than MAX');
  return [min, max];
};
const collect = (value: string, previous: string[]) => [...previous, value];
const replyRate = (value: string): 16000 | 24000 => {
  const n = Number(value);
  if (n !== 16000 && n !== 24000) throw new InvalidArgumentError('must be 16000 or 24000');
  return n;
};

const HELP_AFTER = `
Devices (one of):
  --device ID:TOKEN (repeat it) or --devices-file FILE (one ID:TOKEN a line, # comments);
      with --devices N, the first N of them are used.
  --register --data-dir DIR --devices N: registers (or gives fresh tokens to) devices
      ${DEFAULT_ID_PREFIX}0001 … in the gateway's own SQLite store in DIR, beside the running gateway
      (the same store 'voxgate device add' writes). They stay registered.

Speech: every WAV given with --audio (files or folders) is converted to mono 16 kHz and
encoded once; device i speaks recording i, i+1, … in turn, at real time. With --hold-ms the
button stays held that long after each recording (the microphone sends silence), as a person
releases a moment after the last word.
Default: ${DEFAULT_LOAD_AUDIO}

Each device presses its first button at a random moment within --start-spread, then waits a
random --pause between turns (seeded by --seed). Timings are measured on the devices' clocks.
With neither --turns nor --duration, each device talks once. --idle only connects and holds
(for --duration, default ${DEFAULT_IDLE_HOLD_S} s, or until Ctrl-C / SIGTERM).

Exit codes: 0 every device connected and every turn completed cleanly; 1 otherwise; 2 bad usage.

Examples:
  voxgate-sim load --transport ws --url ws://127.0.0.1:8080 --register --data-dir ./data \\
      --devices 8 --duration 60
  voxgate-sim load --transport mqtt --url mqtt://127.0.0.1:1883 --devices-file devices.txt \\
      --codec pcm16 --turns 3 --json > load.json
  voxgate-sim load --transport mqtt --url mqtt://127.0.0.1:1883 --register --data-dir ./data \\
      --devices 2000 --idle --duration 120
  voxgate-sim load --protocol xiaozhi --ota http://127.0.0.1:8080/xiaozhi/ota/ --register \\
      --data-dir ./data --devices 8 --turns 2    # stock xiaozhi firmware, pre-registered by MAC
  voxgate-sim load --protocol xiaozhi --transport mqtt --ota … --register --data-dir ./data --devices 8
                                                # the same over MQTT + UDP (VOXGATE_XIAOZHI_TRANSPORT=mqtt)`;

export function registerLoadCommand(program: Command, io: CliIo, setExitCode: (code: number) => void): void {
  program
    .command('load')
    .description('many simulated wearables talking (or idling) at once; prints per-stage latency percentiles')
    .addOption(new Option('--transport <name>', 'ws or mqtt (xiaozhi: the transport the OTA answer must offer)').choices(['ws', 'mqtt']))
    .addOption(new Option('--protocol <name>', 'voxgate (default) or xiaozhi: stock xiaozhi-esp32 firmware (needs --ota and --register)').choices(['voxgate', 'xiaozhi']).default('voxgate'))
    .option('--ota <url>', 'xiaozhi: the OTA URL, e.g. http://host:8080/xiaozhi/ota/')
    .option('--url <url>', `ws://host:port or mqtt://host:port (env ${SIM_ENV.url})`)
    .addOption(new Option('--devices <n>', 'number of devices').argParser(integerIn(1, MAX_LOAD_DEVICES)))
    .option('--device <id:token>', 'a device and its token (repeatable)', collect, [])
    .option('--devices-file <file>', 'file with one id:token a line')
    .option('--register', "register the devices in the gateway's store (needs --data-dir and --devices)", false)
    .option('--data-dir <dir>', "the gateway's data directory (with --register)")
    .option('--id-prefix <prefix>', 'device id prefix for --register', DEFAULT_ID_PREFIX)
    .option('--audio <path>', 'WAV file or folder of WAVs to speak (repeatable)', collect, [])
    .addOption(new Option('--hold-ms <n>', 'keep the button held this long after each recording (silence)').argParser(integerIn(0, 10_000)).default(0))
    .addOption(new Option('--codec <codec>', 'microphone codec').choices(['opus', 'pcm16']).default('opus'))
    .addOption(new Option('--frame-ms <n>', 'microphone frame duration (opus 20|40|60, pcm16 20-120)').argParser(integerIn(1, 120)).default(60))
    .addOption(new Option('--reply-rate <hz>', 'reply sample rate: 16000 or 24000').argParser(replyRate).default(16000))
    .addOption(new Option('--turns <n>', 'turns per device').argParser(integerIn(1, 100_000)).conflicts('duration'))
    .addOption(new Option('--duration <s>', 'talk: start turns for this long; idle: hold this long').argParser(positiveSeconds))
    .option('--idle', 'only connect and stay connected (no turns)', false)
    .addOption(new Option('--start-spread <ms>', 'first press at a random moment within this window').argParser(integerIn(0, 3_600_000)).default(DEFAULT_START_SPREAD_MS))
    .addOption(new Option('--pause <min-max>', 'pause between a device\'s turns, ms').argParser(pauseRange).default([...DEFAULT_PAUSE_MS], DEFAULT_PAUSE_MS.join('-')))
    .addOption(new Option('--seed <n>', 'random seed (start times, pauses)').argParser(integerIn(0, 2 ** 32 - 1)).default(1))
    .addOption(new Option('--connect-concurrency <n>', 'connections opened at once').argParser(integerIn(1, 1000)).default(DEFAULT_CONNECT_CONCURRENCY))
    .addOption(new Option('--max-run <s>', 'hard limit for the whole run (default: what the turns can legitimately take)').argParser(positiveSeconds))
    .option('--prefix <prefix>', 'MQTT topic prefix', DEFAULT_TOPIC_PREFIX)
    .option('--json', 'print one JSON object (summary and every turn)', false)
    .addHelpText('after', HELP_AFTER)
    .action(async (flags: LoadFlags) => {
      if (flags.protocol === 'xiaozhi') return setExitCode(await loadXiaozhi(flags, io));
      if (flags.transport === undefined) throw new UsageError("required option '--transport <name>' not specified");
      const url = flags.url ?? (io.env[SIM_ENV.url] || undefined);
      if (url === undefined) throw new UsageError(`required option '--url <url>' not specified (or set ${SIM_ENV.url})`);
      validate(flags, url);
      const devices = await resolveDevices(flags);
      const recordings = flags.idle ? [] : await readRecordings(flags);
      setExitCode(await runLoadCommand(flags, url, devices, recordings, io));
    });
}

/** Stock xiaozhi devices, pre-registered by MAC; each boots through the OTA URL (Opus 60 ms, as the firmware). */
async function loadXiaozhi(flags: LoadFlags, io: CliIo): Promise<number> {
  if (!flags.ota || !/^https?:\/\//.test(flags.ota)) throw new UsageError('--protocol xiaozhi needs --ota http://host:port/xiaozhi/ota/');
  if (!flags.register || flags.dataDir === undefined || flags.devices === undefined) {
    throw new UsageError('--protocol xiaozhi needs --register --data-dir DIR --devices N (devices are pre-registered by MAC)');
  }
  if (flags.idle && flags.turns !== undefined) throw new UsageError('--idle takes no --turns');
  let devices;
  try {
    const { registerXiaozhiLoadDevices } = await import('./xiaozhi/load-register-xiaozhi.ts');
    devices = registerXiaozhiLoadDevices(flags.dataDir, flags.devices, flags.idPrefix);
  } catch (error) {
    throw new UsageError(`--register: ${(error as Error).message}`);
  }
  const xiaozhi = { ...flags, codec: 'opus' as const, frameMs: 60 };
  const recordings = flags.idle ? [] : await readRecordings(xiaozhi);
  const otaUrl = flags.ota;
  const transport = flags.transport === 'mqtt' ? 'mqtt' : flags.transport === 'ws' ? 'websocket' : undefined;
  return runLoadCommand({ ...xiaozhi, transport: flags.transport ?? 'ws' }, otaUrl, devices, recordings, io, (_credentials, index) =>
    new XiaozhiSimDevice({ otaUrl, mac: devices[index]!.mac, ...(transport ? { transport } : {}) }),
  );
}

function validate(flags: LoadFlags, url: string): void {
  validateConnectionFlags({ ...flags, transport: flags.transport! }, url);
  if (flags.idle && flags.turns !== undefined) throw new UsageError('--idle takes no --turns');
}

async function resolveDevices(flags: LoadFlags): Promise<DeviceCredentials[]> {
  const listed = flags.device.length > 0 || flags.devicesFile !== undefined;
  if (flags.register === listed) throw new UsageError('give the devices either with --device/--devices-file or with --register');
  if (flags.register) {
    if (flags.dataDir === undefined) throw new UsageError('--register needs --data-dir (the gateway\'s data directory)');
    if (flags.devices === undefined) throw new UsageError('--register needs --devices N');
    try {
      // Loaded only here: the rest of the simulator never needs the gateway's store (nor SQLite).
      const { registerLoadDevices } = await import('./load-register.ts');
      return registerLoadDevices(flags.dataDir, flags.devices, flags.idPrefix);
    } catch (error) {
      throw new UsageError(`--register: ${(error as Error).message}`);
    }
  }
  let credentials: DeviceCredentials[];
  try {
    credentials = [...flags.device.map(parseCredential), ...(flags.devicesFile ? readCredentialsFile(flags.devicesFile) : [])];
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  const ids = new Set(credentials.map((c) => c.id));
  if (ids.size !== credentials.length) throw new UsageError('a device id is listed twice (one connection per device: a second one replaces the first)');
  if (flags.devices === undefined) return credentials;
  if (credentials.length < flags.devices) throw new UsageError(`--devices ${flags.devices} but only ${credentials.length} id:token pair(s) given`);
  return credentials.slice(0, flags.devices);
}

async function readRecordings(flags: LoadFlags): Promise<LoadRecording[]> {
  const inputs = flags.audio.length > 0 ? flags.audio : [DEFAULT_LOAD_AUDIO];
  try {
    return await loadRecordings(inputs, flags.codec, flags.frameMs, { holdMs: flags.holdMs });
  } catch (error) {
    throw new UsageError(`--audio: ${(error as Error).message}`);
  }
}

async function runLoadCommand(
  flags: LoadFlags,
  url: string,
  devices: DeviceCredentials[],
  recordings: LoadRecording[],
  io: CliIo,
  createDevice?: LoadOptions['createDevice'],
): Promise<number> {
  const stop = new AbortController();
  const interrupted = () => stop.abort();
  process.once('SIGINT', interrupted);
  process.once('SIGTERM', interrupted);
  const seconds = flags.idle ? (flags.duration ?? DEFAULT_IDLE_HOLD_S) : flags.duration;
  let lastConnected = -1;
  try {
    const report = await runLoad({
      transport: flags.transport === 'ws' ? 'websocket' : 'mqtt',
      url,
      prefix: flags.prefix,
      codec: flags.codec,
      frameMs: flags.frameMs,
      replyRate: flags.replyRate,
      devices,
      recordings,
      mode: flags.idle ? 'idle' : 'talk',
      turnsPerDevice: flags.idle ? undefined : (flags.turns ?? (flags.duration === undefined ? 1 : undefined)),
      durationMs: seconds === undefined ? undefined : seconds * 1000,
      startSpreadMs: flags.startSpread,
      pauseMs: flags.pause,
      seed: flags.seed,
      connectConcurrency: flags.connectConcurrency,
      maxRunMs: flags.maxRun === undefined ? undefined : flags.maxRun * 1000,
      signal: stop.signal,
      createDevice,
      onProgress: (event) => {
        // Progress goes to stderr so that --json output stays one object on stdout.
        if (event.type !== 'connected') return;
        const settled = event.connected + event.failed;
        if (settled === event.requested || (settled % 100 === 0 && settled !== lastConnected)) {
          lastConnected = settled;
          io.stderr(`connected ${event.connected}/${event.requested}${event.failed ? ` (${event.failed} failed)` : ''}\n`);
        }
      },
    });
    io.stdout(flags.json ? `${JSON.stringify({ ok: loadSucceeded(report), ...report })}\n` : formatLoadReport(report));
    return loadSucceeded(report) ? EXIT_OK : EXIT_PROTOCOL;
  } finally {
    process.removeListener('SIGINT', interrupted);
    process.removeListener('SIGTERM', interrupted);
  }
}
