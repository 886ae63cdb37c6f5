// Incremental detokenization for streaming: text for each new token id that never splits a multi-byte character
// and keeps the spaces a per-token decode loses (Metaspace/Strip decoders drop a leading "▁"). The offset window
// of text-generation-inference and tokenizers' DecodeStream: decode a window before and after the new ids, and
// emit the difference once it no longer ends in an incomplete character (U+FFFD).

/** Decodes ids to text (a tokenizer's decode with its options bound). */
export type DecodeFn = (ids: readonly number[]) => string;

const REPLACEMENT = '\uFFFD';
/** Context tokens before the first new one, as TGI seeds its window. */
const CONTEXT_TOKENS = 5;

export class StreamDecoder {
  readonly #decode: DecodeFn;
  readonly #ids: number[];
  #prefixOffset: number;
  #readOffset: number;

  /** `context`: the ids before the streamed ones (the prompt), so the first new token decodes as it would after them. */
  constructor(decode: DecodeFn, context: readonly number[] = []) {
    this.#decode = decode;
    this.#ids = context.slice(-CONTEXT_TOKENS);
    this.#prefixOffset = 0;
    this.#readOffset = this.#ids.length;
  }

  #text(from: number, to: number): string {
    return from >= to ? '' : this.#decode(this.#ids.slice(from, to)); // tokenizers.js throws on decode([])
  }

  /** The text the new id completes ('' while a character is still incomplete). */
  push(id: number): string {
    this.#ids.push(id);
    const prefix = this.#text(this.#prefixOffset, this.#readOffset);
    const full = this.#text(this.#prefixOffset, this.#ids.length);
    if (full.length <= prefix.length || full.endsWith(REPLACEMENT)) return '';
    this.#prefixOffset = this.#readOffset;
    this.#readOffset = this.#ids.length;
    return full.slice(prefix.length);
  }

  /** What is left at the end of the stream (an incomplete character decodes as U+FFFD, as a whole decode would). */
  flush(): string {
    if (this.#readOffset >= this.#ids.length) return '';
    const prefix = this.#text(this.#prefixOffset, this.#readOffset);
    const full = this.#text(this.#prefixOffset, this.#ids.length);
    this.#prefixOffset = this.#readOffset;
    this.#readOffset = this.#ids.length;
    return full.length > prefix.length ? full.slice(prefix.length) : '';
  }
}
