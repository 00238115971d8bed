/** docs/xiaozhi.md names every setting of the `xiaozhi` config section and its environment variables. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { XIAOZHI_ENV_VARS, XiaozhiSchema } from '../../gateway/xiaozhi/xiaozhi-config.ts';

describe('xiaozhi documentation', () => {
  it('documents every environment variable and config key', () => {
    const doc = readFileSync(new URL('../../docs/xiaozhi.md', import.meta.url), 'utf8');
    for (const env of Object.keys(XIAOZHI_ENV_VARS)) expect(doc, env).toContain(`\`${env}\``);
    const byEnv = new Set(Object.values(XIAOZHI_ENV_VARS).map((path) => path.replace('xiaozhi.', '')));
    for (const key of Object.keys(XiaozhiSchema.shape).filter((k) => !byEnv.has(k))) expect(doc, key).toContain(`\`${key}\``);
    expect(doc).toContain('/xiaozhi/ota/');
    expect(doc).toContain('voxgate device claim');
  });
});
