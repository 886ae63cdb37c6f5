// The `safetensors` namespace: read and write safetensors files (tensors by name, string metadata).
export { load, loadSync, loadWithMetadata, loadWithMetadataSync, readHeader, readHeaderSync } from './load.js';
export type { LoadOptions, SafetensorsContents } from './load.js';
export { save, saveSync } from './save.js';
export { serialize, deserialize } from './bytes.js';
export { loadSharded, loadCheckpoint, saveSharded, readShardIndex, planShards, formatShardIndex } from './sharded.js';
export type { ShardIndex, SaveShardedOptions } from './sharded.js';
export { parseHeader, parseSafetensors, readHeaderLength, MAX_HEADER_BYTES } from './header.js';
export type { SafetensorsHeader, TensorInfo, HeaderOptions } from './header.js';
export { planFile } from './layout.js';
export type { FileLayout, PlannedTensor, TensorDescription } from './layout.js';
export { SAFETENSORS_DTYPES, LOADABLE_DTYPES } from './dtypes.js';
export type { SafetensorsDtype } from './dtypes.js';
export { writeFileAtomic, writeFileAtomicSync, writeTextFileAtomic, isAtomicWriteTemp } from './atomic-write.js';
export { replaceFolder, replaceFolderSync, resolveFolder, recoverFolder, recoverFolders } from './replace-folder.js';
export type { ReplaceFolderOptions } from './replace-folder.js';
export type { TensorMap } from './tensors.js';
export { parseTorchPickle, loadTorchPickle } from './torch-pickle.js';
