// Conversion, views, indexing and joining, as Tensor methods and free functions.
import { N, type Handle } from '../binding.js';
import { intArg, intsArg, optIntArg, tensorArg, tensorsArg } from './check.js';
import { checkDevice, checkDtype, type Device, DTYPES, type DType } from './dtype.js';
import { TorchError } from '../errors.js';
import { describe, operand, Tensor, wrap, wrapAll } from './tensor.js';

declare module './tensor.js' {
  interface Tensor {
    /** A copy (or this same data, when nothing changes) with another dtype and/or device. */
    to(target: DType | Device | { dtype?: DType; device?: Device; copy?: boolean }): Tensor;
    float(): Tensor;
    long(): Tensor;
    contiguous(): Tensor;
    clone(): Tensor;
    reshape(...shape: number[]): Tensor;
    view(...shape: number[]): Tensor;
    permute(...dims: number[]): Tensor;
    transpose(dim0: number, dim1: number): Tensor;
    /** Transpose of the last two dims. */
    mT(): Tensor;
    squeeze(dim?: number): Tensor;
    unsqueeze(dim: number): Tensor;
    expand(...shape: number[]): Tensor;
    repeat(...times: number[]): Tensor;
    repeatInterleave(repeats: number, dim?: number): Tensor;
    flatten(startDim?: number, endDim?: number): Tensor;
    narrow(dim: number, start: number, length: number): Tensor;
    /** Python's t[start:end:step] along dim (negative indices allowed, null = open end). */
    slice(dim: number, start?: number | null, end?: number | null, step?: number): Tensor;
    select(dim: number, index: number): Tensor;
    indexSelect(dim: number, index: Tensor): Tensor;
    /** Advanced indexing t[i0, i1, ...] with index tensors. */
    index(indices: Tensor[]): Tensor;
    gather(dim: number, index: Tensor): Tensor;
    scatter(dim: number, index: Tensor, src: Tensor | number): Tensor;
    scatterAdd(dim: number, index: Tensor, src: Tensor): Tensor;
    indexAdd(dim: number, index: Tensor, source: Tensor, alpha?: number): Tensor;
    indexCopy(dim: number, index: Tensor, source: Tensor): Tensor;
    maskedFill(mask: Tensor, value: Tensor | number): Tensor;
    triu(diagonal?: number): Tensor;
    tril(diagonal?: number): Tensor;
    flip(...dims: number[]): Tensor;
    roll(shifts: number | number[], dims: number | number[]): Tensor;
    split(sizeOrSections: number | number[], dim?: number): Tensor[];
    chunk(chunks: number, dim?: number): Tensor[];
    sort(dim?: number, descending?: boolean): [Tensor, Tensor];
    argsort(dim?: number, descending?: boolean): Tensor;
    topk(k: number, dim?: number): [Tensor, Tensor];
    nonzero(): Tensor;
    multinomial(numSamples: number, replacement?: boolean): Tensor;
  }
}

const P = Tensor.prototype;
/** Sizes or dims given either spread (t.reshape(2, 3)) or as one array (t.reshape([2, 3])), checked as integers. */
const dims = (xs: number[], what: string): number[] =>
  intsArg(xs.length === 1 && Array.isArray(xs[0]) ? (xs[0] as unknown as number[]) : xs, what);

