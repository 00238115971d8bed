/**
 * The gateway under soak, in its own process so that its memory, handles and event-loop lag
 * are its own: the real gateway (startGateway) with the real engines of the benchmark —
 * sherpa-onnx streaming STT, Silero VAD, espeak-ng (or an installed sherpa voice) — the real
 * LLM client against the fake LLM, and one test-only wrapper: FaultyTts, so that the soak can
 * make a synthesis fail. Started by gateway-child.ts with the config overrides as JSON in
 * argv[2]; logs (pino, the gateway's own logger) go to stdout; commands and answers travel
 * over the IPC channel (GatewayCommand / GatewayReply).
 */
import { startGateway, type RunningGateway } from '../../gateway/app.ts';
import { loadConfig } from '../../gateway/config.ts';
import { createLogger } from '../../gateway/logger.ts';
import { createSpeechEngines, type SpeechEngines } from '../../gateway/speech/engines.ts';
import { collectGarbage } from '../bench/process-usage.ts';
import { FaultyTts } from './faulty-tts.ts';
import type { GatewayCommand, GatewayReply } from './gateway-child.ts';

const send = (reply: GatewayReply) => process.send?.(reply);
const overrides = JSON.parse(process.argv[2] ?? '{}') as Record<string, unknown>;
const config = loadConfig({ env: process.env, overrides });
const logger = createLogger(config.logLevel);

let engines: SpeechEngines | undefined;
let gateway: RunningGateway | undefined;
let stopping: Promise<void> | undefined;
const stop = (code: number) =>
  (stopping ??= (async () => {
    await gateway?.stop().catch(() => {});
    await engines?.close().catch(() => {});
    process.exit(code);
  })());

process.once('SIGTERM', () => void stop(0));
process.once('SIGINT', () => void stop(0));
// The soak holds the IPC channel: when it goes away, so does its gateway.
process.once('disconnect', () => void stop(0));

try {
  engines = await createSpeechEngines(config, logger);
  const notReady = engines.health().filter((h) => ['stt', 'tts', 'vad'].includes(h.name) && !h.ready);
  if (notReady.length > 0) throw new Error(`engines not ready: ${notReady.map((h) => `${h.name} (${h.detail ?? ''})`).join(', ')}`);
  const tts = new FaultyTts(engines.tts);
  gateway = await startGateway(config, { logger, engines: { stt: engines.stt, tts, turnEnd: engines.turnEnd } });
  process.on('message', (command: GatewayCommand) => {
    switch (command.type) {
      case 'failTts':
        tts.failNext(command.count);
        return send({ type: 'done', id: command.id });
      case 'clearTts':
        return send({ type: 'done', id: command.id, value: tts.clear() });
      case 'gc':
        collectGarbage();
        return send({ type: 'done', id: command.id });
    }
  });
  send({ type: 'ready', httpPort: gateway.httpPort, mqttPort: gateway.mqttPort });
} catch (err) {
  send({ type: 'failed', message: (err as Error).stack ?? String(err) });
  await stop(1);
}
