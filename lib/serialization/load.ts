// Loading safetensors files: the header is read and validated in TS, then every tensor is read
// natively with pread straight into its own memory (the file never passes through a JS buffer).
import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { SafetensorsError, TorchError } from '../errors.js';
import type { Device } from '../tensor/dtype.js';
import { type FileTensorSpec, readTensorsFromFile, readTensorsFromFileSync } from '../tensor/file-io.js';
import { Tensor } from '../tensor/index.js';
import { type HeaderOptions, parseHeader, readHeaderLength, type SafetensorsHeader } from './header.js';
import { loadableDtype, type TensorMap } from './tensors.js';

export interface LoadOptions {
  /** Refuse headers longer than this (default 100,000,000 bytes, the reference's limit); lower it for untrusted files. */
  maxHeaderBytes?: number;
  /** Move the tensors to this device after reading (default: cpu). */
  device?: Device;
}

export interface SafetensorsContents {
  tensors: TensorMap;
  /** The `__metadata__` map, or null when the file has none. */
  metadata: Record<string, string> | null;
}

function checkPath(path: unknown): string {
  if (typeof path !== 'string' || path.length === 0) throw new SafetensorsError(`path: expected a file path string, got ${JSON.stringify(path)}`);
  return path;
}

function headerOptions(path: string, options: LoadOptions): HeaderOptions {
  return { maxHeaderBytes: options.maxHeaderBytes, source: path };
}

/** Reads and validates the header of a safetensors file (metadata, names, dtypes, shapes, offsets). */
export async function readHeader(path: string, options: Pick<LoadOptions, 'maxHeaderBytes'> = {}): Promise<SafetensorsHeader> {
  const opts = headerOptions(checkPath(path), options);
  const file = await open(path, 'r');
  try {
    const { size } = await file.stat();
    const prefix = new Uint8Array(8);
    const { bytesRead } = await file.read(prefix, 0, 8, 0);
    const n = readHeaderLength(prefix.subarray(0, bytesRead), size, opts);
    const json = new Uint8Array(n);
    for (let done = 0; done < n; ) {
      const { bytesRead: got } = await file.read(json, done, n - done, 8 + done);
      if (got === 0) throw new SafetensorsError(`${path}: the file shrank while its header was read`);
      done += got;
    }
    return parseHeader(json, size - 8 - n, opts);
  } finally {
    await file.close();
  }
}

/** As readHeader, blocking. */
export function readHeaderSync(path: string, options: Pick<LoadOptions, 'maxHeaderBytes'> = {}): SafetensorsHeader {
  const opts = headerOptions(checkPath(path), options);
  const fd = openSync(path, 'r');
  try {
    const { size } = fstatSync(fd);
    const prefix = new Uint8Array(8);
    const n = readHeaderLength(prefix.subarray(0, readSync(fd, prefix, 0, 8, 0)), size, opts);
    const json = new Uint8Array(n);
    for (let done = 0; done < n; ) {
      const got = readSync(fd, json, done, n - done, 8 + done);
      if (got === 0) throw new SafetensorsError(`${path}: the file shrank while its header was read`);
      done += got;
    }
    return parseHeader(json, size - 8 - n, opts);
  } finally {
    closeSync(fd);
  }
}

function specsOf(header: SafetensorsHeader, path: string): FileTensorSpec[] {
  return header.tensors.map((info) => ({ begin: info.dataOffsets[0], dtype: loadableDtype(info, path), shape: info.shape }));
}

function assemble(header: SafetensorsHeader, tensors: Tensor[], options: LoadOptions): SafetensorsContents {
  const device = options.device ?? 'cpu';
  const placed = device === 'cpu' ? tensors : tensors.map((t) => {
    const moved = t.to(device);
    t.dispose();
    return moved;
  });
  return { tensors: Object.fromEntries(header.tensors.map((info, k) => [info.name, placed[k]])), metadata: header.metadata };
}

function readFailure(path: string, error: unknown): unknown {
  return error instanceof TorchError ? new SafetensorsError(`${path}: ${error.message} (did the file change while it was read?)`, { cause: error }) : error;
}

/** The tensors and the metadata of a safetensors file. */
export async function loadWithMetadata(path: string, options: LoadOptions = {}): Promise<SafetensorsContents> {
  const header = await readHeader(path, options);
  let tensors: Tensor[];
  try {
    tensors = await readTensorsFromFile(path, header.dataStart, specsOf(header, path));
  } catch (error) {
    throw readFailure(path, error);
  }
  return assemble(header, tensors, options);
}

/** The tensors of a safetensors file, by name (in file order). */
export async function load(path: string, options: LoadOptions = {}): Promise<TensorMap> {
  return (await loadWithMetadata(path, options)).tensors;
}

/** As loadWithMetadata, blocking. */
export function loadWithMetadataSync(path: string, options: LoadOptions = {}): SafetensorsContents {
  const header = readHeaderSync(path, options);
  let tensors: Tensor[];
  try {
    tensors = readTensorsFromFileSync(path, header.dataStart, specsOf(header, path));
  } catch (error) {
    throw readFailure(path, error);
  }
  return assemble(header, tensors, options);
}

/** As load, blocking. */
export function loadSync(path: string, options: LoadOptions = {}): TensorMap {
  return loadWithMetadataSync(path, options).tensors;
}
