// The strict JSON parser used for headers: what JSON.parse would let through and serde_json rejects.
import { describe, expect, test } from 'vitest';
import { JsonDuplicateKeyError, JsonNumber, JsonSyntaxError, parseJson } from '../../lib/serialization/json.js';

describe('parseJson', () => {
  test('parses objects in order, arrays, strings, literals and exact integers', () => {
    const value = parseJson(' {"b": [1, 18446744073709551615, true, false, null], "a": "x\\u00e9\\n"} ');
    expect(value).toEqual(new Map<string, unknown>([
      ['b', [1n, 18446744073709551615n, true, false, null]],
      ['a', 'x\u00e9\n'],
    ]));
    expect([...(value as Map<string, unknown>).keys()]).toEqual(['b', 'a']);
  });

  test('keeps fractions, exponents and negative numbers apart from non-negative integers', () => {
    expect(parseJson('[2.0, 2e0, -2, -0]')).toEqual([new JsonNumber('2.0'), new JsonNumber('2e0'), new JsonNumber('-2'), new JsonNumber('-0')]);
  });

  test('reports a duplicate key with the path of the object holding it', () => {
    const error = (() => {
      try {
        parseJson('{"t": {"dtype": 1, "dtype": 2}}');
      } catch (e) {
        return e;
      }
    })();
    expect(error).toBeInstanceOf(JsonDuplicateKeyError);
    expect((error as JsonDuplicateKeyError).key).toBe('dtype');
    expect((error as JsonDuplicateKeyError).path).toEqual(['t']);
  });

  test('treats keys that differ only in escaping as duplicates', () => {
    expect(() => parseJson('{"ab": 1, "a\\u0062": 2}')).toThrow(JsonDuplicateKeyError);
  });

  test('decodes surrogate pairs and rejects unpaired surrogates', () => {
    expect(parseJson('"\\ud83d\\ude00"')).toBe('\u{1F600}');
    expect(() => parseJson('"\\ud800"')).toThrow(/unpaired surrogate/);
    expect(() => parseJson('"\\ud800\\u0041"')).toThrow(/unpaired surrogate/);
    expect(() => parseJson('"\\udc00"')).toThrow(/unpaired surrogate/);
  });

  test.each([
    ['leading zeros', '[01]', /invalid number/],
    ['a bare minus', '[-]', /invalid number/],
    ['a raw control character', '"a\u0001"', /control character/],
    ['a bad escape', '"\\x"', /invalid escape/],
    ['a short unicode escape', '"\\u12"', /invalid \\u escape/],
    ['trailing characters', '{}x', /trailing characters/],
    ['a trailing comma', '[1,]', /unexpected character/],
    ['an unterminated string', '"abc', /unterminated string/],
    ['an empty document', '', /unexpected end of input/],
    ['a byte order mark', '\ufeff{}', /unexpected character/],
    ['a non-string key', '{1: 2}', /expected a string key/],
  ])('rejects %s', (_what, text, message) => {
    expect(() => parseJson(text)).toThrow(JsonSyntaxError);
    expect(() => parseJson(text)).toThrow(message);
  });

  test('allows 127 nested containers and rejects 128, as serde_json does', () => {
    expect(() => parseJson('['.repeat(127) + ']'.repeat(127))).not.toThrow();
    expect(() => parseJson('['.repeat(128) + ']'.repeat(128))).toThrow(/nested too deeply/);
    expect(() => parseJson('{"a":'.repeat(128) + '1' + '}'.repeat(128))).toThrow(/nested too deeply/);
  });
});
