// The `inputs` of a predict request: which keys a model takes, and nested JSON arrays checked (keys, ranks,
// shapes, value ranges) and flattened into typed arrays. Tensors are made later, when the batch runs.
import type { PreTrainedModel } from '../models/index.js';
import { tensor } from '../tensor/creation.js';
import type { Device, DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { describeJson, requireObject } from './body.js';
import { badRequest } from './http-error.js';

export interface InputSpec {
  name: string;
  /** ids: integers in [0, limit); mask: 0 or 1; float: any finite number. */
  kind: 'ids' | 'mask' | 'float';
  required: boolean;
  /** The dimensions after the batch one; null = any size (but equal to input_ids' where sameAs is set). */
  dims: (number | null)[];
  /** ids only: values must be below this. */
  limit?: number;
  /** Must have exactly the shape of this other input. */
  sameAs?: string;
}

export interface ParsedInput {
  data: Float32Array | BigInt64Array;
  /** Including the batch dimension. */
  shape: number[];
}

export interface ParsedInputs {
  tensors: Record<string, ParsedInput>;
  rows: number;
  /** Keys and shapes without the batch dimension: requests with equal signatures can share a batch. */
  signature: string;
}

interface ConfigView {
  vocab_size?: number;
  type_vocab_size?: number;
  image_size?: number;
  num_channels?: number;
}

/** The forward inputs a model of this architecture takes from a request. */
export function inputSpecsFor(model: PreTrainedModel): InputSpec[] {
  const config = model.config as ConfigView;
  if (model.architecture === 'ViTForImageClassification') {
    const side = config.image_size ?? null;
    return [{ name: 'pixel_values', kind: 'float', required: true, dims: [config.num_channels ?? null, side, side] }];
  }
  const specs: InputSpec[] = [
    { name: 'input_ids', kind: 'ids', required: true, dims: [null], limit: config.vocab_size },
    { name: 'attention_mask', kind: 'mask', required: false, dims: [null], sameAs: 'input_ids' },
  ];
  if (model.architecture === 'BertForSequenceClassification') {
    specs.push({ name: 'token_type_ids', kind: 'ids', required: false, dims: [null], limit: config.type_vocab_size, sameAs: 'input_ids' });
  }
  return specs;
}

/** Walks a nested array of the given rank: its shape and its leaves in row-major order. */
function flattenNested(value: unknown, rank: number, key: string): { shape: number[]; values: unknown[] } {
  const shape: number[] = [];
  let level = value;
  for (let d = 0; d < rank; d++) {
    if (!Array.isArray(level)) {
      throw badRequest(`inputs.${key}: expected a nested array of rank ${rank}, got ${describeJson(level)} at depth ${d}`);
    }
    if (level.length === 0) throw badRequest(`inputs.${key}: dimension ${d} is empty; every dimension needs at least one entry`);
    shape.push(level.length);
    level = level[0];
  }
  const values: unknown[] = [];
  const walk = (node: unknown, depth: number, path: string): void => {
    if (depth === rank) {
      values.push(node);
      return;
    }
    if (!Array.isArray(node) || node.length !== shape[depth]) {
      throw badRequest(`inputs.${key}${path}: expected an array of length ${shape[depth]} (the array is ragged), got ${describeJson(node)}`);
    }
    node.forEach((child, i) => walk(child, depth + 1, `${path}[${i}]`));
  };
  walk(value, 0, '');
  return { shape, values };
}

function toTyped(values: unknown[], spec: InputSpec, key: string): Float32Array | BigInt64Array {
  const bad = (i: number, expected: string): never => {
    throw badRequest(`inputs.${key}: element ${i} must be ${expected}, got ${describeJson(values[i])}`);
  };
  if (spec.kind === 'float') {
    const out = new Float32Array(values.length);
    values.forEach((v, i) => {
      if (typeof v !== 'number' || !Number.isFinite(v)) bad(i, 'a finite number');
      out[i] = v as number;
    });
    return out;
  }
  const out = new BigInt64Array(values.length);
  values.forEach((v, i) => {
    if (spec.kind === 'mask') {
      if (v !== 0 && v !== 1) bad(i, '0 or 1');
    } else if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || (spec.limit !== undefined && v >= spec.limit)) {
      bad(i, `an integer in [0, ${spec.limit ?? 'inf'})`);
    }
    out[i] = BigInt(v as number);
  });
  return out;
}

