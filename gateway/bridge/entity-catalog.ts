/**
 * The lights and switches on the broker, learned from retained discovery configs under the
 * configured prefixes, with their current state read from their state topics. The catalog
 * follows configs as they change or disappear, and lets a caller wait for a state (to tell
 * the wearer whether a command took effect).
 */
import type { Logger } from '../logger.ts';
import type { MqttBus, Unsubscribe } from '../transport/index.ts';
import { readDiscoveryConfig, type HomeEntity } from './discovery-config.ts';
import type { TopicFence } from './topic-fence.ts';

export type EntityState = 'on' | 'off' | 'unknown';

export interface EntityStatus {
  state: EntityState;
  /** 0–100, when the entity reports brightness. */
  brightness?: number;
}

export interface KnownEntity extends HomeEntity, EntityStatus {}

export interface EntityCatalogOptions {
  /** Discovery prefixes to learn from. */
  prefixes: readonly string[];
  /** Configs with this origin name are not learned (voxgate's own wearables). */
  skipOrigin: string;
  /** Topics no learned entity may use (the wearables' and the bridge's own, `$SYS`). */
  fence?: TopicFence;
  logger: Logger;
}

type StateWaiter = { entityId: string; check: (status: EntityStatus) => boolean; resolve: (status: EntityStatus | undefined) => void };

export class EntityCatalog {
  private readonly entities = new Map<string, KnownEntity>();
  /** discovery topic → entity ids it declared. */
  private readonly bySource = new Map<string, string[]>();
  /** state topic → its subscription and the entities it feeds. */
  private readonly stateTopics = new Map<string, { unsubscribe?: Unsubscribe; entityIds: Set<string> }>();
  private readonly waiters = new Set<StateWaiter>();
  private readonly unsubscribes: Unsubscribe[] = [];
  private bus: MqttBus | undefined;
  private readonly log: Logger;

  constructor(private readonly o: EntityCatalogOptions) {
    this.log = o.logger.child({ component: 'home-entities' });
  }

  /** Starts learning from the bus (retained configs arrive at once, later ones as they come). */
  async attach(bus: MqttBus): Promise<void> {
    this.bus = bus;
    for (const prefix of this.o.prefixes) {
      for (const filter of [`${prefix}/+/+/config`, `${prefix}/+/+/+/config`]) {
        this.unsubscribes.push(await bus.subscribe(filter, (topic, payload) => this.onConfig(prefix, topic, payload.toString('utf8'))));
      }
    }
  }

  detach(): void {
    for (const unsubscribe of this.unsubscribes.splice(0)) unsubscribe();
    for (const entry of this.stateTopics.values()) entry.unsubscribe?.();
    this.stateTopics.clear();
    for (const waiter of [...this.waiters]) waiter.resolve(undefined);
    this.waiters.clear();
    this.bus = undefined;
  }

  list(): KnownEntity[] {
    return [...this.entities.values()].sort((a, b) => a.entityId.localeCompare(b.entityId));
  }

  get(entityId: string): KnownEntity | undefined {
    return this.entities.get(entityId);
  }

  /** Resolves with the entity's status once `check` holds (now or later), or undefined after `timeoutMs`. */
  waitForState(entityId: string, check: (status: EntityStatus) => boolean, timeoutMs: number, signal?: AbortSignal): Promise<EntityStatus | undefined> {
    const entity = this.entities.get(entityId);
    if (entity && check(entity)) return Promise.resolve({ state: entity.state, brightness: entity.brightness });
    return new Promise((resolve) => {
      const done = (status: EntityStatus | undefined) => {
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.waiters.delete(waiter);
        resolve(status);
      };
      const waiter: StateWaiter = { entityId, check, resolve: done };
      const onAbort = () => done(undefined);
      const timer = setTimeout(() => done(undefined), timeoutMs);
      signal?.addEventListener('abort', onAbort, { once: true });
      this.waiters.add(waiter);
    });
  }

