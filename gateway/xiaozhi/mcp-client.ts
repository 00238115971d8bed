/**
 * The gateway as MCP client of a stock xiaozhi device (the device is the server;
 * main/mcp_server.cc, docs/mcp-protocol.md). After the hello of a device with `features.mcp`:
 * `initialize`, then `tools/list` page by page (`nextCursor`), all with numeric ids (the
 * firmware drops others). The tools become a ToolSource the session offers the model at
 * each turn; a call goes back to the device as `tools/call` and its text result to the model.
 *
 * Everything the device says is checked: replies with unknown ids, errors (with or without a
 * code), malformed tools and silence are logged once and never throw. A call the device does
 * not answer in time is reported to the model as failed.
 */
import { McpCallResult, McpResponse, McpTool, McpToolsPage } from '../../protocol/xiaozhi/index.ts';
import { MAX_TOOL_RESULT_CHARS } from '../brain/tools.ts';
import type { LlmToolCall, LlmToolDefinition, ToolSource } from '../brain/types.ts';
import type { Logger } from '../logger.ts';
import { ProviderError } from '../providers.ts';
import { LogOnce } from '../session/log-once.ts';
import { ToolNameMap } from './device-tool-names.ts';

export const MCP_PROTOCOL_VERSION = '2024-11-05';
/** `initialize` and each `tools/list` page must be answered within this. */
export const MCP_LIST_TIMEOUT_MS = 10_000;
/** LLM APIs take about a hundred tools at most, and each costs prompt tokens. */
export const MAX_DEVICE_TOOLS = 64;
/** The firmware pages at ~8 KB; a device that never stops paging is cut off here. */
export const MAX_TOOL_PAGES = 16;
const MAX_DESCRIPTION_CHARS = 1_024;

export interface DeviceMcpClientOptions {
  deviceId: string;
  /** Sends one JSON-RPC message to the device (the adapter wraps it in `{type:"mcp",payload}`). */
  send(payload: Record<string, unknown>): void;
  toolTimeoutMs: number;
  listTimeoutMs?: number;
  logger: Logger;
}

interface Pending {
  method: string;
  resolve(response: McpResponse): void;
  reject(error: Error): void;
  timer: NodeJS.Timeout;
}

export class DeviceMcpClient implements ToolSource {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly names = new ToolNameMap();
  private tools: LlmToolDefinition[] = [];
  private readonly once = new LogOnce();
  private readonly log: Logger;
  private closed = false;
  private started = false;

  constructor(private readonly o: DeviceMcpClientOptions) {
    this.log = o.logger.child({ component: 'mcp' });
  }

  /** Tools listed so far (all of them once listing finished). */
  definitions(): LlmToolDefinition[] {
    return this.tools;
  }

