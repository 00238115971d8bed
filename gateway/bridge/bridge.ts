/**
 * The Home Assistant bridge, an extension with start()/stop() in the zigbee2mqtt manner:
 * every registered wearable is published as an HA device (discovery, idempotent, cleared when
 * the wearable is removed, re-published after HA's birth), its session events become states,
 * HA's commands make it speak or be quiet, and the LLM gets tools for the home's lights and
 * switches (or, modes `ha_conversation` and `ha_assist`, HA's conversation agent answers first).
 *
 * Built before the session hub (its tools, session events and responder wrapper are wired
 * into the brain and the hub), started once the bus and the sessions exist, stopped before them.
 */
import type { Tool } from '../brain/tools.ts';
import type { Responder } from '../brain/types.ts';
import type { Logger } from '../logger.ts';
import type { SessionEvents } from '../session/events.ts';
import type { SessionHub } from '../session/session-hub.ts';
import type { DeviceChange, DeviceRecord } from '../store/index.ts';
import type { AuthenticateService, MqttBus, Unsubscribe } from '../transport/index.ts';
import { createTopics } from '../../protocol/index.ts';
import { AnnouncementQueue } from './announcements.ts';
import { MAX_LISTED_ENTITIES, type BridgeConfig, type HomeAssistantApiConfig } from './bridge-config.ts';
import { createBridgeTopics, prefixesOverlap, type BridgeCommand } from './bridge-topics.ts';
import { ORIGIN_NAME, PAYLOAD_OFF, PAYLOAD_ON, wearableDiscovery } from './discovery-payload.ts';
import { EntityCatalog } from './entity-catalog.ts';
import { EntityAllowlist } from './entity-control.ts';
import { HaAssistResponder } from './ha-assist.ts';
import { HaConversationResponder } from './ha-conversation.ts';
import { createHomeTools } from './home-tools.ts';
import { RetainedPublisher } from './retained-publisher.ts';
import { createServiceAcl, createServiceAuthenticator, type ServiceVerifier } from './service-acl.ts';
import { createTopicFence } from './topic-fence.ts';
import { WearableStates } from './wearable-states.ts';

/** What the bridge needs from the device registry. */
export interface BridgeDevices {
  list(): DeviceRecord[];
  get(id: string): DeviceRecord | undefined;
  updateSettings(id: string, patch: Record<string, unknown>): DeviceRecord;
  onChange(listener: (change: DeviceChange) => void): () => void;
}

export interface HomeAssistantBridgeDeps {
  /** Its own section, Home Assistant's API (ha_assist), and the device topic prefix its topics must stay out of. */
  config: { bridge: BridgeConfig; mqttTopicPrefix: string; homeAssistant?: HomeAssistantApiConfig };
  devices: BridgeDevices;
  services: ServiceVerifier;
  logger: Logger;
  /** The gateway's version (the origin's `sw` in discovery). */
  version?: string;
  /** For the birth re-publish jitter; tests may fix it. */
  random?: () => number;
}

export interface BridgeRuntime {
  bus: MqttBus;
  sessions: Pick<SessionHub, 'announce' | 'interrupt' | 'connectedDevices'>;
}

export interface HomeAssistantBridge {
  /** Tools for the LLM (register them on the responder's ToolRegistry). */
  readonly tools: readonly Tool[];
  /** Listeners for the session hub (combine them with the others). */
  readonly sessionEvents: SessionEvents;
  /** Home Assistant's login to the embedded broker (service accounts with the service ACL). */
  readonly authenticateService: AuthenticateService;
  /** Modes `ha_conversation`/`ha_assist`: HA's conversation agent first, then `responder`; otherwise `responder` itself. */
  wrapResponder(responder: Responder): Responder;
  start(runtime: BridgeRuntime): Promise<void>;
  stop(): Promise<void>;
  /** Publishes wearables added and clears ones removed since the last look (runs periodically too). */
  resync(): Promise<void>;
}

interface Running {
  bus: MqttBus;
  sessions: BridgeRuntime['sessions'];
  publisher: RetainedPublisher;
  states: WearableStates;
  announcements: AnnouncementQueue;
  unsubscribes: Unsubscribe[];
  resyncTimer: NodeJS.Timeout;
  birthTimer?: NodeJS.Timeout;
  stopRegistry: () => void;
}

