// Hugging Face Hub downloads into Python's cache layout.
export { resolvePretrainedDir } from './resolve.js';
export type { ResolveOptions } from './resolve.js';
