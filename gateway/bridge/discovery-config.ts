/**
 * Reads Home Assistant MQTT discovery configs that other integrations publish (zigbee2mqtt,
 * Tasmota, ESPHome, …) and keeps the lights and switches voxgate can switch: both the
 * per-entity format `<prefix>/<component>/[<node>/]<object>/config` and the device-based one
 * `<prefix>/device/<node>/config` (`cmps`, with shared options inherited). Abbreviated keys
 * and the `~` topic base are expanded as Home Assistant does. Templates are not evaluated:
 * the common `{{ value_json.<key> }}` form is understood, anything else leaves the state unknown.
 */

import type { TopicFence } from './topic-fence.ts';

export type EntityDomain = 'light' | 'switch';
export const CONTROLLABLE_DOMAINS: readonly EntityDomain[] = ['light', 'switch'];

export interface HomeEntity {
  /** `light.kitchen_light`. */
  entityId: string;
  /** What people call it (device name and entity name). */
  name: string;
  domain: EntityDomain;
  uniqueId?: string;
  /** The discovery topic it came from. */
  source: string;
  commandTopic: string;
  stateTopic?: string;
  /** `json`: commands and states are JSON objects (`{"state":"ON","brightness":128}`); `default`: plain payloads. */
  schema: 'default' | 'json';
  payloadOn: string;
  payloadOff: string;
  stateOn: string;
  stateOff: string;
  /** The JSON key the state template reads (`state` for `{{ value_json.state }}`); undefined: the whole payload. */
  stateKey?: string;
  /** The state template is one we cannot evaluate: the state stays unknown. */
  stateUnreadable: boolean;
  /** How its brightness is set and read, when it can be dimmed. */
  dimmer?: {
    /** Default schema only: where brightness commands go. */
    commandTopic?: string;
    stateTopic?: string;
    stateKey?: string;
    /** The device's full brightness (255 by default; zigbee2mqtt uses 254). */
    scale: number;
  };
  qos: 0 | 1;
  retain: boolean;
}

/** Discovery abbreviations this reader needs (Home Assistant accepts both forms). */
const ABBREVIATIONS: Record<string, string> = {
  p: 'platform',
  dev: 'device',
  o: 'origin',
  cmps: 'components',
  uniq_id: 'unique_id',
  def_ent_id: 'default_entity_id',
  obj_id: 'object_id',
  cmd_t: 'command_topic',
  stat_t: 'state_topic',
  val_tpl: 'value_template',
  stat_val_tpl: 'state_value_template',
  pl_on: 'payload_on',
  pl_off: 'payload_off',
  stat_on: 'state_on',
  stat_off: 'state_off',
  bri_cmd_t: 'brightness_command_topic',
  bri_stat_t: 'brightness_state_topic',
  bri_val_tpl: 'brightness_value_template',
  bri_scl: 'brightness_scale',
  bri: 'brightness',
  ret: 'retain',
  avty_t: 'availability_topic',
  avty: 'availability',
  avty_mode: 'availability_mode',
};
const DEVICE_ABBREVIATIONS: Record<string, string> = { ids: 'identifiers', mf: 'manufacturer', mdl: 'model', sa: 'suggested_area' };
/** Options a device-based config shares with its components unless they set their own. */
const SHARED_OPTIONS = ['availability', 'availability_mode', 'availability_topic', 'command_topic', 'state_topic', 'qos', 'encoding'];

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);
const str = (value: unknown): string | undefined => (typeof value === 'string' && value.length > 0 ? value : undefined);

function expand(config: Json, abbreviations: Record<string, string>): Json {
  const out: Json = {};
  for (const [key, value] of Object.entries(config)) {
    const full = abbreviations[key] ?? key;
    if (!(full in out) || full === key) out[full] = value;
  }
  return out;
}

/** Home Assistant's `~`: a topic option starting or ending with it gets the base there. */
function replaceTopicBase(config: Json): Json {
  const base = str(config['~']);
  if (base === undefined) return config;
  const out: Json = {};
  for (const [key, value] of Object.entries(config)) {
    if (key === '~') continue;
    if (key.endsWith('topic') && typeof value === 'string' && value.length > 0) {
      let topic = value;
      if (topic.startsWith('~')) topic = base + topic.slice(1);
      if (topic.endsWith('~')) topic = topic.slice(0, -1) + base;
      out[key] = topic;
    } else out[key] = value;
  }
  return out;
}

