// Reads test/fixtures/ops/ops.json (written by scripts/fixtures/ops.py) and compares tensors with its records.
import { readFileSync } from 'node:fs';
import { expect } from 'vitest';
import { torch, type DType, type Tensor } from '../../lib/index.js';

export interface EncodedTensor {
  shape: number[];
  dtype: DType;
  data: (number | boolean)[];
}

export interface OpRecord {
  inputs: Record<string, EncodedTensor>;
  output: EncodedTensor | EncodedTensor[];
  gradOutputs?: EncodedTensor[];
  grads?: Record<string, EncodedTensor>;
}

export interface OpsFixture {
  torch: string;
  cases: Record<string, OpRecord>;
  random: Record<string, EncodedTensor>;
}

export const FLOAT32_TOLERANCE = 1e-5;

export function loadOpsFixture(): OpsFixture {
  return JSON.parse(readFileSync(new URL('../fixtures/ops/ops.json', import.meta.url), 'utf8')) as OpsFixture;
}

export function fromRecord(encoded: EncodedTensor): Tensor {
  return torch.tensor(encoded.data, { dtype: encoded.dtype, shape: encoded.shape });
}

/** Same dtype and shape; integer and bool elements equal; floating elements within `tolerance` (absolute). */
export function expectTensorMatches(actual: Tensor, expected: EncodedTensor, what: string, tolerance = FLOAT32_TOLERANCE): void {
  expect(actual.dtype, `${what}: dtype`).toBe(expected.dtype);
  expect([...actual.shape], `${what}: shape`).toEqual(expected.shape);
  const values = Array.from(actual.toArray(), Number);
  const wanted = expected.data.map(Number);
  if (!torch.isFloating(expected.dtype)) {
    expect(values, `${what}: elements`).toEqual(wanted);
    return;
  }
  let worst = 0;
  let at = -1;
  for (let i = 0; i < wanted.length; i++) {
    const diff = Math.abs(values[i] - wanted[i]);
    if (Number.isNaN(diff)) {
      [worst, at] = [Number.NaN, i];
      break;
    }
    if (diff > worst) [worst, at] = [diff, i];
  }
  expect(worst, `${what}: max abs diff ${worst} at element ${at} (got ${values[at]}, want ${wanted[at]})`).toBeLessThanOrEqual(tolerance);
}
