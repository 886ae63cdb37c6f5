// Where the LibTorch download's SHA-256 comes from (the index, the URL, a .sha256 file or the user; never made up),
// which archive entries are unpacked, and when a download may start on its own.
import { createRequire } from 'node:module';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadPath, resolveSource, wheelLinks } from '../../scripts/fetch-libtorch.mjs';

const finder = createRequire(import.meta.url)('../../scripts/libtorch.cjs') as {
  downloadPolicy(env: Record<string, string>): { allowed: boolean; why: string };
};
const HASH = 'ab'.repeat(32);
const WHEEL = 'torch-2.13.0%2Bcpu-cp312-cp312-manylinux_2_28_x86_64.whl';
let server: Server;
let base = '';
const pages: Record<string, string> = {
  '/hashed/torch/': `<a href="/f/torch-2.13.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl#sha256=${'cd'.repeat(32)}">x</a>` +
    `<a href="/f/${WHEEL}#sha256=${HASH}">torch-2.13.0+cpu-cp312</a><a href="/f/torch-2.13.0%2Bcpu-cp312-cp312-win_amd64.whl">w</a>`,
  '/bare/torch/': `<a href="/f/${WHEEL}">${WHEEL}</a><a href="/f/torch-2.13.0%2Bcpu-cp314-cp314t-manylinux_2_28_x86_64.whl">t</a>`,
  '/f/libtorch.zip.sha256': `${HASH}  libtorch.zip\n`,
};

beforeAll(async () => {
  server = createServer((request, response) => {
    const page = pages[request.url ?? ''];
    response.writeHead(page === undefined ? 404 : 200).end(page);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((closed) => server.close(() => closed())));

describe('the SHA-256 of the LibTorch archive', () => {
  it('comes from the index link of the pinned CPU Linux wheel (highest Python tag first)', async () => {
    const source = await resolveSource({ NODE_PEFT_LIBTORCH_INDEX: `${base}/hashed/torch/` });
    expect(source).toEqual({ url: `${base}/f/${WHEEL}`, sha256: HASH, checksumFrom: `the index ${base}/hashed/torch/` });
  });

  it('is never invented: an index without #sha256= is refused unless the user pins one', async () => {
    await expect(resolveSource({ NODE_PEFT_LIBTORCH_INDEX: `${base}/bare/torch/` })).rejects.toThrow(/no SHA-256 is published .*NODE_PEFT_LIBTORCH_SHA256/);
    const pinned = await resolveSource({ NODE_PEFT_LIBTORCH_INDEX: `${base}/bare/torch/`, NODE_PEFT_LIBTORCH_SHA256: HASH.toUpperCase() });
    expect(pinned.sha256).toBe(HASH);
    expect(pinned.checksumFrom).toBe('NODE_PEFT_LIBTORCH_SHA256');
  });

  it('comes from <url>.sha256 next to an archive URL, or from its #sha256= fragment', async () => {
    expect((await resolveSource({ NODE_PEFT_LIBTORCH_URL: `${base}/f/libtorch.zip` })).checksumFrom).toBe(`${base}/f/libtorch.zip.sha256`);
    const fragment = await resolveSource({ NODE_PEFT_LIBTORCH_URL: `${base}/f/other.zip#sha256=${HASH}` });
    expect(fragment).toEqual({ url: `${base}/f/other.zip`, sha256: HASH, checksumFrom: "the URL's #sha256= fragment" });
    await expect(resolveSource({ NODE_PEFT_LIBTORCH_URL: `${base}/f/other.zip` })).rejects.toThrow(/no SHA-256 is published/);
  });

  it('must agree when both published and pinned, and a pin must look like a SHA-256', async () => {
    await expect(resolveSource({ NODE_PEFT_LIBTORCH_INDEX: `${base}/hashed/torch/`, NODE_PEFT_LIBTORCH_SHA256: 'ef'.repeat(32) }))
      .rejects.toThrow(/disagrees with the SHA-256 published/);
    await expect(resolveSource({ NODE_PEFT_LIBTORCH_SHA256: 'not-a-hash' })).rejects.toThrow(/not a SHA-256/);
  });

  it('an unreachable index is named in the error', async () => {
    await expect(resolveSource({ NODE_PEFT_LIBTORCH_INDEX: 'http://127.0.0.1:1/torch/' })).rejects.toThrow(/cannot reach http:\/\/127\.0\.0\.1:1\/torch\//);
  });
});

describe('unpacking', () => {
  it('keeps the libraries, headers, CMake files and version of a wheel or a libtorch zip, and nothing of Python', () => {
    expect(payloadPath('torch/lib/libtorch_cpu.so')).toBe('lib/libtorch_cpu.so');
    expect(payloadPath('torch/lib/libgomp.so.1')).toBe('lib/libgomp.so.1');
    expect(payloadPath('libtorch/include/torch/torch.h')).toBe('include/torch/torch.h');
    expect(payloadPath('libtorch/build-version')).toBe('build-version');
    expect(payloadPath('torch/version.py')).toBe('version.py');
    for (const skipped of ['torch/__init__.py', 'torch/lib/libtorch_python.so', 'torch-2.13.0.dist-info/RECORD', 'torch/lib/']) {
      expect(payloadPath(skipped)).toBeNull();
    }
  });

  it('refuses paths that leave the folder', () => {
    expect(() => payloadPath('torch/../../etc/passwd')).toThrow(/unsafe path/);
    expect(() => payloadPath('/torch/lib/x.so')).toThrow(/unsafe path/);
  });

  it('prefers a regular wheel to a free-threaded one', () => {
    expect(wheelLinks(pages['/bare/torch/'], `${base}/bare/torch/`)[0].name).toBe(decodeURIComponent(WHEEL));
  });

  it('finds wheel links by file name, decoded', () => {
    expect(wheelLinks(pages['/hashed/torch/'], `${base}/hashed/torch/`).map((link) => link.name)).toEqual([
      'torch-2.13.0+cpu-cp312-cp312-manylinux_2_28_x86_64.whl', 'torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl']);
  });
});

describe('downloads without asking', () => {
  it('happen at first use on a workstation, never in CI without NODE_PEFT_DOWNLOAD=1, never with NODE_PEFT_NO_DOWNLOAD=1', () => {
    expect(finder.downloadPolicy({}).allowed).toBe(true);
    expect(finder.downloadPolicy({ CI: 'true' })).toEqual({ allowed: false, why: expect.stringContaining('NODE_PEFT_DOWNLOAD=1') });
    expect(finder.downloadPolicy({ GITHUB_ACTIONS: 'true', NODE_PEFT_DOWNLOAD: '1' }).allowed).toBe(true);
    expect(finder.downloadPolicy({ NODE_PEFT_NO_DOWNLOAD: '1', NODE_PEFT_DOWNLOAD: '1' }).allowed).toBe(false);
  });
});
