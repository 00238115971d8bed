/**
 * The speech engines from the command line, with the configured providers and fallbacks:
 *   voxgate transcribe FILE.wav [--json] [--language L]
 *   voxgate say "TEXT" --out FILE.wav [--voice V] [--speed S]
 * (`voxgate models …` installs what they need: models.ts.)
 */
import { readFile, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { pino } from 'pino';
import { resample } from '../../audio/resampler.ts';
import { decodeWav, encodeWavPcm16 } from '../../audio/wav.ts';
import type { Config } from '../config.ts';
import { createLogger, type Logger } from '../logger.ts';
import { createSttEngine, createTtsEngine } from '../speech/engines.ts';
import { STT_SAMPLE_RATE } from '../speech/types.ts';
import { CliError, type CliContext, type CommandGroup } from './context.ts';

/** Push audio to the recognizer in pieces like a device would (100 ms), so streaming providers stream. */
const TRANSCRIBE_CHUNK_SAMPLES = STT_SAMPLE_RATE / 10;

/** CLI logs go to stderr (stdout is the command's answer); `info` chatter is hidden unless asked for. */
function cliLogger(config: Config): Logger {
  const level = config.logLevel === 'info' ? 'warn' : config.logLevel;
  return createLogger(level, pino.destination({ fd: 2, sync: true }));
}

export const registerSpeechCommands: CommandGroup = (program: Command, context: CliContext) => {
  const { io } = context;

  program
    .command('transcribe')
    .description('transcribe a WAV file with the configured STT providers')
    .argument('<file>', 'WAV file (any rate; mixed down to mono, resampled to 16 kHz)')
    .option('--json', 'print {"text","provider","seconds","partials"} as JSON')
    .option('--language <code>', 'language hint for providers that take one (e.g. en)')
    .action(async function (this: Command, file: string, flags: { json?: boolean; language?: string }) {
      const config = context.config(this);
      let wav;
      try {
        wav = decodeWav(await readFile(file));
      } catch (err) {
        throw new CliError(`${file}: ${(err as Error).message}`);
      }
      const samples = wav.sampleRate === STT_SAMPLE_RATE ? wav.samples : await resample(wav.samples, wav.sampleRate, STT_SAMPLE_RATE);
      const stt = await createSttEngine(config, cliLogger(config));
      try {
        const health = stt.health();
        if (!health.ready) throw new CliError(`no STT provider is ready: ${health.detail}${health.install ? `\n  install: ${health.install}` : ''}`);
        let partials = 0;
        const stream = stt.createStream({ signal: new AbortController().signal, language: flags.language, onPartial: () => partials++ });
        for (let i = 0; i < samples.length; i += TRANSCRIBE_CHUNK_SAMPLES) stream.push(samples.subarray(i, i + TRANSCRIBE_CHUNK_SAMPLES));
        const { text } = await stream.finish();
        const provider = stt.lastFallback ? stt.lastFallback.to : stt.providers.find((p) => p.health().ready)?.name;
        if (flags.json) io.stdout(`${JSON.stringify({ text, provider, seconds: samples.length / STT_SAMPLE_RATE, partials })}\n`);
        else io.stdout(`${text}\n`);
      } finally {
        await stt.close();
      }
    });

  program
    .command('say')
    .description('speak text into a WAV file with the configured TTS providers')
    .argument('<text>', 'what to say')
    .requiredOption('--out <file>', 'WAV file to write (16-bit mono at the voice\'s rate)')
    .option('--voice <voice>', 'a voice id (see the health output; e.g. en-us for espeak-ng)')
    .option('--speed <factor>', '1 = normal pace', (v) => Number(v))
    .action(async function (this: Command, text: string, flags: { out: string; voice?: string; speed?: number }) {
      const config = context.config(this);
      if (flags.speed !== undefined && !(flags.speed > 0)) throw new CliError('--speed must be a positive number');
      const tts = await createTtsEngine(config, cliLogger(config));
      try {
        const health = tts.health();
        if (!health.ready) throw new CliError(`no TTS provider is ready: ${health.detail}${health.install ? `\n  install: ${health.install}` : ''}`);
        const audio = await tts.synthesize(text, { signal: new AbortController().signal, voice: flags.voice, speed: flags.speed });
        await writeFile(flags.out, encodeWavPcm16(audio.samples, audio.sampleRate));
        io.stderr(`wrote ${flags.out}: ${(audio.samples.length / audio.sampleRate).toFixed(2)} s at ${audio.sampleRate} Hz\n`);
      } catch (err) {
        if (err instanceof CliError) throw err;
        throw new CliError((err as Error).message);
      } finally {
        await tts.close();
      }
    });
};
