// Every op case in test/fixtures/ops/ops.json: forward output and input gradients match Python torch 2.13.
import { describe, expect, test } from 'vitest';
import { torch, type Tensor } from '../../lib/index.js';
import { expectTensorMatches, fromRecord, loadOpsFixture, type OpRecord } from './fixture.js';
import { OP_CASES } from './ops-cases.js';

const fixture = loadOpsFixture();

function runCase(name: string, record: OpRecord): void {
  torch.scope(() => {
    const inputs: Record<string, Tensor> = {};
    for (const [key, encoded] of Object.entries(record.inputs)) inputs[key] = fromRecord(encoded);
    for (const key of Object.keys(record.grads ?? {})) inputs[key].requiresGrad_(true);

    const result = OP_CASES[name](inputs);
    const outputs = Array.isArray(result) ? result : [result];
    const expected = Array.isArray(record.output) ? record.output : [record.output];
    expect(Array.isArray(result), 'several outputs where Python has several').toBe(Array.isArray(record.output));
    expect(outputs.length).toBe(expected.length);
    outputs.forEach((out, k) => expectTensorMatches(out, expected[k], `output ${k}`));

    if (!record.grads) return;
    const gradOutputs = (record.gradOutputs ?? []).map(fromRecord);
    if (outputs.length === 1) {
      outputs[0].backward(gradOutputs[0]);
    } else {
      const differentiable = outputs.filter((o) => torch.isFloating(o.dtype) && o.requiresGrad);
      const terms = differentiable.map((o, k) => o.mul(gradOutputs[k]).sum());
      terms.reduce((acc, term) => acc.add(term)).backward();
    }
    for (const [key, encoded] of Object.entries(record.grads)) {
      const grad = inputs[key].grad;
      expect(grad, `gradient of ${key}`).not.toBeNull();
      expectTensorMatches(grad as Tensor, encoded, `gradient of ${key}`);
    }
  });
}

describe('ops match Python torch on fixed inputs (forward and gradient)', () => {
  test('the fixture was written by torch 2.13', () => {
    expect(fixture.torch).toMatch(/^2\.13\./);
  });

  test('every fixture case has a node-peft spelling and every spelling a fixture case', () => {
    expect(Object.keys(OP_CASES).sort()).toEqual(Object.keys(fixture.cases).sort());
  });

  for (const [name, record] of Object.entries(fixture.cases)) {
    if (!OP_CASES[name]) continue;
    test(name, () => runCase(name, record));
  }

  test('every case frees what it made', () => {
    const before = torch.liveTensors();
    runCase('conv2d', fixture.cases.conv2d);
    expect(torch.liveTensors()).toBe(before);
  });
});