/** Checks and flattens a request's `inputs` object against the model's input specs. */
export function parseInputs(json: unknown, specs: readonly InputSpec[]): ParsedInputs {
  const inputs = requireObject(json, 'inputs');
  const known = new Set(specs.map((s) => s.name));
  const unknown = Object.keys(inputs).filter((k) => !known.has(k));
  if (unknown.length > 0) {
    throw badRequest(`inputs: unknown key(s) ${unknown.map((k) => `'${k}'`).join(', ')}; this model takes ${specs.map((s) => s.name).join(', ')}`);
  }
  const tensors: Record<string, ParsedInput> = {};
  for (const spec of specs) {
    const value = inputs[spec.name];
    if (value === undefined || value === null) {
      if (spec.required) throw badRequest(`inputs.${spec.name} is required`);
      continue;
    }
    const { shape, values } = flattenNested(value, spec.dims.length + 1, spec.name);
    spec.dims.forEach((want, d) => {
      if (want !== null && shape[d + 1] !== want) {
        throw badRequest(`inputs.${spec.name}: expected shape [batch, ${spec.dims.map((x) => x ?? '*').join(', ')}], got [${shape.join(', ')}]`);
      }
    });
    const other = spec.sameAs ? tensors[spec.sameAs] : undefined;
    if (other && other.shape.join() !== shape.join()) {
      throw badRequest(`inputs.${spec.name}: expected the shape of ${spec.sameAs} [${other.shape.join(', ')}], got [${shape.join(', ')}]`);
    }
    tensors[spec.name] = { data: toTyped(values, spec, spec.name), shape };
  }
  const entries = Object.entries(tensors);
  const rows = entries[0][1].shape[0];
  for (const [name, t] of entries) {
    if (t.shape[0] !== rows) throw badRequest(`inputs.${name}: has ${t.shape[0]} rows but ${entries[0][0]} has ${rows}`);
  }
  const signature = entries.map(([name, t]) => `${name}:${t.shape.slice(1).join('x')}`).join('|');
  return { tensors, rows, signature };
}

/** Several requests' inputs (equal signatures) stacked along the batch dimension, in order. */
export function concatInputs(parts: readonly ParsedInputs[]): ParsedInputs {
  if (parts.length === 1) return parts[0];
  const tensors: Record<string, ParsedInput> = {};
  for (const name of Object.keys(parts[0].tensors)) {
    const pieces = parts.map((p) => p.tensors[name]);
    const length = pieces.reduce((n, p) => n + p.data.length, 0);
    const data = pieces[0].data instanceof Float32Array ? new Float32Array(length) : new BigInt64Array(length);
    let offset = 0;
    for (const piece of pieces) {
      if (data instanceof Float32Array) data.set(piece.data as Float32Array, offset);
      else data.set(piece.data as BigInt64Array, offset);
      offset += piece.data.length;
    }
    const rows = pieces.reduce((n, p) => n + p.shape[0], 0);
    tensors[name] = { data, shape: [rows, ...pieces[0].shape.slice(1)] };
  }
  return { tensors, rows: parts.reduce((n, p) => n + p.rows, 0), signature: parts[0].signature };
}

/** The tensors for a forward: ids as int64, floats in the model's dtype, on the model's device. */
export function toTensors(parsed: ParsedInputs, options: { floatDtype: DType; device: Device }): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [name, input] of Object.entries(parsed.tensors)) {
    let t = tensor(input.data, { shape: input.shape, device: options.device });
    if (input.data instanceof Float32Array && options.floatDtype !== 'float32') t = t.to(options.floatDtype);
    out[name] = t;
  }
  return out;
}
