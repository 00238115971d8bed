/** The shipped Home Assistant automation and docs/home-assistant.md name the topics the bridge really uses. */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { BRIDGE_ENV_VARS, BridgeSchema } from '../../gateway/bridge/bridge-config.ts';
import { createBridgeTopics } from '../../gateway/bridge/bridge-topics.ts';
import { loadConfig } from '../../gateway/config.ts';

const topics = createBridgeTopics({ discoveryPrefix: 'homeassistant', bridgePrefix: 'voxgate-bridge', devicePrefix: 'voxgate' });
const read = (file: string) => readFileSync(new URL(`../../gateway/bridge/${file}`, import.meta.url), 'utf8');

describe('bridge documentation', () => {
  it('the conversation automation listens and answers on the bridge’s topics, with the fields it reads', () => {
    const yaml = read('homeassistant-conversation.yaml');
    expect(yaml).toContain(`topic: ${topics.conversationRequest()}`);
    expect(yaml).toContain(`topic: ${topics.conversationResponse()}`);
    for (const field of ["'id'", "'speech'", "'handled'", 'trigger.payload_json.text', 'trigger.payload_json.conversation_id']) expect(yaml).toContain(field);
    expect(yaml).toMatch(/action: conversation\.process/);
    expect(yaml).toMatch(/response_variable: result/);
  });

  it('docs/home-assistant.md documents every setting and environment variable', () => {
    const whole = readFileSync(new URL('../../docs/home-assistant.md', import.meta.url), 'utf8');
    const start = whole.indexOf('# Home Assistant');
    expect(start).toBeGreaterThanOrEqual(0);
    const page = whole.slice(start);
    for (const key of Object.keys(BridgeSchema.shape)) expect(page, key).toContain(`\`${key}\``);
    for (const env of Object.keys(BRIDGE_ENV_VARS)) expect(page, env).toContain(env);
    expect(page).toContain(topics.command('<id>', 'notify'));
  });

  it('environment variables reach the config (lists split at commas, "false" is false)', () => {
    const config = loadConfig({ env: { VOXGATE_BRIDGE: 'false', VOXGATE_BRIDGE_ALLOW: 'light.*, switch.coffee', VOXGATE_BRIDGE_MODE: 'ha_conversation' } });
    expect(config.bridge).toMatchObject({ enabled: false, allowEntities: ['light.*', 'switch.coffee'], mode: 'ha_conversation', discoveryPrefix: 'homeassistant' });
    expect(loadConfig({ env: {} }).bridge.enabled).toBe(true);
  });
});
