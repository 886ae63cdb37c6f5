// Header validation against the reference reader: every crafted file in crafted.json carries the
// verdict safetensors 0.8.0 gave it; ours must agree, except where we are deliberately stricter.
import { describe, expect, test } from 'vitest';
import { SafetensorsError } from '../../lib/index.js';
import { MAX_HEADER_BYTES, parseSafetensors } from '../../lib/serialization/header.js';
import { crafted, craftedBytes, writtenBytes } from './fixtures.js';

/** Cases the reference accepts and we reject: duplicate keys (the format forbids them; the reference
 *  keeps the last) and dimensions above 2^53 - 1 (the reference's torch layer cannot build them either). */
const STRICTER = new Set(['duplicate_tensor_key', 'duplicate_key_by_escape', 'duplicate_metadata_key', 'numel_huge_then_zero']);

/** The rule each rejected file must be rejected with. */
const REJECTIONS: Record<string, RegExp> = {
  empty_file: /header too small: the data has 0 bytes/,
  seven_bytes: /header too small: the data has 7 bytes/,
  header_length_over_cap: /header too large: the length prefix says 100000001 bytes, the limit is 100000000/,
  header_length_u64_max: /header too large: the length prefix says 18446744073709551615 bytes/,
  header_length_beyond_file: /invalid header length: the length prefix says 100 bytes but only 2 follow it/,
  header_length_at_cap: /invalid header length: the length prefix says 100000000 bytes/,
  header_length_zero: /the header is not valid JSON: unexpected end of input at character 0/,
  not_utf8: /the header is not valid UTF-8/,
  not_json: /the header is not valid JSON: unexpected end of input/,
  json_array: /the header must be a JSON object, got an array/,
  json_null: /the header must be a JSON object, got null/,
  json_string: /the header must be a JSON object, got the string "x"/,
  trailing_garbage: /not valid JSON: trailing characters at character 2/,
  utf8_bom: /not valid JSON: unexpected character U\+FEFF at character 0/,
  lone_surrogate_escape: /not valid JSON: unpaired surrogate in a \\u escape/,
  lone_trailing_surrogate_escape: /not valid JSON: unpaired surrogate in a \\u escape/,
  raw_control_char_in_string: /not valid JSON: control character in a string/,
  leading_zero_number: /not valid JSON: invalid number/,
  negative_zero_dim: /tensor "a": shape\[0\] must be a non-negative integer, got the number -0/,
  unknown_dtype: /tensor "a" has an unknown dtype: the string "F128"/,
  lowercase_dtype: /tensor "a" has an unknown dtype: the string "f32"/,
  dtype_not_string: /tensor "a" has an unknown dtype: the integer 7/,
  f4_odd: /tensor "a": 3 elements of F4 do not fill whole bytes/,
  metadata_number_value: /"__metadata__" value "a" must be a string, got the integer 1/,
  metadata_null_value: /"__metadata__" value "a" must be a string, got null/,
  metadata_array: /"__metadata__" must be an object of strings, got an array/,
  metadata_string: /"__metadata__" must be an object of strings, got the string "pt"/,
  metadata_like_tensor: /"__metadata__" value "shape" must be a string, got an array/,
  entry_not_object: /tensor "a" must be an object with dtype, shape and data_offsets, got the integer 5/,
  entry_missing_offsets: /tensor "a" has no "data_offsets" field/,
  entry_missing_shape: /tensor "a" has no "shape" field/,
  entry_duplicate_field: /duplicate key "dtype" inside "a" of the header/,
  nesting_over_limit: /not valid JSON: nested too deeply/,
  shape_negative: /tensor "a": shape\[0\] must be a non-negative integer, got the number -2/,
  shape_float: /tensor "a": shape\[0\] must be a non-negative integer, got the number 2\.0/,
  shape_exponent: /tensor "a": shape\[0\] must be a non-negative integer, got the number 2e0/,
  shape_string_dim: /tensor "a": shape\[0\] must be a non-negative integer, got the string "2"/,
  shape_not_array: /tensor "a": shape must be an array, got the integer 2/,
  shape_dim_above_u64: /tensor "a": shape\[0\] is 18446744073709551616, larger than this reader supports/,
  numel_overflow: /tensor "a": shape \[4294967296, 4294967296, 4294967296\] overflows when computing its byte size/,
  numel_product_overflow_then_zero: /tensor "a": shape\[0\] is 9223372036854775808, larger than this reader supports/,
  numel_huge_then_zero: /tensor "a": shape\[0\] is 9223372036854775808, larger than this reader supports/,
  bits_overflow: /tensor "a": shape \[2147483648, 1073741824\] of F64 overflows when computing its byte size/,
  offsets_three_values: /tensor "a": data_offsets must be an array of two integers \[begin, end\], got 3 values/,
  offsets_one_value: /tensor "a": data_offsets must be an array of two integers \[begin, end\], got 1 value$/,
  offset_above_u64: /tensor "a": data_offsets\[0\] is 18446744073709551616, larger than this reader supports/,
  offset_float: /tensor "a": data_offsets\[1\] must be a non-negative integer, got the number 8\.0/,
  offsets_not_from_zero: /invalid offset for tensor "a": data_offsets \[4, 12\] \(a gap: it should begin at 0\)/,
  offsets_gap: /invalid offset for tensor "b": data_offsets \[12, 16\] \(a gap: it should begin at 8\)/,
  offsets_overlap: /invalid offset for tensor "b": data_offsets \[4, 12\] \(it overlaps the previous tensor, which ends at 8\)/,
  offsets_end_before_begin: /invalid offset for tensor "a": data_offsets \[8, 0\] \(end is before begin\)/,
  byte_length_mismatch: /tensor "a": data_offsets \[0, 4\] hold 4 bytes but shape \[2\] of F32 needs 8/,
  trailing_bytes: /incomplete metadata, file not fully covered: the tensors cover 8 bytes but the data buffer has 12/,
  truncated_data: /incomplete metadata, file not fully covered: the tensors cover 8 bytes but the data buffer has 5/,
  data_without_tensors: /incomplete metadata, file not fully covered: the tensors cover 0 bytes but the data buffer has 4/,
  duplicate_tensor_key: /duplicate key "a" at the top level of the header \(the format forbids duplicates\)/,
  duplicate_key_by_escape: /duplicate key "ab" at the top level of the header/,
  duplicate_metadata: /duplicate key "__metadata__" at the top level of the header/,
  duplicate_metadata_key: /duplicate key "a" inside "__metadata__" of the header/,
};