/** The key of `{{ value_json.key }}` / `{{ value_json['key'] }}`; null for any other template. */
export function templateKey(template: string): string | null {
  const match = /^\{\{\s*value_json(?:\.([A-Za-z_][A-Za-z0-9_]*)|\[\s*['"]([^'"]+)['"]\s*\])\s*\}\}$/.exec(template.trim());
  return match ? (match[1] ?? match[2] ?? null) : null;
}

/** `light.kitchen_light`-style slug. */
export function slugify(text: string): string {
  return (
    text
      .normalize('NFKD')
      .replace(/[\u0300-\u036f]/g, '')
      .toLowerCase()
      .replace(/[^a-z0-9]+/g, '_')
      .replace(/^_+|_+$/g, '') || 'unnamed'
  );
}

function entityName(config: Json, deviceName: string | undefined, fallback: string): string {
  const own = config.name;
  if (own === null || own === undefined) return deviceName ?? fallback;
  if (typeof own !== 'string' || own.trim() === '') return deviceName ?? fallback;
  if (!deviceName || own.toLowerCase().startsWith(deviceName.toLowerCase())) return own;
  return `${deviceName} ${own}`;
}

function entityIdOf(domain: EntityDomain, config: Json, name: string, objectId: string): string {
  const suggested = str(config.default_entity_id);
  if (suggested && new RegExp(`^${domain}\\.[a-z0-9_]+$`).test(suggested.toLowerCase())) return suggested.toLowerCase();
  const objectIdOption = str(config.object_id);
  if (objectIdOption) return `${domain}.${slugify(objectIdOption)}`;
  return `${domain}.${slugify(name || objectId)}`;
}

function readState(config: Json, templateOption: string): { key?: string; unreadable: boolean } {
  const template = str(config[templateOption]);
  if (template === undefined) return { unreadable: false };
  const key = templateKey(template);
  return key === null ? { unreadable: true } : { key, unreadable: false };
}

