// adapter_model.bin (torch.save's zip + pickle format) read WITHOUT running code: a pickle machine that knows only
// the opcodes torch.save uses and builds only dicts, lists, tuples, numbers, strings and tensors. The only globals it
// accepts are torch._utils._rebuild_tensor_v2 / _rebuild_parameter, collections.OrderedDict and torch's typed
// storage classes; any other global, object construction or unknown opcode is a TorchPickleError naming it.
import { TorchPickleError } from '../errors.js';
import { fromBytes } from '../tensor/creation.js';
import type { DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { readStoredZip } from './zip-stored.js';

const STORAGE_DTYPES: Record<string, [DType, number]> = {
  FloatStorage: ['float32', 4], DoubleStorage: ['float64', 8], HalfStorage: ['float16', 2], BFloat16Storage: ['bfloat16', 2],
  LongStorage: ['int64', 8], IntStorage: ['int32', 4], ShortStorage: ['int16', 2], CharStorage: ['int8', 1],
  ByteStorage: ['uint8', 1], BoolStorage: ['bool', 1],
};
const CALLABLES = new Set(['torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter', 'collections.OrderedDict']);

class Global {
  constructor(readonly path: string) {}
}
class StorageRef {
  constructor(readonly dtype: DType, readonly itemSize: number, readonly key: string, readonly numel: number) {}
}
class TensorRef {
  constructor(readonly storage: StorageRef, readonly offset: number, readonly size: number[], readonly stride: number[]) {}
}
const MARK = Symbol('mark');
type Value = unknown;

function fail(message: string): never {
  throw new TorchPickleError(`adapter_model.bin: ${message}`);
}

const isInt = (v: Value): v is number => typeof v === 'number' && Number.isSafeInteger(v);
const intTuple = (v: Value, what: string): number[] => {
  if (!Array.isArray(v) || !v.every((x) => isInt(x) && x >= 0)) fail(`${what}: expected a tuple of non-negative integers`);
  return v as number[];
};

function call(fn: Value, args: Value): Value {
  if (!(fn instanceof Global)) fail('REDUCE of something that is not an allowed global');
  if (!Array.isArray(args)) fail(`${fn.path}: arguments are not a tuple`);
  if (fn.path === 'collections.OrderedDict') {
    if (args.length !== 0) fail('OrderedDict with arguments');
    return new Map<string, Value>();
  }
  if (fn.path === 'torch._utils._rebuild_parameter') {
    if (!(args[0] instanceof TensorRef)) fail('_rebuild_parameter of something that is not a tensor');
    return args[0];
  }
  const [storage, offset, size, stride] = args;
  if (!(storage instanceof StorageRef)) fail('_rebuild_tensor_v2: the first argument is not a storage');
  if (!isInt(offset) || offset < 0) fail('_rebuild_tensor_v2: storage offset is not a non-negative integer');
  return new TensorRef(storage, offset, intTuple(size, 'tensor size'), intTuple(stride, 'tensor stride'));
}

function persistent(pid: Value): StorageRef {
  if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 5) fail('persistent id is not a storage record');
  const [, type, key, , numel] = pid;
  if (!(type instanceof Global) || !type.path.startsWith('torch.')) fail('storage record without a torch storage type');
  const spec = STORAGE_DTYPES[type.path.slice('torch.'.length)];
  if (!spec) fail(`storage type ${type.path} is not a supported tensor storage`);
  if (typeof key !== 'string' || !/^\w+$/.test(key) || !isInt(numel) || numel < 0) fail('storage record with a bad key or size');
  return new StorageRef(spec[0], spec[1], key, numel);
}

