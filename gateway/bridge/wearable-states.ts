/**
 * Session events → the wearable's state topics: battery, charging and signal from `status`,
 * activity and listening from the session state, the last transcript and reply (state cut to
 * 255 characters, the full text in the attributes), button gestures as non-retained event and
 * trigger messages, and the device's availability (`voxgate/<id>/availability`, for every
 * transport: the MQTT transport publishes it too, WebSocket devices have only this).
 */
import type { ButtonEvent, Topics } from '../../protocol/index.ts';
import type { Logger } from '../logger.ts';
import type { DeviceState } from '../session/events.ts';
import type { MqttBus } from '../transport/index.ts';
import type { BridgeTopics } from './bridge-topics.ts';
import { PAYLOAD_OFF, PAYLOAD_ON, stateText } from './discovery-payload.ts';
import type { RetainedPublisher } from './retained-publisher.ts';

export const AVAILABLE = 'online';
export const UNAVAILABLE = 'offline';

export interface WearableStatesOptions {
  publisher: RetainedPublisher;
  bus: Pick<MqttBus, 'publish'>;
  topics: BridgeTopics;
  deviceTopics: Topics;
  publishText: boolean;
  logger: Logger;
  now?: () => number;
}

export class WearableStates {
  private readonly now: () => number;

  constructor(private readonly o: WearableStatesOptions) {
    this.now = o.now ?? Date.now;
  }

  connected(deviceId: string): Promise<unknown> {
    return Promise.all([this.availability(deviceId, true), this.activity(deviceId, 'idle')]);
  }

  disconnected(deviceId: string): Promise<unknown> {
    return Promise.all([this.availability(deviceId, false), this.state(deviceId, 'listening', PAYLOAD_OFF)]);
  }

  /** Always sent: the MQTT transport writes this topic too, so the last value we sent may not be the broker's. */
  availability(deviceId: string, online: boolean): Promise<unknown> {
    return this.o.publisher.publish('state', this.o.deviceTopics.availability(deviceId), online ? AVAILABLE : UNAVAILABLE, true);
  }

  activity(deviceId: string, state: DeviceState): Promise<unknown> {
    return Promise.all([
      this.state(deviceId, 'activity', state),
      this.state(deviceId, 'listening', state === 'listening' ? PAYLOAD_ON : PAYLOAD_OFF),
    ]);
  }

  status(deviceId: string, status: { battery?: number; charging?: boolean; rssi?: number }): Promise<unknown> {
    const jobs: Promise<unknown>[] = [];
    if (status.battery !== undefined) jobs.push(this.state(deviceId, 'battery', String(Math.round(status.battery))));
    if (status.charging !== undefined) jobs.push(this.state(deviceId, 'charging', status.charging ? PAYLOAD_ON : PAYLOAD_OFF));
    if (status.rssi !== undefined) jobs.push(this.state(deviceId, 'signal', String(Math.round(status.rssi))));
    return Promise.all(jobs);
  }

  transcript(deviceId: string, turn: number, text: string): Promise<unknown> {
    return this.text(deviceId, 'transcript', turn, text);
  }

  reply(deviceId: string, turn: number, text: string): Promise<unknown> {
    return this.text(deviceId, 'reply', turn, text);
  }

  muted(deviceId: string, muted: boolean): Promise<unknown> {
    return this.state(deviceId, 'mute', muted ? PAYLOAD_ON : PAYLOAD_OFF);
  }

  /** A gesture is an event, not a state: never retained (a replay would fire automations again). */
  async button(deviceId: string, event: ButtonEvent): Promise<void> {
    const { bus, topics } = this.o;
    try {
      await Promise.all([
        bus.publish(topics.buttonEvent(deviceId), JSON.stringify({ event_type: event }), { qos: 1, retain: false }),
        bus.publish(topics.buttonAction(deviceId), event, { qos: 1, retain: false }),
      ]);
    } catch (err) {
      this.o.logger.warn({ err, device: deviceId }, 'could not publish a button event');
    }
  }

  /** Clears every retained message of a removed wearable. */
  async forget(deviceId: string): Promise<void> {
    await Promise.all([
      this.o.publisher.clearUnder('state', `${this.o.topics.prefix}/${deviceId}/`),
      this.o.publisher.clear('state', this.o.deviceTopics.availability(deviceId)),
    ]);
  }

  private async text(deviceId: string, leaf: 'transcript' | 'reply', turn: number, text: string): Promise<void> {
    if (!this.o.publishText) return;
    const attributes = JSON.stringify({ text, turn, at: new Date(this.now()).toISOString() });
    // Attributes first: an automation triggered by the state then reads matching attributes.
    await this.state(deviceId, `${leaf}/attributes`, attributes);
    await this.state(deviceId, leaf, stateText(text));
  }

  private state(deviceId: string, leaf: Parameters<BridgeTopics['state']>[1], payload: string): Promise<boolean> {
    return this.o.publisher.publish('state', this.o.topics.state(deviceId, leaf), payload);
  }
}