/** One component's config → a controllable entity, or null when it is not one (or not one we can drive). */
function toEntity(domain: string, config: Json, ids: { source: string; objectId: string; deviceName?: string }): HomeEntity | null {
  if (!(CONTROLLABLE_DOMAINS as readonly string[]).includes(domain)) return null;
  const commandTopic = str(config.command_topic);
  if (!commandTopic || /[+#]/.test(commandTopic)) return null;
  const schema = config.schema === 'json' ? 'json' : config.schema === undefined || config.schema === 'default' || config.schema === 'basic' ? 'default' : null;
  if (schema === null || (schema === 'json' && domain !== 'light')) return null; // template lights: not ours to drive
  const name = entityName(config, ids.deviceName, ids.objectId);
  const entityDomain = domain as EntityDomain;
  const payloadOn = str(config.payload_on) ?? 'ON';
  const payloadOff = str(config.payload_off) ?? 'OFF';
  const state = schema === 'json' ? { key: 'state', unreadable: false } : readState(config, domain === 'light' ? 'state_value_template' : 'value_template');
  const stateTopic = str(config.state_topic);
  let dimmer: HomeEntity['dimmer'];
  const scale = typeof config.brightness_scale === 'number' && config.brightness_scale > 0 ? config.brightness_scale : 255;
  if (domain === 'light' && schema === 'json' && config.brightness === true) {
    dimmer = { stateTopic, stateKey: 'brightness', scale };
  } else if (domain === 'light' && schema === 'default' && str(config.brightness_command_topic)) {
    const key = readState(config, 'brightness_value_template');
    dimmer = {
      commandTopic: str(config.brightness_command_topic),
      stateTopic: str(config.brightness_state_topic),
      stateKey: key.unreadable ? undefined : key.key,
      scale,
    };
  }
  return {
    entityId: entityIdOf(entityDomain, config, name, ids.objectId),
    name,
    domain: entityDomain,
    uniqueId: str(config.unique_id),
    source: ids.source,
    commandTopic,
    stateTopic: stateTopic && !/[+#]/.test(stateTopic) ? stateTopic : undefined,
    schema,
    payloadOn,
    payloadOff,
    stateOn: domain === 'switch' ? (str(config.state_on) ?? payloadOn) : payloadOn,
    stateOff: domain === 'switch' ? (str(config.state_off) ?? payloadOff) : payloadOff,
    stateKey: state.key,
    stateUnreadable: state.unreadable,
    dimmer,
    qos: config.qos === 1 || config.qos === 2 ? 1 : 0,
    retain: config.retain === true,
  };
}

export type DiscoveryReading =
  /** The config was removed (empty payload): forget what came from this topic. */
  | { kind: 'removed' }
  /** The controllable entities this config describes (possibly none), and those refused by the topic fence. */
  | { kind: 'entities'; entities: HomeEntity[]; refused?: RefusedEntity[] }
  /** Not a discovery config we read (bad JSON, another origin we skip, not a config topic). */
  | { kind: 'ignored'; reason: string };

/** An entity a config declared whose topics the fence refuses: it is not learned. */
export interface RefusedEntity {
  entityId: string;
  topic: string;
  reason: string;
}

/** Every topic the gateway would publish to or subscribe to for this entity. */
export function entityTopics(entity: HomeEntity): string[] {
  const topics = [entity.commandTopic, entity.stateTopic, entity.dimmer?.commandTopic, entity.dimmer?.stateTopic];
  return topics.filter((t): t is string => t !== undefined);
}

/** Keeps the entities whose every topic passes the fence. */
function fenced(entities: HomeEntity[], fence: TopicFence | undefined): { kind: 'entities'; entities: HomeEntity[]; refused?: RefusedEntity[] } {
  if (!fence) return { kind: 'entities', entities };
  const kept: HomeEntity[] = [];
  const refused: RefusedEntity[] = [];
  for (const entity of entities) {
    const bad = entityTopics(entity)
      .map((topic) => ({ topic, reason: fence.refusal(topic) }))
      .find((t) => t.reason !== undefined);
    if (bad) refused.push({ entityId: entity.entityId, topic: bad.topic, reason: bad.reason! });
    else kept.push(entity);
  }
  return refused.length > 0 ? { kind: 'entities', entities: kept, refused } : { kind: 'entities', entities: kept };
}

/**
 * Reads one message on a discovery topic. `skipOrigin`: configs published by this origin
 * (voxgate's own wearables) are ignored. `fence`: entities using a topic it refuses (the
 * wearables' or the bridge's own, `$SYS`) are left out and reported as refused.
 */
export function readDiscoveryConfig(prefix: string, topic: string, payload: string, skipOrigin: string, fence?: TopicFence): DiscoveryReading {
  if (!topic.startsWith(`${prefix}/`) || !topic.endsWith('/config')) return { kind: 'ignored', reason: 'not a discovery config topic' };
  const levels = topic.slice(prefix.length + 1).split('/');
  if (levels.length !== 3 && levels.length !== 4) return { kind: 'ignored', reason: 'not a discovery config topic' };
  const component = levels[0]!;
  const objectId = levels[levels.length - 2]!;
  if (payload.trim() === '') return { kind: 'removed' };
  let parsed: unknown;
  try {
    parsed = JSON.parse(payload);
  } catch {
    return { kind: 'ignored', reason: 'payload is not JSON' };
  }
  if (!isObject(parsed)) return { kind: 'ignored', reason: 'payload is not a JSON object' };
  const config = replaceTopicBase(expand(parsed, ABBREVIATIONS));
  const origin = isObject(config.origin) ? config.origin : undefined;
  if (origin && origin.name === skipOrigin) return { kind: 'ignored', reason: 'our own config' };
  const device = isObject(config.device) ? expand(config.device, DEVICE_ABBREVIATIONS) : undefined;
  const deviceName = str(device?.name);

  if (component !== 'device') {
    const entity = toEntity(component, config, { source: topic, objectId, deviceName });
    return fenced(entity ? [entity] : [], fence);
  }
  if (!isObject(config.components)) return { kind: 'ignored', reason: 'device config without components' };
  const entities: HomeEntity[] = [];
  for (const [componentId, raw] of Object.entries(config.components)) {
    if (!isObject(raw)) continue;
    let own = replaceTopicBase(expand(raw, ABBREVIATIONS));
    for (const option of SHARED_OPTIONS) if (!(option in own) && option in config) own = { ...own, [option]: config[option] };
    const entity = toEntity(String(own.platform ?? ''), own, { source: topic, objectId: componentId, deviceName });
    if (entity) entities.push(entity);
  }
  return fenced(entities, fence);
}
