/**
 * The gateway's tools and a device's own tools as one toolbox for one reply: the model sees
 * both lists; each call goes back to the source that listed the name. The gateway's tools
 * win a name both offer (a device cannot shadow them).
 */
import type { LlmToolCall, LlmToolDefinition, ToolSource } from './types.ts';

export interface Toolbox {
  readonly definitions: LlmToolDefinition[];
  run(call: LlmToolCall, context: { deviceId: string; signal: AbortSignal }): Promise<string>;
  /** As its source says; a source that does not say has side effects in every tool. An unknown name runs nothing. */
  hasSideEffects(name: string): boolean;
}

/** Undefined when no source offers any tool. */
export function combineTools(sources: ReadonlyArray<ToolSource | undefined>): Toolbox | undefined {
  const owner = new Map<string, ToolSource>();
  const definitions: LlmToolDefinition[] = [];
  for (const source of sources) {
    if (!source) continue;
    for (const definition of source.definitions()) {
      if (owner.has(definition.name)) continue;
      owner.set(definition.name, source);
      definitions.push(definition);
    }
  }
  if (definitions.length === 0) return undefined;
  return {
    definitions,
    async run(call, context) {
      const source = owner.get(call.name);
      return source ? source.run(call, context) : `error: there is no tool named "${call.name}"`;
    },
    hasSideEffects(name) {
      const source = owner.get(name);
      if (!source) return false;
      return source.hasSideEffects ? source.hasSideEffects(name) : true;
    },
  };
}
