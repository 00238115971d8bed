import { describe, expect, it } from 'vitest';
import { MAX_TOOL_RESULT_CHARS, ToolRegistry, type Tool } from '../../gateway/brain/tools.ts';
import { createDateTimeTool, DATETIME_TOOL_NAME, describeDateTime } from '../../gateway/brain/tools/datetime.ts';
import { ProviderError } from '../../gateway/providers.ts';

const context = () => ({ deviceId: 'dev1', signal: new AbortController().signal });
const echo: Tool = {
  name: 'echo',
  description: 'Echoes its text',
  parameters: { type: 'object', properties: { text: { type: 'string' } }, required: ['text'] },
  execute: (args) => `echo: ${String(args.text)}`,
};

describe('ToolRegistry', () => {
  it('lists definitions and runs a registered tool with parsed arguments', async () => {
    const registry = new ToolRegistry([echo]);
    expect(registry.definitions()).toEqual([{ name: 'echo', description: 'Echoes its text', parameters: echo.parameters }]);
    expect(await registry.run({ id: 'c1', name: 'echo', arguments: '{"text":"hi"}' }, context())).toBe('echo: hi');
  });

  it('reports mistakes to the model instead of failing the reply', async () => {
    const registry = new ToolRegistry([echo, { ...echo, name: 'broken', execute: () => { throw new Error('sensor offline'); } }]);
    expect(await registry.run({ id: 'c', name: 'nope', arguments: '{}' }, context())).toBe('error: there is no tool named "nope"');
    expect(await registry.run({ id: 'c', name: 'echo', arguments: '{"text":' }, context())).toBe('error: the arguments are not valid JSON');
    expect(await registry.run({ id: 'c', name: 'echo', arguments: '[1]' }, context())).toBe('error: the arguments must be a JSON object');
    expect(await registry.run({ id: 'c', name: 'broken', arguments: '' }, context())).toBe('error: sensor offline');
  });

  it('a tool that does not answer in time is reported as failed', async () => {
    const slow: Tool = { ...echo, name: 'slow', execute: () => new Promise(() => {}) };
    const registry = new ToolRegistry([slow], 100);
    expect(await registry.run({ id: 'c', name: 'slow', arguments: '{}' }, context())).toBe('error: the tool did not answer within 100 ms');
  });

  it('an abort of the turn stops a running tool and ends the reply', async () => {
    let toolSignal: AbortSignal | undefined;
    const waiting: Tool = { ...echo, name: 'waiting', execute: (_args, ctx) => { toolSignal = ctx.signal; return new Promise(() => {}); } };
    const registry = new ToolRegistry([waiting]);
    const controller = new AbortController();
    const pending = registry.run({ id: 'c', name: 'waiting', arguments: '{}' }, { deviceId: 'd', signal: controller.signal });
    controller.abort();
    const error = await pending.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ProviderError);
    expect((error as ProviderError).reason).toBe('aborted');
    expect(toolSignal?.aborted).toBe(true);
  });

  it('cuts very long results', async () => {
    const registry = new ToolRegistry([{ ...echo, execute: () => 'x'.repeat(MAX_TOOL_RESULT_CHARS * 2) }]);
    const result = await registry.run({ id: 'c', name: 'echo', arguments: '{}' }, context());
    expect(result.length).toBe(MAX_TOOL_RESULT_CHARS + 1);
  });

  it('refuses duplicate and malformed names', () => {
    const registry = new ToolRegistry([echo]);
    expect(() => registry.register(echo)).toThrow(/already registered/);
    expect(() => registry.register({ ...echo, name: 'has space' })).toThrow(/invalid tool name/);
  });
});

describe('date and time tool', () => {
  const moment = new Date(Date.UTC(2026, 6, 4, 16, 5, 9)); // 4 July 2026, 16:05:09 UTC

  it('describes a moment in the gateway time zone, with the UTC offset', () => {
    expect(describeDateTime(moment, 'Europe/Paris')).toEqual({
      date: 'Saturday, July 4, 2026',
      time: '6:05 PM',
      time24h: '18:05',
      timeZone: 'Europe/Paris',
      iso: '2026-07-04T18:05:09+02:00',
    });
    expect(describeDateTime(moment, 'America/New_York').iso).toBe('2026-07-04T12:05:09-04:00');
    expect(describeDateTime(new Date(Date.UTC(2026, 0, 4, 16, 5, 9)), 'America/New_York').iso).toBe('2026-01-04T11:05:09-05:00');
    expect(describeDateTime(moment, 'UTC').iso).toBe('2026-07-04T16:05:09+00:00');
    expect(describeDateTime(moment, 'Asia/Kolkata').iso).toBe('2026-07-04T21:35:09+05:30');
  });

  it('is a tool with no parameters that returns JSON for the model', async () => {
    const tool = createDateTimeTool({ timeZone: 'Asia/Tokyo', now: () => moment });
    expect(tool.name).toBe(DATETIME_TOOL_NAME);
    expect(tool.parameters).toMatchObject({ type: 'object', properties: {} });
    const result = JSON.parse(await new ToolRegistry([tool]).run({ id: 'c', name: DATETIME_TOOL_NAME, arguments: '{}' }, context()));
    expect(result).toMatchObject({ date: 'Sunday, July 5, 2026', time24h: '01:05', timeZone: 'Asia/Tokyo' });
  });

  it('uses the real clock by default', async () => {
    const before = Date.now();
    const result = JSON.parse(await createDateTimeTool({ timeZone: 'UTC' }).execute({}, context())) as { iso: string };
    const reported = Date.parse(result.iso);
    expect(reported).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(reported).toBeLessThanOrEqual(Date.now());
  });

  it('refuses an unknown time zone at creation', () => {
    expect(() => createDateTimeTool({ timeZone: 'Mars/Olympus_Mons' })).toThrow();
  });
});
