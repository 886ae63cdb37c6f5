// Stop strings over streamed text: finds the first stop string in the text as it grows and holds back any tail
// that could still become one, so what is emitted never contains (a start of) a stop string.

export interface StopCheck {
  /** Text safe to emit now. */
  text: string;
  /** True once a stop string appeared: `text` ends just before it and nothing more will come. */
  stopped: boolean;
}

export class StopStringMatcher {
  readonly #stops: readonly string[];
  #held = '';
  #stopped = false;

  constructor(stops: readonly string[]) {
    if (stops.some((s) => typeof s !== 'string' || s === '')) throw new TypeError(`stop strings must be non-empty strings, got ${JSON.stringify(stops)}`);
    this.#stops = stops;
  }

  get stopped(): boolean {
    return this.#stopped;
  }

  /** Adds a chunk of text; returns what may be emitted and whether a stop string has ended the text. */
  push(chunk: string): StopCheck {
    if (this.#stopped) return { text: '', stopped: true };
    const text = this.#held + chunk;
    let cut = -1;
    for (const stop of this.#stops) {
      const at = text.indexOf(stop);
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.#stopped = true;
      this.#held = '';
      return { text: text.slice(0, cut), stopped: true };
    }
    const keep = this.#partialTail(text);
    this.#held = text.slice(text.length - keep);
    return { text: text.slice(0, text.length - keep), stopped: false };
  }

  /** The held-back tail at the end of the stream (it never became a stop string). */
  flush(): string {
    const rest = this.#stopped ? '' : this.#held;
    this.#held = '';
    return rest;
  }

  /** Length of the longest tail of text that is a proper prefix of a stop string. */
  #partialTail(text: string): number {
    let longest = 0;
    for (const stop of this.#stops) {
      for (let n = Math.min(stop.length - 1, text.length); n > longest; n--) {
        if (text.endsWith(stop.slice(0, n))) {
          longest = n;
          break;
        }
      }
    }
    return longest;
  }
}