export function createHomeAssistantBridge(deps: HomeAssistantBridgeDeps): HomeAssistantBridge {
  const settings = deps.config.bridge;
  const devicePrefix = deps.config.mqttTopicPrefix;
  const log = deps.logger.child({ component: 'home-assistant' });
  for (const [name, prefix] of [
    ['bridge.topicPrefix', settings.topicPrefix],
    ['bridge.discoveryPrefix', settings.discoveryPrefix],
  ] as const) {
    // Home Assistant may read these whole; overlapping the device prefix would hand it the wearables' audio.
    if (prefixesOverlap(prefix, devicePrefix)) throw new Error(`${name} "${prefix}" overlaps the device topic prefix "${devicePrefix}"`);
  }
  const api = deps.config.homeAssistant;
  if (settings.mode === 'ha_assist' && (!api?.url || !api.token)) {
    throw new Error('bridge.mode ha_assist needs Home Assistant\'s URL and a long-lived access token (VOXGATE_HA_URL, VOXGATE_HA_TOKEN)');
  }
  const topics = createBridgeTopics({ discoveryPrefix: settings.discoveryPrefix, bridgePrefix: settings.topicPrefix, devicePrefix });
  const deviceTopics = createTopics(devicePrefix);
  const acl = createServiceAcl({ topics, devicePrefix, sharedTopics: settings.sharedTopics });
  const random = deps.random ?? Math.random;
  // Learned entities never get a topic of the wearables or of the bridge itself (see topic-fence.ts).
  const fence = createTopicFence({ devicePrefix, bridgePrefix: settings.topicPrefix });
  const catalog = new EntityCatalog({
    prefixes: settings.learnPrefixes.length > 0 ? settings.learnPrefixes : [settings.discoveryPrefix],
    skipOrigin: ORIGIN_NAME,
    fence,
    logger: log,
  });
  let running: Running | undefined;
  let conversation: HaConversationResponder | undefined;
  /** Wearables whose discovery config is out there. */
  const published = new Set<string>();
  let resyncing: Promise<void> = Promise.resolve();

  const tools = createHomeTools({
    catalog,
    allowlist: new EntityAllowlist(settings.allowEntities),
    bus: () => running?.bus,
    fence,
    confirmMs: settings.controlConfirmMs,
    maxListed: MAX_LISTED_ENTITIES,
    logger: log,
  });

  const isMuted = (deviceId: string) => deps.devices.get(deviceId)?.settings.muted === true;
  const isOnline = (r: Running, deviceId: string) =>
    r.sessions.connectedDevices().some((d) => d.deviceId === deviceId && d.state !== 'awaiting_hello');

  /** Publishes a wearable as it is in the registry now (a queued update must not use an old record). */
  async function publishDevice(r: Running, deviceId: string): Promise<void> {
    const device = deps.devices.get(deviceId);
    if (!device) return;
    const payload = wearableDiscovery({
      deviceId: device.id,
      name: device.name,
      topics,
      gatewayStateTopic: deviceTopics.gatewayState(),
      deviceAvailabilityTopic: deviceTopics.availability(device.id),
      publishText: settings.publishText,
      swVersion: deps.version,
    });
    const isNew = !published.has(device.id);
    published.add(device.id);
    const sent = await r.publisher.publish('discovery', topics.discoveryConfig(device.id), JSON.stringify(payload));
    if (sent) log.info({ device: device.id }, isNew ? 'wearable published to home assistant' : 'wearable discovery updated');
    await r.states.muted(device.id, isMuted(device.id)); // read now: a mute command may have come meanwhile
    // A wearable that is not connected now is offline, whatever a crash may have left retained.
    if (isNew) await r.states.availability(device.id, isOnline(r, device.id));
  }

  async function removeDevice(r: Running, deviceId: string): Promise<void> {
    published.delete(deviceId);
    r.announcements.drop(deviceId);
    await r.publisher.clear('discovery', topics.discoveryConfig(deviceId));
    await r.states.forget(deviceId);
    log.info({ device: deviceId }, 'wearable removed from home assistant');
  }

  function resync(): Promise<void> {
    resyncing = resyncing.then(async () => {
      const r = running;
      if (!r) return;
      const devices = deps.devices.list();
      const ids = new Set(devices.map((d) => d.id));
      for (const device of devices) await publishDevice(r, device.id);
      for (const id of [...published]) if (!ids.has(id)) await removeDevice(r, id);
    }).catch((err: unknown) => log.error({ err }, 'home assistant resync failed'));
    return resyncing;
  }

  function onCommand(r: Running, topic: string, payload: Buffer, retained: boolean): void {
    const command = topics.parseCommand(topic);
    // A retained command is an old one: replaying it on every restart would repeat it.
    if (!command || retained) return;
    const { deviceId } = command;
    if (!deps.devices.get(deviceId)) {
      log.warn({ device: deviceId, command: command.command }, 'command for an unknown wearable ignored');
      return;
    }
    runCommand(r, deviceId, command.command, payload.toString('utf8').trim());
  }

  function runCommand(r: Running, deviceId: string, command: BridgeCommand, text: string): void {
    switch (command) {
      case 'notify': {
        if (!text) return;
        const chars = [...text];
        if (chars.length > settings.maxAnnouncementChars) log.warn({ device: deviceId, chars: chars.length }, 'announcement too long; cut');
        r.announcements.say(deviceId, chars.slice(0, settings.maxAnnouncementChars).join(''));
        return;
      }
      case 'stop':
        r.announcements.stop(deviceId);
        return;
      case 'mute': {
        const value = text.toUpperCase();
        if (value !== PAYLOAD_ON && value !== PAYLOAD_OFF) {
          log.warn({ device: deviceId, payload: text.slice(0, 20) }, 'mute command is neither ON nor OFF; ignored');
          return;
        }
        const muted = value === PAYLOAD_ON;
        try {
          deps.devices.updateSettings(deviceId, { muted: muted ? true : null });
        } catch (err) {
          log.error({ err, device: deviceId }, 'could not store the mute setting');
          return;
        }
        if (muted) r.announcements.drop(deviceId);
        void r.states.muted(deviceId, muted);
        log.info({ device: deviceId, muted }, 'announcements muted state changed');
      }
    }
  }

  /** A retained config for a wearable that is no longer registered (removed while we were down): clear it. */
  function onOwnConfig(r: Running, topic: string, payload: Buffer): void {
    const deviceId = topics.parseDiscoveryConfig(topic);
    if (!deviceId || payload.length === 0 || deps.devices.get(deviceId)) return;
    try {
      const origin = (JSON.parse(payload.toString('utf8')) as { o?: { name?: unknown } }).o?.name;
      if (origin !== ORIGIN_NAME) return;
    } catch {
      return;
    }
    log.info({ device: deviceId }, 'clearing the home assistant config of a removed wearable');
    void r.publisher.clear('discovery', topic).then(() => r.states.forget(deviceId));
  }

  function onHaStatus(r: Running, payload: Buffer): void {
    const status = payload.toString('utf8').trim();
    if (status !== 'online') {
      log.info({ status }, 'home assistant status');
      return;
    }
    if (r.birthTimer) return; // one re-publish answers a burst of births
    const delay = settings.birthDelayMs + Math.floor(random() * settings.birthJitterMs);
    log.info({ delayMs: delay }, 'home assistant is online; re-publishing discovery and states');
    r.birthTimer = setTimeout(() => {
      r.birthTimer = undefined;
      if (running !== r) return;
      void r.publisher.republishAll().then((count) => log.info({ messages: count }, 're-published to home assistant'));
    }, delay);
    r.birthTimer.unref?.();
  }

  const ifRunning =
    <E>(handle: (r: Running, e: E) => unknown) =>
    (e: E) => {
      const r = running;
      if (r) Promise.resolve(handle(r, e)).catch((err: unknown) => log.error({ err }, 'home assistant update failed'));
    };

  const sessionEvents: SessionEvents = {
    deviceConnected: ifRunning(async (r, e: { deviceId: string }) => {
      if (!published.has(e.deviceId)) await resync(); // registered by another process since our last look
      await r.states.connected(e.deviceId);
      r.announcements.ready(e.deviceId);
    }),
    deviceDisconnected: ifRunning((r, e: { deviceId: string }) => r.states.disconnected(e.deviceId)),
    stateChanged: ifRunning((r, e: { deviceId: string; state: Parameters<WearableStates['activity']>[1] }) => {
      const done = r.states.activity(e.deviceId, e.state);
      if (e.state === 'idle') r.announcements.ready(e.deviceId);
      return done;
    }),
    transcript: ifRunning((r, e: { deviceId: string; turn: number; text: string }) => (e.text ? r.states.transcript(e.deviceId, e.turn, e.text) : undefined)),
    reply: ifRunning((r, e: { deviceId: string; turn: number; text: string }) => r.states.reply(e.deviceId, e.turn, e.text)),
    status: ifRunning((r, e: Parameters<NonNullable<SessionEvents['status']>>[0]) => r.states.status(e.deviceId, e)),
    button: ifRunning((r, e: Parameters<NonNullable<SessionEvents['button']>>[0]) => r.states.button(e.deviceId, e.event)),
  };

  return {
    tools,
    sessionEvents,
    authenticateService: createServiceAuthenticator(deps.services, acl, log),
    wrapResponder(responder) {
      if (settings.mode === 'ha_assist') {
        return new HaAssistResponder({ fallback: responder, url: api!.url!, token: api!.token!, agentId: api!.agentId, timeoutMs: settings.conversationTimeoutMs, logger: log });
      }
      if (settings.mode !== 'ha_conversation') return responder;
      conversation = new HaConversationResponder({ fallback: responder, topics, timeoutMs: settings.conversationTimeoutMs, logger: log });
      return conversation;
    },
    resync,
    async start({ bus, sessions }) {
      if (running) throw new Error('home assistant bridge already started');
      const publisher = new RetainedPublisher(bus, log);
      const r: Running = {
        bus,
        sessions,
        publisher,
        states: new WearableStates({ publisher, bus, topics, deviceTopics, publishText: settings.publishText, logger: log }),
        announcements: new AnnouncementQueue({
          sessions,
          expiryMs: settings.notifyExpiryMs,
          maxQueued: settings.maxQueuedAnnouncements,
          isMuted,
          logger: log,
        }),
        unsubscribes: [],
        resyncTimer: setInterval(() => void resync(), settings.registryResyncMs),
        stopRegistry: () => {},
      };
      r.resyncTimer.unref?.();
      running = r;
      try {
        r.unsubscribes.push(await bus.subscribe(topics.allCommands(), (topic, payload, retained) => onCommand(r, topic, payload, retained)));
        r.unsubscribes.push(await bus.subscribe(topics.allDeviceConfigs(), (topic, payload) => onOwnConfig(r, topic, payload)));
        await catalog.attach(bus);
        await conversation?.attach(bus);
        r.stopRegistry = deps.devices.onChange((change) => {
          if (running !== r) return;
          const step = change.type === 'added' ? () => publishDevice(r, change.id) : published.has(change.id) ? () => removeDevice(r, change.id) : undefined;
          if (step) resyncing = resyncing.then(step).catch((err: unknown) => log.error({ err, device: change.id }, 'home assistant update failed'));
        });
        await resync();
        for (const device of sessions.connectedDevices()) {
          if (device.state === 'awaiting_hello' || !published.has(device.deviceId)) continue;
          await r.states.connected(device.deviceId);
          await r.states.activity(device.deviceId, device.state);
        }
        // Last: a retained birth then asks for a re-publish of what is already out.
        r.unsubscribes.push(await bus.subscribe(topics.haStatus(), (_topic, payload) => onHaStatus(r, payload)));
        log.info(
          { discoveryPrefix: topics.discoveryPrefix, topicPrefix: topics.prefix, mode: settings.mode, wearables: published.size },
          'home assistant bridge started',
        );
      } catch (err) {
        await this.stop();
        throw err;
      }
    },
    async stop() {
      const r = running;
      if (!r) return;
      running = undefined;
      clearInterval(r.resyncTimer);
      clearTimeout(r.birthTimer);
      r.stopRegistry();
      for (const unsubscribe of r.unsubscribes.splice(0)) unsubscribe();
      catalog.detach();
      conversation?.detach();
      r.announcements.close();
      // Not awaiting `resyncing`: a publish to an unreachable external broker would hold shutdown;
      // with `running` unset, what is still queued does nothing, and closing the bus ends the rest.
      published.clear();
      log.info('home assistant bridge stopped');
    },
  };
}
