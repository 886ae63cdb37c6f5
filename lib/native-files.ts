// Where node-peft's native files are: the addon binary (the prebuilt one for this platform and LibTorch series,
// else a local build) and LibTorch (through the one finder, scripts/libtorch.cjs; fetched on first use when allowed).
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { TorchError } from './errors.js';

export interface LibTorchInfo {
  root: string;
  libDir: string;
  version: string;
  cuda: boolean;
  canBuild?: boolean;
  /** Where it was found: NODE_PEFT_LIBTORCH, python torch (...), cache (...), recorded by npm run setup. */
  source: string;
}

/** prebuilds/<platform>/torch<series>/manifest.json, written by scripts/prebuild.mjs. */
export interface PrebuildManifest {
  package: string;
  version: string;
  platform: string;
  torch: string;
  napi: number;
  /** The highest GLIBC_ symbol version the binaries need ("2.28"), or null off glibc. */
  glibc: string | null;
  files: string[];
  cudaKernels: boolean;
}

export interface AddonFiles {
  kind: 'prebuilt' | 'local build' | 'NODE_PEFT_NATIVE';
  addon: string;
  loader: string;
  cudaKernels: string | null;
  manifest: PrebuildManifest | null;
}

interface LibTorchFinder {
  PINNED_SERIES: string;
  PINNED_VERSION: string;
  findLibTorch(options: { root?: string | null }): LibTorchInfo;
  downloadPolicy(): { allowed: boolean; why: string };
  libtorchCacheDir(): string;
  seriesOf(version: string): string | null;
}

const requireHere = createRequire(import.meta.url);

export function finderOf(root: string): LibTorchFinder {
  return requireHere(join(root, 'scripts', 'libtorch.cjs')) as LibTorchFinder;
}

/** glibc's version at run time ("2.36"), or null on musl and other platforms. */
export function glibcRuntime(): string | null {
  if (process.platform !== 'linux') return null;
  const report = process.report as NodeJS.ProcessReport & { excludeNetwork: boolean };
  report.excludeNetwork = true; // no DNS look-ups for the report's network section
  const header = (report.getReport() as { header?: { glibcVersionRuntime?: string } }).header;
  return header?.glibcVersionRuntime ?? null;
}

/** The prebuild folder key: linux-x64-glibc, linux-x64-musl, darwin-arm64. */
export function platformKey(): string {
  const key = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return key;
  return `${key}-${glibcRuntime() === null ? 'musl' : 'glibc'}`;
}

function versionAtLeast(have: string, need: string): boolean {
  const [a, b] = [have, need].map((v) => v.split('.').map(Number));
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) > (b[i] ?? 0);
  }
  return true;
}

export function prebuildDir(root: string, series: string): string {
  return join(root, 'prebuilds', platformKey(), `torch${series}`);
}

function prebuilt(root: string, series: string): AddonFiles | null {
  const dir = prebuildDir(root, series);
  const manifestPath = join(dir, 'manifest.json');
  if (!existsSync(manifestPath)) return null;
  const manifest = JSON.parse(readFileSync(manifestPath, 'utf8')) as PrebuildManifest;
  const glibc = glibcRuntime();
  if (manifest.glibc && glibc && !versionAtLeast(glibc, manifest.glibc)) {
    throw new TorchError(`the prebuilt node-peft binary (${dir}) needs glibc ${manifest.glibc} or newer, ` +
      `but this system has glibc ${glibc}: build it from source with "npx node-peft build"`);
  }
  const cudaKernels = join(dir, 'node_peft_cuda.so');
  return { kind: 'prebuilt', addon: join(dir, 'node_peft.node'), loader: join(dir, 'node_peft_loader.node'),
    cudaKernels: existsSync(cudaKernels) ? cudaKernels : null, manifest };
}