function verdictOf(bytes: Uint8Array): { ok: true; tensors: [string, string, number[]][] } | { ok: false; error: unknown } {
  try {
    const header = parseSafetensors(bytes, { source: 'case' });
    return { ok: true, tensors: header.tensors.map((t) => [t.name, t.dtype, t.shape]) };
  } catch (error) {
    return { ok: false, error };
  }
}

const byName = (a: [string, ...unknown[]], b: [string, ...unknown[]]) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);

describe('crafted files agree with the safetensors 0.8.0 reader', () => {
  test('the fixture set covers every reference rejection, and every rejection has a rule', () => {
    const rejectedByReference = crafted.filter((c) => !c.reference.ok).map((c) => c.name);
    expect(rejectedByReference.length).toBeGreaterThan(50);
    for (const name of [...rejectedByReference, ...STRICTER]) expect(REJECTIONS, name).toHaveProperty(name);
    expect(Object.keys(REJECTIONS).sort()).toEqual([...rejectedByReference, ...STRICTER].sort());
  });

  test.each(crafted.map((c) => [c.name, c] as const))('%s', (name, c) => {
    const ours = verdictOf(craftedBytes(name));
    const shouldAccept = c.reference.ok && !STRICTER.has(name);
    if (shouldAccept && c.reference.ok) {
      expect(ours.ok ? undefined : (ours.error as Error).message).toBeUndefined();
      if (ours.ok) expect([...ours.tensors].sort(byName)).toEqual([...c.reference.tensors].sort(byName));
    } else {
      expect(ours.ok).toBe(false);
      if (!ours.ok) {
        expect(ours.error).toBeInstanceOf(SafetensorsError);
        expect((ours.error as Error).message).toMatch(/^case: /);
        expect((ours.error as Error).message).toMatch(REJECTIONS[name]);
      }
    }
  });
});

