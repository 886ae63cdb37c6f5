// Reading a safetensors header: the 8-byte length, the JSON, and every layout rule the reference
// reader (safetensors 0.8) enforces, plus a rejection of duplicate keys (which the format forbids).
import { SafetensorsError } from '../errors.js';
import { dtypeBits, isSafetensorsDtype, type SafetensorsDtype } from './dtypes.js';
import { isJsonObject, JsonDuplicateKeyError, jsonKind, type JsonObject, JsonSyntaxError, type JsonValue, parseJson } from './json.js';

/** The reference reader's limit on the header length N. */
export const MAX_HEADER_BYTES = 100_000_000;
export const METADATA_KEY = '__metadata__';

/** One tensor as the header describes it; dataOffsets are relative to the data buffer, end exclusive. */
export interface TensorInfo {
  name: string;
  dtype: SafetensorsDtype;
  shape: number[];
  dataOffsets: [number, number];
}

export interface SafetensorsHeader {
  /** The `__metadata__` map, or null when the header has none. */
  metadata: Record<string, string> | null;
  /** The tensors in file order (by data offset). */
  tensors: TensorInfo[];
  /** N, the JSON length in bytes (including any padding). */
  headerLength: number;
  /** 8 + N: where the data buffer begins in the file. */
  dataStart: number;
  dataLength: number;
}

export interface HeaderOptions {
  /** Refuse headers longer than this many bytes (default and upper bound: 100,000,000, as the reference). */
  maxHeaderBytes?: number;
  /** Names the file (or buffer) in error messages. */
  source?: string;
}

const U64_MAX = (1n << 64n) - 1n;

function failWith(options: HeaderOptions) {
  const source = options.source ?? 'safetensors data';
  return (rule: string): never => {
    throw new SafetensorsError(`${source}: ${rule}`);
  };
}

function headerCap(options: HeaderOptions): number {
  const cap = options.maxHeaderBytes ?? MAX_HEADER_BYTES;
  if (!Number.isInteger(cap) || cap < 2 || cap > MAX_HEADER_BYTES) {
    throw new SafetensorsError(`maxHeaderBytes: expected an integer from 2 to ${MAX_HEADER_BYTES}, got ${String(cap)}`);
  }
  return cap;
}

/** N from the first 8 bytes, checked against the cap and against the total byte length available. */
export function readHeaderLength(prefix: Uint8Array, totalLength: number, options: HeaderOptions = {}): number {
  const fail = failWith(options);
  const cap = headerCap(options);
  if (prefix.length < 8 || totalLength < 8) fail(`header too small: the data has ${totalLength} bytes, fewer than the 8-byte length prefix`);
  const n = new DataView(prefix.buffer, prefix.byteOffset, 8).getBigUint64(0, true);
  if (n > BigInt(cap)) fail(`header too large: the length prefix says ${n} bytes, the limit is ${cap}`);
  const length = Number(n);
  if (8 + length > totalLength) {
    fail(`invalid header length: the length prefix says ${length} bytes but only ${totalLength - 8} follow it`);
  }
  return length;
}

function decodeHeader(bytes: Uint8Array, fail: (rule: string) => never): JsonObject {
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes);
  } catch {
    return fail('the header is not valid UTF-8');
  }
  let json: JsonValue;
  try {
    json = parseJson(text);
  } catch (error) {
    if (error instanceof JsonDuplicateKeyError) {
      const where = error.path.length === 0 ? 'at the top level' : `inside ${error.path.map((k) => JSON.stringify(k)).join(' > ')}`;
      return fail(`duplicate key ${JSON.stringify(error.key)} ${where} of the header (the format forbids duplicates)`);
    }
    if (error instanceof JsonSyntaxError) return fail(`the header is not valid JSON: ${error.message}`);
    throw error;
  }
  if (!isJsonObject(json)) return fail(`the header must be a JSON object, got ${jsonKind(json)}`);
  return json;
}

function readMetadata(value: JsonValue, fail: (rule: string) => never): Record<string, string> | null {
  if (value === null) return null;
  if (!isJsonObject(value)) return fail(`"${METADATA_KEY}" must be an object of strings, got ${jsonKind(value)}`);
  const entries: [string, string][] = [];
  for (const [key, item] of value) {
    if (typeof item !== 'string') fail(`"${METADATA_KEY}" value ${JSON.stringify(key)} must be a string, got ${jsonKind(item)}`);
    entries.push([key, item as string]);
  }
  return Object.fromEntries(entries);
}

