// A strict JSON parser for safetensors headers. Unlike JSON.parse it reports duplicate keys, keeps
// integers exact (as bigint), and rejects what the reference reader (serde_json) rejects: unpaired
// surrogate escapes and nesting deeper than 127 containers.

/** A number that is not a non-negative integer literal (a fraction, an exponent, or a minus sign). */
export class JsonNumber {
  constructor(readonly text: string) {}
}

export type JsonValue = string | bigint | JsonNumber | boolean | null | JsonValue[] | JsonObject;
export type JsonObject = Map<string, JsonValue>;

export class JsonSyntaxError extends Error {
  override name = 'JsonSyntaxError';
}

/** A key that occurs twice in one object; `path` holds the keys of the enclosing objects. */
export class JsonDuplicateKeyError extends Error {
  override name = 'JsonDuplicateKeyError';
  constructor(readonly key: string, readonly path: readonly string[]) {
    super(`duplicate key ${JSON.stringify(key)}`);
  }
}

const MAX_NESTING = 127;
const NUMBER = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;
const SIMPLE_ESCAPES: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };

class Parser {
  private pos = 0;
  constructor(private readonly text: string) {}

  parse(): JsonValue {
    const value = this.value([], 0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail('trailing characters');
    return value;
  }

  private fail(message: string): never {
    throw new JsonSyntaxError(`${message} at character ${this.pos}`);
  }

  private skipWhitespace(): void {
    const text = this.text;
    while (this.pos < text.length) {
      const c = text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  private value(path: string[], depth: number): JsonValue {
    this.skipWhitespace();
    const c = this.text[this.pos];
    if (c === '{') return this.object(path, depth + 1);
    if (c === '[') return this.array(path, depth + 1);
    if (c === '"') return this.string();
    if (c === '-' || (c >= '0' && c <= '9')) return this.number();
    for (const [word, literal] of [['true', true], ['false', false], ['null', null]] as const) {
      if (this.text.startsWith(word, this.pos)) {
        this.pos += word.length;
        return literal;
      }
    }
    return this.fail(c === undefined ? 'unexpected end of input' : `unexpected character ${describeChar(c)}`);
  }

  private object(path: string[], depth: number): JsonObject {
    if (depth > MAX_NESTING) this.fail('nested too deeply');
    this.pos++;
    const result: JsonObject = new Map();
    this.skipWhitespace();
    if (this.text[this.pos] === '}') {
      this.pos++;
      return result;
    }
    for (;;) {
      this.skipWhitespace();
      if (this.text[this.pos] !== '"') this.fail('expected a string key');
      const key = this.string();
      if (result.has(key)) throw new JsonDuplicateKeyError(key, path);
      this.skipWhitespace();
      if (this.text[this.pos] !== ':') this.fail("expected ':'");
      this.pos++;
      result.set(key, this.value([...path, key], depth));
      this.skipWhitespace();
      const next = this.text[this.pos++];
      if (next === '}') return result;
      if (next !== ',') this.fail("expected ',' or '}'");
    }
  }

  private array(path: string[], depth: number): JsonValue[] {
    if (depth > MAX_NESTING) this.fail('nested too deeply');
    this.pos++;
    const result: JsonValue[] = [];
    this.skipWhitespace();
    if (this.text[this.pos] === ']') {
      this.pos++;
      return result;
    }
    for (;;) {
      result.push(this.value(path, depth));
      this.skipWhitespace();
      const next = this.text[this.pos++];
      if (next === ']') return result;
      if (next !== ',') this.fail("expected ',' or ']'");
    }
  }

  private number(): bigint | JsonNumber {
    NUMBER.lastIndex = this.pos;
    const match = NUMBER.exec(this.text);
    if (match === null) this.fail('invalid number');
    const text = match[0];
    this.pos += text.length;
    const next = this.text[this.pos];
    if (next !== undefined && next >= '0' && next <= '9') this.fail('invalid number');
    return /^\d+$/.test(text) ? BigInt(text) : new JsonNumber(text);
  }

  private string(): string {
    const text = this.text;
    this.pos++;
    let out = '';
    let chunk = this.pos;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (Number.isNaN(c)) this.fail('unterminated string');
      if (c === 0x22) {
        out += text.slice(chunk, this.pos++);
        return out;
      }
      if (c < 0x20) this.fail('control character in a string');
      if (c === 0x5c) {
        out += text.slice(chunk, this.pos) + this.escape();
        chunk = this.pos;
      } else {
        this.pos++;
      }
    }
  }

  private escape(): string {
    const kind = this.text[this.pos + 1];
    this.pos += 2;
    if (kind !== undefined && Object.hasOwn(SIMPLE_ESCAPES, kind)) return SIMPLE_ESCAPES[kind];
    if (kind !== 'u') this.fail('invalid escape');
    const unit = this.hex4();
    if (unit >= 0xdc00 && unit <= 0xdfff) this.fail('unpaired surrogate in a \\u escape');
    if (unit < 0xd800 || unit > 0xdbff) return String.fromCharCode(unit);
    if (this.text[this.pos] !== '\\' || this.text[this.pos + 1] !== 'u') this.fail('unpaired surrogate in a \\u escape');
    this.pos += 2;
    const low = this.hex4();
    if (low < 0xdc00 || low > 0xdfff) this.fail('unpaired surrogate in a \\u escape');
    return String.fromCharCode(unit, low);
  }

  private hex4(): number {
    const digits = this.text.slice(this.pos, this.pos + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(digits)) this.fail('invalid \\u escape');
    this.pos += 4;
    return parseInt(digits, 16);
  }
}

function describeChar(c: string): string {
  const code = c.codePointAt(0) as number;
  return code >= 0x21 && code <= 0x7e ? JSON.stringify(c) : `U+${code.toString(16).toUpperCase().padStart(4, '0')}`;
}

/** Parses one JSON document strictly; throws JsonSyntaxError or JsonDuplicateKeyError. */
export function parseJson(text: string): JsonValue {
  return new Parser(text).parse();
}

export function isJsonObject(value: JsonValue): value is JsonObject {
  return value instanceof Map;
}

/** A short description of a JSON value's kind, for error messages. */
export function jsonKind(value: JsonValue): string {
  if (value === null) return 'null';
  if (typeof value === 'bigint') return `the integer ${value}`;
  if (value instanceof JsonNumber) return `the number ${value.text}`;
  if (typeof value === 'string') return `the string ${JSON.stringify(value)}`;
  if (typeof value === 'boolean') return String(value);
  return Array.isArray(value) ? 'an array' : 'an object';
}
