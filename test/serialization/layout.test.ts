// The writer's layout: headers byte-identical to safetensors 0.8.0's for the same tensors and metadata.
import { describe, expect, test } from 'vitest';
import { SafetensorsError } from '../../lib/index.js';
import { safetensorsDtypeOf } from '../../lib/serialization/dtypes.js';
import { parseSafetensors } from '../../lib/serialization/header.js';
import { planFile, type TensorDescription } from '../../lib/serialization/layout.js';
import { written, writtenBytes } from './fixtures.js';

const REPRODUCIBLE = Object.keys(written).filter((name) => name !== 'multi_key_metadata');

function descriptionsOf(name: string): TensorDescription[] {
  return written[name].tensors.map((t) => ({ name: t.name, dtype: safetensorsDtypeOf(t.dtype), shape: t.shape }));
}

describe('planFile', () => {
  test.each(REPRODUCIBLE)('the header for %s is byte-identical to the reference writer', (name) => {
    const layout = planFile(descriptionsOf(name), written[name].metadata);
    const reference = writtenBytes(name);
    expect(Buffer.from(layout.header).toString('latin1')).toBe(Buffer.from(reference.subarray(0, layout.header.length)).toString('latin1'));
    expect(layout.totalLength).toBe(reference.length);
  });

  test('orders by dtype (I64, F64, F32, BF16, F16, I16, U8, BOOL ...) then by UTF-8 bytes of the name', () => {
    const layout = planFile([
      { name: 'b', dtype: 'F16', shape: [3] },
      { name: 'a', dtype: 'F16', shape: [1] },
      { name: 'z', dtype: 'F32', shape: [0, 4] },
      { name: 'mask', dtype: 'BOOL', shape: [3] },
      { name: 'steps', dtype: 'I64', shape: [2] },
      { name: 'w', dtype: 'F64', shape: [] },
      { name: '\u{1F600}', dtype: 'BF16', shape: [1] },
      { name: '\uffff', dtype: 'BF16', shape: [1] },
    ]);
    expect(layout.tensors.map((t) => t.name)).toEqual(['steps', 'w', 'z', '\uffff', '\u{1F600}', 'a', 'b', 'mask']);
    expect(layout.tensors.map((t) => t.dataOffsets)).toEqual([[0, 16], [16, 24], [24, 24], [24, 26], [26, 28], [28, 30], [30, 36], [36, 39]]);
    expect(layout.tensors.map((t) => t.index)).toEqual([4, 5, 2, 7, 6, 1, 0, 3]);
  });

  test('pads the JSON with spaces to a multiple of 8 so every tensor starts aligned to its element size', () => {
    for (const names of [['a'], ['ab'], ['abc', 'd'], ['x'.repeat(13)]]) {
      const layout = planFile(names.map((name) => ({ name, dtype: 'F64' as const, shape: [2] })));
      const n = Number(new DataView(layout.header.buffer).getBigUint64(0, true));
      expect(n % 8).toBe(0);
      expect(layout.header.length).toBe(8 + n);
      const text = Buffer.from(layout.header.subarray(8)).toString('utf8');
      expect(text.trimEnd().endsWith('}')).toBe(true);
      expect(text.length - text.trimEnd().length).toBeLessThan(8);
    }
  });

  test('what it plans, the reader accepts unchanged', () => {
    const layout = planFile(descriptionsOf('unicode_names'), written.unicode_names.metadata);
    const file = new Uint8Array(layout.totalLength);
    file.set(layout.header);
    const header = parseSafetensors(file);
    expect(header.metadata).toEqual(written.unicode_names.metadata);
    expect(header.tensors.map((t) => [t.name, t.dataOffsets])).toEqual(layout.tensors.map((t) => [t.name, t.dataOffsets]));
  });

  test('writes no __metadata__ for null or undefined, and an empty object for {}', () => {
    const text = (metadata?: Record<string, string> | null) => Buffer.from(planFile([], metadata).header.subarray(8)).toString().trimEnd();
    expect(text()).toBe('{}');
    expect(text(null)).toBe('{}');
    expect(text({})).toBe('{"__metadata__":{}}');
    expect(text({ format: 'pt', b: 'c' })).toBe('{"__metadata__":{"format":"pt","b":"c"}}');
  });

  test.each([
    ['a repeated name', [{ name: 'a', dtype: 'F32', shape: [1] }, { name: 'a', dtype: 'F32', shape: [1] }], undefined, /tensor name "a" is given twice/],
    ['the reserved name', [{ name: '__metadata__', dtype: 'F32', shape: [1] }], undefined, /tensor name "__metadata__" is reserved/],
    ['an unpaired surrogate in a name', [{ name: 'a\ud800', dtype: 'F32', shape: [1] }], undefined, /tensor name: "a\\ud800" holds an unpaired UTF-16 surrogate/],
    ['a negative dimension', [{ name: 'a', dtype: 'F32', shape: [-1] }], undefined, /tensor "a": shape must be an array of non-negative integers, got \[-1\]/],
    ['a fractional dimension', [{ name: 'a', dtype: 'F32', shape: [1.5] }], undefined, /tensor "a": shape must be an array of non-negative integers/],
    ['a number as metadata value', [], { epoch: 3 }, /metadata\["epoch"\]: expected a string, got number/],
    ['an array as metadata', [], ['pt'], /metadata: expected an object of strings, got an array/],
    ['an unpaired surrogate in metadata', [], { k: '\udc00' }, /metadata\["k"\]: "\\udc00" holds an unpaired UTF-16 surrogate/],
  ] as const)('refuses %s', (_what, tensors, metadata, message) => {
    const call = () => planFile(tensors as unknown as TensorDescription[], metadata as unknown as Record<string, string>);
    expect(call).toThrow(SafetensorsError);
    expect(call).toThrow(message);
  });
});
