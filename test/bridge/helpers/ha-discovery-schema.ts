/**
 * Checks a device-based discovery payload the way Home Assistant's MQTT integration does
 * (homeassistant/components/mqtt/schemas.py DEVICE_DISCOVERY_SCHEMA, the per-platform schemas
 * and abbreviations.py), returning a list of problems (empty when HA would accept it).
 * Only what the bridge publishes is modelled: sensor, binary_sensor, event, notify, button,
 * switch and device_automation.
 */

const TOP = { dev: 'device', o: 'origin', cmps: 'components', avty: 'availability', avty_mode: 'availability_mode' } as const;
const COMPONENT = { p: 'platform', uniq_id: 'unique_id', def_ent_id: 'default_entity_id', stat_t: 'state_topic', cmd_t: 'command_topic' } as const;
const DEVICE = { ids: 'identifiers', mf: 'manufacturer', mdl: 'model', sw: 'sw_version' } as const;
const ORIGIN = { sw: 'sw_version', url: 'support_url' } as const;

/** Options a device-based config hands down to its components (schemas.py SHARED_OPTIONS). */
const SHARED = ['availability', 'availability_mode', 'availability_template', 'availability_topic', 'command_topic', 'encoding', 'message_expiry_interval', 'payload_available', 'payload_not_available', 'state_topic', 'qos'];
const ENTITY_PLATFORMS = new Set(['sensor', 'binary_sensor', 'event', 'notify', 'button', 'switch']);
const PLATFORMS = new Set([...ENTITY_PLATFORMS, 'device_automation']);
const SENSOR_CLASSES = new Set(['battery', 'signal_strength', 'enum', 'temperature', 'humidity']);
const BINARY_SENSOR_CLASSES = new Set(['battery_charging', 'connectivity', 'running', 'sound', 'occupancy']);
const EVENT_CLASSES = new Set(['button', 'doorbell', 'motion']);
const ENTITY_CATEGORIES = new Set(['config', 'diagnostic']);
const TRIGGER_TYPES = new Set(['button_short_press', 'button_short_release', 'button_long_press', 'button_long_release', 'button_double_press', 'button_triple_press', 'button_quadruple_press', 'button_quintuple_press']);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

function expand(config: Json, map: Record<string, string>): Json {
  const out: Json = {};
  for (const [k, v] of Object.entries(config)) out[map[k] ?? k] = v;
  return out;
}