function toSafeInteger(value: JsonValue, what: string, fail: (rule: string) => never): number {
  if (typeof value !== 'bigint') return fail(`${what} must be a non-negative integer, got ${jsonKind(value)}`);
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} is ${value}, larger than this reader supports (2^53 - 1)`);
  return Number(value);
}

function readTensorInfo(name: string, value: JsonValue, fail: (rule: string) => never): TensorInfo {
  const tensor = `tensor ${JSON.stringify(name)}`;
  if (!isJsonObject(value)) return fail(`${tensor} must be an object with dtype, shape and data_offsets, got ${jsonKind(value)}`);
  const field = (key: string): JsonValue => {
    if (!value.has(key)) fail(`${tensor} has no "${key}" field`);
    return value.get(key) as JsonValue;
  };
  const dtype = field('dtype');
  if (typeof dtype !== 'string' || !isSafetensorsDtype(dtype)) return fail(`${tensor} has an unknown dtype: ${jsonKind(dtype)}`);
  const shape = field('shape');
  if (!Array.isArray(shape)) return fail(`${tensor}: shape must be an array, got ${jsonKind(shape)}`);
  const offsets = field('data_offsets');
  if (!Array.isArray(offsets) || offsets.length !== 2) {
    return fail(`${tensor}: data_offsets must be an array of two integers [begin, end], got ${Array.isArray(offsets) ? `${offsets.length} value${offsets.length === 1 ? '' : 's'}` : jsonKind(offsets)}`);
  }
  return {
    name,
    dtype,
    shape: shape.map((d, i) => toSafeInteger(d, `${tensor}: shape[${i}]`, fail)),
    dataOffsets: [toSafeInteger(offsets[0], `${tensor}: data_offsets[0]`, fail), toSafeInteger(offsets[1], `${tensor}: data_offsets[1]`, fail)],
  };
}

/** The byte size the dtype and shape need, with the reference's u64 overflow checks. */
function byteSize(info: TensorInfo, fail: (rule: string) => never): number {
  const tensor = `tensor ${JSON.stringify(info.name)}`;
  let numel = 1n;
  for (const d of info.shape) {
    numel *= BigInt(d);
    if (numel > U64_MAX) fail(`${tensor}: shape [${info.shape.join(', ')}] overflows when computing its byte size`);
  }
  const bits = numel * BigInt(dtypeBits(info.dtype));
  if (bits > U64_MAX) fail(`${tensor}: shape [${info.shape.join(', ')}] of ${info.dtype} overflows when computing its byte size`);
  if (bits % 8n !== 0n) fail(`${tensor}: ${numel} elements of ${info.dtype} do not fill whole bytes`);
  return Number(bits / 8n);
}

/** Checks that the tensors tile the data buffer exactly: contiguous from 0, sizes matching, no trailing bytes. */
function checkLayout(tensors: TensorInfo[], dataLength: number, fail: (rule: string) => never): void {
  let expected = 0;
  for (const info of tensors) {
    const [begin, end] = info.dataOffsets;
    const tensor = `tensor ${JSON.stringify(info.name)}`;
    if (begin !== expected || end < begin) {
      const why = end < begin ? 'end is before begin' : begin > expected ? `a gap: it should begin at ${expected}` : `it overlaps the previous tensor, which ends at ${expected}`;
      fail(`invalid offset for ${tensor}: data_offsets [${begin}, ${end}] (${why})`);
    }
    const size = byteSize(info, fail);
    if (end - begin !== size) {
      fail(`${tensor}: data_offsets [${begin}, ${end}] hold ${end - begin} bytes but shape [${info.shape.join(', ')}] of ${info.dtype} needs ${size}`);
    }
    expected = end;
  }
  if (expected !== dataLength) {
    fail(`incomplete metadata, file not fully covered: the tensors cover ${expected} bytes but the data buffer has ${dataLength}`);
  }
}

/** Parses and validates the JSON header (the N bytes after the prefix) for a data buffer of dataLength bytes. */
export function parseHeader(headerBytes: Uint8Array, dataLength: number, options: HeaderOptions = {}): SafetensorsHeader {
  const fail = failWith(options);
  const json = decodeHeader(headerBytes, fail);
  let metadata: Record<string, string> | null = null;
  const tensors: TensorInfo[] = [];
  for (const [key, value] of json) {
    if (key === METADATA_KEY) metadata = readMetadata(value, fail);
    else tensors.push(readTensorInfo(key, value, fail));
  }
  tensors.sort((a, b) => a.dataOffsets[0] - b.dataOffsets[0] || a.dataOffsets[1] - b.dataOffsets[1]);
  checkLayout(tensors, dataLength, fail);
  const headerLength = headerBytes.length;
  return { metadata, tensors, headerLength, dataStart: 8 + headerLength, dataLength };
}

/** Parses the header of a whole safetensors file held in memory. */
export function parseSafetensors(bytes: Uint8Array, options: HeaderOptions = {}): SafetensorsHeader {
  const n = readHeaderLength(bytes.subarray(0, 8), bytes.length, options);
  return parseHeader(bytes.subarray(8, 8 + n), bytes.length - 8 - n, options);
}
