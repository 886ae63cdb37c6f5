// Splitting text on added tokens the way Rust tokenizers' AddedVocabulary does: leftmost-longest matches,
// `single_word` rejects a match touching a word character, `lstrip`/`rstrip` swallow neighbouring whitespace.
// (@huggingface/tokenizers ignores single_word, which is why node-peft splits here.)

export interface AddedTokenSpec {
  id: number;
  content: string;
  singleWord: boolean;
  lstrip: boolean;
  rstrip: boolean;
  special: boolean;
  normalized: boolean;
}

/** A run of text between added tokens (`token` undefined) or one added token; `start` is its offset in the input. */
export interface Piece {
  text: string;
  start: number;
  token?: AddedTokenSpec;
}

interface TrieNode {
  next: Map<string, TrieNode>;
  token?: AddedTokenSpec;
}

const isWordChar = (ch: string | undefined): boolean => ch !== undefined && /[\p{L}\p{N}_]/u.test(ch);
const isSpace = (ch: string | undefined): boolean => ch !== undefined && /\s/u.test(ch);

function lastChar(text: string, end: number): string | undefined {
  if (end <= 0) return undefined;
  const code = text.charCodeAt(end - 1);
  return code >= 0xdc00 && code <= 0xdfff && end >= 2 ? text.slice(end - 2, end) : text[end - 1];
}

function firstChar(text: string, start: number): string | undefined {
  const cp = text.codePointAt(start);
  return cp === undefined ? undefined : String.fromCodePoint(cp);
}

export class AddedTokenSplitter {
  private readonly root: TrieNode = { next: new Map() };
  readonly size: number;

  constructor(tokens: readonly AddedTokenSpec[]) {
    for (const token of tokens) {
      if (token.content.length === 0) continue;
      let node = this.root;
      for (const ch of token.content) {
        let child = node.next.get(ch);
        if (!child) node.next.set(ch, (child = { next: new Map() }));
        node = child;
      }
      node.token = token;
    }
    this.size = tokens.length;
  }

  /** The longest added token starting at `start`, and where it ends. */
  private longestAt(text: string, start: number): { token: AddedTokenSpec; end: number } | undefined {
    let node: TrieNode | undefined = this.root;
    let found: { token: AddedTokenSpec; end: number } | undefined;
    let i = start;
    while (node && i < text.length) {
      const ch = firstChar(text, i)!;
      node = node.next.get(ch);
      i += ch.length;
      if (node?.token) found = { token: node.token, end: i };
    }
    return found;
  }

  split(text: string): Piece[] {
    if (this.size === 0) return text.length > 0 ? [{ text, start: 0 }] : [];
    const pieces: Piece[] = [];
    let consumed = 0; // end of the last accepted token (its stripped span included)
    let i = 0;
    while (i < text.length) {
      const match = this.longestAt(text, i);
      if (!match) {
        i += firstChar(text, i)!.length;
        continue;
      }
      const { token, end } = match;
      i = end; // like Rust's find_iter, the search goes on after a match even if the match is rejected
      if (token.singleWord && (isWordChar(lastChar(text, end - token.content.length)) || isWordChar(firstChar(text, end)))) continue;
      let start = end - token.content.length;
      let stop = end;
      if (token.lstrip) while (start > consumed && isSpace(lastChar(text, start))) start -= lastChar(text, start)!.length;
      if (token.rstrip) while (stop < text.length && isSpace(firstChar(text, stop))) stop += firstChar(text, stop)!.length;
      if (consumed < start) pieces.push({ text: text.slice(consumed, start), start: consumed });
      pieces.push({ text: token.content, start, token });
      consumed = stop;
    }
    if (consumed < text.length) pieces.push({ text: text.slice(consumed), start: consumed });
    return pieces;
  }
}
