/**
 * Which home entities the LLM may touch (glob patterns over entity ids), how a spoken name
 * finds one, and what to publish to switch it, following Home Assistant's own MQTT schemas:
 * `default` (payload_on/off to command_topic, brightness to brightness_command_topic) and
 * `json` (`{"state":"ON","brightness":N}` to command_topic).
 */
import type { HomeEntity } from './discovery-config.ts';

/** Entity ids matched by any of the patterns (`*` matches any run of characters). */
export class EntityAllowlist {
  private readonly patterns: RegExp[];

  constructor(readonly globs: readonly string[]) {
    this.patterns = globs.map(
      (glob) => new RegExp(`^${glob.trim().toLowerCase().split('*').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`),
    );
  }

  allows(entityId: string): boolean {
    const id = entityId.toLowerCase();
    return this.patterns.some((pattern) => pattern.test(id));
  }
}

/** Words that do not tell entities apart ("the kitchen light" is "kitchen light"). */
const FILLER = new Set(['the', 'a', 'an', 'my', 'our', 'in', 'on', 'of', 'please']);

function words(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w.length > 0 && !FILLER.has(w));
}

export type Resolution<E extends HomeEntity> =
  | { kind: 'found'; entity: E }
  | { kind: 'ambiguous'; candidates: E[] }
  | { kind: 'not_found' };

/**
 * Finds the entity a person means: its exact entity id, else the one whose name (or id)
 * contains every word said; when several do, an exact name wins, else it is ambiguous.
 */
export function resolveEntity<E extends HomeEntity>(entities: readonly E[], said: string): Resolution<E> {
  const wanted = said.trim().toLowerCase();
  const exactId = entities.find((e) => e.entityId === wanted);
  if (exactId) return { kind: 'found', entity: exactId };
  const query = words(said);
  if (query.length === 0) return { kind: 'not_found' };
  const key = query.join(' ');
  const matches = entities.filter((e) => {
    const have = new Set([...words(e.name), ...words(e.entityId.split('.')[1] ?? '')]);
    return query.every((w) => have.has(w) || (w.endsWith('s') && have.has(w.slice(0, -1))));
  });
  if (matches.length === 1) return { kind: 'found', entity: matches[0]! };
  const exactName = matches.filter((e) => words(e.name).join(' ') === key);
  if (exactName.length === 1) return { kind: 'found', entity: exactName[0]! };
  return matches.length === 0 ? { kind: 'not_found' } : { kind: 'ambiguous', candidates: matches };
}

export interface ControlRequest {
  on: boolean;
  /** 1–100 %, lights only (implies on). */
  brightness?: number;
}

export interface MqttCommand {
  topic: string;
  payload: string;
  qos: 0 | 1;
  retain: boolean;
}

/** The messages that make `entity` do `request`; throws a readable Error when it cannot. */
export function commandsFor(entity: HomeEntity, request: ControlRequest): MqttCommand[] {
  const { qos, retain } = entity;
  const send = (topic: string, payload: string): MqttCommand => ({ topic, payload, qos, retain });
  const level = request.brightness;
  if (level !== undefined) {
    if (!entity.dimmer) throw new Error(`${entity.name} cannot be dimmed`);
    if (!request.on) throw new Error('brightness only goes with turning on');
  }
  const raw = level === undefined || !entity.dimmer ? undefined : Math.max(1, Math.round((Math.min(100, Math.max(1, level)) / 100) * entity.dimmer.scale));
  if (entity.schema === 'json') {
    return [send(entity.commandTopic, JSON.stringify({ state: request.on ? 'ON' : 'OFF', ...(raw !== undefined ? { brightness: raw } : {}) }))];
  }
  const commands = [send(entity.commandTopic, request.on ? entity.payloadOn : entity.payloadOff)];
  if (raw !== undefined && entity.dimmer?.commandTopic) commands.push(send(entity.dimmer.commandTopic, String(raw)));
  return commands;
}
