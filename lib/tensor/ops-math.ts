// Elementwise, reduction and matrix ops as Tensor methods; in-place variants end in '_'.
import { N, type Handle } from '../binding.js';
import { intArg, intsArg, numberArg, optIntArg, optNumberArg, tensorArg, tensorsArg } from './check.js';
import type { DType } from './dtype.js';
import { operand, Tensor, wrap, wrapAll } from './tensor.js';

type Operand = Tensor | number;
type Dims = number | number[] | null;

declare module './tensor.js' {
  interface Tensor {
    add(other: Operand, alpha?: number): Tensor;
    sub(other: Operand, alpha?: number): Tensor;
    mul(other: Operand): Tensor;
    div(other: Operand, roundingMode?: 'trunc' | 'floor'): Tensor;
    remainder(other: Operand): Tensor;
    pow(exponent: Operand): Tensor;
    maximum(other: Operand): Tensor;
    minimum(other: Operand): Tensor;
    neg(): Tensor;
    exp(): Tensor;
    log(): Tensor;
    sqrt(): Tensor;
    rsqrt(): Tensor;
    abs(): Tensor;
    sin(): Tensor;
    cos(): Tensor;
    tanh(): Tensor;
    sigmoid(): Tensor;
    relu(): Tensor;
    gelu(approximate?: 'none' | 'tanh'): Tensor;
    silu(): Tensor;
    floor(): Tensor;
    round(): Tensor;
    sign(): Tensor;
    reciprocal(): Tensor;
    logicalNot(): Tensor;
    logicalAnd(other: Tensor): Tensor;
    logicalOr(other: Tensor): Tensor;
    isnan(): Tensor;
    isfinite(): Tensor;
    clamp(min?: number | null, max?: number | null): Tensor;
    eq(other: Operand): Tensor;
    ne(other: Operand): Tensor;
    lt(other: Operand): Tensor;
    le(other: Operand): Tensor;
    gt(other: Operand): Tensor;
    ge(other: Operand): Tensor;
    /** Same shape and elements. */
    equal(other: Tensor): boolean;
    allclose(other: Tensor, rtol?: number, atol?: number): boolean;

    sum(dim?: Dims, keepdim?: boolean, dtype?: DType): Tensor;
    mean(dim?: Dims, keepdim?: boolean, dtype?: DType): Tensor;
    prod(dim?: number | null, keepdim?: boolean): Tensor;
    /** max over all elements (no dim) or [values, indices] along dim. */
    max(): Tensor;
    max(dim: number, keepdim?: boolean): [Tensor, Tensor];
    min(): Tensor;
    min(dim: number, keepdim?: boolean): [Tensor, Tensor];
    amax(dim?: Dims, keepdim?: boolean): Tensor;
    amin(dim?: Dims, keepdim?: boolean): Tensor;
    argmax(dim?: number | null, keepdim?: boolean): Tensor;
    argmin(dim?: number | null, keepdim?: boolean): Tensor;
    var(dim?: Dims, options?: { correction?: number; keepdim?: boolean }): Tensor;
    std(dim?: Dims, options?: { correction?: number; keepdim?: boolean }): Tensor;
    norm(p?: number, dim?: Dims, keepdim?: boolean): Tensor;
    logsumexp(dim: number | number[], keepdim?: boolean): Tensor;
    cumsum(dim: number): Tensor;
    any(dim?: number, keepdim?: boolean): Tensor;
    all(dim?: number, keepdim?: boolean): Tensor;

    matmul(other: Tensor): Tensor;
    mm(other: Tensor): Tensor;
    bmm(other: Tensor): Tensor;

    add_(other: Operand, alpha?: number): this;
    sub_(other: Operand, alpha?: number): this;
    mul_(other: Operand): this;
    div_(other: Operand): this;
    copy_(src: Tensor): this;
    zero_(): this;
    fill_(value: number | boolean): this;
    clamp_(min?: number | null, max?: number | null): this;
    maskedFill_(mask: Tensor, value: number): this;
    /** In place: this.index_copy_(dim, index, source), rows of source written at the given indices along dim. */
    indexCopy_(dim: number, index: Tensor, source: Tensor): this;
    normal_(mean?: number, std?: number): this;
    uniform_(from?: number, to?: number): this;
  }
}

