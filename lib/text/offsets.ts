// Character offsets of tokens in the text they came from, for char_to_token (assistant masks). Each token's
// surface bytes (byte-level alphabet, ▁ as a space, <0xXX> byte pieces, ## continuation prefix removed) are
// matched against the text's UTF-8 bytes; a prefix space the pre-tokenizer added is skipped.

const BYTE_LEVEL_DECODE: Map<string, number> = (() => {
  const bytes: number[] = [];
  for (let b = 33; b <= 126; b++) bytes.push(b);
  for (let b = 161; b <= 172; b++) bytes.push(b);
  for (let b = 174; b <= 255; b++) bytes.push(b);
  const chars = bytes.map((b) => String.fromCharCode(b));
  let extra = 0;
  for (let b = 0; b < 256; b++) {
    if (!bytes.includes(b)) {
      bytes.push(b);
      chars.push(String.fromCharCode(256 + extra++));
    }
  }
  return new Map(chars.map((c, i) => [c, bytes[i]!]));
})();

const encoder = new TextEncoder();

export type SurfaceBytes = (token: string) => Uint8Array;

export function byteLevelSurface(token: string): Uint8Array {
  return Uint8Array.from([...token].map((c) => BYTE_LEVEL_DECODE.get(c) ?? 0x3f));
}

export function pieceSurface(continuingPrefix: string | undefined): SurfaceBytes {
  return (token) => {
    const byte = /^<0x([0-9A-F]{2})>$/.exec(token);
    if (byte) return Uint8Array.of(parseInt(byte[1]!, 16));
    const text = continuingPrefix && token.startsWith(continuingPrefix) ? token.slice(continuingPrefix.length) : token;
    return encoder.encode(text.replaceAll('\u2581', ' '));
  };
}

function startsWithAt(haystack: Uint8Array, needle: Uint8Array, at: number): boolean {
  if (at + needle.length > haystack.length) return false;
  for (let i = 0; i < needle.length; i++) if (haystack[at + i] !== needle[i]) return false;
  return true;
}

const isSpaceByte = (b: number | undefined): boolean => b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d;

/** [start, end) character offsets in `text` of `tokens`, which tokenize all of `text` in order. */
export function alignTokens(text: string, tokens: readonly string[], surface: SurfaceBytes): [number, number][] {
  const bytes = encoder.encode(text);
  // byte offset -> UTF-16 offset
  const charAt = new Uint32Array(bytes.length + 1);
  let byteIndex = 0;
  let charIndex = 0;
  for (const ch of text) {
    const n = encoder.encode(ch).length;
    for (let k = 0; k < n; k++) charAt[byteIndex + k] = charIndex;
    byteIndex += n;
    charIndex += ch.length;
  }
  charAt[bytes.length] = text.length;
  let cursor = 0;
  return tokens.map((token) => {
    let piece = surface(token);
    if (!startsWithAt(bytes, piece, cursor) && piece[0] === 0x20 && bytes[cursor] !== 0x20) piece = piece.subarray(1);
    if (!startsWithAt(bytes, piece, cursor)) {
      let skip = cursor;
      while (isSpaceByte(bytes[skip]) && !isSpaceByte(piece[0])) skip++;
      if (startsWithAt(bytes, piece, skip)) cursor = skip;
    }
    const start = Math.min(cursor, bytes.length);
    cursor = Math.min(bytes.length, cursor + piece.length);
    return [charAt[start]!, charAt[cursor]!];
  });
}
