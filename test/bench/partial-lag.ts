/**
 * How far partial transcripts run behind real time, as the wearable's screen shows them.
 * A partial tells no audio position, so each recording gets a reference first: its mic
 * packets, decoded as the gateway decodes them, are fed to the SAME recognizer (unloaded,
 * at twice real time) and each partial text is noted with the amount of audio given when
 * it first appeared. Recognition is deterministic for the same audio, so under load the same
 * texts come back, later; a partial's lag is
 *   (arrival at the device, ms after its turn's first frame began) − (reference position),
 * i.e. the time from the moment the words were spoken (captured) to the moment they showed.
 * Texts the reference never produced (batched decoding can differ in the last digit) are
 * counted as unmatched and left out.
 */
import { createMicDecoder } from '../../gateway/audio/mic-decoder.ts';
import type { SttProvider } from '../../gateway/speech/types.ts';
import type { LoadRecording } from '../../device-sim/load-recordings.ts';
import type { LoadTurn } from '../../device-sim/load-report.ts';

/** Feed the reference at this multiple of real time: slow enough that each partial lands before the next packet. */
export const REFERENCE_SPEED = 2;

/** Text → audio position (ms) where the recognizer first produced it. */
export type PartialReference = ReadonlyMap<string, number>;

/** Builds the reference of one recording (takes its duration ÷ REFERENCE_SPEED). */
export async function partialReference(stt: SttProvider, recording: LoadRecording, speed = REFERENCE_SPEED): Promise<PartialReference> {
  const positions = new Map<string, number>();
  const { packets, codec, frameMs } = recording.mic;
  const decoder = createMicDecoder(codec);
  let given = 0;
  const controller = new AbortController();
  const stream = stt.createStream({
    signal: controller.signal,
    onPartial: (text) => {
      const key = text.trim();
      if (key !== '' && !positions.has(key)) positions.set(key, given);
    },
  });
  const start = performance.now();
  for (let i = 0; i < packets.length; i++) {
    const due = start + (i * frameMs) / speed;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((resolve) => setTimeout(resolve, wait));
    given = (i + 1) * frameMs;
    stream.push(decoder.decode(packets[i]!));
  }
  // The last packet's partials arrive a moment later; give them one frame's time.
  await new Promise((resolve) => setTimeout(resolve, frameMs));
  try {
    await stream.finish();
  } finally {
    controller.abort();
  }
  return positions;
}

export interface PartialLags {
  /** ms behind real time, one per matched partial. */
  lags: number[];
  unmatched: number;
}

/** Lags of the partials of these turns, against the references by recording name. */
export function partialLags(turns: readonly LoadTurn[], references: ReadonlyMap<string, PartialReference>): PartialLags {
  const lags: number[] = [];
  let unmatched = 0;
  for (const turn of turns) {
    const reference = references.get(turn.recording);
    for (const partial of turn.partials) {
      const position = reference?.get(partial.text.trim());
      if (position === undefined) unmatched += 1;
      else lags.push(partial.atMs - position);
    }
  }
  return { lags, unmatched };
}