function localBuild(root: string): AddonFiles | null {
  const addon = join(root, 'build', 'Release', 'node_peft.node');
  if (!existsSync(addon)) return null;
  // cmake-js puts the loader in build/loader/ (so build/Release holds one .node); node-gyp beside the addon.
  const loader = [join(root, 'build', 'loader', 'node_peft_loader.node'), join(root, 'build', 'Release', 'node_peft_loader.node')]
    .find((path) => existsSync(path));
  const cudaKernels = join(root, 'build', 'cuda', 'node_peft_cuda.so');
  return { kind: 'local build', addon, loader: loader ?? join(root, 'build', 'loader', 'node_peft_loader.node'),
    cudaKernels: existsSync(cudaKernels) ? cudaKernels : null, manifest: null };
}

/** NODE_PEFT_NATIVE (a .node file, its loader beside it), else the prebuilt binary, else a local build. */
export function findAddon(root: string, series: string): AddonFiles {
  const explicit = process.env.NODE_PEFT_NATIVE;
  if (explicit) {
    if (!existsSync(explicit)) throw new TorchError(`NODE_PEFT_NATIVE=${explicit} does not exist`);
    const besides = join(explicit, '..', 'node_peft_loader.node');
    const local = localBuild(root);
    return { kind: 'NODE_PEFT_NATIVE', addon: explicit, loader: existsSync(besides) ? besides : (local?.loader ?? besides),
      cudaKernels: null, manifest: null };
  }
  let found: AddonFiles | null;
  try {
    found = prebuilt(root, series) ?? localBuild(root);
  } catch (tooOld) {
    found = localBuild(root); // a source build made for this system's glibc
    if (found === null) throw tooOld;
  }
  if (found && existsSync(found.loader)) return found;
  throw new TorchError(`no node-peft binary for ${platformKey()} and LibTorch ${series}: this package ships ` +
    `prebuilt binaries for linux-x64-glibc only. Build one from source with "npx node-peft build" ` +
    '(needs a C++20 compiler, cmake and LibTorch with its headers; see docs/install.md)');
}

function recordedBySetup(root: string): LibTorchInfo | null {
  const recorded = join(root, 'build', 'libtorch.json');
  if (!existsSync(recorded)) return null;
  const info = JSON.parse(readFileSync(recorded, 'utf8')) as LibTorchInfo;
  return existsSync(join(info.libDir, 'libtorch_cpu.so')) ? { ...info, source: `${info.source}, recorded by the build` } : null;
}

function fetchOnFirstUse(root: string, finder: LibTorchFinder, notFound: Error): void {
  const policy = finder.downloadPolicy();
  if (!policy.allowed) throw new TorchError(`${notFound.message}\n(no download at first use: ${policy.why})`);
  process.stderr.write(`[node-peft] LibTorch ${finder.PINNED_SERIES} not found; fetching it once into ${finder.libtorchCacheDir()} ` +
    '(NODE_PEFT_NO_DOWNLOAD=1 prevents this)\n');
  const result = spawnSync(process.execPath, [join(root, 'scripts', 'fetch-libtorch.mjs')], { stdio: ['ignore', 'ignore', 'inherit'] });
  if (result.status !== 0) throw new TorchError(`fetching LibTorch failed (see the message above).\n${notFound.message}`);
}

/** The LibTorch to load with this binary: the user's choice, what a local build was built against, or the finder's. */
export function findLibTorchFor(root: string): LibTorchInfo {
  const finder = finderOf(root);
  const chosen = process.env.NODE_PEFT_LIBTORCH || process.env.LIBTORCH;
  if (!chosen) {
    // A checkout (or `npx node-peft build`): the LibTorch the local build was made against, no search needed.
    const recorded = recordedBySetup(root);
    if (recorded) return recorded;
  }
  try {
    return finder.findLibTorch({ root });
  } catch (error) {
    if ((error as { code?: string }).code !== 'NOT_FOUND') throw new TorchError((error as Error).message);
    fetchOnFirstUse(root, finder, error as Error);
    try {
      return finder.findLibTorch({ root });
    } catch (again) {
      throw new TorchError((again as Error).message);
    }
  }
}
