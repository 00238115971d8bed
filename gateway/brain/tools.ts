/**
 * Tools the model may call (OpenAI-style function tools), executed by the gateway.
 * A tool's failure becomes a result the model can read ("error: …"), so it can still
 * say something useful; only the turn's abort stops the reply.
 */
import { ProviderError } from '../providers.ts';
import type { LlmToolCall, LlmToolDefinition } from './types.ts';

/** A tool that has not answered by then is reported to the model as failed. */
export const TOOL_TIMEOUT_MS = 5_000;
/** Longer results are cut: a tool result is context for a spoken sentence, not a document. */
export const MAX_TOOL_RESULT_CHARS = 4_000;

export interface ToolContext {
  deviceId: string;
  /** The turn's signal, combined with the tool timeout. */
  signal: AbortSignal;
}

export interface Tool extends LlmToolDefinition {
  /**
   * Whether running it changes anything outside the gateway (home control, a device action).
   * Absent counts as true: only tools marked `false` (read-only: the clock, a listing) run
   * while a reply is still speculative; the others wait until it is committed.
   */
  sideEffects?: boolean;
  /** Returns what the model reads (plain text or JSON). Throwing reports an error to the model. */
  execute(args: Record<string, unknown>, context: ToolContext): Promise<string> | string;
}

export class ToolRegistry {
  private readonly tools = new Map<string, Tool>();

  constructor(
    tools: Tool[] = [],
    private readonly timeoutMs = TOOL_TIMEOUT_MS,
  ) {
    for (const tool of tools) this.register(tool);
  }

  register(tool: Tool): this {
    if (!/^[a-zA-Z0-9_-]{1,64}$/.test(tool.name)) throw new Error(`invalid tool name "${tool.name}"`);
    if (this.tools.has(tool.name)) throw new Error(`tool "${tool.name}" is already registered`);
    this.tools.set(tool.name, tool);
    return this;
  }

  get size(): number {
    return this.tools.size;
  }

  /** False only for a registered tool marked `sideEffects: false` (an unknown name runs nothing, so false too). */
  hasSideEffects(name: string): boolean {
    const tool = this.tools.get(name);
    return tool !== undefined && tool.sideEffects !== false;
  }

  definitions(): LlmToolDefinition[] {
    return [...this.tools.values()].map(({ name, description, parameters }) => ({ name, description, parameters }));
  }

  /** Runs one call; returns the result text for the model. Throws only when `signal` aborted. */
  async run(call: LlmToolCall, context: ToolContext): Promise<string> {
    const tool = this.tools.get(call.name);
    if (!tool) return `error: there is no tool named "${call.name}"`;
    let args: unknown;
    try {
      args = call.arguments.trim() === '' ? {} : JSON.parse(call.arguments);
    } catch {
      return 'error: the arguments are not valid JSON';
    }
    if (typeof args !== 'object' || args === null || Array.isArray(args)) return 'error: the arguments must be a JSON object';
    const timeout = AbortSignal.timeout(this.timeoutMs);
    const signal = AbortSignal.any([context.signal, timeout]);
    try {
      const result = await new Promise<string>((resolve, reject) => {
        const onAbort = () => reject(signal.reason);
        signal.addEventListener('abort', onAbort, { once: true });
        Promise.resolve()
          .then(() => tool.execute(args as Record<string, unknown>, { ...context, signal }))
          .then(resolve, reject)
          .finally(() => signal.removeEventListener('abort', onAbort));
      });
      return result.length > MAX_TOOL_RESULT_CHARS ? `${result.slice(0, MAX_TOOL_RESULT_CHARS)}…` : result;
    } catch (err) {
      if (context.signal.aborted) throw new ProviderError(`tool ${call.name}: aborted`, false, 'aborted');
      if (timeout.aborted) return `error: the tool did not answer within ${this.timeoutMs} ms`;
      return `error: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
}
