/**
 * The MCP server of stock xiaozhi firmware (main/mcp_server.cc), simulated with a few of its
 * common tools: `initialize`, `tools/list` paged with `nextCursor` (the firmware pages at
 * ~8 KB; here at `pageSize` tools so paging is exercised), `tools/call`. Ids must be numbers
 * (others are dropped, as the firmware does); errors carry a message and no code.
 */
import { SIM_BOARD_NAME, SIM_FIRMWARE_VERSION } from './firmware-identity.ts';

export interface SimTool {
  name: string;
  description: string;
  inputSchema: Record<string, unknown>;
  /** Returns the text result; throwing makes an `isError` result. Never called for a silent tool. */
  call(args: Record<string, unknown>): string;
}

export interface SimMcpServerOptions {
  pageSize?: number;
  /** Tools whose calls are never answered (a device that hangs). */
  silentTools?: readonly string[];
}

export interface SimMcpCall {
  name: string;
  arguments: Record<string, unknown>;
}

/** The state the default tools change, for tests to look at. */
export interface SimDeviceState {
  volume: number;
  brightness: number;
}

export function defaultSimTools(state: SimDeviceState): SimTool[] {
  return [
    {
      name: 'self.get_device_status',
      description: 'Provides the real-time information of the device, including the current status of the audio speaker, screen, battery, network, etc.',
      inputSchema: { type: 'object', properties: {} },
      call: () => JSON.stringify({ audio_speaker: { volume: state.volume }, screen: { brightness: state.brightness }, battery: { level: 87 } }),
    },
    {
      name: 'self.audio_speaker.set_volume',
      description: 'Set the volume of the audio speaker. If the current volume is unknown, you must call `self.get_device_status` tool first and then call this tool.',
      inputSchema: { type: 'object', properties: { volume: { type: 'integer', minimum: 0, maximum: 100 } }, required: ['volume'] },
      call: (args) => {
        const volume = args.volume;
        if (typeof volume !== 'number' || !Number.isInteger(volume) || volume < 0 || volume > 100) throw new Error('volume must be an integer from 0 to 100');
        state.volume = volume;
        return 'true';
      },
    },
    {
      name: 'self.screen.set_brightness',
      description: 'Set the brightness of the screen.',
      inputSchema: { type: 'object', properties: { brightness: { type: 'integer', minimum: 0, maximum: 100 } }, required: ['brightness'] },
      call: (args) => {
        state.brightness = Number(args.brightness);
        return 'true';
      },
    },
  ];
}

export class SimMcpServer {
  /** Every tools/call received, answered or not. */
  readonly calls: SimMcpCall[] = [];
  /** Every method received, in order. */
  readonly methods: string[] = [];

  constructor(
    private readonly tools: SimTool[],
    private readonly options: SimMcpServerOptions = {},
  ) {}

  /** Handles one JSON-RPC payload; returns the response payload, or undefined when none is sent. */
  handle(payload: Record<string, unknown>): Record<string, unknown> | undefined {
    const { id, method, params } = payload;
    if (typeof method !== 'string') return undefined;
    this.methods.push(method);
    if (method.startsWith('notifications')) return undefined;
    if (typeof id !== 'number') return undefined; // mcp_server.cc: non-numeric ids are dropped
    if (params !== undefined && (typeof params !== 'object' || params === null || Array.isArray(params))) return error(id, 'Invalid params');
    const p = (params ?? {}) as Record<string, unknown>;
    switch (method) {
      case 'initialize':
        return { jsonrpc: '2.0', id, result: { protocolVersion: '2024-11-05', capabilities: { tools: {} }, serverInfo: { name: SIM_BOARD_NAME, version: SIM_FIRMWARE_VERSION } } };
      case 'tools/list': {
        const size = this.options.pageSize ?? 100;
        const start = typeof p.cursor === 'string' ? Math.max(0, this.tools.findIndex((t) => t.name === p.cursor)) : 0;
        const page = this.tools.slice(start, start + size);
        const next = this.tools[start + size];
        return {
          jsonrpc: '2.0',
          id,
          result: { tools: page.map(({ name, description, inputSchema }) => ({ name, description, inputSchema })), ...(next ? { nextCursor: next.name } : {}) },
        };
      }
      case 'tools/call': {
        const name = String(p.name);
        const args = (typeof p.arguments === 'object' && p.arguments !== null ? p.arguments : {}) as Record<string, unknown>;
        this.calls.push({ name, arguments: args });
        const tool = this.tools.find((t) => t.name === name);
        if (!tool) return error(id, `Unknown tool: ${name}`);
        if (this.options.silentTools?.includes(name)) return undefined;
        try {
          return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: tool.call(args) }], isError: false } };
        } catch (err) {
          return { jsonrpc: '2.0', id, result: { content: [{ type: 'text', text: (err as Error).message }], isError: true } };
        }
      }
      default:
        return error(id, `Method not implemented: ${method}`);
    }
  }
}

function error(id: number, message: string): Record<string, unknown> {
  return { jsonrpc: '2.0', id, error: { message } };
}
