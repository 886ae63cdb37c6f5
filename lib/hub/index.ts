// Hugging Face Hub downloads into Python's cache layout (files, not tensors).
export { hubCacheDir, repoCacheDir } from './cache.js';
export { hubDownload, isOffline } from './download.js';
export type { HubDownloadOptions } from './download.js';
export { hubEndpoint } from './http.js';
export type { DownloadProgress, ProgressListener } from './progress.js';
export { resolveAdapterDir, resolveModelDir, resolvePretrainedDir } from './resolve.js';
export type { ResolveOptions } from './resolve.js';