const P = Tensor.prototype;
const dimList = (d: Dims | undefined, what: string): number[] | null => (d === undefined || d === null ? null : intsArg([d].flat(), what));

P.add = function (o, alpha = 1) { return wrap(N.add(this.handle, operand(o, 'add: other'), alpha)); };
P.sub = function (o, alpha = 1) { return wrap(N.sub(this.handle, operand(o, 'sub: other'), alpha)); };
P.mul = function (o) { return wrap(N.mul(this.handle, operand(o, 'mul: other'))); };
P.div = function (o, roundingMode) { return wrap(N.div(this.handle, operand(o, 'div: other'), roundingMode ?? null)); };
P.remainder = function (o) { return wrap(N.remainder(this.handle, operand(o, 'remainder: other'))); };
P.pow = function (o) { return wrap(N.pow(this.handle, operand(o, 'pow: exponent'))); };
P.maximum = function (o) { return wrap(N.maximum(this.handle, operand(o, 'maximum: other'))); };
P.minimum = function (o) { return wrap(N.minimum(this.handle, operand(o, 'minimum: other'))); };

const unary = ['neg', 'exp', 'log', 'sqrt', 'rsqrt', 'abs', 'sin', 'cos', 'tanh', 'sigmoid', 'relu', 'silu', 'floor', 'round',
  'sign', 'reciprocal', 'logicalNot', 'isnan', 'isfinite'] as const;
for (const name of unary) {
  P[name] = function (this: Tensor) { return wrap(N[name](this.handle)); };
}
P.gelu = function (approximate = 'none') { return wrap(N.gelu(this.handle, approximate)); };
P.logicalAnd = function (o) { return wrap(N.logicalAnd(this.handle, tensorArg(o, 'logicalAnd: other'))); };
P.logicalOr = function (o) { return wrap(N.logicalOr(this.handle, tensorArg(o, 'logicalOr: other'))); };
P.clamp = function (min = null, max = null) {
  return wrap(N.clamp(this.handle, optNumberArg(min, 'clamp: min'), optNumberArg(max, 'clamp: max')));
};

for (const name of ['eq', 'ne', 'lt', 'le', 'gt', 'ge'] as const) {
  P[name] = function (this: Tensor, o: Operand) { return wrap(N[name](this.handle, operand(o, `${name}: other`))); };
}
P.equal = function (o) { return N.equal(this.handle, tensorArg(o, 'equal: other')) as boolean; };
P.allclose = function (o, rtol = 1e-5, atol = 1e-8) { return N.allclose(this.handle, tensorArg(o, 'allclose: other'), rtol, atol) as boolean; };

P.sum = function (dim, keepdim = false, dtype) { return wrap(N.sum(this.handle, dimList(dim, 'sum: dim'), keepdim, dtype ?? null)); };
P.mean = function (dim, keepdim = false, dtype) { return wrap(N.mean(this.handle, dimList(dim, 'mean: dim'), keepdim, dtype ?? null)); };
P.prod = function (dim, keepdim = false) { return wrap(N.prod(this.handle, optIntArg(dim, 'prod: dim'), keepdim)); };
P.max = function (this: Tensor, dim?: number, keepdim = false) {
  if (dim === undefined) return wrap(N.amax(this.handle, null, false));
  return wrapAll(N.maxDim(this.handle, intArg(dim, 'max: dim'), keepdim) as Handle[]) as [Tensor, Tensor];
} as Tensor['max'];
P.min = function (this: Tensor, dim?: number, keepdim = false) {
  if (dim === undefined) return wrap(N.amin(this.handle, null, false));
  return wrapAll(N.minDim(this.handle, intArg(dim, 'min: dim'), keepdim) as Handle[]) as [Tensor, Tensor];
} as Tensor['min'];
P.amax = function (dim, keepdim = false) { return wrap(N.amax(this.handle, dimList(dim, 'amax: dim'), keepdim)); };
P.amin = function (dim, keepdim = false) { return wrap(N.amin(this.handle, dimList(dim, 'amin: dim'), keepdim)); };
P.argmax = function (dim = null, keepdim = false) { return wrap(N.argmax(this.handle, optIntArg(dim, 'argmax: dim'), keepdim)); };
P.argmin = function (dim = null, keepdim = false) { return wrap(N.argmin(this.handle, optIntArg(dim, 'argmin: dim'), keepdim)); };
P.var = function (dim, o = {}) { return wrap(N.var(this.handle, dimList(dim, 'var: dim'), o.correction ?? 1, o.keepdim ?? false)); };
P.std = function (dim, o = {}) { return wrap(N.std(this.handle, dimList(dim, 'std: dim'), o.correction ?? 1, o.keepdim ?? false)); };
P.norm = function (p = 2, dim, keepdim = false) { return wrap(N.norm(this.handle, p, dimList(dim, 'norm: dim'), keepdim)); };
P.logsumexp = function (dim, keepdim = false) { return wrap(N.logsumexp(this.handle, intsArg([dim].flat(), 'logsumexp: dim'), keepdim)); };
P.cumsum = function (dim) { return wrap(N.cumsum(this.handle, intArg(dim, 'cumsum: dim'))); };
P.any = function (dim, keepdim = false) { return wrap(N.any(this.handle, optIntArg(dim, 'any: dim'), keepdim)); };
P.all = function (dim, keepdim = false) { return wrap(N.all(this.handle, optIntArg(dim, 'all: dim'), keepdim)); };