/** A subscribe topic (wildcards allowed in their own level) and a publish topic (no wildcards). */
function validSubscribeTopic(topic: unknown): boolean {
  if (typeof topic !== 'string' || topic.length === 0 || topic.includes('\u0000')) return false;
  return topic.split('/').every((level, i, all) => (level.includes('#') ? level === '#' && i === all.length - 1 : !level.includes('+') || level === '+'));
}
const validPublishTopic = (topic: unknown) => typeof topic === 'string' && topic.length > 0 && !/[+#]/.test(topic);

export interface ExpandedComponent extends Json {
  platform: string;
}

/** The components as HA sees them after expansion and inheritance of the shared options. */
export function expandDeviceConfig(payload: Json): { top: Json; components: Record<string, ExpandedComponent> } {
  const top = expand(payload, TOP);
  const components: Record<string, ExpandedComponent> = {};
  for (const [id, raw] of Object.entries(isObject(top.components) ? top.components : {})) {
    const own = expand(raw as Json, COMPONENT);
    for (const option of SHARED) if (!(option in own) && option in top) own[option] = top[option];
    components[id] = own as ExpandedComponent;
  }
  return { top, components };
}

export function checkDeviceDiscovery(payload: unknown): string[] {
  const problems: string[] = [];
  if (!isObject(payload)) return ['payload is not a JSON object'];
  const { top, components } = expandDeviceConfig(payload);

  if (!isObject(top.device)) problems.push('device (dev) is required');
  else {
    const device = expand(top.device, DEVICE);
    const ids = device.identifiers;
    if (!(typeof ids === 'string' && ids) && !(Array.isArray(ids) && ids.length > 0 && ids.every((i) => typeof i === 'string'))) {
      problems.push('device needs at least one identifier');
    }
  }
  if (!isObject(top.origin)) problems.push('origin (o) is required for device discovery');
  else if (typeof expand(top.origin, ORIGIN).name !== 'string') problems.push('origin.name is required');
  if (!isObject(top.components) || Object.keys(top.components).length === 0) problems.push('components (cmps) must be a non-empty map');
  if ('availability' in top) {
    if (!Array.isArray(top.availability) || top.availability.length === 0) problems.push('availability must be a list');
    else for (const a of top.availability) if (!isObject(a) || !validSubscribeTopic(a.topic)) problems.push(`availability entry ${JSON.stringify(a)} needs a topic`);
    if ('availability_topic' in top) problems.push('availability and availability_topic are exclusive');
  }
  if ('availability_mode' in top && !['all', 'any', 'latest'].includes(String(top.availability_mode))) problems.push('availability_mode must be all, any or latest');
  if ('qos' in top && ![0, 1, 2].includes(top.qos as number)) problems.push('qos must be 0, 1 or 2');
  if (JSON.stringify(payload).includes('"object_id"') || JSON.stringify(payload).includes('"obj_id"')) problems.push('object_id is removed in HA 2026.4; use default_entity_id');

  const uniqueIds = new Set<string>();
  for (const [id, c] of Object.entries(components)) {
    const where = `cmps.${id}`;
    const p = c.platform;
    if (!PLATFORMS.has(p)) {
      problems.push(`${where}: platform (p) ${JSON.stringify(p)} is not supported`);
      continue;
    }
    if (ENTITY_PLATFORMS.has(p)) {
      if (typeof c.unique_id !== 'string' || !c.unique_id) problems.push(`${where}: unique_id is required in device discovery`);
      else if (uniqueIds.has(c.unique_id)) problems.push(`${where}: unique_id ${c.unique_id} is not unique`);
      else uniqueIds.add(c.unique_id);
      if ('default_entity_id' in c && !new RegExp(`^${p}\\.[a-z0-9_]+$`).test(String(c.default_entity_id))) {
        problems.push(`${where}: default_entity_id ${JSON.stringify(c.default_entity_id)} is not a ${p}.<object_id> entity id`);
      }
      if ('entity_category' in c && !ENTITY_CATEGORIES.has(String(c.entity_category))) problems.push(`${where}: entity_category must be config or diagnostic`);
      if ('availability' in c && (!Array.isArray(c.availability) || c.availability.some((a) => !isObject(a) || !validSubscribeTopic(a.topic)))) {
        problems.push(`${where}: availability entries need topics`);
      }
      if ('json_attributes_topic' in c && !validSubscribeTopic(c.json_attributes_topic)) problems.push(`${where}: bad json_attributes_topic`);
    }
    switch (p) {
      case 'sensor':
        if (!validSubscribeTopic(c.state_topic)) problems.push(`${where}: sensor needs a state_topic`);
        if ('device_class' in c && !SENSOR_CLASSES.has(String(c.device_class))) problems.push(`${where}: unknown sensor device_class`);
        if (c.device_class === 'enum' && (!Array.isArray(c.options) || c.options.length === 0)) problems.push(`${where}: enum sensor needs options`);
        if (c.device_class === 'enum' && ('unit_of_measurement' in c || 'state_class' in c)) problems.push(`${where}: enum sensor takes no unit or state_class`);
        if (c.device_class === 'battery' && c.unit_of_measurement !== '%') problems.push(`${where}: battery is in %`);
        if (c.device_class === 'signal_strength' && !['dB', 'dBm'].includes(String(c.unit_of_measurement))) problems.push(`${where}: signal strength is in dB or dBm`);
        if ('state_class' in c && !['measurement', 'total', 'total_increasing'].includes(String(c.state_class))) problems.push(`${where}: bad state_class`);
        break;
      case 'binary_sensor':
        if (!validSubscribeTopic(c.state_topic)) problems.push(`${where}: binary_sensor needs a state_topic`);
        if ('device_class' in c && !BINARY_SENSOR_CLASSES.has(String(c.device_class))) problems.push(`${where}: unknown binary_sensor device_class`);
        break;
      case 'event':
        if (!validSubscribeTopic(c.state_topic)) problems.push(`${where}: event needs a state_topic`);
        if (!Array.isArray(c.event_types) || c.event_types.length === 0 || c.event_types.some((t) => typeof t !== 'string')) {
          problems.push(`${where}: event needs event_types`);
        }
        if ('device_class' in c && !EVENT_CLASSES.has(String(c.device_class))) problems.push(`${where}: unknown event device_class`);
        break;
      case 'notify':
      case 'button':
        if (!validPublishTopic(c.command_topic)) problems.push(`${where}: ${p} needs a command_topic to publish to`);
        break;
      case 'switch':
        if (!validPublishTopic(c.command_topic)) problems.push(`${where}: switch needs a command_topic`);
        if ('state_topic' in c && !validSubscribeTopic(c.state_topic)) problems.push(`${where}: bad switch state_topic`);
        break;
      case 'device_automation':
        if (c.automation_type !== 'trigger') problems.push(`${where}: automation_type must be trigger`);
        if (!validSubscribeTopic(c.topic)) problems.push(`${where}: trigger needs a topic`);
        if (typeof c.type !== 'string' || typeof c.subtype !== 'string') problems.push(`${where}: trigger needs type and subtype`);
        else if (!TRIGGER_TYPES.has(c.type)) problems.push(`${where}: trigger type ${c.type} is not one the frontend names`);
        if ('payload' in c && typeof c.payload !== 'string') problems.push(`${where}: trigger payload must be a string`);
        break;
    }
  }
  return problems;
}
