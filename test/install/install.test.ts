// Done-when of issue 12: node-peft packed, installed from the tarball into a fresh project whose PATH has only
// node, npm and npx, and there `import`, `require`, `npx node-peft doctor` and a LoRA forward on PEFT's saved adapter
// work with LibTorch found three ways: a Python torch 2.13, NODE_PEFT_LIBTORCH, and fetched from a loopback index
// (checksum verified; a corrupted or interrupted download leaves nothing in the cache). A wrong or missing LibTorch
// gives a clear error, never a stack trace.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { highestVersion } from '../../scripts/elf-versions.mjs';
import { barePath, consumerEnv, makeProject, PYTHON, REPO, run, writeTypeChecks, type Result } from './consumer.js';
import { libtorchArchive, serveArchive, type ArchiveServer } from './libtorch-server.js';

const LONG = 600_000; // a hang guard for npm and a 440 MB archive on a busy machine, not a speed limit
const scratch = mkdtempSync(join(tmpdir(), 'node-peft-install-'));
const project = join(scratch, 'consumer');
const path = barePath(join(scratch, 'bin'));
const torchRoot = execFileSync(PYTHON, ['-c', "import importlib.util as u; print(u.find_spec('torch').submodule_search_locations[0])"],
  { encoding: 'utf8' }).trim();
let tarball = '';
let packed: { size: number; unpackedSize: number; files: { path: string }[] };
let server: ArchiveServer;

function env(extra: Record<string, string>): NodeJS.ProcessEnv {
  // By default: no Python torch, an empty cache, no downloads; each case adds the one way it tests.
  return consumerEnv(path, { NODE_PEFT_PYTHON: join(scratch, 'no-python'), NODE_PEFT_CACHE: join(scratch, 'empty-cache'),
    NODE_PEFT_NO_DOWNLOAD: '1', ...extra });
}

const inProject = (command: string, args: string[], extra: Record<string, string>): Promise<Result> =>
  run(join(path, command), args, { cwd: project, env: env(extra) });

function expectNoStack(result: Result): void {
  expect(`${result.out}${result.err}`).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
}

interface ForwardReport {
  diff: number; shape: number[]; native: { binary: { kind: string; path: string }; libtorch: { source: string; version: string } };
}

/**
 * Both module systems run PEFT's adapter and reproduce PEFT's logits; returns where LibTorch came from.
 * `together` starts both at once (two first uses racing for one download).
 */
async function forwardBothWays(extra: Record<string, string>, together = false): Promise<string> {
  const scripts = ['forward.mjs', 'forward.cjs'];
  const results = together ? await Promise.all(scripts.map((script) => inProject('node', [script, 'case'], extra)))
    : [await inProject('node', [scripts[0], 'case'], extra), await inProject('node', [scripts[1], 'case'], extra)];
  const sources = results.map((result, i) => {
    expect(result.code, `${scripts[i]}: ${result.err}`).toBe(0);
    const report = JSON.parse(result.out.trim().split('\n').pop() ?? '{}') as ForwardReport;
    expect(report.shape).toEqual([2, 7, 100]);
    expect(report.diff).toBeLessThanOrEqual(1e-4);
    expect(report.native.binary.kind).toBe('prebuilt');
    expect(report.native.binary.path).toContain(join(project, 'node_modules', 'node-peft', 'prebuilds'));
    expect(report.native.libtorch.version).toMatch(/^2\.13\./);
    return report.native.libtorch.source;
  });
  expect(sources[0]).toBe(sources[1]);
  return sources[0];
}

async function doctor(extra: Record<string, string>): Promise<Result> {
  return inProject('npx', ['--no', 'node-peft', 'doctor'], extra);
}

