// JSON text exactly as Python's `json.dumps(value, indent=2, sort_keys=True)` writes it (PEFT's adapter_config.json,
// transformers' shard index), and Python-style reprs for the few values PEFT prints inside its error messages.

export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };
export type JsonObject = { [key: string]: JsonValue };

/** Tells the writer which numbers Python held as floats (written `0.0`, not `0`); `path` is the key/index path. */
export type FloatPredicate = (path: readonly (string | number)[], value: number) => boolean;

const integralAsInt: FloatPredicate = (_path, value) => !Number.isInteger(value);

/** Python's `repr(float)`: shortest round-trip digits; exponent form below 1e-4 and from 1e16 on. */
export function pythonFloatRepr(value: number): string {
  if (Number.isNaN(value)) return 'NaN';
  if (value === Infinity) return 'Infinity';
  if (value === -Infinity) return '-Infinity';
  if (value === 0) return Object.is(value, -0) ? '-0.0' : '0.0';
  const sign = value < 0 ? '-' : '';
  const [mantissa, exponentText] = Math.abs(value).toExponential().split('e') as [string, string];
  const exponent = Number(exponentText);
  const digits = mantissa.replace('.', '');
  if (exponent < -4 || exponent >= 16) {
    const fraction = digits.length > 1 ? `${digits[0]}.${digits.slice(1)}` : digits;
    const expSign = exponent < 0 ? '-' : '+';
    return `${sign}${fraction}e${expSign}${String(Math.abs(exponent)).padStart(2, '0')}`;
  }
  if (exponent < 0) return `${sign}0.${'0'.repeat(-exponent - 1)}${digits}`;
  const whole = digits.slice(0, exponent + 1).padEnd(exponent + 1, '0');
  const fraction = digits.slice(exponent + 1);
  return `${sign}${whole}.${fraction || '0'}`;
}

/** A JSON string literal as Python writes it with `ensure_ascii=True`: everything outside ' '..'~' is escaped. */
export function pythonJsonString(text: string): string {
  let out = '"';
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    const ch = text[i]!;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (unit < 0x20 || unit > 0x7e) out += `\\u${unit.toString(16).padStart(4, '0')}`;
    else out += ch;
  }
  return out + '"';
}

/** Python sorts str keys by code point; JS `<` compares UTF-16 units, which differs above U+FFFF. */
export function compareCodePoints(a: string, b: string): number {
  const left = Array.from(a);
  const right = Array.from(b);
  for (let i = 0; i < Math.min(left.length, right.length); i++) {
    const diff = left[i]!.codePointAt(0)! - right[i]!.codePointAt(0)!;
    if (diff !== 0) return diff;
  }
  return left.length - right.length;
}

function formatNumber(value: number, path: (string | number)[], isFloat: FloatPredicate): string {
  if (!Number.isFinite(value)) throw new TypeError(`cannot write ${value} at '${path.join('.')}' as JSON`);
  if (!isFloat(path, value)) {
    if (!Number.isInteger(value)) throw new TypeError(`number ${value} at '${path.join('.')}' is not an integer`);
    return Number.isSafeInteger(value) ? String(value) : BigInt(value).toString();
  }
  return pythonFloatRepr(value);
}

function dump(value: JsonValue, indent: string, path: (string | number)[], isFloat: FloatPredicate): string {
  if (value === null) return 'null';
  if (value === true) return 'true';
  if (value === false) return 'false';
  if (typeof value === 'number') return formatNumber(value, path, isFloat);
  if (typeof value === 'string') return pythonJsonString(value);
  const inner = indent + '  ';
  if (Array.isArray(value)) {
    if (value.length === 0) return '[]';
    const items = value.map((item, i) => inner + dump(item, inner, [...path, i], isFloat));
    return `[\n${items.join(',\n')}\n${indent}]`;
  }
  const keys = Object.keys(value).sort(compareCodePoints);
  if (keys.length === 0) return '{}';
  const items = keys.map((key) => `${inner}${pythonJsonString(key)}: ${dump(value[key]!, inner, [...path, key], isFloat)}`);
  return `{\n${items.join(',\n')}\n${indent}}`;
}

/**
 * `json.dumps(value, indent=2, sort_keys=True)` byte for byte (no trailing newline). Numbers are written as Python
 * ints unless `isFloat` says Python held a float there (default: non-integral numbers only).
 */
export function pythonJsonDumps(value: JsonValue, isFloat: FloatPredicate = integralAsInt): string {
  return dump(value, '', [], isFloat);
}

/** Python's `repr(str)`: single quotes unless the text holds `'` and no `"`. */
export function pythonStrRepr(text: string): string {
  const quote = text.includes("'") && !text.includes('"') ? '"' : "'";
  let out = quote;
  for (const ch of text) {
    if (ch === '\\') out += '\\\\';
    else if (ch === quote) out += `\\${quote}`;
    else if (ch === '\n') out += '\\n';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\t') out += '\\t';
    else if (ch.codePointAt(0)! < 0x20 || ch.codePointAt(0) === 0x7f) out += `\\x${ch.codePointAt(0)!.toString(16).padStart(2, '0')}`;
    else out += ch;
  }
  return out + quote;
}

/**
 * How Python prints a value with `str()` / f-strings in PEFT's messages: strings bare at top level, lists as
 * `['a', 'b']`, sets as `{'a', 'b'}` (pass `asSet`), numbers and None/True/False as Python does.
 */
export function pythonStr(value: JsonValue, options: { asSet?: boolean } = {}): string {
  if (typeof value === 'string') return value;
  return pythonRepr(value, options);
}

export function pythonRepr(value: JsonValue, options: { asSet?: boolean } = {}): string {
  if (value === null) return 'None';
  if (value === true) return 'True';
  if (value === false) return 'False';
  if (typeof value === 'number') return Number.isInteger(value) ? String(value) : pythonFloatRepr(value);
  if (typeof value === 'string') return pythonStrRepr(value);
  if (Array.isArray(value)) {
    const items = value.map((item) => pythonRepr(item));
    if (options.asSet) return items.length === 0 ? 'set()' : `{${items.join(', ')}}`;
    return `[${items.join(', ')}]`;
  }
  return `{${Object.entries(value).map(([k, v]) => `${pythonStrRepr(k)}: ${pythonRepr(v)}`).join(', ')}}`;
}
