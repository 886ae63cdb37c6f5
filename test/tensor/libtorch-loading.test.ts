// Loading LibTorch: a missing or wrong LibTorch gives a clear TorchError at import (checked in a child
// process), and the LibTorch in use is the one that was found, whatever else the system has installed.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, test } from 'vitest';
import { torch } from '../../lib/index.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
let childDir = '';

interface ImportOutcome {
  loaded: boolean;
  name?: string;
  message?: string;
  version?: string;
  mapped?: string[];
  /**
   * N.cpuCacheStats() after CHILD_ALLOCATE_MIB tensors of 1 MiB were made and freed (then, with CHILD_IDLE_MS, one of
   * 2 MiB after that many ms): [cachedBytes, liveBytes, peakLiveBytes, hits, misses, released].
   */
  cpuCache?: number[] | null;
}

const MiB = 1024 * 1024;
const SYSTEM_LIBTORCH_DIR = '/usr/lib/x86_64-linux-gnu';

/** Paths of the LibTorch libraries mapped into a process, from its /proc/PID/maps text. */
function mappedLibTorch(maps: string): string[] {
  const paths = maps.split('\n').map((line) => line.split(/\s+/)[5] ?? '');
  return [...new Set(paths.filter((path) => /\/lib(torch_cpu|c10|torch)\.so/.test(path)))];
}

/**
 * lib/binding.ts (and errors.ts, native-files.ts and package-root.ts, its only imports) transpiled into a folder under build/, so a plain
 * `node` child can import it without a TypeScript loader; it still finds the package root above it.
 */
beforeAll(() => {
  mkdirSync(join(root, 'build'), { recursive: true });
  childDir = mkdtempSync(join(root, 'build', 'test-loading-'));
  mkdirSync(join(childDir, 'lib'));
  for (const name of ['binding', 'errors', 'native-files', 'package-root']) {
    const source = readFileSync(join(root, 'lib', `${name}.ts`), 'utf8');
    const { outputText } = ts.transpileModule(source, {
      compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
    });
    writeFileSync(join(childDir, 'lib', `${name}.js`), outputText);
  }
  writeFileSync(join(childDir, 'import-binding.mjs'), [
    'try {',
    "  const { N } = await import('./lib/binding.js');",
    "  const { readFileSync } = await import('node:fs');",
    "  const made = Array.from({ length: Number(process.env.CHILD_ALLOCATE_MIB ?? 0) }, () => N.zeros([262144], 'float32'));",
    '  for (const handle of made) N.dispose(handle);',
    '  if (process.env.CHILD_IDLE_MS) {',
    '    await new Promise((resolve) => setTimeout(resolve, Number(process.env.CHILD_IDLE_MS)));',
    "    N.dispose(N.zeros([524288], 'float32'));",
    '  }',
    "  const maps = process.platform === 'linux' ? readFileSync('/proc/self/maps', 'utf8') : '';",
    `  const mapped = (${mappedLibTorch.toString()})(maps);`,
    '  console.log(JSON.stringify({ loaded: true, version: N.torchVersion(), mapped, cpuCache: N.cpuCacheStats() }));',
    '} catch (error) {',
    '  console.log(JSON.stringify({ loaded: false, name: error.name, message: error.message }));',
    '}',
  ].join('\n'));
});

afterAll(() => {
  if (childDir) rmSync(childDir, { recursive: true, force: true });
});

function importInChild(env: Record<string, string | undefined>): ImportOutcome {
  const childEnv = { ...process.env };
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) delete childEnv[key];
    else childEnv[key] = value;
  }
  const result = spawnSync(process.execPath, [join(childDir, 'import-binding.mjs')], { env: childEnv, encoding: 'utf8' });
  expect(result.signal, `child crashed: ${result.stderr}`).toBeNull();
  expect(result.status, result.stderr).toBe(0);
  return JSON.parse(result.stdout.trim().split('\n').pop() as string) as ImportOutcome;
}

