// The glibc floor of the binaries we ship: the highest GLIBC_ symbol version they need, read from their ELF
// version-needs table. native/glibc_compat.h keeps it at the torch 2.13 wheel's own floor (2.28) on newer build hosts.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { highestVersion, neededVersions } from '../../scripts/elf-versions.mjs';
import { REPO } from './consumer.js';

const TORCH_WHEEL_FLOOR = '2.28';
const versionOf = (path: string, prefix: string) => highestVersion(path, prefix);
const atMost = (version: string | null, floor: string) => version !== null && version.localeCompare(floor, 'en', { numeric: true }) <= 0;

const binaries = [join(REPO, 'build', 'Release', 'node_peft.node'), join(REPO, 'build', 'loader', 'node_peft_loader.node')];

describe('glibc floor', () => {
  it.each(binaries)('%s needs glibc <= 2.28, as libtorch itself does', (binary) => {
    expect(atMost(versionOf(binary, 'GLIBC_'), TORCH_WHEEL_FLOOR)).toBe(true);
  });

  it('keeps libdl.so.2 as a dependency (the dl* functions live there before glibc 2.34)', () => {
    for (const binary of binaries) expect(Object.keys(neededVersions(binary))).toContain('libc.so.6');
    const dynamic = readFileSync(binaries[1]).includes(Buffer.from('libdl.so.2\0'));
    expect(dynamic).toBe(true);
  });

  it('asks no more of libstdc++ than libtorch_cpu.so does', () => {
    const recorded = JSON.parse(readFileSync(join(REPO, 'build', 'libtorch.json'), 'utf8')) as { libDir: string };
    const torchNeeds = versionOf(join(recorded.libDir, 'libtorch_cpu.so'), 'GLIBCXX_');
    expect(atMost(versionOf(binaries[0], 'GLIBCXX_'), torchNeeds as string)).toBe(true);
  });

});
