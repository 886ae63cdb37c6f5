// The safetensors fixtures written by scripts/fixtures/safetensors_fixtures.py (safetensors 0.8.0).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, afterEach, beforeEach, expect } from 'vitest';
import { torch, type DType } from '../../lib/index.js';

export const FIXTURES = join(dirname(fileURLToPath(import.meta.url)), '..', 'fixtures', 'safetensors');

export interface WrittenTensor {
  name: string;
  dtype: DType;
  shape: number[];
  hex: string;
}

export interface WrittenFile {
  metadata: Record<string, string> | null;
  tensors: WrittenTensor[];
}

export interface CraftedCase {
  name: string;
  base64: string;
  reference: { ok: true; tensors: [string, string, number[]][] } | { ok: false; error: string };
}

export const written = JSON.parse(readFileSync(join(FIXTURES, 'written.json'), 'utf8')) as Record<string, WrittenFile>;
export const crafted = JSON.parse(readFileSync(join(FIXTURES, 'crafted.json'), 'utf8')) as CraftedCase[];

export function writtenPath(name: string): string {
  return join(FIXTURES, 'written', `${name}.safetensors`);
}

export function writtenBytes(name: string): Uint8Array {
  return new Uint8Array(readFileSync(writtenPath(name)));
}

export function craftedBytes(name: string): Uint8Array {
  const found = crafted.find((c) => c.name === name);
  if (found === undefined) throw new Error(`no crafted case ${name}`);
  return new Uint8Array(Buffer.from(found.base64, 'base64'));
}

export function hexBytes(hex: string): Uint8Array {
  return new Uint8Array(Buffer.from(hex, 'hex'));
}

/** The tensors of a written fixture, rebuilt from their raw bytes (the caller disposes them). */
export function writtenTensors(name: string): Record<string, torch.Tensor> {
  return Object.fromEntries(written[name].tensors.map((t) => [t.name, torch.fromBytes(hexBytes(t.hex), t.dtype, t.shape)]));
}

export function disposeAll(tensors: Record<string, torch.Tensor>): void {
  for (const t of Object.values(tensors)) t.dispose();
}

/** A fresh temporary folder for this test file, removed after its last test. */
export function useTempFolder(): { dir: string } {
  const dir = mkdtempSync(join(tmpdir(), 'node-peft-safetensors-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  return { dir };
}

/** Fails each test of this file that leaves more live tensors than it found. */
export function expectNoLeakedTensors(): void {
  let liveAtStart = 0;
  beforeEach(() => {
    liveAtStart = torch.liveTensors();
  });
  afterEach(() => {
    expect(torch.liveTensors(), 'tensors left alive by the test').toBe(liveAtStart);
  });
}
