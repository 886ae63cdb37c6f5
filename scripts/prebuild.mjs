#!/usr/bin/env node
// npm run prebuild:binaries: the release binaries for this platform and LibTorch series, from the same build as
// `npm run setup` (so they are what the tests ran): copies build/Release/node_peft.node, the loader and (against a
// CUDA LibTorch) our CUDA kernels library into prebuilds/<platform>/torch<series>/, stripped, with a manifest that
// records the LibTorch version, the N-API version and the glibc floor; then loads them in a child process.
// `npm pack` ships prebuilds/ (package.json "files"); lib/native-files.ts prefers them over a local build.
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { highestVersion } from './elf-versions.mjs';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const finder = createRequire(import.meta.url)('./libtorch.cjs');

function fail(message) {
  console.error(`[prebuild] ${message}`);
  process.exit(1);
}

function platformKey() {
  const key = `${process.platform}-${process.arch}`;
  if (process.platform !== 'linux') return key;
  return `${key}-${process.report.getReport().header.glibcVersionRuntime ? 'glibc' : 'musl'}`;
}

function strip(file) {
  const result = spawnSync('strip', ['--strip-unneeded', file], { stdio: 'inherit' });
  return result.status === 0;
}

if (!process.argv.includes('--no-setup')) {
  const setup = spawnSync(process.execPath, [join(root, 'scripts', 'setup.mjs'), '--quiet'], { stdio: 'inherit' });
  if (setup.status !== 0) fail('npm run setup failed');
}
const recorded = join(root, 'build', 'libtorch.json');
if (!existsSync(recorded)) fail('build/libtorch.json is missing: run npm run setup');
const torch = JSON.parse(readFileSync(recorded, 'utf8'));
const series = finder.seriesOf(torch.version);
const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));

const sources = [
  ['node_peft.node', join(root, 'build', 'Release', 'node_peft.node')],
  ['node_peft_loader.node', join(root, 'build', 'loader', 'node_peft_loader.node')],
  ['node_peft_cuda.so', join(root, 'build', 'cuda', 'node_peft_cuda.so')],
].filter(([name, path]) => name !== 'node_peft_cuda.so' || (torch.cuda && existsSync(path)));
for (const [, path] of sources) if (!existsSync(path)) fail(`${path} is missing: run npm run setup`);

const target = join(root, 'prebuilds', platformKey(), `torch${series}`);
const staging = `${target}.tmp-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
let stripped = true;
for (const [name, path] of sources) {
  copyFileSync(path, join(staging, name));
  stripped = strip(join(staging, name)) && stripped;
}
const floors = sources.map(([name]) => highestVersion(join(staging, name), 'GLIBC_')).filter(Boolean);
const glibc = floors.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop() ?? null;
const manifest = {
  package: pkg.name,
  version: pkg.version,
  platform: platformKey(),
  torch: torch.version,
  napi: pkg.binary.napi_versions[0],
  glibc,
  glibcxx: highestVersion(join(staging, 'node_peft.node'), 'GLIBCXX_'),
  files: sources.map(([name]) => name),
  cudaKernels: sources.some(([name]) => name === 'node_peft_cuda.so'),
  stripped,
};
writeFileSync(join(staging, 'manifest.json'), `${JSON.stringify(manifest, null, 2)}\n`);
rmSync(target, { recursive: true, force: true });
renameSync(staging, target);

// Load what was written, the way an installed package would: prebuilt first.
const check = spawnSync(process.execPath, [join(root, 'bin', 'node-peft.js'), 'doctor', '--json'], { encoding: 'utf8' });
const report = check.status === 0 ? JSON.parse(check.stdout) : null;
if (!report || report.binary.kind !== 'prebuilt') fail(`the prebuilt binary does not load:\n${check.stdout}${check.stderr}`);
for (const [name] of sources) console.log(`${join(target, name)}  ${(statSync(join(target, name)).size / 1024).toFixed(0)} KiB`);
console.log(`LibTorch ${manifest.torch}, N-API ${manifest.napi}, glibc >= ${glibc}, GLIBCXX >= ${manifest.glibcxx}` +
  `${manifest.cudaKernels ? ', CUDA kernels' : ''}; loads as the prebuilt binary`);