describe('importing the binding in a fresh process', () => {
  test('loads the LibTorch that setup found (the control for the cases below)', () => {
    const outcome = importInChild({ NODE_PEFT_LIBTORCH: undefined, LIBTORCH: undefined });
    expect(outcome).toMatchObject({ loaded: true });
    expect(outcome.version).toMatch(/^2\.13\./);
  });

  // Debian's libtorch-dev (1.13) puts libtorch_cpu.so and libc10.so in the default search path.
  test.runIf(existsSync(join(SYSTEM_LIBTORCH_DIR, 'libtorch_cpu.so')))(
    'a system LibTorch first on LD_LIBRARY_PATH does not hijack the one that was found',
    () => {
      const outcome = importInChild({ NODE_PEFT_LIBTORCH: undefined, LD_LIBRARY_PATH: SYSTEM_LIBTORCH_DIR });
      expect(outcome).toMatchObject({ loaded: true });
      expect(outcome.version).toMatch(/^2\.13\./);
      const libDir = torch.versions().libtorchPath;
      expect(outcome.mapped?.length).toBeGreaterThan(0);
      for (const path of outcome.mapped ?? []) expect(path.startsWith(`${libDir}/`), path).toBe(true);
    },
  );

  test('NODE_PEFT_LIBTORCH pointing nowhere is a clear TorchError', () => {
    const outcome = importInChild({ NODE_PEFT_LIBTORCH: '/nonexistent' });
    expect(outcome.loaded).toBe(false);
    expect(outcome.name).toBe('TorchError');
    expect(outcome.message).toBe('NODE_PEFT_LIBTORCH=/nonexistent is not a LibTorch folder (no lib/libtorch_cpu.so)');
  });

  test('a LibTorch of another series is refused before anything is loaded', () => {
    const fake = mkdtempSync(join(childDir, 'libtorch-1.13-'));
    mkdirSync(join(fake, 'lib'));
    writeFileSync(join(fake, 'lib', 'libtorch_cpu.so'), '');
    writeFileSync(join(fake, 'version.py'), "__version__ = '1.13.1'\n");
    const outcome = importInChild({ NODE_PEFT_LIBTORCH: fake, NODE_PEFT_BYPASS_VERSION_CHECK: undefined });
    expect(outcome.loaded).toBe(false);
    expect(outcome.name).toBe('TorchError');
    expect(outcome.message).toContain(`LibTorch 1.13.1 found at ${fake} (NODE_PEFT_LIBTORCH), but node-peft needs LibTorch 2.13.x`);
  });
});

// native/cpu_cache.cc serves CPU tensor memory from a cache of freed blocks unless NODE_PEFT_CPU_CACHE=0.
describe('the CPU tensor cache', () => {
  test('is installed by default', () => {
    const outcome = importInChild({ NODE_PEFT_CPU_CACHE: undefined, NODE_PEFT_CPU_CACHE_MB: undefined, CHILD_ALLOCATE_MIB: '4' });
    expect(outcome.cpuCache?.[0]).toBe(4 * MiB);
  });

  test('NODE_PEFT_CPU_CACHE=0 leaves LibTorch\'s own allocator in place', () => {
    expect(importInChild({ NODE_PEFT_CPU_CACHE: '0', CHILD_ALLOCATE_MIB: '4' })).toMatchObject({ loaded: true, cpuCache: null });
  });

  test('NODE_PEFT_CPU_CACHE_MB caps it: the oldest blocks beyond the cap are unmapped', () => {
    const [cachedBytes, , , , , released] = importInChild({ NODE_PEFT_CPU_CACHE_MB: '2', CHILD_ALLOCATE_MIB: '4' }).cpuCache ?? [];
    expect(cachedBytes).toBeGreaterThan(0);
    expect(cachedBytes).toBeLessThanOrEqual(2 * MiB);
    expect(released).toBeGreaterThan(0); // freed neighbours are joined, so how many blocks went depends on addresses
  });

  test('blocks unused for NODE_PEFT_CPU_CACHE_DECAY_S are given back at the next allocation', () => {
    const outcome = importInChild({ NODE_PEFT_CPU_CACHE_DECAY_S: '0.2', CHILD_ALLOCATE_MIB: '4', CHILD_IDLE_MS: '1200' });
    const [cachedBytes, , , , , released] = outcome.cpuCache ?? [];
    expect(cachedBytes).toBe(2 * MiB); // the idle 1 MiB blocks went (joined or not); the new 2 MiB one is kept
    expect(released).toBeGreaterThan(0);
  });
});

describe('the LibTorch in this process', () => {
  test.runIf(process.platform === 'linux')('libtorch_cpu and libc10 are mapped only from the folder that was found', () => {
    const libDir = torch.versions().libtorchPath;
    const mapped = mappedLibTorch(readFileSync('/proc/self/maps', 'utf8'));
    expect(mapped.length).toBeGreaterThan(0);
    for (const path of mapped) expect(path.startsWith(`${libDir}/`), path).toBe(true);
    expect(torch.versions().libtorch).toMatch(/^2\.13\./);
  });
});
