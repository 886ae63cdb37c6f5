// Python `re` patterns (as users write them in target_modules, exclude_modules, rank_pattern ...) run as JS RegExps.
// The common syntax is shared; this translates the Python-only spellings and anchors matches the way `re` does.
import { PeftError } from '../errors.js';

const GLOBAL_FLAGS = /^\(\?([aiLmsux]+)\)/;

/** Rewrites Python-only regex syntax into JS syntax: (?P<n>..), (?P=n), \A, \Z, leading (?ims), `[]...]`. */
export function translatePythonRegex(pattern: string): { source: string; flags: string } {
  let flags = '';
  let rest = pattern;
  const global = GLOBAL_FLAGS.exec(rest);
  if (global) {
    for (const flag of global[1]!) {
      if (flag === 'i' || flag === 'm' || flag === 's') flags += flag;
      else if (flag === 'x') throw new SyntaxError('verbose flag (?x) is not supported');
    }
    rest = rest.slice(global[0].length);
  }
  let out = '';
  let i = 0;
  while (i < rest.length) {
    const ch = rest[i]!;
    if (ch === '\\') {
      const next = rest[i + 1];
      if (next === undefined) throw new SyntaxError('bad escape (end of pattern)');
      if (next === 'A') out += '^';
      else if (next === 'Z') out += '$';
      else out += ch + next;
      i += 2;
    } else if (ch === '[') {
      // Copy a character class verbatim; Python reads a ']' right after '[' or '[^' as a literal.
      let j = i + 1;
      out += '[';
      if (rest[j] === '^') { out += '^'; j++; }
      if (rest[j] === ']') { out += '\\]'; j++; }
      while (j < rest.length && rest[j] !== ']') {
        if (rest[j] === '\\' && j + 1 < rest.length) { out += rest[j]! + rest[j + 1]!; j += 2; }
        else if (rest[j] === '[') { out += '\\['; j++; }
        else { out += rest[j]!; j++; }
      }
      if (j >= rest.length) throw new SyntaxError(`unterminated character set at position ${i}`);
      out += ']';
      i = j + 1;
    } else if (rest.startsWith('(?P<', i)) {
      out += '(?<';
      i += 4;
    } else if (rest.startsWith('(?P=', i)) {
      const end = rest.indexOf(')', i);
      if (end < 0) throw new SyntaxError(`missing ) at position ${i}`);
      out += `\\k<${rest.slice(i + 4, end)}>`;
      i = end + 1;
    } else {
      out += ch;
      i++;
    }
  }
  return { source: out, flags };
}

const cache = new Map<string, RegExp>();

type Anchoring = 'full' | 'start' | 'none';
const WRAPS: Record<Anchoring, (source: string) => string> = { full: (s) => `^(?:${s})$`, start: (s) => `^(?:${s})`, none: (s) => s };

function compile(pattern: string, anchoring: Anchoring, what: string): RegExp {
  const cacheKey = `${anchoring}\u0000${what}\u0000${pattern}`;
  const wrap = WRAPS[anchoring];
  const hit = cache.get(cacheKey);
  if (hit) return hit;
  let regex: RegExp;
  try {
    const { source, flags } = translatePythonRegex(pattern);
    regex = new RegExp(wrap(source), flags);
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new PeftError(`${what}: expected a valid Python regular expression, got ${JSON.stringify(pattern)} (${reason})`);
  }
  if (cache.size > 4096) cache.clear();
  cache.set(cacheKey, regex);
  return regex;
}

/** `re.fullmatch(pattern, text) is not None`. `what` names the config field in the error for a bad pattern. */
export function pythonFullMatch(pattern: string, text: string, what = 'pattern'): boolean {
  return compile(pattern, 'full', what).test(text);
}

/**
 * `re.match(prefix + pattern + suffix, text)`: the pattern is spliced into a larger regex unescaped, as PEFT does
 * with f-strings; returns the match (groups included) or null.
 */
export function pythonMatchSpliced(prefix: string, pattern: string, suffix: string, text: string, what = 'pattern'): RegExpExecArray | null {
  return compile(`${prefix}${pattern}${suffix}`, 'start', what).exec(text);
}

/** Checks that a pattern compiles; throws PeftError naming `what` otherwise. */
export function assertPythonRegex(pattern: string, what: string): void {
  compile(pattern, 'none', what);
}