P.to = function (target) {
  if (typeof target !== 'string' && (typeof target !== 'object' || target === null)) {
    throw new TorchError(`to: target: expected a dtype, a device or { dtype, device, copy }, got ${describe(target)}`);
  }
  if (typeof target === 'string' && !(DTYPES as readonly string[]).includes(target) && !/^(cpu|cuda(:\d+)?)$/.test(target)) {
    throw new TorchError(`to: expected a dtype (${DTYPES.join(', ')}) or a device (cpu, cuda, cuda:N), got ${JSON.stringify(target)}`);
  }
  const spec = typeof target === 'string' ? (target.startsWith('cpu') || target.startsWith('cuda') ? { device: target as Device } : { dtype: target as DType }) : target;
  const dtype = spec.dtype === undefined ? null : checkDtype(spec.dtype);
  const device = spec.device === undefined ? null : checkDevice(spec.device);
  return wrap(N.to(this.handle, dtype, device, spec.copy ?? false));
};
P.float = function () { return this.to('float32'); };
P.long = function () { return this.to('int64'); };
P.contiguous = function () { return wrap(N.contiguous(this.handle)); };
P.clone = function () { return wrap(N.clone(this.handle)); };
P.reshape = function (...shape) { return wrap(N.reshape(this.handle, dims(shape, 'reshape: shape'))); };
P.view = function (...shape) { return wrap(N.view(this.handle, dims(shape, 'view: shape'))); };
P.permute = function (...order) { return wrap(N.permute(this.handle, dims(order, 'permute: dims'))); };
P.transpose = function (d0, d1) { return wrap(N.transpose(this.handle, intArg(d0, 'transpose: dim0'), intArg(d1, 'transpose: dim1'))); };
P.mT = function () { return wrap(N.transpose(this.handle, -2, -1)); };
P.squeeze = function (dim) { return wrap(N.squeeze(this.handle, optIntArg(dim, 'squeeze: dim'))); };
P.unsqueeze = function (dim) { return wrap(N.unsqueeze(this.handle, intArg(dim, 'unsqueeze: dim'))); };
P.expand = function (...shape) { return wrap(N.expand(this.handle, dims(shape, 'expand: shape'))); };
P.repeat = function (...times) { return wrap(N.repeat(this.handle, dims(times, 'repeat: times'))); };
P.repeatInterleave = function (repeats, dim) {
  return wrap(N.repeatInterleave(this.handle, intArg(repeats, 'repeatInterleave: repeats'), optIntArg(dim, 'repeatInterleave: dim')));
};
P.flatten = function (startDim = 0, endDim = -1) {
  return wrap(N.flatten(this.handle, intArg(startDim, 'flatten: startDim'), intArg(endDim, 'flatten: endDim')));
};
P.narrow = function (dim, start, length) {
  return wrap(N.narrow(this.handle, intArg(dim, 'narrow: dim'), intArg(start, 'narrow: start'), intArg(length, 'narrow: length')));
};
P.slice = function (dim, start = null, end = null, step = 1) {
  return wrap(N.slice(this.handle, intArg(dim, 'slice: dim'), optIntArg(start, 'slice: start'), optIntArg(end, 'slice: end'),
    intArg(step, 'slice: step')));
};
P.select = function (dim, index) { return wrap(N.select(this.handle, intArg(dim, 'select: dim'), intArg(index, 'select: index'))); };
P.indexSelect = function (dim, index) {
  return wrap(N.indexSelect(this.handle, intArg(dim, 'indexSelect: dim'), tensorArg(index, 'indexSelect: index')));
};
P.index = function (indices) { return wrap(N.index(this.handle, tensorsArg(indices, 'index: indices'))); };
P.gather = function (dim, index) { return wrap(N.gather(this.handle, intArg(dim, 'gather: dim'), tensorArg(index, 'gather: index'))); };
P.scatter = function (dim, index, src) {
  return wrap(N.scatter(this.handle, intArg(dim, 'scatter: dim'), tensorArg(index, 'scatter: index'), operand(src, 'scatter: src')));
};
P.scatterAdd = function (dim, index, src) {
  return wrap(N.scatterAdd(this.handle, intArg(dim, 'scatterAdd: dim'), tensorArg(index, 'scatterAdd: index'), tensorArg(src, 'scatterAdd: src')));
};
P.indexAdd = function (dim, index, source, alpha = 1) {
  return wrap(N.indexAdd(this.handle, intArg(dim, 'indexAdd: dim'), tensorArg(index, 'indexAdd: index'),
    tensorArg(source, 'indexAdd: source'), alpha));
};
P.indexCopy = function (dim, index, source) {
  return wrap(N.indexCopy(this.handle, intArg(dim, 'indexCopy: dim'), tensorArg(index, 'indexCopy: index'), tensorArg(source, 'indexCopy: source')));
};
P.maskedFill = function (mask, value) {
  return wrap(N.maskedFill(this.handle, tensorArg(mask, 'maskedFill: mask'), operand(value, 'maskedFill: value')));
};
P.triu = function (diagonal = 0) { return wrap(N.triu(this.handle, intArg(diagonal, 'triu: diagonal'))); };
P.tril = function (diagonal = 0) { return wrap(N.tril(this.handle, intArg(diagonal, 'tril: diagonal'))); };
P.flip = function (...d) { return wrap(N.flip(this.handle, dims(d, 'flip: dims'))); };
P.roll = function (shifts, d) { return wrap(N.roll(this.handle, intsArg([shifts].flat(), 'roll: shifts'), intsArg([d].flat(), 'roll: dims'))); };
P.split = function (sizeOrSections, dim = 0) {
  const sizes = Array.isArray(sizeOrSections) ? intsArg(sizeOrSections, 'split: sections') : intArg(sizeOrSections, 'split: size');
  return wrapAll(N.split(this.handle, sizes, intArg(dim, 'split: dim')) as Handle[]);
};
P.chunk = function (chunks, dim = 0) { return wrapAll(N.chunk(this.handle, intArg(chunks, 'chunk: chunks'), intArg(dim, 'chunk: dim')) as Handle[]); };
P.sort = function (dim = -1, descending = false) {
  const [values, indices] = wrapAll(N.sort(this.handle, intArg(dim, 'sort: dim'), descending) as Handle[]);
  return [values, indices];
};
P.argsort = function (dim = -1, descending = false) { return wrap(N.argsort(this.handle, intArg(dim, 'argsort: dim'), descending)); };
P.topk = function (k, dim = -1) {
  const [values, indices] = wrapAll(N.topk(this.handle, intArg(k, 'topk: k'), intArg(dim, 'topk: dim')) as Handle[]);
  return [values, indices];
};
P.nonzero = function () { return wrap(N.nonzero(this.handle)); };
P.multinomial = function (numSamples, replacement = false) {
  return wrap(N.multinomial(this.handle, intArg(numSamples, 'multinomial: numSamples'), replacement));
};

export function cat(tensors: Tensor[], dim = 0): Tensor {
  return wrap(N.cat(tensorsArg(tensors, 'cat: tensors'), intArg(dim, 'cat: dim')));
}

export function stack(tensors: Tensor[], dim = 0): Tensor {
  return wrap(N.stack(tensorsArg(tensors, 'stack: tensors'), intArg(dim, 'stack: dim')));
}

/** Elementwise choice: condition ? a : b (either side may be a number). */
export function where(condition: Tensor, a: Tensor | number, b: Tensor | number): Tensor {
  return wrap(N.where(tensorArg(condition, 'where: condition'), operand(a, 'where: input'), operand(b, 'where: other')));
}
