/** The `preemption` config section: on by default, switched by VOXGATE_PREEMPTIVE=on|off, its stability wait by VOXGATE_PREEMPTIVE_STABLE_MS. */
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../gateway/config.ts';
import { DEFAULT_PREEMPTIVE_STABLE_MS, PreemptionSchema } from '../../gateway/session/preemption-config.ts';

describe('preemption config', () => {
  it('is on by default with the measured stability wait', () => {
    expect(loadConfig({ env: {} }).preemption).toEqual({ enabled: true, stableMs: DEFAULT_PREEMPTIVE_STABLE_MS });
    expect(DEFAULT_PREEMPTIVE_STABLE_MS).toBeGreaterThanOrEqual(200);
    expect(DEFAULT_PREEMPTIVE_STABLE_MS).toBeLessThanOrEqual(300);
  });

  it('reads on/off (and true/false, 1/0, yes/no) and the wait from the environment', () => {
    expect(loadConfig({ env: { VOXGATE_PREEMPTIVE: 'off' } }).preemption.enabled).toBe(false);
    expect(loadConfig({ env: { VOXGATE_PREEMPTIVE: 'On' } }).preemption.enabled).toBe(true);
    for (const [word, value] of [['false', false], ['0', false], ['no', false], ['true', true], ['1', true], ['yes', true]] as const) {
      expect(PreemptionSchema.parse({ enabled: word }).enabled, word).toBe(value);
    }
    expect(loadConfig({ env: { VOXGATE_PREEMPTIVE_STABLE_MS: '300' } }).preemption.stableMs).toBe(300);
    expect(loadConfig({ overrides: { 'preemption.enabled': false } }).preemption.enabled).toBe(false);
  });

  it('refuses anything else with a clear error', () => {
    expect(() => loadConfig({ env: { VOXGATE_PREEMPTIVE: 'maybe' } })).toThrow(ConfigError);
    expect(() => loadConfig({ env: { VOXGATE_PREEMPTIVE: 'maybe' } })).toThrow(/preemption\.enabled: expected on or off/);
    expect(() => loadConfig({ env: { VOXGATE_PREEMPTIVE_STABLE_MS: '-5' } })).toThrow(/preemption\.stableMs/);
  });
});
