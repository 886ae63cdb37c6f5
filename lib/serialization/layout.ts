// Planning a safetensors file exactly as the reference writer (safetensors 0.8) lays it out: tensors
// ordered by dtype (descending enum order) then name, contiguous offsets from 0, compact JSON with
// the metadata first, padded with spaces to a multiple of 8 bytes.
import { SafetensorsError } from '../errors.js';
import { alignmentRank, dtypeBits, type SafetensorsDtype } from './dtypes.js';
import { MAX_HEADER_BYTES, METADATA_KEY } from './header.js';

export interface TensorDescription {
  name: string;
  dtype: SafetensorsDtype;
  shape: readonly number[];
}

export interface PlannedTensor extends TensorDescription {
  dataOffsets: [number, number];
  /** Position of this tensor in the list given to planFile. */
  index: number;
}

export interface FileLayout {
  /** The 8-byte length prefix followed by the padded JSON header. */
  header: Uint8Array;
  /** The tensors in file order. */
  tensors: PlannedTensor[];
  dataLength: number;
  /** header.length + dataLength. */
  totalLength: number;
}

const LONE_SURROGATE = /\p{Surrogate}/u;

function checkText(text: unknown, what: string): string {
  if (typeof text !== 'string') throw new SafetensorsError(`${what}: expected a string, got ${text === null ? 'null' : typeof text}`);
  if (LONE_SURROGATE.test(text)) throw new SafetensorsError(`${what}: ${JSON.stringify(text)} holds an unpaired UTF-16 surrogate, which UTF-8 cannot encode`);
  return text;
}

/** Checks a metadata object: a map of strings to strings. */
export function checkMetadata(metadata: unknown): Record<string, string> | null {
  if (metadata === undefined || metadata === null) return null;
  if (typeof metadata !== 'object' || Array.isArray(metadata)) {
    throw new SafetensorsError(`metadata: expected an object of strings, got ${Array.isArray(metadata) ? 'an array' : typeof metadata}`);
  }
  for (const [key, value] of Object.entries(metadata)) {
    checkText(key, 'metadata key');
    checkText(value, `metadata[${JSON.stringify(key)}]`);
  }
  return metadata as Record<string, string>;
}

function byteSize(t: TensorDescription): number {
  const where = `tensor ${JSON.stringify(t.name)}`;
  if (!Array.isArray(t.shape) || t.shape.some((d) => !Number.isSafeInteger(d) || d < 0)) {
    throw new SafetensorsError(`${where}: shape must be an array of non-negative integers, got ${JSON.stringify(t.shape)}`);
  }
  const bits = t.shape.reduce((n, d) => n * d, 1) * dtypeBits(t.dtype);
  if (!Number.isSafeInteger(bits) || bits % 8 !== 0) {
    throw new SafetensorsError(`${where}: shape [${t.shape.join(', ')}] of ${t.dtype} has no whole-byte size below 2^53`);
  }
  return bits / 8;
}

function compareBytes(a: Uint8Array, b: Uint8Array): number {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

/** Lays out a file for these tensors and metadata (undefined/null: no `__metadata__` entry). */
export function planFile(tensors: readonly TensorDescription[], metadata?: Record<string, string> | null): FileLayout {
  const checkedMetadata = checkMetadata(metadata);
  const encoder = new TextEncoder();
  const seen = new Set<string>();
  const order = tensors.map((t, index) => {
    checkText(t.name, 'tensor name');
    if (t.name === METADATA_KEY) throw new SafetensorsError(`tensor name "${METADATA_KEY}" is reserved for the metadata`);
    if (seen.has(t.name)) throw new SafetensorsError(`tensor name ${JSON.stringify(t.name)} is given twice`);
    seen.add(t.name);
    return { t, index, rank: alignmentRank(t.dtype), nameBytes: encoder.encode(t.name), size: byteSize(t) };
  });
  order.sort((a, b) => b.rank - a.rank || compareBytes(a.nameBytes, b.nameBytes));

  const parts: string[] = [];
  if (checkedMetadata !== null) {
    const fields = Object.entries(checkedMetadata).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`);
    parts.push(`"${METADATA_KEY}":{${fields.join(',')}}`);
  }
  let offset = 0;
  const planned: PlannedTensor[] = order.map(({ t, index, size }) => {
    const dataOffsets: [number, number] = [offset, offset + size];
    offset += size;
    parts.push(`${JSON.stringify(t.name)}:{"dtype":"${t.dtype}","shape":[${t.shape.join(',')}],"data_offsets":[${dataOffsets.join(',')}]}`);
    return { name: t.name, dtype: t.dtype, shape: [...t.shape], dataOffsets, index };
  });
  if (!Number.isSafeInteger(offset)) throw new SafetensorsError(`the tensors hold ${offset} bytes, more than 2^53 - 1`);

  const json = encoder.encode(`{${parts.join(',')}}`);
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded > MAX_HEADER_BYTES) throw new SafetensorsError(`the header would be ${padded} bytes, more than readers accept (${MAX_HEADER_BYTES})`);
  const header = new Uint8Array(8 + padded).fill(0x20, 8 + json.length);
  new DataView(header.buffer).setBigUint64(0, BigInt(padded), true);
  header.set(json, 8);
  return { header, tensors: planned, dataLength: offset, totalLength: header.length + offset };
}
