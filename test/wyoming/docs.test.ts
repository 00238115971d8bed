/** The new docs name every setting and environment variable they are about. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { HOME_ASSISTANT_ENV_VARS, HomeAssistantApiSchema } from '../../gateway/bridge/bridge-config.ts';
import { WYOMING_ENV_VARS, WyomingSchema } from '../../gateway/wyoming/wyoming-config.ts';

const read = (file: string) => readFileSync(new URL(`../../docs/${file}`, import.meta.url), 'utf8');

describe('docs', () => {
  it('docs/wyoming.md documents every wyoming setting, environment variable and error code', () => {
    const doc = read('wyoming.md');
    for (const key of Object.keys(WyomingSchema.shape)) expect(doc, key).toContain(`\`${key}\``);
    for (const env of Object.keys(WYOMING_ENV_VARS)) expect(doc, env).toContain(env);
    for (const code of ['busy', 'not_ready', 'stt_unavailable', 'tts_unavailable', 'unknown_model', 'unknown_voice', 'audio_too_long', 'text_too_long', 'bad_audio', 'bad_request']) {
      expect(doc, code).toContain(`\`${code}\``);
    }
  });

  it('docs/ha-assist.md documents the homeAssistant settings and their environment variables', () => {
    const doc = read('ha-assist.md');
    for (const key of Object.keys(HomeAssistantApiSchema.shape)) expect(doc, key).toContain(`\`homeAssistant.${key}\``);
    for (const env of Object.keys(HOME_ASSISTANT_ENV_VARS)) expect(doc, env).toContain(env);
    expect(doc).toContain('/api/conversation/process');
  });
});