/** Runs the restricted pickle machine over data.pkl and returns its one result. */
function unpickle(bytes: Uint8Array): Value {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const decoder = new TextDecoder('utf-8', { fatal: true });
  const stack: Value[] = [];
  const memo = new Map<number, Value>();
  let p = 0;
  const need = (n: number): number => {
    if (p + n > bytes.length) fail('data.pkl ends in the middle of an instruction');
    const at = p;
    p += n;
    return at;
  };
  const text = (n: number): string => decoder.decode(bytes.subarray(need(n), p));
  const pop = (): Value => {
    if (stack.length === 0) fail('data.pkl pops an empty stack');
    return stack.pop();
  };
  const popMark = (): Value[] => {
    const at = stack.lastIndexOf(MARK);
    if (at < 0) fail('data.pkl has no MARK to pop to');
    const items = stack.splice(at);
    items.shift();
    return items;
  };
  const setItems = (target: Value, items: Value[]): void => {
    if (!(target instanceof Map) || items.length % 2 !== 0) fail('SETITEM(S) on something that is not a dict');
    for (let i = 0; i < items.length; i += 2) {
      if (typeof items[i] !== 'string') fail('a dict key is not a string');
      (target as Map<string, Value>).set(items[i] as string, items[i + 1]);
    }
  };
  for (;;) {
    const op = bytes[need(1)];
    switch (op) {
      case 0x80: need(1); break; // PROTO
      case 0x95: need(8); break; // FRAME
      case 0x2e: return pop(); // STOP
      case 0x7d: stack.push(new Map<string, Value>()); break; // EMPTY_DICT
      case 0x5d: stack.push([]); break; // EMPTY_LIST
      case 0x29: stack.push([]); break; // EMPTY_TUPLE
      case 0x28: stack.push(MARK); break; // MARK
      case 0x4e: stack.push(null); break; // NONE
      case 0x88: stack.push(true); break; // NEWTRUE
      case 0x89: stack.push(false); break; // NEWFALSE
      case 0x4b: stack.push(bytes[need(1)]); break; // BININT1
      case 0x4d: stack.push(view.getUint16(need(2), true)); break; // BININT2
      case 0x4a: stack.push(view.getInt32(need(4), true)); break; // BININT
      case 0x8a: { // LONG1
        const n = bytes[need(1)];
        if (n > 6) fail('an integer too large for a tensor size');
        let v = 0;
        for (let i = n - 1; i >= 0; i--) v = v * 256 + bytes[need(0) + i];
        need(n);
        if (n > 0 && bytes[p - 1] & 0x80) v -= 2 ** (8 * n);
        stack.push(v);
        break;
      }
      case 0x47: stack.push(view.getFloat64(need(8), false)); break; // BINFLOAT
      case 0x58: stack.push(text(view.getUint32(need(4), true))); break; // BINUNICODE
      case 0x8c: stack.push(text(bytes[need(1)])); break; // SHORT_BINUNICODE
      case 0x55: stack.push(text(bytes[need(1)])); break; // SHORT_BINSTRING
      case 0x54: stack.push(text(view.getUint32(need(4), true))); break; // BINSTRING
      case 0x63: { // GLOBAL "module\nname\n"
        const end1 = bytes.indexOf(0x0a, p);
        const end2 = end1 < 0 ? -1 : bytes.indexOf(0x0a, end1 + 1);
        if (end2 < 0) fail('GLOBAL without its two lines');
        const path = `${text(end1 - p)}`;
        need(1);
        const name = text(end2 - p);
        need(1);
        stack.push(global(`${path}.${name}`));
        break;
      }
      case 0x93: { // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL of non-strings');
        stack.push(global(`${module}.${name}`));
        break;
      }
      case 0x71: memo.set(bytes[need(1)], stack[stack.length - 1]); break; // BINPUT
      case 0x72: memo.set(view.getUint32(need(4), true), stack[stack.length - 1]); break; // LONG_BINPUT
      case 0x94: memo.set(memo.size, stack[stack.length - 1]); break; // MEMOIZE
      case 0x68: case 0x6a: { // BINGET, LONG_BINGET
        const key = op === 0x68 ? bytes[need(1)] : view.getUint32(need(4), true);
        if (!memo.has(key)) fail(`memo ${key} read before it was written`);
        stack.push(memo.get(key));
        break;
      }
      case 0x74: stack.push(popMark()); break; // TUPLE
      case 0x85: stack.push([pop()]); break; // TUPLE1
      case 0x86: { const b = pop(); stack.push([pop(), b]); break; } // TUPLE2
      case 0x87: { const c = pop(); const b = pop(); stack.push([pop(), b, c]); break; } // TUPLE3
      case 0x6c: stack.push(popMark()); break; // LIST
      case 0x61: { const v = pop(); const list = stack[stack.length - 1]; if (!Array.isArray(list)) fail('APPEND to a non-list'); list.push(v); break; }
      case 0x65: { const items = popMark(); const list = stack[stack.length - 1]; if (!Array.isArray(list)) fail('APPENDS to a non-list'); list.push(...items); break; }
      case 0x73: { const v = pop(); const k = pop(); setItems(stack[stack.length - 1], [k, v]); break; } // SETITEM
      case 0x75: { const items = popMark(); setItems(stack[stack.length - 1], items); break; } // SETITEMS
      case 0x51: stack.push(persistent(pop())); break; // BINPERSID
      case 0x52: { const args = pop(); stack.push(call(pop(), args)); break; } // REDUCE
      default:
        fail(`pickle opcode 0x${op.toString(16)} (${JSON.stringify(String.fromCharCode(op))}) at byte ${p - 1} is not allowed: only tensor records are read`);
    }
  }
}

