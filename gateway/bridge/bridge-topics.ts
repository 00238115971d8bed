/**
 * The bridge's MQTT topics. Per wearable, under `<bridge prefix>/<device id>/`:
 *   state (retained, gateway → HA): battery, charging, signal, activity, listening, transcript
 *     (+ /attributes), reply (+ /attributes), mute
 *   events (not retained): button (event entity JSON), button/action (device triggers)
 *   commands (HA → gateway): notify/set, stop/set, mute/set
 * and `<bridge prefix>/gateway/conversation/{request,response}` for Home Assistant's
 * conversation agent (`gateway` is never a device id). Discovery configs go to
 * `<discovery prefix>/device/<node>/config`, node = `<device prefix>_<device id>`.
 */
import { isValidDeviceId } from '../../protocol/index.ts';

export type BridgeCommand = 'notify' | 'stop' | 'mute';
const COMMANDS: readonly BridgeCommand[] = ['notify', 'stop', 'mute'];

/** Retained state topics of one wearable, by what they hold. */
export const STATE_LEAVES = ['battery', 'charging', 'signal', 'activity', 'listening', 'transcript', 'transcript/attributes', 'reply', 'reply/attributes', 'mute'] as const;
export type StateLeaf = (typeof STATE_LEAVES)[number];

export interface BridgeTopics {
  readonly discoveryPrefix: string;
  readonly prefix: string;
  /** `<discovery>/status`: Home Assistant's birth (`online`) and will (`offline`). */
  haStatus(): string;
  /** `<discovery>/device/<node>/config`. */
  discoveryConfig(deviceId: string): string;
  /** `<discovery>/device/+/config`: every device-based config (to find ones of removed wearables). */
  allDeviceConfigs(): string;
  /** The wearable whose discovery config this is, or null when it is not one of ours. */
  parseDiscoveryConfig(topic: string): string | null;
  /** HA's node id for a wearable: also the prefix of its unique ids. */
  nodeId(deviceId: string): string;
  state(deviceId: string, leaf: StateLeaf): string;
  buttonEvent(deviceId: string): string;
  buttonAction(deviceId: string): string;
  command(deviceId: string, command: BridgeCommand): string;
  /** `<bridge>/+/+/set`: every command for every wearable. */
  allCommands(): string;
  parseCommand(topic: string): { deviceId: string; command: BridgeCommand } | null;
  conversationRequest(): string;
  conversationResponse(): string;
}

export function createBridgeTopics(options: { discoveryPrefix: string; bridgePrefix: string; devicePrefix: string }): BridgeTopics {
  const { discoveryPrefix, bridgePrefix } = options;
  // A node id is one topic level of [A-Za-z0-9_-]: a nested device prefix is flattened.
  const nodePrefix = `${options.devicePrefix.replace(/\//g, '_')}_`;
  const base = `${bridgePrefix}/`;
  const configBase = `${discoveryPrefix}/device/`;
  return {
    discoveryPrefix,
    prefix: bridgePrefix,
    haStatus: () => `${discoveryPrefix}/status`,
    discoveryConfig: (id) => `${configBase}${nodePrefix}${id}/config`,
    allDeviceConfigs: () => `${configBase}+/config`,
    parseDiscoveryConfig(topic) {
      if (!topic.startsWith(configBase) || !topic.endsWith('/config')) return null;
      const node = topic.slice(configBase.length, -'/config'.length);
      if (!node.startsWith(nodePrefix)) return null;
      const id = node.slice(nodePrefix.length);
      return isValidDeviceId(id) ? id : null;
    },
    nodeId: (id) => `${nodePrefix}${id}`,
    state: (id, leaf) => `${base}${id}/${leaf}`,
    buttonEvent: (id) => `${base}${id}/button`,
    buttonAction: (id) => `${base}${id}/button/action`,
    command: (id, command) => `${base}${id}/${command}/set`,
    allCommands: () => `${base}+/+/set`,
    parseCommand(topic) {
      if (!topic.startsWith(base)) return null;
      const [deviceId, command, set, ...rest] = topic.slice(base.length).split('/');
      if (rest.length > 0 || set !== 'set' || !deviceId || !isValidDeviceId(deviceId)) return null;
      return COMMANDS.includes(command as BridgeCommand) ? { deviceId, command: command as BridgeCommand } : null;
    },
    conversationRequest: () => `${base}gateway/conversation/request`,
    conversationResponse: () => `${base}gateway/conversation/response`,
  };
}

/** True when every topic `filter` can match is also matched by `allowed` (both MQTT filters). */
export function filterWithin(filter: string, allowed: string): boolean {
  const f = filter.split('/');
  const a = allowed.split('/');
  for (let i = 0; i < a.length; i++) {
    const level = a[i];
    if (level === '#') return true;
    const mine = f[i];
    if (mine === undefined || mine === '#') return false;
    if (level === '+') continue;
    if (mine !== level) return false; // a literal level must be that literal, not a wildcard
  }
  return f.length === a.length;
}

/** True when some topic matches both filters. */
export function filtersIntersect(a: string, b: string): boolean {
  const x = a.split('/');
  const y = b.split('/');
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const p = x[i];
    const q = y[i];
    if (p === '#' || q === '#') return true;
    if (p === undefined || q === undefined) return false;
    if (p !== '+' && q !== '+' && p !== q) return false;
  }
  return true;
}

/** True when the prefixes share a topic subtree (one is the other or lies under it). */
export function prefixesOverlap(a: string, b: string): boolean {
  return filtersIntersect(`${a}/#`, `${b}/#`);
}
