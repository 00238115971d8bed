/**
 * The gateway's MCP client against the simulator's MCP server (shaped like the firmware's),
 * wired back to back: numeric ids, paging, names made valid and mapped back, results, errors,
 * timeouts, late and unknown replies, and the end of the session.
 */
import { describe, expect, it } from 'vitest';
import { SimMcpServer, defaultSimTools, type SimDeviceState, type SimTool } from '../../device-sim/xiaozhi/mcp-server.ts';
import { ToolNameMap } from '../../gateway/xiaozhi/device-tool-names.ts';
import { DeviceMcpClient } from '../../gateway/xiaozhi/mcp-client.ts';
import { createCaptureLogger } from '../fakes/capture-logger.ts';
import { passes } from '../e2e/xiaozhi-harness.ts';

function pair(options: { tools?: SimTool[]; pageSize?: number; silent?: string[]; toolTimeoutMs?: number; drop?: (payload: Record<string, unknown>) => boolean } = {}) {
  const state: SimDeviceState = { volume: 50, brightness: 80 };
  const server = new SimMcpServer(options.tools ?? defaultSimTools(state), { pageSize: options.pageSize, silentTools: options.silent });
  const log = createCaptureLogger();
  const sent: Array<Record<string, unknown>> = [];
  const client: DeviceMcpClient = new DeviceMcpClient({
    deviceId: 'd1',
    toolTimeoutMs: options.toolTimeoutMs ?? 2_000,
    listTimeoutMs: 500,
    logger: log.logger,
    send: (payload) => {
      sent.push(payload);
      if (options.drop?.(payload)) return;
      const response = server.handle(payload);
      if (response) queueMicrotask(() => client.receive(response));
    },
  });
  return { client, server, state, log, sent };
}

const context = () => ({ deviceId: 'd1', signal: new AbortController().signal });