  private onConfig(prefix: string, topic: string, payload: string): void {
    const reading = readDiscoveryConfig(prefix, topic, payload, this.o.skipOrigin, this.o.fence);
    if (reading.kind === 'ignored') {
      if (reading.reason !== 'our own config') this.log.debug({ topic, reason: reading.reason }, 'discovery config ignored');
      return;
    }
    for (const refused of reading.kind === 'entities' ? (reading.refused ?? []) : []) {
      // A forged config (someone with a service login trying to act as a wearable): worth a warning each time.
      this.log.warn({ topic, entity: refused.entityId, entityTopic: refused.topic.slice(0, 200), reason: refused.reason }, 'home entity refused: its topic is not one voxgate may switch');
    }
    const previous = new Set(this.bySource.get(topic) ?? []);
    const next: HomeEntity[] = [];
    for (const entity of reading.kind === 'entities' ? reading.entities : []) {
      const clash = this.entities.get(entity.entityId);
      if (clash && clash.source !== topic) {
        this.log.warn({ entity: entity.entityId, topic, other: clash.source }, 'two discovery configs claim one entity id; keeping the first');
        continue;
      }
      next.push(entity);
    }
    const nextIds = new Set(next.map((e) => e.entityId));
    for (const id of previous) if (!nextIds.has(id)) this.removeEntity(id);
    for (const entity of next) {
      // A config published again (e.g. after Home Assistant's birth) keeps the state it had.
      const known = this.entities.get(entity.entityId);
      this.entities.set(entity.entityId, { ...entity, state: known?.state ?? 'unknown', brightness: known?.brightness });
      const topics = [entity.stateTopic, entity.dimmer?.stateTopic].filter((t): t is string => t !== undefined);
      this.unfollowExcept(entity.entityId, topics);
      for (const stateTopic of topics) this.follow(stateTopic, entity.entityId);
    }
    if (nextIds.size > 0) this.bySource.set(topic, [...nextIds]);
    else this.bySource.delete(topic);
    if (reading.kind === 'entities' && nextIds.size > 0) this.log.debug({ topic, entities: [...nextIds] }, 'learned home entities');
  }

  private removeEntity(entityId: string): void {
    this.entities.delete(entityId);
    this.unfollowExcept(entityId, []);
  }

  /** Stops feeding `entityId` from state topics other than `keep` (unsubscribing topics nobody needs). */
  private unfollowExcept(entityId: string, keep: readonly string[]): void {
    for (const [topic, entry] of this.stateTopics) {
      if (keep.includes(topic) || !entry.entityIds.delete(entityId) || entry.entityIds.size > 0) continue;
      entry.unsubscribe?.();
      this.stateTopics.delete(topic);
    }
  }

  private follow(stateTopic: string, entityId: string): void {
    const existing = this.stateTopics.get(stateTopic);
    if (existing) {
      existing.entityIds.add(entityId);
      return;
    }
    const entry: { unsubscribe?: Unsubscribe; entityIds: Set<string> } = { entityIds: new Set([entityId]) };
    this.stateTopics.set(stateTopic, entry);
    const bus = this.bus;
    if (!bus) return;
    bus
      .subscribe(stateTopic, (topic, payload) => this.onState(topic, payload.toString('utf8')))
      .then((unsubscribe) => {
        if (this.stateTopics.get(stateTopic) === entry) entry.unsubscribe = unsubscribe;
        else unsubscribe(); // forgotten while subscribing
      })
      .catch((err: unknown) => this.log.warn({ err, topic: stateTopic }, 'could not follow a state topic'));
  }

  private onState(topic: string, payload: string): void {
    const entry = this.stateTopics.get(topic);
    if (!entry) return;
    for (const id of entry.entityIds) {
      const entity = this.entities.get(id);
      if (!entity) continue;
      if (topic === entity.stateTopic) {
        const state = readOnOff(entity, payload);
        if (state !== undefined) entity.state = state;
        if (entity.schema === 'json' && entity.dimmer) {
          const level = readBrightness(entity, payload, 'brightness');
          if (level !== undefined) entity.brightness = level;
        }
      }
      if (entity.dimmer && topic === entity.dimmer.stateTopic && entity.schema === 'default') {
        const level = readBrightness(entity, payload, entity.dimmer.stateKey);
        if (level !== undefined) entity.brightness = level;
      }
      for (const waiter of [...this.waiters]) {
        if (waiter.entityId === id && waiter.check(entity)) waiter.resolve({ state: entity.state, brightness: entity.brightness });
      }
    }
  }
}

function field(payload: string, key: string | undefined): unknown {
  if (key === undefined) return payload;
  try {
    const parsed: unknown = JSON.parse(payload);
    return typeof parsed === 'object' && parsed !== null ? (parsed as Record<string, unknown>)[key] : undefined;
  } catch {
    return undefined;
  }
}

/** on/off from a state payload; undefined when the payload says nothing about it. */
function readOnOff(entity: HomeEntity, payload: string): EntityState | undefined {
  if (entity.stateUnreadable) return 'unknown';
  const value = field(payload, entity.stateKey);
  if (typeof value !== 'string') return undefined;
  if (value === entity.stateOn) return 'on';
  if (value === entity.stateOff) return 'off';
  return 'unknown';
}

/** Brightness in percent of the entity's scale. */
function readBrightness(entity: HomeEntity, payload: string, key: string | undefined): number | undefined {
  const raw = field(payload, key);
  const value = typeof raw === 'number' ? raw : typeof raw === 'string' && raw.trim() !== '' ? Number(raw) : NaN;
  if (!Number.isFinite(value) || !entity.dimmer) return undefined;
  return Math.max(0, Math.min(100, Math.round((value / entity.dimmer.scale) * 100)));
}
