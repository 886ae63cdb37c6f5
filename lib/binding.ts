// The ONE place that loads the native addon. LibTorch's libraries are opened by absolute path first
// (through the tiny loader addon), so a different LibTorch on the system cannot be bound by mistake.
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { TorchError } from './errors.js';
import { findAddon, findLibTorchFor, type AddonFiles, type LibTorchInfo } from './native-files.js';
import { findPackageRoot } from './package-root.js';

/** Opaque native tensor handle; only lib/tensor/ holds these. */
export interface Handle {
  readonly __nodePeftHandle: unique symbol;
}

// The addon's functions are registered by name in native/*.cc; lib/tensor/ gives them types.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type NativeFunction = (...args: any[]) => any;
export type NativeBinding = Record<string, NativeFunction>;

export const PINNED_SERIES = '2.13';

export type { AddonFiles, LibTorchInfo } from './native-files.js';

function packageRoot(): string {
  const root = findPackageRoot();
  if (root === null) throw new TorchError('node-peft: cannot find the package root');
  return root;
}

function series(version: string): string {
  return /^(\d+\.\d+)/.exec(version)?.[1] ?? version;
}

function preloadLibTorch(files: AddonFiles, info: LibTorchInfo): void {
  const require = createRequire(import.meta.url);
  const loader = require(files.loader) as { preload(path: string): boolean };
  const wantCuda = info.cuda && process.env.NODE_PEFT_DEVICE !== 'cpu';
  const names = ['libtorch_global_deps.so', 'libc10.so', 'libtorch_cpu.so'];
  if (wantCuda) names.push('libc10_cuda.so', 'libtorch_cuda.so');
  if (wantCuda || !info.cuda) names.push('libtorch.so');
  for (const name of names) {
    const path = join(info.libDir, name);
    if (!existsSync(path)) {
      if (name === 'libtorch_global_deps.so' || name === 'libtorch.so') continue;
      throw new TorchError(`LibTorch at ${info.libDir} is incomplete: ${name} is missing`);
    }
    try {
      loader.preload(path);
    } catch (error) {
      throw new TorchError(`cannot load ${path}: ${(error as Error).message}`);
    }
  }
}

function rebuildHint(files: AddonFiles): string {
  return files.kind === 'prebuilt' ? 'point NODE_PEFT_LIBTORCH at a LibTorch ' + PINNED_SERIES + ' folder, or build from source with "npx node-peft build"'
    : 'rebuild it with "npx node-peft build" (in a checkout: "npm run build")';
}

function loadAddon(): NativeBinding {
  const root = packageRoot();
  const files = findAddon(root, PINNED_SERIES);
  const info = findLibTorchFor(root);
  if (series(info.version) !== PINNED_SERIES && process.env.NODE_PEFT_BYPASS_VERSION_CHECK !== '1') {
    throw new TorchError(
      `LibTorch ${info.version} found at ${info.root} (${info.source}), but node-peft needs LibTorch ${PINNED_SERIES}.x: ` +
        `point NODE_PEFT_LIBTORCH at a LibTorch ${PINNED_SERIES} folder (NODE_PEFT_BYPASS_VERSION_CHECK=1 skips this check)`,
    );
  }
  preloadLibTorch(files, info);
  const require = createRequire(import.meta.url);
  let addon: NativeBinding;
  try {
    addon = require(files.addon) as NativeBinding;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw new TorchError(
      `the node-peft addon (${files.kind}, ${files.addon}) does not load against LibTorch ${info.version} at ${info.libDir} ` +
        `(${message}); ${rebuildHint(files)}`,
    );
  }
  const built = addon.torchVersion() as string;
  if (series(built) !== series(info.version) && process.env.NODE_PEFT_BYPASS_VERSION_CHECK !== '1') {
    throw new TorchError(
      `the node-peft addon (${files.addon}) was built for LibTorch ${built} but LibTorch ${info.version} was loaded ` +
        `from ${info.libDir}; ${rebuildHint(files)}`,
    );
  }
  addon.setErrorClass(TorchError);
  libtorch = info;
  addonFiles = files;
  return addon;
}

let libtorch: LibTorchInfo | null = null;
let addonFiles: AddonFiles | null = null;

/** The native addon; loading it (at import) preloads LibTorch and checks its version. */
export const N: NativeBinding = loadAddon();

/** Which addon binary was loaded (prebuilt, local build or NODE_PEFT_NATIVE) and its files. */
export function addonInfo(): Readonly<AddonFiles> {
  return addonFiles as AddonFiles;
}

/** Which LibTorch was loaded, and from where. */
export function libtorchInfo(): Readonly<LibTorchInfo> {
  return libtorch as LibTorchInfo;
}

/** The GEMM routing entry points (native/gemm.cc); lib/tensor/gemm.ts holds the policy. */
export interface GemmBinding {
  gemmHasOnednn(): boolean;
  /**
   * fp32 CPU Linears with at least minRows rows and no gradient for their weight take `path` from now on, weights
   * packed for packRows rows (0: the rows of the first product).
   */
  gemmSetPath(path: 'mkl' | 'onednn', minRows: number, packRows: number): void;
  gemmPath(): 'mkl' | 'onednn';
  /** [best ns on MKL, best ns on oneDNN (-1 without it)] of an [m, k] x [k, n] product, calls interleaved. */
  gemmCompare(m: number, k: number, n: number, rounds: number): [number, number];
  /** [packed weights held, their bytes, packs done, cache hits]. */
  gemmCacheStats(): [number, number, number, number];
  gemmCacheClear(): void;
}

export const gemmNative = N as unknown as GemmBinding;
