/**
 * Server-sent events as OpenAI-compatible servers stream them: events separated by a
 * blank line, each `data:` line a JSON chunk, the stream ending with `data: [DONE]`.
 */

/** Yields the data of each event (several `data:` lines joined by "\n"), until `[DONE]`. */
export async function* readSseData(body: ReadableStream<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      buffer += done ? decoder.decode() : decoder.decode(value, { stream: true });
      buffer = buffer.replace(/\r\n/g, '\n'); // a CR at a chunk edge waits for its LF
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const data = eventData(buffer.slice(0, end));
        buffer = buffer.slice(end + 2);
        if (data === undefined) continue;
        if (data.trim() === '[DONE]') return;
        yield data;
      }
      if (done) {
        const data = eventData(buffer);
        if (data !== undefined && data.trim() !== '[DONE]') yield data;
        return;
      }
    }
  } finally {
    // Stopping early (or failing) releases the connection instead of leaving it half read.
    await reader.cancel().catch(() => {});
  }
}

function eventData(event: string): string | undefined {
  const lines = event
    .split('\n')
    .filter((line) => line.startsWith('data:'))
    .map((line) => line.slice(line.startsWith('data: ') ? 6 : 5));
  return lines.length > 0 ? lines.join('\n') : undefined;
}
