// Saving safetensors files, atomically, byte-identical to what safetensors 0.8 writes for the same
// tensors and metadata. Tensor bytes go from tensor memory to the file natively.
import { write, writeSync } from 'node:fs';
import { SafetensorsError } from '../errors.js';
import { writeTensorsToFile, writeTensorsToFileSync } from '../tensor/file-io.js';
import type { Tensor } from '../tensor/tensor.js';
import { writeFileAtomic, writeFileAtomicSync } from './atomic-write.js';
import { type FileLayout, planFile } from './layout.js';
import { describeTensors, type TensorMap } from './tensors.js';

interface Plan {
  layout: FileLayout;
  /** The tensors in file order. */
  ordered: Tensor[];
}

function plan(path: unknown, tensors: TensorMap, metadata?: Record<string, string> | null): Plan {
  if (typeof path !== 'string' || path.length === 0) throw new SafetensorsError(`path: expected a file path string, got ${JSON.stringify(path)}`);
  const { values, descriptions } = describeTensors(tensors);
  const layout = planFile(descriptions, metadata);
  return { layout, ordered: layout.tensors.map((t) => values[t.index]) };
}

function checkWritten(path: string, end: number, layout: FileLayout): void {
  if (end !== layout.totalLength) {
    throw new SafetensorsError(`${path}: wrote ${end} bytes, expected ${layout.totalLength} (did a tensor change while it was saved?)`);
  }
}

/** Writes the tensors (and optional string metadata) to `path` as safetensors, atomically.
 *  Tensors must not share memory; do not change them until the promise settles. */
export async function save(path: string, tensors: TensorMap, metadata?: Record<string, string> | null): Promise<void> {
  const { layout, ordered } = plan(path, tensors, metadata);
  await writeFileAtomic(path, async (fd) => {
    let written = 0;
    while (written < layout.header.length) {
      written += (await writeAt(fd, layout.header.subarray(written), written)).bytesWritten;
    }
    checkWritten(path, await writeTensorsToFile(fd, layout.header.length, ordered), layout);
  });
}

function writeAt(fd: number, bytes: Uint8Array, position: number): Promise<{ bytesWritten: number }> {
  return new Promise((resolve, reject) => {
    write(fd, bytes, 0, bytes.length, position, (error, bytesWritten) => (error ? reject(error) : resolve({ bytesWritten })));
  });
}

/** As save, blocking. */
export function saveSync(path: string, tensors: TensorMap, metadata?: Record<string, string> | null): void {
  const { layout, ordered } = plan(path, tensors, metadata);
  writeFileAtomicSync(path, (fd) => {
    let written = 0;
    while (written < layout.header.length) written += writeSync(fd, layout.header, written, layout.header.length - written, written);
    checkWritten(path, writeTensorsToFileSync(fd, layout.header.length, ordered), layout);
  });
}
