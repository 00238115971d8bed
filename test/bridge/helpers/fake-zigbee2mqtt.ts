/**
 * A fake zigbee2mqtt for the bridge tests: it publishes retained Home Assistant discovery
 * configs shaped like zigbee2mqtt's (a JSON-schema light, a default-schema switch) and plays
 * the devices: a command on `zigbee2mqtt/<name>/set` changes the state, which it publishes on
 * `zigbee2mqtt/<name>` as zigbee2mqtt does.
 */
import { createHash } from 'node:crypto';
import mqtt, { type MqttClient } from 'mqtt';

/** A made-up IEEE address, different for every name. */
const ieeeOf = (name: string) => `0x${createHash('sha1').update(name).digest('hex').slice(0, 16)}`;

export interface FakeDeviceConfig {
  configTopic: string;
  config: Record<string, unknown>;
  commandTopic: string;
  stateTopic: string;
}

function z2mDevice(name: string, ieee: string) {
  return {
    identifiers: [`zigbee2mqtt_${ieee}`],
    manufacturer: 'IKEA',
    model: 'TRADFRI bulb E27',
    name,
    via_device: 'zigbee2mqtt_bridge_0x00124b0024c5e8a1',
  };
}

const ORIGIN = { name: 'Zigbee2MQTT', sw: '2.6.0', url: 'https://www.zigbee2mqtt.io' };

export function zigbee2mqttLight(o: { name: string; objectId: string; ieee?: string }): FakeDeviceConfig {
  const ieee = o.ieee ?? ieeeOf(o.objectId);
  const base = `zigbee2mqtt/${o.name}`;
  return {
    configTopic: `homeassistant/light/${ieee}/light/config`,
    commandTopic: `${base}/set`,
    stateTopic: base,
    config: {
      availability: [{ topic: 'zigbee2mqtt/bridge/state', value_template: '{{ value_json.state }}' }],
      brightness: true,
      brightness_scale: 254,
      command_topic: `${base}/set`,
      device: z2mDevice(o.name, ieee),
      name: null,
      default_entity_id: `light.${o.objectId}`,
      origin: ORIGIN,
      schema: 'json',
      state_topic: base,
      supported_color_modes: ['brightness'],
      unique_id: `${ieee}_light_zigbee2mqtt`,
    },
  };
}

export function zigbee2mqttSwitch(o: { name: string; objectId: string; ieee?: string }): FakeDeviceConfig {
  const ieee = o.ieee ?? ieeeOf(o.objectId);
  const base = `zigbee2mqtt/${o.name}`;
  return {
    configTopic: `homeassistant/switch/${ieee}/switch/config`,
    commandTopic: `${base}/set`,
    stateTopic: base,
    config: {
      availability: [{ topic: 'zigbee2mqtt/bridge/state', value_template: '{{ value_json.state }}' }],
      command_topic: `${base}/set`,
      device: z2mDevice(o.name, ieee),
      name: null,
      default_entity_id: `switch.${o.objectId}`,
      origin: ORIGIN,
      payload_off: 'OFF',
      payload_on: 'ON',
      state_topic: base,
      unique_id: `${ieee}_switch_zigbee2mqtt`,
      value_template: '{{ value_json.state }}',
    },
  };
}

interface Played {
  device: FakeDeviceConfig;
  state: { state: 'ON' | 'OFF'; brightness?: number };
  commands: Array<Record<string, unknown> | string>;
}

export class FakeZigbee2mqtt {
  readonly devices = new Map<string, Played>();
  private constructor(readonly client: MqttClient) {
    client.on('message', (topic, payload) => this.onCommand(topic, payload.toString('utf8')));
  }

  static async connect(url: string, username: string, password: string): Promise<FakeZigbee2mqtt> {
    const client = await mqtt.connectAsync(url, { username, password, reconnectPeriod: 0, protocolVersion: 4, connectTimeout: 10_000 });
    return new FakeZigbee2mqtt(client);
  }

  /** Publishes the device's retained discovery config and its current state, and listens for commands. */
  async add(device: FakeDeviceConfig, initial: Played['state'] = { state: 'OFF' }): Promise<Played> {
    const played: Played = { device, state: { ...initial }, commands: [] };
    this.devices.set(device.commandTopic, played);
    await this.client.subscribeAsync(device.commandTopic, { qos: 1 });
    await this.client.publishAsync('zigbee2mqtt/bridge/state', JSON.stringify({ state: 'online' }), { qos: 1, retain: true });
    await this.client.publishAsync(device.configTopic, JSON.stringify(device.config), { qos: 1, retain: true });
    await this.publishState(played);
    return played;
  }

  /** zigbee2mqtt removing a device: an empty retained config. */
  async remove(device: FakeDeviceConfig): Promise<void> {
    this.devices.delete(device.commandTopic);
    await this.client.publishAsync(device.configTopic, '', { qos: 1, retain: true });
  }

  async close(): Promise<void> {
    await this.client.endAsync(true);
  }

  private onCommand(topic: string, text: string): void {
    const played = this.devices.get(topic);
    if (!played) return;
    let command: Record<string, unknown> | string = text;
    try {
      command = JSON.parse(text) as Record<string, unknown>;
    } catch {
      // a plain payload (default schema): ON / OFF
    }
    played.commands.push(command);
    const state = typeof command === 'string' ? command : command.state;
    if (state === 'ON' || state === 'OFF') played.state.state = state;
    if (typeof command === 'object' && typeof command.brightness === 'number') played.state.brightness = command.brightness;
    void this.publishState(played);
  }

  private publishState(played: Played): Promise<unknown> {
    return this.client.publishAsync(played.device.stateTopic, JSON.stringify({ linkquality: 120, ...played.state }), { qos: 1, retain: false });
  }
}
