// Tensor: a JS owner of one native tensor. Ops live in ops-*.ts and are added to this class there.
import { N, type Handle } from '../binding.js';
import { TorchError } from '../errors.js';
import { type Device, type DType, type NumericArray, viewBytes } from './dtype.js';
import { setOwnedCheck, track } from './scope.js';

export type NestedNumbers = number | boolean | NestedNumbers[];

// The safety net: a Tensor collected without dispose() frees its native tensor (some time after GC).
const reclaim = new FinalizationRegistry<Handle>((handle) => N.dispose(handle));

export class Tensor implements Disposable {
  #handle: Handle | null;
  #shape: readonly number[] | null = null;
  #dtype: DType | null = null;

  /** Wraps a native handle; used by ops. Users create tensors with torch.tensor(), zeros(), ... */
  constructor(handle: Handle) {
    this.#handle = handle;
    reclaim.register(this, handle, this);
    track(this);
  }

  /** The native handle (throws after dispose()). */
  get handle(): Handle {
    if (this.#handle === null) throw new TorchError('Tensor was used after dispose()');
    return this.#handle;
  }

  get disposed(): boolean {
    return this.#handle === null;
  }

  /** Frees the native memory now (if nothing else, e.g. the autograd graph, still refers to it). */
  dispose(): void {
    if (this.#handle === null) return;
    N.dispose(this.#handle);
    reclaim.unregister(this);
    this.#handle = null;
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  get shape(): readonly number[] {
    if (this.#shape === null) this.#shape = Object.freeze(N.shape(this.handle) as number[]);
    return this.#shape;
  }

  get dtype(): DType {
    if (this.#dtype === null) this.#dtype = N.dtype(this.handle) as DType;
    return this.#dtype;
  }

  get device(): Device {
    return N.device(this.handle) as Device;
  }

  get ndim(): number {
    return this.shape.length;
  }

  numel(): number {
    return this.shape.reduce((a, b) => a * b, 1);
  }

  size(dim?: number): number {
    if (dim === undefined) return this.numel();
    return this.shape[dim < 0 ? dim + this.ndim : dim];
  }

  isContiguous(): boolean {
    return N.isContiguous(this.handle) as boolean;
  }

  // ---- data out -------------------------------------------------------------------------------

  /** The elements, row-major, as a typed array (float16/bfloat16 are converted to Float32Array; bool is Uint8Array). */
  toArray(): NumericArray {
    if (this.dtype === 'float16' || this.dtype === 'bfloat16') {
      const asFloat = new Tensor(N.to(this.handle, 'float32'));
      try {
        return asFloat.toArray();
      } finally {
        asFloat.dispose();
      }
    }
    return viewBytes(N.toBytes(this.handle) as ArrayBuffer, this.dtype);
  }

  /** The raw little-endian bytes of the elements, row-major. */
  toBytes(): Uint8Array {
    return new Uint8Array(N.toBytes(this.handle) as ArrayBuffer);
  }

  /** Nested JS arrays of numbers (int64 as numbers; booleans for bool). */
  toList(): NestedNumbers {
    const flat = this.toArray();
    const isBool = this.dtype === 'bool';
    const read = (i: number): number | boolean => (isBool ? flat[i] !== 0 : Number(flat[i]));
    const shape = this.shape;
    if (shape.length === 0) return read(0);
    let offset = 0;
    const build = (depth: number): NestedNumbers[] => {
      const out: NestedNumbers[] = [];
      for (let i = 0; i < shape[depth]; i++) out.push(depth === shape.length - 1 ? read(offset++) : build(depth + 1));
      return out;
    };
    return build(0);
  }

  /** The single element as a number (a bool tensor gives 1 or 0; see itemBool). */
  item(): number {
    const value = this.#single('item');
    return typeof value === 'boolean' ? Number(value) : value;
  }

  /** The single element as a boolean: a bool tensor's value, or whether a number is nonzero (as Python's bool(t)). */
  itemBool(): boolean {
    const value = this.#single('itemBool');
    return typeof value === 'boolean' ? value : value !== 0;
  }

  #single(what: string): number | boolean {
    if (this.numel() !== 1) throw new TorchError(`${what}(): the tensor has ${this.numel()} elements, not 1`);
    return N.item(this.handle) as number | boolean;
  }

  toString(): string {
    return `Tensor(shape=[${this.shape.join(', ')}], dtype=${this.dtype}, device=${this.device})`;
  }

  // ---- autograd -------------------------------------------------------------------------------

  get requiresGrad(): boolean {
    return N.requiresGrad(this.handle) as boolean;
  }

  set requiresGrad(value: boolean) {
    N.setRequiresGrad(this.handle, value);
  }

  /** Sets requires_grad in place and returns this tensor. */
  requiresGrad_(value = true): this {
    N.setRequiresGrad(this.handle, value);
    return this;
  }

  get isLeaf(): boolean {
    return N.isLeaf(this.handle) as boolean;
  }

  /** The accumulated gradient, or null. Each read returns a new Tensor sharing the gradient's memory. */
  get grad(): Tensor | null {
    const g = N.grad(this.handle) as Handle | null;
    return g === null ? null : new Tensor(g);
  }

  set grad(value: Tensor | null) {
    N.setGrad(this.handle, value === null ? null : value.handle);
  }

  backward(gradient?: Tensor, options: { retainGraph?: boolean; createGraph?: boolean } = {}): void {
    if (gradient !== undefined && !(gradient instanceof Tensor)) {
      throw new TorchError(`backward: gradient: expected a Tensor, got ${describe(gradient)}`);
    }
    N.backward(this.handle, gradient?.handle ?? null, options.retainGraph ?? false, options.createGraph ?? false);
  }

  detach(): Tensor {
    return new Tensor(N.detach(this.handle));
  }
}

setOwnedCheck((value: unknown): value is Tensor => value instanceof Tensor);

/** A new handle to t's data as a fresh autograd leaf (for subclasses such as nn.Parameter). */
export function detachedHandle(t: Tensor): Handle {
  return N.detach(t.handle) as Handle;
}

/** Wraps a native result: a handle, or an array of handles. */
export function wrap(handle: Handle): Tensor {
  return new Tensor(handle);
}

export function wrapAll(handles: Handle[]): Tensor[] {
  return handles.map((h) => new Tensor(h));
}

/** A tensor's handle, or a JS number/boolean passed through as a scalar; `what` names the argument in errors. */
export function operand(value: Tensor | number | boolean, what = 'other'): Handle | number | boolean {
  if (value instanceof Tensor) return value.handle;
  if (typeof value === 'number' || typeof value === 'boolean') return value;
  throw new TorchError(`${what}: expected a Tensor or a number, got ${describe(value)}`);
}

/** A short description of a JS value for error messages. */
export function describe(value: unknown): string {
  if (value === null || value === undefined) return String(value);
  if (Array.isArray(value)) return 'an array';
  if (typeof value === 'object') return (value as object).constructor?.name ?? 'an object';
  if (typeof value === 'string') return `string ${JSON.stringify(value)}`;
  return `${typeof value} ${String(value)}`;
}

/** Number of live native tensors (created and neither disposed nor collected); for leak tests. */
export function liveTensors(): number {
  return N.liveTensors() as number;
}