function global(path: string): Global {
  if (CALLABLES.has(path)) return new Global(path);
  if (path.startsWith('torch.') && STORAGE_DTYPES[path.slice('torch.'.length)]) return new Global(path);
  return fail(`the pickle names the global ${path}, which is not a tensor record; refusing to read it (it could run code in Python)`);
}

/** The tensor a TensorRef describes, copied out of its storage bytes (any strides). */
function materialize(name: string, ref: TensorRef, storage: Uint8Array): Tensor {
  const { itemSize, numel, dtype } = ref.storage;
  if (ref.size.length !== ref.stride.length) fail(`${name}: size and stride differ in length`);
  if (storage.length < numel * itemSize) fail(`${name}: its storage holds ${storage.length} bytes, fewer than ${numel} elements`);
  const count = ref.size.reduce((a, b) => a * b, 1);
  // A view with positive strides inside its storage holds at most numel elements; stride-0 views are capped.
  if (ref.stride.every((s) => s > 0) ? count > numel : count * itemSize > 1 << 28) fail(`${name}: a view of ${count} elements over a storage of ${numel}`);
  const last = count === 0 ? ref.offset : ref.offset + ref.size.reduce((sum, n, i) => sum + (n - 1) * ref.stride[i], 0);
  if (count > 0 && last >= numel) fail(`${name}: its view reaches element ${last} of a storage of ${numel}`);
  const out = new Uint8Array(count * itemSize);
  const index = new Array<number>(ref.size.length).fill(0);
  for (let k = 0; k < count; k++) {
    const element = ref.offset + index.reduce((sum, i, d) => sum + i * ref.stride[d], 0);
    out.set(storage.subarray(element * itemSize, (element + 1) * itemSize), k * itemSize);
    for (let d = index.length - 1; d >= 0; d--) {
      if (++index[d] < ref.size[d]) break;
      index[d] = 0;
    }
  }
  return fromBytes(out, dtype, ref.size);
}

/** adapter_model.bin bytes → named tensors. Only a dict of tensors is accepted. */
export function parseTorchPickle(bytes: Uint8Array): Record<string, Tensor> {
  const made: Tensor[] = [];
  try {
    const entries = readStoredZip(bytes);
    const pickleName = [...entries.keys()].find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
    if (!pickleName) fail('no data.pkl in the archive');
    const prefix = pickleName.slice(0, -'data.pkl'.length);
    const order = entries.get(`${prefix}byteorder`);
    if (order && new TextDecoder().decode(order) !== 'little') fail('big-endian tensors are not read');
    const root = unpickle(entries.get(pickleName) as Uint8Array);
    if (!(root instanceof Map)) fail('the pickle does not hold a dict of tensors');
    const out: Record<string, Tensor> = {};
    for (const [name, value] of root as Map<string, Value>) {
      if (!(value instanceof TensorRef)) fail(`entry ${JSON.stringify(name)} is not a tensor`);
      const storage = entries.get(`${prefix}data/${value.storage.key}`);
      if (!storage) fail(`${name}: storage ${value.storage.key} is missing from the archive`);
      const t = materialize(name, value, storage);
      made.push(t);
      out[name] = t;
    }
    return out;
  } catch (error) {
    for (const t of made) t.dispose();
    if (error instanceof TorchPickleError) throw error;
    throw new TorchPickleError(`adapter_model.bin: malformed (${error instanceof Error ? error.message : String(error)})`);
  }
}

/** Reads a torch.save file (adapter_model.bin) from disk; see parseTorchPickle. */
export async function loadTorchPickle(path: string): Promise<Record<string, Tensor>> {
  const { readFile } = await import('node:fs/promises');
  return parseTorchPickle(new Uint8Array(await readFile(path)));
}
