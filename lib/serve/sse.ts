// Server-sent events as the openai client reads them: `data: <compact JSON>\n\n` per event, then
// `data: [DONE]\n\n` and the end of the body (a client keeps reading after [DONE] until the socket ends).
import type { ServerResponse } from 'node:http';

export class SseWriter {
  readonly #response: ServerResponse;
  readonly #headers: Record<string, string>;
  #started = false;

  constructor(response: ServerResponse, headers: Record<string, string> = {}) {
    this.#response = response;
    this.#headers = headers;
  }

  /** Whether the 200 and its headers went out (an error can then only be sent as an event). */
  get started(): boolean {
    return this.#started;
  }

  send(event: unknown): void {
    this.#write(`data: ${JSON.stringify(event)}\n\n`);
  }

  /** [DONE], then the end of the body. */
  done(): void {
    this.#write('data: [DONE]\n\n');
    if (!this.#response.destroyed) this.#response.end();
  }

  #write(text: string): void {
    if (this.#response.destroyed || this.#response.writableEnded) return;
    if (!this.#started) {
      this.#started = true;
      this.#response.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache',
        'x-accel-buffering': 'no',
        ...this.#headers,
      });
      this.#response.flushHeaders();
    }
    this.#response.write(text);
  }
}
