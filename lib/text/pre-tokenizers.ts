// Pre-tokenizers: @huggingface/tokenizers' own where they match Rust tokenizers, node-peft's where they don't
// (Metaspace `split`, Split's merged/contiguous behaviours, Whitespace's Unicode \w, Rust's "first" prepend rule).
import * as library from '@huggingface/tokenizers';
import { isObject, type JsonObject } from './files.js';

/** Splits one piece of text into pre-tokens; `first` is true for the piece that starts the input text. */
export type PreTokenize = (text: string, first: boolean) => string[];

interface LibPreTokenizer {
  pre_tokenize_text(text: string, options?: { section_index?: number }): string[];
}

type LibClass = new (config: JsonObject) => LibPreTokenizer;
// The package's type declarations don't resolve its pre-tokenizer re-exports under NodeNext; the runtime has them.
const classes = library as unknown as Record<string, LibClass>;
const LIBRARY: Record<string, LibClass | undefined> = {
  BertPreTokenizer: classes.BertPreTokenizer, ByteLevel: classes.ByteLevelPreTokenizer, Digits: classes.DigitsPreTokenizer,
  FixedLength: classes.FixedLengthPreTokenizer, Punctuation: classes.PunctuationPreTokenizer,
  Replace: classes.ReplacePreTokenizer, WhitespaceSplit: classes.WhitespaceSplitPreTokenizer,
};
const MetaspacePreTokenizer = classes.MetaspacePreTokenizer!;
const SplitPreTokenizer = classes.SplitPreTokenizer!;

// Rust's regex \w is Unicode-aware; the library's Whitespace uses JS's ASCII \w ("café" would split).
const WORD = '\\p{Alphabetic}\\p{M}\\p{Nd}\\p{Pc}\\p{Join_Control}';
const WHITESPACE_PATTERN = new RegExp(`[${WORD}]+|[^${WORD}\\s]+`, 'gu');

function fromLibrary(instance: LibPreTokenizer): PreTokenize {
  return (text, first) => instance.pre_tokenize_text(text, { section_index: first ? 0 : 1 });
}

/** Split `text` at each match of `pattern`, attaching the match as Rust's SplitDelimiterBehavior says. */
function splitWith(text: string, pattern: RegExp, behavior: string): string[] {
  const out: string[] = [];
  let last = 0;
  let pendingPrefix = '';
  let previousMatchEnd = -1;
  for (const match of text.matchAll(pattern)) {
    const start = match.index;
    const end = start + match[0].length;
    if (end === start) continue;
    const before = text.slice(last, start);
    if (behavior === 'MergedWithPrevious') {
      out.push(before + match[0]); // a delimiter right after a delimiter stands alone, as in Rust
    } else if (behavior === 'MergedWithNext') {
      if (before.length > 0 || pendingPrefix.length > 0) out.push(pendingPrefix + before);
      pendingPrefix = match[0];
    } else { // Contiguous: consecutive delimiters stay together
      if (before.length > 0) out.push(before);
      if (previousMatchEnd === start && before.length === 0 && out.length > 0) out[out.length - 1] += match[0];
      else out.push(match[0]);
      previousMatchEnd = end;
    }
    last = end;
  }
  const rest = pendingPrefix + text.slice(last);
  if (rest.length > 0) out.push(rest);
  return out.filter((piece) => piece.length > 0);
}

function metaspace(config: JsonObject): PreTokenize {
  const inner = new MetaspacePreTokenizer(config);
  const replacement = typeof config.replacement === 'string' ? config.replacement : '\u2581';
  const split = config.split !== false;
  return (text, first) => {
    const [replaced = ''] = inner.pre_tokenize_text(text, { section_index: first ? 0 : 1 });
    return split ? splitWith(replaced, new RegExp(replacement, 'gu'), 'MergedWithNext') : [replaced];
  };
}

function split(config: JsonObject): PreTokenize {
  const behavior = String(config.behavior ?? 'Isolated');
  const inner = new SplitPreTokenizer(config) as LibPreTokenizer & { pattern: RegExp | null };
  if (config.invert === true || behavior === 'Isolated' || behavior === 'Removed') return fromLibrary(inner);
  return (text) => (inner.pattern === null ? [text] : splitWith(text, inner.pattern, behavior));
}

/** The pre-tokenizer a tokenizer.json `pre_tokenizer` entry describes (null: the whole text is one pre-token). */
export function createPreTokenizer(config: unknown): PreTokenize | null {
  if (config === null || config === undefined) return null;
  if (!isObject(config)) throw new Error('pre_tokenizer must be an object or null');
  switch (config.type) {
    case 'Sequence': {
      const steps = (Array.isArray(config.pretokenizers) ? config.pretokenizers : []).map(createPreTokenizer);
      return (text, first) => steps.reduce<string[]>(
        (pieces, step) => (step === null ? pieces : pieces.flatMap((piece, i) => step(piece, first && i === 0))),
        [text],
      );
    }
    case 'Metaspace':
      return metaspace(config);
    case 'Split':
      return split(config);
    case 'Whitespace':
      return (text) => text.match(WHITESPACE_PATTERN) ?? [];
    default: {
      const Library = LIBRARY[String(config.type)];
      if (!Library) throw new Error(`unsupported pre_tokenizer type ${JSON.stringify(config.type)}`);
      return fromLibrary(new Library(config));
    }
  }
}
