// Request inputs: the keys each architecture takes, nested arrays flattened and checked, batches concatenated.
import { describe, expect, test } from 'vitest';
import { concatInputs, parseInputs, type InputSpec } from '../../lib/serve/inputs.js';
import { HttpError } from '../../lib/serve/index.js';

const TEXT: InputSpec[] = [
  { name: 'input_ids', kind: 'ids', required: true, dims: [null], limit: 10 },
  { name: 'attention_mask', kind: 'mask', required: false, dims: [null], sameAs: 'input_ids' },
];
const IMAGE: InputSpec[] = [{ name: 'pixel_values', kind: 'float', required: true, dims: [1, 2, 2] }];

function error(fn: () => unknown): HttpError {
  try {
    fn();
  } catch (e) {
    if (e instanceof HttpError) return e;
    throw e;
  }
  throw new Error('expected an HttpError');
}

describe('parseInputs', () => {
  test('ids become int64 data, rows and a signature without the batch dimension', () => {
    const parsed = parseInputs({ input_ids: [[1, 2, 3], [4, 5, 6]], attention_mask: [[1, 1, 1], [0, 1, 1]] }, TEXT);
    expect(parsed.rows).toBe(2);
    expect(parsed.signature).toBe('input_ids:3|attention_mask:3');
    expect(parsed.tensors.input_ids.shape).toEqual([2, 3]);
    expect(Array.from(parsed.tensors.input_ids.data as BigInt64Array, Number)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(parsed.tensors.attention_mask.data).toBeInstanceOf(BigInt64Array);
  });

  test('floats become float32 data, with the model dimensions checked', () => {
    const parsed = parseInputs({ pixel_values: [[[[0.5, -1], [2, 3]]]] }, IMAGE);
    expect(parsed.tensors.pixel_values.data).toEqual(new Float32Array([0.5, -1, 2, 3]));
    expect(error(() => parseInputs({ pixel_values: [[[[0.5, -1, 0], [2, 3, 0]]]] }, IMAGE)).message)
      .toBe('inputs.pixel_values: expected shape [batch, 1, 2, 2], got [1, 1, 2, 3]');
    expect(error(() => parseInputs({ pixel_values: [[[[0.5, 'x'], [2, 3]]]] }, IMAGE)).message)
      .toBe('inputs.pixel_values: element 1 must be a finite number, got the string "x"');
  });

  test('every mistake is a 400', () => {
    for (const bad of [null, [], { input_ids: [[1]], extra: 1 }, { input_ids: [[1, 2], [3]] }, { input_ids: [[-1]] }, { input_ids: [[1.5]] }]) {
      expect(error(() => parseInputs(bad, TEXT)).status).toBe(400);
    }
  });

  test('inputs: must be an object', () => {
    expect(error(() => parseInputs([1], TEXT)).message).toBe('inputs: expected a JSON object, got an array of length 1');
  });
});

describe('concatInputs', () => {
  test('stacks requests along the batch dimension, in order', () => {
    const a = parseInputs({ input_ids: [[1, 2]] }, TEXT);
    const b = parseInputs({ input_ids: [[3, 4], [5, 6]] }, TEXT);
    const both = concatInputs([a, b]);
    expect(both.rows).toBe(3);
    expect(both.tensors.input_ids.shape).toEqual([3, 2]);
    expect(Array.from(both.tensors.input_ids.data as BigInt64Array, Number)).toEqual([1, 2, 3, 4, 5, 6]);
  });
});