describe('parseSafetensors', () => {
  test('reports metadata, file-order tensors and where the data starts', () => {
    const header = parseSafetensors(craftedBytes('key_order_differs_from_offsets'));
    expect(header.metadata).toBeNull();
    expect(header.tensors.map((t) => [t.name, t.dataOffsets])).toEqual([['a', [0, 8]], ['b', [8, 11]]]);
    expect(header.dataStart).toBe(8 + header.headerLength);
    expect(header.dataLength).toBe(11);
  });

  test('accepts a header padded in front with spaces, and counts the padding in the header length', () => {
    const header = parseSafetensors(craftedBytes('page_aligned_front_padding'));
    expect(header.headerLength).toBe(64 + '{"a":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}'.length);
    expect(header.tensors[0].name).toBe('a');
  });

  test('reads the metadata of a file written by the reference', () => {
    expect(parseSafetensors(writtenBytes('all_dtypes')).metadata).toEqual({ format: 'pt' });
    expect(parseSafetensors(writtenBytes('empty_metadata')).metadata).toEqual({});
    expect(parseSafetensors(writtenBytes('no_metadata')).metadata).toBeNull();
    expect(parseSafetensors(writtenBytes('multi_key_metadata')).metadata).toEqual({ format: 'pt', epoch: '3', b: '', a: 'x' });
  });

  test('a lower maxHeaderBytes rejects a header the default accepts', () => {
    const bytes = writtenBytes('peft_like');
    const n = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true));
    expect(() => parseSafetensors(bytes, { maxHeaderBytes: n })).not.toThrow();
    expect(() => parseSafetensors(bytes, { maxHeaderBytes: n - 1, source: 'x.safetensors' })).toThrow(
      `x.safetensors: header too large: the length prefix says ${n} bytes, the limit is ${n - 1}`,
    );
  });

  test('maxHeaderBytes must be an integer no larger than the reference limit', () => {
    const bytes = writtenBytes('peft_like');
    expect(() => parseSafetensors(bytes, { maxHeaderBytes: MAX_HEADER_BYTES + 1 })).toThrow(/maxHeaderBytes: expected an integer from 2 to 100000000, got 100000001/);
    expect(() => parseSafetensors(bytes, { maxHeaderBytes: 1.5 })).toThrow(/maxHeaderBytes/);
  });

  test('every truncation of a valid file is rejected with a SafetensorsError', () => {
    const bytes = writtenBytes('all_dtypes');
    for (let length = 0; length < bytes.length; length++) {
      expect(() => parseSafetensors(bytes.subarray(0, length)), `length ${length}`).toThrow(SafetensorsError);
    }
  });

  test('single-byte corruption of the header never escapes as anything but a SafetensorsError', () => {
    const original = writtenBytes('scalars_and_empty');
    const n = Number(new DataView(original.buffer, original.byteOffset).getBigUint64(0, true));
    let rejected = 0;
    for (let i = 0; i < 8 + n; i++) {
      for (const value of [0x00, 0x22, 0x7b, 0xff]) {
        const bytes = original.slice();
        bytes[i] = value;
        try {
          parseSafetensors(bytes);
        } catch (error) {
          expect(error, `byte ${i} = ${value}`).toBeInstanceOf(SafetensorsError);
          rejected++;
        }
      }
    }
    expect(rejected).toBeGreaterThan(8 + n);
  });
});
