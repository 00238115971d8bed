/**
 * multipart/form-data uploads (one audio `file` plus small text fields), parsed with busboy:
 * a small, well-kept streaming parser, so an upload is never buffered beyond its limit and
 * a malformed body is an error rather than a hang. Other file parts are drained unread.
 */
import type { IncomingMessage } from 'node:http';
import busboy from 'busboy';
import { HttpError } from './http-errors.ts';
import { bodyDeadline, checkDeclaredLength, mediaType, type BodyLimits } from './request-body.ts';

/** Text fields are a model name, a language, a format: a few KiB at most. */
const MAX_FIELD_BYTES = 4 * 1024;
/** More fields than an OpenAI client ever sends is not a transcription request. */
const MAX_FIELDS = 32;
/** Multipart framing (boundaries, part headers, fields) on top of the file itself. */
const MULTIPART_OVERHEAD_BYTES = 256 * 1024;

export interface UploadedFile {
  filename: string;
  mimeType: string;
  data: Buffer;
}

export interface MultipartForm {
  fields: Record<string, string>;
  file: UploadedFile;
}

export function readMultipartForm(req: IncomingMessage, fileField: string, limits: BodyLimits): Promise<MultipartForm> {
  if (mediaType(req) !== 'multipart/form-data') {
    throw new HttpError('unsupported_media_type', `expected Content-Type multipart/form-data with a "${fileField}" part, got ${mediaType(req) || 'none'}`);
  }
  checkDeclaredLength(req, limits.maxBytes + MULTIPART_OVERHEAD_BYTES);
  let parser: busboy.Busboy;
  try {
    parser = busboy({
      headers: req.headers,
      limits: { fileSize: limits.maxBytes, fieldSize: MAX_FIELD_BYTES, fields: MAX_FIELDS, parts: MAX_FIELDS + 4 },
    });
  } catch (err) {
    throw new HttpError('bad_request', `unreadable multipart request: ${(err as Error).message}`);
  }

  return new Promise((resolve, reject) => {
    const fields: Record<string, string> = {};
    let file: UploadedFile | undefined;
    let settled = false;
    const fail = (error: HttpError) => {
      if (settled) return;
      settled = true;
      stopDeadline();
      req.unpipe(parser);
      req.pause();
      reject(error);
    };
    const stopDeadline = bodyDeadline(req, limits.timeoutMs, fail);

    parser.on('field', (name, value, info) => {
      if (info.valueTruncated) return fail(new HttpError('bad_request', `field "${name}" is longer than ${MAX_FIELD_BYTES} bytes`));
      fields[name] = value;
    });
    parser.on('file', (name, stream, info) => {
      if (name !== fileField || file) {
        stream.resume();
        return;
      }
      const chunks: Buffer[] = [];
      let size = 0;
      stream.on('data', (chunk: Buffer) => {
        size += chunk.length;
        chunks.push(chunk);
      });
      stream.on('limit', () => fail(new HttpError('payload_too_large', `the uploaded file is over the limit of ${limits.maxBytes} bytes`)));
      stream.on('end', () => {
        file = { filename: info.filename ?? '', mimeType: (info.mimeType ?? '').toLowerCase(), data: Buffer.concat(chunks, size) };
      });
    });
    parser.on('fieldsLimit', () => fail(new HttpError('bad_request', `more than ${MAX_FIELDS} form fields`)));
    parser.on('partsLimit', () => fail(new HttpError('bad_request', 'too many form parts')));
    parser.on('error', (err: Error) => fail(new HttpError('bad_request', `unreadable multipart body: ${err.message}`)));
    parser.on('close', () => {
      if (settled) return;
      settled = true;
      stopDeadline();
      if (!file) return reject(new HttpError('bad_request', `the form has no "${fileField}" file part`));
      if (file.data.length === 0) return reject(new HttpError('unsupported_audio', 'the uploaded file is empty'));
      resolve({ fields, file });
    });
    req.once('aborted', () => fail(new HttpError('bad_request', 'the request body was cut off')));
    req.pipe(parser);
  });
}
