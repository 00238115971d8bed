/**
 * LLM tools for the wearer's home: list the lights and switches voxgate may control, and
 * switch one (on/off, brightness) by publishing to its command topic. The result says in
 * plain words what happened (confirmed by the device's state topic when it has one), so the
 * spoken reply can confirm it; an entity outside the allowlist is refused, and the result
 * says so.
 */
import type { Tool } from '../brain/tools.ts';
import type { Logger } from '../logger.ts';
import type { MqttBus } from '../transport/index.ts';
import type { EntityCatalog, KnownEntity } from './entity-catalog.ts';
import { commandsFor, resolveEntity, type EntityAllowlist } from './entity-control.ts';
import type { TopicFence } from './topic-fence.ts';

export const LIST_TOOL_NAME = 'list_home_devices';
export const CONTROL_TOOL_NAME = 'control_home_device';

export interface HomeToolsOptions {
  catalog: EntityCatalog;
  allowlist: EntityAllowlist;
  /** The bus once the bridge runs; until then the tools say home control is not ready. */
  bus: () => Pick<MqttBus, 'publish'> | undefined;
  /** Checked again before every publish (the catalog already refuses such entities). */
  fence?: TopicFence;
  confirmMs: number;
  maxListed: number;
  logger: Logger;
}

function describe(entity: KnownEntity): Record<string, unknown> {
  return {
    entity_id: entity.entityId,
    name: entity.name,
    type: entity.domain,
    state: entity.state,
    ...(entity.dimmer ? { dimmable: true } : {}),
    ...(entity.brightness !== undefined && entity.state === 'on' ? { brightness_percent: entity.brightness } : {}),
  };
}

function spokenState(entity: { name: string }, on: boolean, brightness?: number): string {
  return `${entity.name} is now ${on ? 'on' : 'off'}${on && brightness !== undefined ? ` at ${brightness}% brightness` : ''}`;
}

export function createHomeTools(o: HomeToolsOptions): Tool[] {
  const allowed = () => o.catalog.list().filter((e) => o.allowlist.allows(e.entityId));

  const list: Tool = {
    name: LIST_TOOL_NAME,
    description:
      'List the lights and switches in the home that you can turn on or off, with their current state. ' +
      'Use it when the user asks what devices there are or their state, or when unsure of a device name.',
    parameters: {
      type: 'object',
      properties: { query: { type: 'string', description: 'Optional words to filter by, e.g. "kitchen".' } },
      additionalProperties: false,
    },
    // Reads the catalogue only: may run while a reply is still speculative.
    sideEffects: false,
    execute(args) {
      const query = typeof args.query === 'string' ? args.query.trim() : '';
      let entities = allowed();
      if (query) {
        const found = resolveEntity(entities, query);
        entities = found.kind === 'found' ? [found.entity] : found.kind === 'ambiguous' ? found.candidates : [];
      }
      const shown = entities.slice(0, o.maxListed);
      return JSON.stringify({
        devices: shown.map(describe),
        ...(entities.length > shown.length ? { more: entities.length - shown.length } : {}),
        ...(entities.length === 0 ? { note: query ? `nothing matches "${query}"` : 'no controllable devices are known' } : {}),
      });
    },
  };

  const control: Tool = {
    name: CONTROL_TOOL_NAME,
    description:
      'Turn a light or switch in the home on or off, optionally setting a light\'s brightness. ' +
      'Name the device as the user did (e.g. "kitchen light") or by its entity_id. Then tell the user in a few words what happened.',
    parameters: {
      type: 'object',
      properties: {
        device: { type: 'string', description: 'The device name or entity_id, e.g. "kitchen light" or "light.kitchen".' },
        state: { type: 'string', enum: ['on', 'off'] },
        brightness: { type: 'integer', minimum: 1, maximum: 100, description: 'Brightness in percent, for lights being turned on.' },
      },
      required: ['device', 'state'],
      additionalProperties: false,
    },
    // Switches something in the home: never for a speculative reply (it waits for the commit).
    sideEffects: true,
    async execute(args, context) {
      const said = typeof args.device === 'string' ? args.device : '';
      if (!said.trim()) throw new Error('say which device');
      if (args.state !== 'on' && args.state !== 'off') throw new Error('state must be "on" or "off"');
      const on = args.state === 'on';
      // Brightness means something only when turning on.
      const brightness = on && typeof args.brightness === 'number' && Number.isFinite(args.brightness) ? Math.round(args.brightness) : undefined;

      const found = resolveEntity(o.catalog.list(), said);
      if (found.kind === 'not_found') return `not found: no light or switch called "${said}" is known.`;
      if (found.kind === 'ambiguous') {
        return `ambiguous: "${said}" could be ${found.candidates.map((e) => `${e.name} (${e.entityId})`).join(', ')}. Ask which one.`;
      }
      const entity = found.entity;
      if (!o.allowlist.allows(entity.entityId)) {
        o.logger.info({ entity: entity.entityId, device: context.deviceId }, 'home control refused: entity not in the allowlist');
        return `refused: ${entity.name} (${entity.entityId}) is not on the list of devices voxgate may control. Nothing was changed.`;
      }
      const bus = o.bus();
      if (!bus) throw new Error('home control is not connected yet');
      const commands = commandsFor(entity, { on, brightness });
      const fenced = commands.find((command) => o.fence?.refusal(command.topic) !== undefined);
      if (fenced) {
        o.logger.warn({ entity: entity.entityId, topic: fenced.topic.slice(0, 200), device: context.deviceId }, 'home control refused: the command topic is fenced');
        return `refused: ${entity.name} (${entity.entityId}) cannot be controlled by voxgate. Nothing was changed.`;
      }
      for (const command of commands) await bus.publish(command.topic, command.payload, { qos: command.qos, retain: command.retain });
      o.logger.info({ entity: entity.entityId, on, brightness, device: context.deviceId }, 'home device switched');

      if (!entity.stateTopic || entity.stateUnreadable) return `done: sent ${entity.name} the command to turn ${on ? 'on' : 'off'} (it does not report its state).`;
      const confirmed = await o.catalog.waitForState(
        entity.entityId,
        (status) => status.state === (on ? 'on' : 'off') && (brightness === undefined || status.brightness === undefined || Math.abs(status.brightness - brightness) <= 2),
        o.confirmMs,
        context.signal,
      );
      if (confirmed) return `done: ${spokenState(entity, on, on ? confirmed.brightness : undefined)}.`;
      return `sent: asked ${entity.name} to turn ${on ? 'on' : 'off'}, but it has not confirmed yet.`;
    },
  };

  return [list, control];
}
