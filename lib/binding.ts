// The ONE place that loads the native addon. LibTorch's libraries are opened by absolute path first
// (through the tiny loader addon), so a different LibTorch on the system cannot be bound by mistake.
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { TorchError } from './errors.js';
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

interface LibTorchInfo {
  root: string;
  libDir: string;
  version: string;
  cuda: boolean;
  source: string;
}

function packageRoot(): string {
  const root = findPackageRoot();
  if (root === null) throw new TorchError('node-peft: cannot find the package root');
  return root;
}

function series(version: string): string {
  return /^(\d+\.\d+)/.exec(version)?.[1] ?? version;
}

function findLibTorch(root: string): LibTorchInfo {
  const fromEnv = process.env.NODE_PEFT_LIBTORCH ?? process.env.LIBTORCH;
  if (fromEnv) {
    const libDir = join(fromEnv, 'lib');
    if (!existsSync(join(libDir, 'libtorch_cpu.so'))) {
      throw new TorchError(`NODE_PEFT_LIBTORCH=${fromEnv} is not a LibTorch folder (no lib/libtorch_cpu.so)`);
    }
    const versionPy = join(fromEnv, 'version.py');
    const version = existsSync(versionPy)
      ? (/__version__\s*=\s*'([^']+)'/.exec(readFileSync(versionPy, 'utf8'))?.[1] ?? 'unknown')
      : 'unknown';
    return { root: fromEnv, libDir, version, cuda: existsSync(join(libDir, 'libtorch_cuda.so')), source: 'NODE_PEFT_LIBTORCH' };
  }
  const recorded = join(root, 'build', 'libtorch.json');
  if (!existsSync(recorded)) {
    throw new TorchError(
      `LibTorch not found: run "npm run setup" (finds or installs torch ${PINNED_SERIES}), ` +
        `or set NODE_PEFT_LIBTORCH to a LibTorch ${PINNED_SERIES} folder`,
    );
  }
  const info = JSON.parse(readFileSync(recorded, 'utf8')) as LibTorchInfo;
  if (!existsSync(join(info.libDir, 'libtorch_cpu.so'))) {
    throw new TorchError(`LibTorch recorded in build/libtorch.json is gone (${info.libDir}): run "npm run setup" again`);
  }
  return info;
}

function preloadLibTorch(root: string, info: LibTorchInfo): void {
  const require = createRequire(import.meta.url);
  // cmake-js puts the loader in build/loader/ (so build/Release holds one .node); node-gyp beside the addon.
  const candidates = [join(root, 'build', 'loader', 'node_peft_loader.node'), join(root, 'build', 'Release', 'node_peft_loader.node')];
  const loaderPath = candidates.find((path) => existsSync(path));
  if (!loaderPath) throw new TorchError('the node-peft loader addon is not built: run "npm run setup"');
  const loader = require(loaderPath) as { preload(path: string): boolean };
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

function loadAddon(): NativeBinding {
  const root = packageRoot();
  const info = findLibTorch(root);
  if (series(info.version) !== PINNED_SERIES && process.env.NODE_PEFT_BYPASS_VERSION_CHECK !== '1') {
    throw new TorchError(
      `LibTorch ${info.version} found at ${info.root}, but node-peft is built for ${PINNED_SERIES}.x: ` +
        `point NODE_PEFT_LIBTORCH at a LibTorch ${PINNED_SERIES} folder or run "npm run setup" ` +
        `(NODE_PEFT_BYPASS_VERSION_CHECK=1 skips this check)`,
    );
  }
  preloadLibTorch(root, info);
  const require = createRequire(import.meta.url);
  let addon: NativeBinding;
  try {
    const explicit = process.env.NODE_PEFT_NATIVE ?? join(root, 'build', 'Release', 'node_peft.node');
    addon = (existsSync(explicit) ? require(explicit) : (require('node-gyp-build') as (dir: string) => unknown)(root)) as NativeBinding;
  } catch (error) {
    const message = (error as Error).message.split('\n')[0];
    throw new TorchError(
      `the node-peft addon does not load against LibTorch ${info.version} at ${info.libDir} (${message}); ` +
        `rebuild it with "npm run build"`,
    );
  }
  const built = addon.torchVersion() as string;
  if (series(built) !== series(info.version) && process.env.NODE_PEFT_BYPASS_VERSION_CHECK !== '1') {
    throw new TorchError(
      `the node-peft addon was built for LibTorch ${built} but LibTorch ${info.version} was loaded from ${info.libDir}; ` +
        `rebuild with "npm run build"`,
    );
  }
  addon.setErrorClass(TorchError);
  libtorch = info;
  return addon;
}

let libtorch: LibTorchInfo | null = null;

/** The native addon; loading it (at import) preloads LibTorch and checks its version. */
export const N: NativeBinding = loadAddon();

/** Which LibTorch was loaded, and from where. */
export function libtorchInfo(): Readonly<LibTorchInfo> {
  return libtorch as LibTorchInfo;
}
