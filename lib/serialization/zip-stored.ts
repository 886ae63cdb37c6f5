// A reader for the zip archives torch.save writes (entries stored, not compressed): the central directory, then each
// entry's bytes. Anything else (compression, encryption, multi-disk, zip64 beyond what torch writes) is an error.
import { TorchPickleError } from '../errors.js';

export interface ZipEntry {
  name: string;
  data: Uint8Array;
}

const EOCD = 0x06054b50;
const CENTRAL = 0x02014b50;
const LOCAL = 0x04034b50;

function fail(message: string): never {
  throw new TorchPickleError(`adapter_model.bin: ${message}`);
}

/** The entries of a stored-only zip archive, by name (bytes are views into `bytes`). */
export function readStoredZip(bytes: Uint8Array): Map<string, Uint8Array> {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let end = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (view.getUint32(i, true) === EOCD) {
      end = i;
      break;
    }
  }
  if (end < 0) fail('not a zip archive (no end-of-central-directory record); legacy (pre-1.6) torch.save files are not read');
  const count = view.getUint16(end + 10, true);
  let offset = view.getUint32(end + 16, true);
  const entries = new Map<string, Uint8Array>();
  const decoder = new TextDecoder('utf-8', { fatal: true });
  for (let k = 0; k < count; k++) {
    if (offset + 46 > bytes.length || view.getUint32(offset, true) !== CENTRAL) fail(`central directory entry ${k} is malformed`);
    const method = view.getUint16(offset + 10, true);
    const compressed = view.getUint32(offset + 20, true);
    const size = view.getUint32(offset + 24, true);
    const nameLength = view.getUint16(offset + 28, true);
    const extraLength = view.getUint16(offset + 30, true);
    const commentLength = view.getUint16(offset + 32, true);
    const localOffset = view.getUint32(offset + 42, true);
    if (offset + 46 + nameLength > bytes.length) fail(`central directory entry ${k} runs past the end of the file`);
    let name: string;
    try {
      name = decoder.decode(bytes.subarray(offset + 46, offset + 46 + nameLength));
    } catch {
      fail(`entry ${k} has a name that is not UTF-8`);
    }
    if (method !== 0 || compressed !== size) fail(`entry ${name} is compressed (method ${method}); torch.save stores entries uncompressed`);
    if (size === 0xffffffff || localOffset === 0xffffffff) fail(`entry ${name} needs zip64, which adapter files never do`);
    if (localOffset + 30 > bytes.length || view.getUint32(localOffset, true) !== LOCAL) fail(`entry ${name}: no local header at ${localOffset}`);
    const start = localOffset + 30 + view.getUint16(localOffset + 26, true) + view.getUint16(localOffset + 28, true);
    if (start + size > bytes.length) fail(`entry ${name} runs past the end of the file`);
    entries.set(name, bytes.subarray(start, start + size));
    offset += 46 + nameLength + extraLength + commentLength;
  }
  return entries;
}
