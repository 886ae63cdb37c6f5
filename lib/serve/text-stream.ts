// Tokens → text for one choice: UTF-8-safe incremental detokenization (a character split across tokens is
// held until it is whole) and stop strings (the text ends before the first one, which is never emitted; up to
// the longest stop − 1 characters are held back so a stop split across tokens is still caught). Kept in one
// file so it can give way to lib/models' stream decoder.

export interface Detokenizer {
  decode(ids: number[]): string;
}

export class TextStream {
  readonly #codec: Detokenizer;
  readonly #stops: string[];
  readonly #holdBack: number;
  readonly #ids: number[] = [];
  /** Text already handed out. */
  #emitted = '';
  /** Set once a stop string was found: the final text. */
  #stoppedAt: string | null = null;

  constructor(codec: Detokenizer, stops: readonly string[]) {
    this.#codec = codec;
    this.#stops = stops.filter((s) => s.length > 0);
    this.#holdBack = Math.max(0, ...this.#stops.map((s) => s.length - 1));
  }

  get stopped(): boolean {
    return this.#stoppedAt !== null;
  }

  /** The full text so far (final once finish() was called). */
  get text(): string {
    return this.#stoppedAt ?? this.#emitted;
  }

  /** Adds tokens; returns the new text that is safe to emit now ('' if none). */
  push(tokens: readonly number[]): string {
    if (this.#stoppedAt !== null) return '';
    this.#ids.push(...tokens);
    let full = this.#codec.decode(this.#ids);
    const stopAt = this.#firstStop(full);
    if (stopAt !== null) {
      this.#stoppedAt = full.slice(0, stopAt);
      return this.#advanceTo(this.#stoppedAt);
    }
    if (full.endsWith('\uFFFD')) full = full.replace(/\uFFFD+$/, ''); // an incomplete character: wait for its bytes
    return this.#advanceTo(full.slice(0, Math.max(this.#emitted.length, full.length - this.#holdBack)));
  }

  /** The generation ended: whatever was held back (no stop matched it). */
  finish(): string {
    if (this.#stoppedAt !== null) return '';
    return this.#advanceTo(this.#codec.decode(this.#ids));
  }

  #firstStop(text: string): number | null {
    let best: number | null = null;
    // a stop can only start where text not yet emitted could complete it
    const from = Math.max(0, this.#emitted.length - this.#holdBack);
    for (const stop of this.#stops) {
      const at = text.indexOf(stop, from);
      if (at >= 0 && (best === null || at < best)) best = at;
    }
    return best;
  }

  #advanceTo(target: string): string {
    if (!target.startsWith(this.#emitted)) {
      // decoding more tokens changed earlier text (a tokenizer cleanup rule): emit only what extends it
      return '';
    }
    const delta = target.slice(this.#emitted.length);
    this.#emitted = target;
    return delta;
  }
}
