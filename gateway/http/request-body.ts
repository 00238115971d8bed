/**
 * Reading request bodies within limits: JSON bodies (content type checked, size capped
 * before and while reading) and the bytes-with-deadline primitive the multipart reader
 * shares. Every refusal is an HttpError; nothing beyond a limit is buffered.
 */
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-errors.ts';

export interface BodyLimits {
  maxBytes: number;
  timeoutMs: number;
}

/** The media type of the request without parameters, lower case ('' when absent). */
export function mediaType(req: IncomingMessage): string {
  return (req.headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase();
}

/** Refuses at once a body whose declared length is over the cap. */
export function checkDeclaredLength(req: IncomingMessage, maxBytes: number): void {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    throw new HttpError('payload_too_large', `request body of ${declared} bytes is over the limit of ${maxBytes}`);
  }
}

/** Fails with `request_timeout` when the body has not arrived within the limit. */
export function bodyDeadline(req: IncomingMessage, timeoutMs: number, fail: (error: HttpError) => void): () => void {
  const timer = setTimeout(() => fail(new HttpError('request_timeout', `the request body did not arrive within ${timeoutMs} ms`)), timeoutMs);
  return () => clearTimeout(timer);
}

export function readBody(req: IncomingMessage, limits: BodyLimits): Promise<Buffer> {
  checkDeclaredLength(req, limits.maxBytes);
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let settled = false;
    const finish = (error?: HttpError) => {
      if (settled) return;
      settled = true;
      stopDeadline();
      req.off('data', onData);
      if (error) {
        req.pause();
        reject(error);
      } else {
        resolve(Buffer.concat(chunks, size));
      }
    };
    const stopDeadline = bodyDeadline(req, limits.timeoutMs, finish);
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size > limits.maxBytes) return finish(new HttpError('payload_too_large', `request body is over the limit of ${limits.maxBytes} bytes`));
      chunks.push(chunk);
    };
    req.on('data', onData);
    req.once('end', () => finish());
    req.once('error', () => finish(new HttpError('bad_request', 'the request body was cut off')));
    req.once('aborted', () => finish(new HttpError('bad_request', 'the request body was cut off')));
  });
}

/** A JSON object body (`Content-Type: application/json`). */
export async function readJsonObject(req: IncomingMessage, limits: BodyLimits): Promise<Record<string, unknown>> {
  const type = mediaType(req);
  if (type !== 'application/json') {
    throw new HttpError('unsupported_media_type', `expected Content-Type application/json, got ${type || 'none'}`);
  }
  const body = await readBody(req, limits);
  let value: unknown;
  try {
    value = JSON.parse(body.toString('utf8'));
  } catch {
    throw new HttpError('bad_request', 'the body is not valid JSON');
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new HttpError('bad_request', 'the body must be a JSON object');
  return value as Record<string, unknown>;
}