describe('DeviceMcpClient', () => {
  it('initializes, lists every page with numeric ids, and offers the tools under valid names', async () => {
    const { client, server, sent } = pair({ pageSize: 1 });
    client.start();
    await passes(() => expect(client.definitions()).toHaveLength(3));
    expect(server.methods).toEqual(['initialize', 'tools/list', 'tools/list', 'tools/list']);
    expect(sent.map((p) => p.id)).toEqual([1, 2, 3, 4]);
    expect(sent.map((p) => p.params)).toEqual([
      expect.objectContaining({ protocolVersion: '2024-11-05' }),
      {},
      { cursor: 'self.audio_speaker.set_volume' },
      { cursor: 'self.screen.set_brightness' },
    ]);
    const [status, volume] = client.definitions();
    expect(status!.name).toBe('self_get_device_status');
    expect(volume).toEqual({
      name: 'self_audio_speaker_set_volume',
      // The device's own names in descriptions become the model's.
      description: expect.stringContaining('call `self_get_device_status` tool first'),
      parameters: { type: 'object', properties: { volume: { type: 'integer', minimum: 0, maximum: 100 } }, required: ['volume'] },
    });
  });

  it('calls a tool by its device name and returns its text; an isError result and a JSON-RPC error read as errors', async () => {
    const { client, state, server } = pair();
    client.start();
    await passes(() => expect(client.definitions()).toHaveLength(3));
    expect(await client.run({ id: 'a', name: 'self_audio_speaker_set_volume', arguments: '{"volume":30}' }, context())).toBe('true');
    expect(state.volume).toBe(30);
    expect(server.calls.at(-1)).toEqual({ name: 'self.audio_speaker.set_volume', arguments: { volume: 30 } });
    expect(await client.run({ id: 'b', name: 'self_audio_speaker_set_volume', arguments: '{"volume":300}' }, context())).toBe('error: volume must be an integer from 0 to 100');
    expect(await client.run({ id: 'c', name: 'self_get_device_status', arguments: '' }, context())).toContain('"volume":30');
    expect(await client.run({ id: 'd', name: 'nope', arguments: '{}' }, context())).toBe('error: there is no tool named "nope"');
    expect(await client.run({ id: 'e', name: 'self_get_device_status', arguments: '[1]' }, context())).toBe('error: the arguments must be a JSON object');
    expect(await client.run({ id: 'f', name: 'self_get_device_status', arguments: '{' }, context())).toBe('error: the arguments are not valid JSON');

    const erring = pair({ drop: (p) => p.method === 'tools/call' });
    erring.client.start();
    await passes(() => expect(erring.client.definitions()).toHaveLength(3));
    const call = erring.client.run({ id: 'g', name: 'self_get_device_status', arguments: '{}' }, context());
    // mcp_server.cc errors carry a message and no code.
    erring.client.receive({ jsonrpc: '2.0', id: erring.sent.at(-1)!.id, error: { message: 'Unknown tool: self.get_device_status' } });
    expect(await call).toBe('error: Unknown tool: self.get_device_status');
  });

  it('a tool that never answers times out for the model; its late reply, unknown ids and junk are ignored and logged once', async () => {
    const { client, log } = pair({ silent: ['self.screen.set_brightness'], toolTimeoutMs: 200 });
    client.start();
    await passes(() => expect(client.definitions()).toHaveLength(3));
    expect(await client.run({ id: 'a', name: 'self_screen_set_brightness', arguments: '{"brightness":1}' }, context())).toBe(
      'error: the device did not answer tools/call within 200 ms',
    );
    for (const junk of [{ jsonrpc: '2.0', id: 4, result: {} }, { jsonrpc: '2.0', id: 77, result: {} }, { id: 'x', result: {} }, 'text', null, { method: 'notifications/x' }]) client.receive(junk);
    expect(log.matching('unknown or expired id')).toHaveLength(1);
    expect(log.matching('malformed MCP message')).toHaveLength(1);
  });

  it('an aborted turn stops waiting for its tool (the abort, not a result, reaches the responder)', async () => {
    const { client } = pair({ silent: ['self.screen.set_brightness'] });
    client.start();
    await passes(() => expect(client.definitions()).toHaveLength(3));
    const controller = new AbortController();
    const pending = client.run({ id: 'a', name: 'self_screen_set_brightness', arguments: '{}' }, { deviceId: 'd1', signal: controller.signal });
    controller.abort();
    await expect(pending).rejects.toThrow(/aborted/);
  });

  it('a device that answers initialize with an error, or never answers tools/list, offers no tools', async () => {
    const failing = pair({ drop: (p) => p.method === 'initialize' });
    failing.client.start();
    failing.client.receive({ jsonrpc: '2.0', id: 1, error: { message: 'not now' } });
    await passes(() => expect(failing.log.matching('device tools unavailable')).toEqual([expect.objectContaining({ err: 'initialize failed: not now' })]));
    expect(failing.client.definitions()).toEqual([]);
    const noList = pair({ drop: (p) => p.method === 'tools/list' });
    noList.client.start();
    await passes(() => expect(noList.log.matching('device tools unavailable')).toHaveLength(1));
    expect(noList.client.definitions()).toEqual([]);
  });

  it('the session ending fails pending calls at once', async () => {
    const { client } = pair({ silent: ['self.screen.set_brightness'] });
    client.start();
    await passes(() => expect(client.definitions()).toHaveLength(3));
    const pending = client.run({ id: 'a', name: 'self_screen_set_brightness', arguments: '{}' }, context());
    client.close();
    expect(await pending).toBe('error: the device disconnected');
  });
});

describe('ToolNameMap', () => {
  it('makes names valid for the LLM API, keeps them one to one, and maps them back exactly', () => {
    const names = new ToolNameMap();
    expect(names.add('self.audio_speaker.set_volume')).toBe('self_audio_speaker_set_volume');
    expect(names.add('self_audio_speaker.set_volume')).toBe('self_audio_speaker_set_volume_2');
    expect(names.add('self.audio_speaker.set_volume')).toBe('self_audio_speaker_set_volume');
    expect(names.add('灯.开')).toBe('___');
    const long = `self.${'x'.repeat(100)}`;
    expect(names.add(long)).toMatch(/^[a-zA-Z0-9_-]{64}$/);
    expect(names.deviceName('self_audio_speaker_set_volume_2')).toBe('self_audio_speaker.set_volume');
    expect(names.deviceName('self_audio_speaker_set_volume')).toBe('self.audio_speaker.set_volume');
    expect(names.deviceName('unknown')).toBeUndefined();
  });
});
