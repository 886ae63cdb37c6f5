// safetensors in memory: serialize tensors to the bytes of a file, and tensors back from such bytes.
import { fromBytes, type Tensor } from '../tensor/index.js';
import { type HeaderOptions, parseSafetensors } from './header.js';
import { planFile } from './layout.js';
import type { LoadOptions, SafetensorsContents } from './load.js';
import { describeTensors, loadableDtype, type TensorMap } from './tensors.js';

/** The bytes of a safetensors file holding these tensors (identical to what safetensors 0.8 writes). */
export function serialize(tensors: TensorMap, metadata?: Record<string, string> | null): Uint8Array {
  const { values, descriptions } = describeTensors(tensors);
  const layout = planFile(descriptions, metadata);
  const out = new Uint8Array(layout.totalLength);
  out.set(layout.header, 0);
  for (const planned of layout.tensors) {
    out.set(values[planned.index].toBytes(), layout.header.length + planned.dataOffsets[0]);
  }
  return out;
}

/** The tensors (copied out of `bytes`) and metadata of a safetensors file held in memory. */
export function deserialize(bytes: Uint8Array, options: LoadOptions & Pick<HeaderOptions, 'source'> = {}): SafetensorsContents {
  const source = options.source ?? 'safetensors data';
  const header = parseSafetensors(bytes, { maxHeaderBytes: options.maxHeaderBytes, source });
  const created: Tensor[] = [];
  try {
    for (const info of header.tensors) {
      const [begin, end] = info.dataOffsets;
      const t = fromBytes(bytes.subarray(header.dataStart + begin, header.dataStart + end), loadableDtype(info, source), info.shape);
      created.push(t);
      if (options.device !== undefined && options.device !== 'cpu') {
        created[created.length - 1] = t.to(options.device);
        t.dispose();
      }
    }
  } catch (error) {
    for (const t of created) t.dispose();
    throw error;
  }
  return { tensors: Object.fromEntries(header.tensors.map((info, k) => [info.name, created[k]])), metadata: header.metadata };
}