beforeAll(async () => {
  execFileSync(process.execPath, [join(REPO, 'scripts', 'prebuild.mjs'), '--no-setup'], { cwd: REPO, stdio: ['ignore', 'ignore', 'inherit'] });
  const json = execFileSync('npm', ['pack', '--json', '--pack-destination', scratch], { cwd: REPO, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  packed = (JSON.parse(json.slice(json.indexOf('['))) as (typeof packed & { filename: string })[])[0];
  tarball = join(scratch, (packed as typeof packed & { filename: string }).filename);
  makeProject(project);
  const install = await run(join(path, 'npm'), ['install', '--prefer-offline', '--no-audit', '--no-fund', tarball],
    { cwd: project, env: consumerEnv(path, {}) });
  expect(install.code, install.err).toBe(0);
  server = await serveArchive(libtorchArchive(join(torchRoot, 'lib')));
}, LONG);

afterAll(async () => {
  await server?.close();
  rmSync(scratch, { recursive: true, force: true });
});

describe('the packed package', () => {
  it('holds dist, the prebuilt binaries, native sources and docs; no tests, fixtures or bench data', () => {
    const files = packed.files.map((file) => file.path);
    for (const needed of ['dist/lib/index.js', 'dist/cjs/index.cjs', 'dist/cjs/types/index.d.cts', 'bin/node-peft.js',
      'scripts/libtorch.cjs', 'scripts/fetch-libtorch.mjs', 'CMakeLists.txt', 'native/addon.cc', 'README.md', 'docs/install.md',
      'prebuilds/linux-x64-glibc/torch2.13/node_peft.node', 'prebuilds/linux-x64-glibc/torch2.13/node_peft_loader.node',
      'prebuilds/linux-x64-glibc/torch2.13/manifest.json']) {
      expect(files).toContain(needed);
    }
    expect(files.filter((file) => /^(test|bench|build)\/|fixtures|\.tgz$|\.map$/.test(file))).toEqual([]);
  });

  it('is under 1.5 MB packed without the prebuilt binaries', async () => {
    const unpacked = join(scratch, 'unpacked');
    mkdirSync(unpacked);
    execFileSync('tar', ['-xzf', tarball, '-C', unpacked]);
    rmSync(join(unpacked, 'package', 'prebuilds'), { recursive: true });
    const json = execFileSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { cwd: join(unpacked, 'package'), encoding: 'utf8' });
    const withoutPrebuilds = (JSON.parse(json.slice(json.indexOf('['))) as { size: number }[])[0].size;
    expect(withoutPrebuilds).toBeLessThan(1.5e6);
    expect(packed.size).toBeGreaterThan(withoutPrebuilds);
  });

  it('states the glibc floor of its prebuilt binaries in their manifest, as their symbol tables say', () => {
    const dir = join(REPO, 'prebuilds', 'linux-x64-glibc', 'torch2.13');
    const manifest = JSON.parse(readFileSync(join(dir, 'manifest.json'), 'utf8')) as { glibc: string; torch: string; files: string[] };
    const floors = manifest.files.map((name) => highestVersion(join(dir, name), 'GLIBC_') as string);
    expect(manifest.glibc).toBe(floors.sort((a, b) => a.localeCompare(b, 'en', { numeric: true })).pop());
    expect(manifest.glibc.localeCompare('2.28', 'en', { numeric: true })).toBeLessThanOrEqual(0);
    expect(manifest.torch).toMatch(/^2\.13\./);
  });

  it('is typed for both import and require', async () => {
    writeTypeChecks(project, join(REPO, 'node_modules', '@types'));
    const result = await run(process.execPath, [join(REPO, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', project], { cwd: project, env: env({}) });
    expect(result.code, result.out).toBe(0);
  }, LONG);

  it('installed without building anything (no node-gyp, no compiler on PATH)', () => {
    expect(existsSync(join(project, 'node_modules', 'node-peft', 'build'))).toBe(false);
  });
});

describe('LibTorch found through a Python torch 2.13', () => {
  it('runs a LoRA forward with import and with require, and doctor says where LibTorch came from', async () => {
    const extra = { NODE_PEFT_PYTHON: PYTHON };
    expect(await forwardBothWays(extra)).toBe(`python torch (${PYTHON})`);
    const report = await doctor(extra);
    expect(report.code, report.err).toBe(0);
    expect(report.out).toMatch(/binary\s+prebuilt: .*node_peft\.node \(needs glibc >= 2\.\d+\)/);
    expect(report.out).toContain(`from python torch (${PYTHON})`);
    expect(report.out).toMatch(/check\s+.*ok/);
  }, LONG);
});

describe('LibTorch found through NODE_PEFT_LIBTORCH', () => {
  it('runs a LoRA forward with import and with require, and doctor says so', async () => {
    const extra = { NODE_PEFT_LIBTORCH: torchRoot };
    expect(await forwardBothWays(extra)).toBe('NODE_PEFT_LIBTORCH');
    const report = await doctor(extra);
    expect(report.code, report.err).toBe(0);
    expect(report.out).toContain('from NODE_PEFT_LIBTORCH');
  }, LONG);

  it('refuses a LibTorch of another version, naming both versions', async () => {
    const fake = join(scratch, 'libtorch-2.12');
    mkdirSync(join(fake, 'lib'), { recursive: true });
    writeFileSync(join(fake, 'lib', 'libtorch_cpu.so'), '');
    writeFileSync(join(fake, 'version.py'), "__version__ = '2.12.1+cpu'\n");
    const report = await doctor({ NODE_PEFT_LIBTORCH: fake });
    expect(report.code).toBe(1);
    expect(report.out).toContain('LibTorch 2.12.1+cpu');
    expect(report.out).toContain('needs LibTorch 2.13.x');
    expectNoStack(report);
  }, LONG);
});

describe('no LibTorch anywhere', () => {
  it('lists the ways out, and downloads nothing without consent in CI', async () => {
    const cases: Record<string, string>[] = [{}, { NODE_PEFT_NO_DOWNLOAD: '', CI: 'true', NODE_PEFT_LIBTORCH_INDEX: server.index('good') }];
    for (const extra of cases) {
      const report = await doctor(extra);
      expect(report.code).toBe(1);
      expect(report.out).toContain('LibTorch 2.13 not found');
      for (const way of ['npx node-peft install-libtorch', 'NODE_PEFT_LIBTORCH=', 'pip install torch==2.13.0']) expect(report.out).toContain(way);
      expectNoStack(report);
    }
    expect(server.requests).toEqual([]);
  }, LONG);
});

describe('npx node-peft build without a toolchain', () => {
  it('names everything missing in one error: compiler, cmake, make, LibTorch with headers', async () => {
    const result = await inProject('npx', ['--no', 'node-peft', 'build'], { NODE_PEFT_LIBTORCH: torchRoot.replace(/torch$/, 'no-torch') });
    expect(result.code).toBe(1);
    for (const missing of ['cannot build node-peft from source; missing:', 'a C++20 compiler', 'cmake >= 3.18', 'make or ninja', 'LibTorch 2.13 with its headers']) {
      expect(result.err).toContain(missing);
    }
    expectNoStack(result);
  }, LONG);
});

describe('LibTorch fetched from a loopback wheel index', () => {
  const cache = join(scratch, 'cache');
  const fetchEnv = (route: 'good' | 'corrupt' | 'stall') => ({ NODE_PEFT_CACHE: cache, NODE_PEFT_LIBTORCH_INDEX: server.index(route) });
  const cacheContents = () => (existsSync(join(cache, 'libtorch')) ? readdirSync(join(cache, 'libtorch')) : []);

  it('refuses a corrupted archive with a checksum error and leaves nothing in the cache', async () => {
    const result = await inProject('npx', ['--no', 'node-peft', 'install-libtorch'], fetchEnv('corrupt'));
    expect(result.code).toBe(1);
    expect(result.err).toContain('checksum mismatch');
    expect(result.err).toMatch(/refused and deleted/);
    expectNoStack(result);
    expect(cacheContents()).toEqual([]);
  }, LONG);

  it('leaves nothing half-downloaded when interrupted', async () => {
    const script = join(project, 'node_modules', 'node-peft', 'scripts', 'fetch-libtorch.mjs');
    const child = spawn(join(path, 'node'), [script], { cwd: project, env: env(fetchEnv('stall')), stdio: 'ignore' });
    const exited = new Promise<number | null>((done) => child.on('close', (code) => done(code)));
    while (!cacheContents().some((name) => name.startsWith('.tmp-') && existsSync(join(cache, 'libtorch', name, 'archive.zip')))) {
      await new Promise((wait) => setTimeout(wait, 100));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(cacheContents()).toEqual([]);
  }, LONG);

  it('downloads once at first use (with consent) for two processes, verifies, unpacks, runs a LoRA forward; doctor says "cache"', async () => {
    const consent = { ...fetchEnv('good'), NODE_PEFT_NO_DOWNLOAD: '', NODE_PEFT_DOWNLOAD: '1' };
    expect(await forwardBothWays(consent, true)).toBe(`cache (${join(cache, 'libtorch')})`);
    expect(server.requests.filter((url) => url.startsWith('/good/files/'))).toHaveLength(1);
    expect(cacheContents()).toEqual(['2.13.0+cpu']);
    expect(readdirSync(join(cache, 'libtorch', '2.13.0+cpu'))).toEqual(['.node-peft-complete.json', 'lib', 'version.py']);
    const report = await doctor(fetchEnv('good'));
    expect(report.code, report.err).toBe(0);
    expect(report.out).toContain(`from cache (${join(cache, 'libtorch')})`);
  }, LONG);
});
