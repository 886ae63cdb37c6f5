// Reading a request body as JSON, with a size cap (413) and a clear 400 for text that is not JSON.
import type { IncomingMessage } from 'node:http';
import { badRequest, HttpError } from './http-error.js';

/** The body parsed as JSON; throws HttpError 413 past maxBytes (checked on Content-Length first), 400 for bad JSON. */
export async function readJsonBody(request: IncomingMessage, maxBytes: number): Promise<unknown> {
  const declared = Number(request.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) throw tooLarge(maxBytes, `${declared} bytes`);
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    const buffer = chunk as Buffer;
    size += buffer.length;
    if (size > maxBytes) throw tooLarge(maxBytes, `at least ${size} bytes`);
    chunks.push(buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  if (text.trim() === '') throw badRequest('the request body is empty; expected a JSON object');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw badRequest(`the request body is not valid JSON (${(error as Error).message})`);
  }
}

function tooLarge(maxBytes: number, got: string): HttpError {
  return new HttpError(413, `the request body is larger than the limit of ${maxBytes} bytes (got ${got})`);
}

/** The value as a plain JSON object, else a 400 naming what it is. */
export function requireObject(value: unknown, what: string): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw badRequest(`${what}: expected a JSON object, got ${describeJson(value)}`);
  }
  return value as Record<string, unknown>;
}

/** A short description of a JSON value for error messages. */
export function describeJson(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return `an array of length ${value.length}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value.length > 40 ? `${value.slice(0, 40)}...` : value)}`;
  return typeof value === 'object' ? 'an object' : `${typeof value} ${String(value)}`;
}
