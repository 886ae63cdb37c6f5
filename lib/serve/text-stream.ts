// Tokens → text for one choice, from lib/text's streaming pieces: StreamDecoder (UTF-8-safe incremental
// detokenization, a character split across tokens is held until whole) and StopStringMatcher (the text ends
// before the first stop string, which is never emitted; a possible start of one is held back).
import { StopStringMatcher } from '../text/stop-strings.js';
import { StreamDecoder } from '../text/stream-decoder.js';

export type DecodeIds = (ids: readonly number[]) => string;

export class TextStream {
  readonly #decoder: StreamDecoder;
  readonly #stops: StopStringMatcher;
  #text = '';

  /** `prompt`: the ids before the generated ones, so the first token decodes as it does after them. */
  constructor(decode: DecodeIds, stops: readonly string[], prompt: readonly number[] = []) {
    this.#decoder = new StreamDecoder(decode, prompt);
    this.#stops = new StopStringMatcher(stops);
  }

  get stopped(): boolean {
    return this.#stops.stopped;
  }

  /** The text emitted so far (all of it once finish() was called or a stop string was found). */
  get text(): string {
    return this.#text;
  }

  /** Adds tokens; returns the new text that is safe to emit now ('' if none). */
  push(tokens: readonly number[]): string {
    let delta = '';
    for (const id of tokens) {
      if (this.#stops.stopped) break;
      delta += this.#stops.push(this.#decoder.push(id)).text;
    }
    this.#text += delta;
    return delta;
  }

  /** The generation ended: whatever was held back. */
  finish(): string {
    if (this.#stops.stopped) return '';
    const last = this.#stops.push(this.#decoder.flush());
    const delta = last.text + (last.stopped ? '' : this.#stops.flush());
    this.#text += delta;
    return delta;
  }
}