  /** Initializes and lists the device's tools in the background; failures are logged, never thrown. */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.discover().catch((err: unknown) => {
      if (!this.closed) this.log.warn({ err: (err as Error).message }, 'device tools unavailable');
    });
  }

  /** One `mcp.payload` from the device. */
  receive(payload: unknown): void {
    const parsed = McpResponse.safeParse(payload);
    if (!parsed.success) {
      const method = (payload as { method?: unknown } | null)?.method;
      // Requests and notifications from the device are not served (the firmware sends none today).
      if (typeof method === 'string') return void (this.once.first(`method:${method}`) && this.log.info({ method }, 'ignoring an MCP request from the device'));
      if (this.once.first('malformed')) this.log.warn({ issue: parsed.error.issues[0]?.message }, 'malformed MCP message from the device (logged once)');
      return;
    }
    const response = parsed.data;
    const pending = this.pending.get(response.id);
    if (!pending) {
      if (this.once.first('unknown-id')) this.log.warn({ id: response.id }, 'MCP reply with an unknown or expired id ignored (logged once)');
      return;
    }
    this.pending.delete(response.id);
    clearTimeout(pending.timer);
    pending.resolve(response);
  }

  async run(call: LlmToolCall, context: { deviceId: string; signal: AbortSignal }): Promise<string> {
    const name = this.names.deviceName(call.name);
    if (!name) return `error: there is no tool named "${call.name}"`;
    let args: unknown;
    try {
      args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch {
      return 'error: the arguments are not valid JSON';
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return 'error: the arguments must be a JSON object';
    const started = performance.now();
    try {
      const response = await this.request('tools/call', { name, arguments: args }, this.o.toolTimeoutMs, context.signal);
      const text = resultText(response);
      this.log.info({ tool: name, ms: Math.round(performance.now() - started), ok: !text.startsWith('error:') }, 'device tool called');
      return text.length > MAX_TOOL_RESULT_CHARS ? `${text.slice(0, MAX_TOOL_RESULT_CHARS)}…` : text;
    } catch (err) {
      if (context.signal.aborted) throw new ProviderError(`tool ${call.name}: aborted`, false, 'aborted');
      this.log.warn({ tool: name, err: (err as Error).message }, 'device tool failed');
      return `error: ${(err as Error).message}`;
    }
  }

  /** The session ended: pending calls fail at once, later replies are ignored. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const [id, pending] of this.pending) {
      clearTimeout(pending.timer);
      pending.reject(new Error('the device disconnected'));
      this.pending.delete(id);
    }
  }

  private async discover(): Promise<void> {
    const listTimeout = this.o.listTimeoutMs ?? MCP_LIST_TIMEOUT_MS;
    const init = await this.request(
      'initialize',
      { protocolVersion: MCP_PROTOCOL_VERSION, capabilities: {}, clientInfo: { name: 'voxgate', version: '1' } },
      listTimeout,
    );
    if ('error' in init) throw new Error(`initialize failed: ${init.error.message ?? 'no message'}`);
    const found: Array<{ name: string; description: string; inputSchema?: Record<string, unknown> }> = [];
    let cursor: string | undefined;
    for (let page = 0; page < MAX_TOOL_PAGES; page++) {
      const response = await this.request('tools/list', cursor === undefined ? {} : { cursor }, listTimeout);
      if ('error' in response) throw new Error(`tools/list failed: ${response.error.message ?? 'no message'}`);
      const result = McpToolsPage.safeParse(response.result);
      if (!result.success) throw new Error('tools/list returned no tools array');
      for (const raw of result.data.tools) {
        const tool = McpTool.safeParse(raw);
        if (tool.success) found.push(tool.data);
        else if (this.once.first('bad-tool')) this.log.warn({ issue: tool.error.issues[0]?.message }, 'a malformed device tool was skipped (logged once)');
      }
      cursor = result.data.nextCursor || undefined;
      if (cursor === undefined || found.length >= MAX_DEVICE_TOOLS) break;
    }
    if (cursor !== undefined && found.length < MAX_DEVICE_TOOLS) this.log.warn({ pages: MAX_TOOL_PAGES }, 'the device kept paging its tools; the rest are not offered');
    const tools = found.slice(0, MAX_DEVICE_TOOLS);
    for (const tool of tools) this.names.add(tool.name);
    this.tools = tools.map((tool) => ({
      name: this.names.add(tool.name),
      description: this.names.rewrite(tool.description).slice(0, MAX_DESCRIPTION_CHARS),
      parameters: objectSchema(tool.inputSchema),
    }));
    this.log.info({ tools: tools.map((t) => t.name) }, 'device tools listed');
  }

  private request(method: string, params: Record<string, unknown>, timeoutMs: number, signal?: AbortSignal): Promise<McpResponse> {
    if (this.closed) return Promise.reject(new Error('the device disconnected'));
    const id = this.nextId++;
    return new Promise<McpResponse>((resolve, reject) => {
      const onAbort = () => settle(() => reject(new Error('aborted')));
      const settle = (fn: () => void) => {
        signal?.removeEventListener('abort', onAbort);
        this.pending.delete(id);
        clearTimeout(timer);
        fn();
      };
      const timer = setTimeout(() => settle(() => reject(new Error(`the device did not answer ${method} within ${timeoutMs} ms`))), timeoutMs);
      this.pending.set(id, { method, timer, resolve: (r) => settle(() => resolve(r)), reject: (e) => settle(() => reject(e)) });
      signal?.addEventListener('abort', onAbort, { once: true });
      try {
        this.o.send({ jsonrpc: '2.0', id, method, params });
      } catch (err) {
        settle(() => reject(err as Error));
      }
    });
  }
}

/** The text the model reads from a `tools/call` answer. */
function resultText(response: McpResponse): string {
  if ('error' in response) return `error: ${response.error.message ?? 'the device reported an error'}`;
  const result = McpCallResult.safeParse(response.result);
  if (!result.success) return 'error: the device answered with no result content';
  const text = result.data.content.map((c) => c.text ?? '').join('\n').trim();
  if (result.data.isError) return `error: ${text || 'the tool failed'}`;
  return text || 'done';
}

/** A JSON schema of an arguments object, as LLM APIs require (only what they read is kept). */
function objectSchema(schema: Record<string, unknown> | undefined): Record<string, unknown> {
  const properties = schema && typeof schema.properties === 'object' && schema.properties !== null && !Array.isArray(schema.properties) ? schema.properties : {};
  const required = Array.isArray(schema?.required) ? schema.required.filter((r): r is string => typeof r === 'string') : [];
  return { type: 'object', properties, ...(required.length ? { required } : {}) };
}
