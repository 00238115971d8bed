/**
 * One wearable as a Home Assistant device, in HA's device-based discovery format
 * (`<prefix>/device/<node>/config`): `dev` (the device), `o` (origin: voxgate) and `cmps`
 * (its components, each with `p` = platform and a `unique_id`). Entity ids are suggested with
 * `default_entity_id` (`sensor.voxgate_kitchen_battery`), not the removed `object_id`.
 *
 * Availability is shared by every component: the gateway's state topic and the device's
 * availability topic, `availability_mode: all` (both must say `online`). The announcement
 * (notify) and mute entities override it with the gateway's state only: Home Assistant skips
 * unavailable entities in actions, and a message for a sleeping wearable is exactly what the
 * queue is for.
 */
import type { BUTTON_EVENTS } from '../../protocol/index.ts';
import type { BridgeTopics } from './bridge-topics.ts';

export const ORIGIN_NAME = 'voxgate';
export const DEVICE_MANUFACTURER = 'voxgate';
export const DEVICE_MODEL = 'Voice wearable';
/** What the activity sensor reports (the session's device states). */
export const ACTIVITY_STATES = ['idle', 'listening', 'thinking', 'speaking'] as const;
/** HA's device-trigger types for the protocol's button gestures (the frontend names these). */
export const BUTTON_TRIGGER_TYPES: Record<(typeof BUTTON_EVENTS)[number], string> = {
  press: 'button_short_press',
  double_press: 'button_double_press',
  long_press: 'button_long_press',
};
export const PAYLOAD_ON = 'ON';
export const PAYLOAD_OFF = 'OFF';
export const PAYLOAD_PRESS = 'PRESS';
/** HA shows at most 255 characters of a sensor state; the full text goes in the attributes. */
export const MAX_STATE_CHARS = 255;

export interface WearableDiscoveryInput {
  deviceId: string;
  name: string;
  topics: BridgeTopics;
  /** `voxgate/gateway/state`. */
  gatewayStateTopic: string;
  /** `voxgate/<id>/availability`. */
  deviceAvailabilityTopic: string;
  /** Include the last transcript/reply sensors. */
  publishText: boolean;
  /** The gateway's version, shown as the origin's software version. */
  swVersion?: string;
}

type Component = Record<string, unknown>;

/** `sensor.voxgate_kitchen_1_battery`: lower case letters, digits and underscores. */
export function entityIdFor(platform: string, node: string, key: string): string {
  return `${platform}.${`${node}_${key}`.toLowerCase().replace(/[^a-z0-9_]+/g, '_')}`;
}

/** Cuts a text to what a sensor state may hold, marking the cut. */
export function stateText(text: string): string {
  const chars = [...text];
  return chars.length <= MAX_STATE_CHARS ? text : `${chars.slice(0, MAX_STATE_CHARS - 1).join('')}…`;
}

export function wearableDiscovery(input: WearableDiscoveryInput): Record<string, unknown> {
  const { deviceId, topics } = input;
  const node = topics.nodeId(deviceId);
  const entity = (platform: string, key: string, options: Component): Component => ({
    p: platform,
    unique_id: `${node}_${key}`,
    default_entity_id: entityIdFor(platform, node, key),
    ...options,
  });
  const gatewayOnly = [{ topic: input.gatewayStateTopic }];

  const cmps: Record<string, Component> = {
    battery: entity('sensor', 'battery', {
      name: 'Battery',
      device_class: 'battery',
      unit_of_measurement: '%',
      state_class: 'measurement',
      entity_category: 'diagnostic',
      state_topic: topics.state(deviceId, 'battery'),
    }),
    charging: entity('binary_sensor', 'charging', {
      name: 'Charging',
      device_class: 'battery_charging',
      entity_category: 'diagnostic',
      state_topic: topics.state(deviceId, 'charging'),
      payload_on: PAYLOAD_ON,
      payload_off: PAYLOAD_OFF,
    }),
    signal: entity('sensor', 'signal', {
      name: 'Signal',
      device_class: 'signal_strength',
      unit_of_measurement: 'dBm',
      state_class: 'measurement',
      entity_category: 'diagnostic',
      state_topic: topics.state(deviceId, 'signal'),
    }),
    activity: entity('sensor', 'activity', {
      name: 'Activity',
      device_class: 'enum',
      options: [...ACTIVITY_STATES],
      icon: 'mdi:account-voice',
      state_topic: topics.state(deviceId, 'activity'),
    }),
    listening: entity('binary_sensor', 'listening', {
      name: 'Listening',
      icon: 'mdi:microphone',
      state_topic: topics.state(deviceId, 'listening'),
      payload_on: PAYLOAD_ON,
      payload_off: PAYLOAD_OFF,
    }),
    ...(input.publishText
      ? {
          last_transcript: entity('sensor', 'last_transcript', {
            name: 'Last transcript',
            icon: 'mdi:text-box-outline',
            state_topic: topics.state(deviceId, 'transcript'),
            json_attributes_topic: topics.state(deviceId, 'transcript/attributes'),
          }),
          last_reply: entity('sensor', 'last_reply', {
            name: 'Last reply',
            icon: 'mdi:message-reply-text-outline',
            state_topic: topics.state(deviceId, 'reply'),
            json_attributes_topic: topics.state(deviceId, 'reply/attributes'),
          }),
        }
      : {}),
    button: entity('event', 'button', {
      name: 'Button',
      device_class: 'button',
      event_types: Object.keys(BUTTON_TRIGGER_TYPES),
      state_topic: topics.buttonEvent(deviceId),
    }),
    ...Object.fromEntries(
      Object.entries(BUTTON_TRIGGER_TYPES).map(([event, type]) => [
        `button_${event}`,
        {
          p: 'device_automation',
          automation_type: 'trigger',
          topic: topics.buttonAction(deviceId),
          payload: event,
          type,
          subtype: 'button_1',
        },
      ]),
    ),
    announce: entity('notify', 'announce', {
      name: 'Announce',
      icon: 'mdi:bullhorn',
      command_topic: topics.command(deviceId, 'notify'),
      availability: gatewayOnly,
    }),
    stop_speaking: entity('button', 'stop_speaking', {
      name: 'Stop speaking',
      icon: 'mdi:stop-circle-outline',
      command_topic: topics.command(deviceId, 'stop'),
      payload_press: PAYLOAD_PRESS,
    }),
    mute: entity('switch', 'mute', {
      name: 'Mute announcements',
      icon: 'mdi:bell-off-outline',
      entity_category: 'config',
      command_topic: topics.command(deviceId, 'mute'),
      state_topic: topics.state(deviceId, 'mute'),
      payload_on: PAYLOAD_ON,
      payload_off: PAYLOAD_OFF,
      availability: gatewayOnly,
    }),
  };

  return {
    dev: {
      ids: [node],
      name: input.name,
      mf: DEVICE_MANUFACTURER,
      mdl: DEVICE_MODEL,
    },
    o: { name: ORIGIN_NAME, ...(input.swVersion ? { sw: input.swVersion } : {}) },
    cmps,
    availability: [{ topic: input.gatewayStateTopic }, { topic: input.deviceAvailabilityTopic }],
    availability_mode: 'all',
    qos: 1,
  };
}
