// API keys (--api-key / NODE_PEFT_API_KEY): `Authorization: Bearer KEY` on every route but /health (and
// /metrics when it is left open). Keys are compared as SHA-256 digests with timingSafeEqual, so neither the
// comparison time nor a length mismatch tells an attacker anything.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './http-error.js';

const digest = (text: string): Buffer => createHash('sha256').update(text, 'utf8').digest();

export class ApiKeys {
  readonly #digests: Buffer[];

  constructor(keys: readonly string[]) {
    this.#digests = keys.filter((k) => k !== '').map(digest);
  }

  get enabled(): boolean {
    return this.#digests.length > 0;
  }

  /** Throws 401 unless the request carries one of the keys (always passes when no key is set). */
  check(request: IncomingMessage): void {
    if (!this.enabled) return;
    const header = request.headers.authorization ?? '';
    const match = /^bearer\s+(.+)$/i.exec(header.trim());
    const given = digest(match ? match[1].trim() : '');
    let ok = false;
    for (const key of this.#digests) ok = timingSafeEqual(given, key) || ok; // every key compared, no early exit
    if (!ok) throw new HttpError(401, 'Incorrect or missing API key: send "Authorization: Bearer <key>"', null, 'invalid_api_key');
  }
}

/** The warning to print when the server is reachable from other machines without a key, else null. */
export function exposureWarning(host: string, hasKey: boolean): string | null {
  if (hasKey || isLoopback(host)) return null;
  return `warning: serving on ${host} without an API key: anyone who can reach it can run the model and load adapters (set --api-key or NODE_PEFT_API_KEY)`;
}

/** Whether a host name or address only accepts connections from this machine. */
export function isLoopback(host: string): boolean {
  return host === 'localhost' || host === '::1' || /^127\./.test(host) || host === '[::1]';
}