P.matmul = function (o) { return wrap(N.matmul(this.handle, tensorArg(o, 'matmul: other'))); };
P.mm = function (o) { return wrap(N.mm(this.handle, tensorArg(o, 'mm: other'))); };
P.bmm = function (o) { return wrap(N.bmm(this.handle, tensorArg(o, 'bmm: other'))); };

P.add_ = function (o, alpha = 1) { N.add_(this.handle, operand(o, 'add_: other'), alpha); return this; };
P.sub_ = function (o, alpha = 1) { N.sub_(this.handle, operand(o, 'sub_: other'), alpha); return this; };
P.mul_ = function (o) { N.mul_(this.handle, operand(o, 'mul_: other')); return this; };
P.div_ = function (o) { N.div_(this.handle, operand(o, 'div_: other')); return this; };
P.copy_ = function (src) { N.copy_(this.handle, tensorArg(src, 'copy_: src')); return this; };
P.indexCopy_ = function (dim, index, source) {
  N.indexCopy_(this.handle, intArg(dim, 'indexCopy_: dim'), tensorArg(index, 'indexCopy_: index'), tensorArg(source, 'indexCopy_: source'));
  return this;
};
P.zero_ = function () { N.zero_(this.handle); return this; };
P.fill_ = function (value) {
  N.fill_(this.handle, typeof value === 'boolean' ? value : numberArg(value, 'fill_: value'));
  return this;
};
P.clamp_ = function (min = null, max = null) {
  N.clamp_(this.handle, optNumberArg(min, 'clamp_: min'), optNumberArg(max, 'clamp_: max'));
  return this;
};
P.maskedFill_ = function (mask, value) { N.maskedFill_(this.handle, tensorArg(mask, 'maskedFill_: mask'), value); return this; };
P.normal_ = function (mean = 0, std = 1) { N.normal_(this.handle, numberArg(mean, 'normal_: mean'), numberArg(std, 'normal_: std')); return this; };
P.uniform_ = function (from = 0, to = 1) { N.uniform_(this.handle, numberArg(from, 'uniform_: from'), numberArg(to, 'uniform_: to')); return this; };

/** Free-function forms. */
export const add = (a: Tensor, b: Operand, alpha = 1): Tensor => a.add(b, alpha);
export const mul = (a: Tensor, b: Operand): Tensor => a.mul(b);
export const matmul = (a: Tensor, b: Tensor): Tensor => a.matmul(b);
export const bmm = (a: Tensor, b: Tensor): Tensor => a.bmm(b);

export function addmm(input: Tensor, mat1: Tensor, mat2: Tensor, options: { beta?: number; alpha?: number } = {}): Tensor {
  return wrap(N.addmm(tensorArg(input, 'addmm: input'), tensorArg(mat1, 'addmm: mat1'), tensorArg(mat2, 'addmm: mat2'), options.beta ?? 1, options.alpha ?? 1));
}

export function einsum(equation: string, ...operands: Tensor[]): Tensor {
  return wrap(N.einsum(equation, tensorsArg(operands, 'einsum: operands')));
}

export function outer(a: Tensor, b: Tensor): Tensor {
  return wrap(N.outer(tensorArg(a, 'outer: a'), tensorArg(b, 'outer: b')));
}
