// A LibTorch archive made from the local torch (cached under build/test-libtorch/) and a loopback server that
// serves it the way PyTorch's wheel index does: an index page whose link carries #sha256=, then the archive.
// /good/ serves it intact, /corrupt/ with one byte changed, /stall/ stops halfway and waits.
import { execFileSync } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { Transform } from 'node:stream';
import { PYTHON, REPO } from './consumer.js';

export const WHEEL = 'torch-2.13.0+cpu-cp311-cp311-manylinux_2_28_x86_64.whl';

/** The archive and its SHA-256, made once per torch install (the script stores, not compresses: seconds). */
export function libtorchArchive(torchLib: string): { path: string; sha256: string } {
  const dir = join(REPO, 'build', 'test-libtorch');
  const path = join(dir, WHEEL);
  const hashFile = `${path}.sha256`;
  const fresh = existsSync(hashFile) && statSync(hashFile).mtimeMs > statSync(join(torchLib, 'libtorch_cpu.so')).mtimeMs;
  if (!fresh) {
    mkdirSync(dir, { recursive: true });
    const sha = execFileSync(PYTHON, [join(REPO, 'scripts', 'fixtures', 'make-libtorch-archive.py'), path], { encoding: 'utf8' }).trim();
    writeFileSync(hashFile, `${sha}\n`);
  }
  return { path, sha256: readFileSync(hashFile, 'utf8').trim() };
}

function flipOneByte(at: number): Transform {
  let seen = 0;
  return new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      if (at >= seen && at < seen + chunk.length) chunk[at - seen] ^= 0xff;
      seen += chunk.length;
      callback(null, chunk);
    },
  });
}

export interface ArchiveServer {
  /** The index URL of a route: good, corrupt or stall. */
  index(route: 'good' | 'corrupt' | 'stall'): string;
  requests: string[];
  close(): Promise<void>;
}

export async function serveArchive(archive: { path: string; sha256: string }): Promise<ArchiveServer> {
  const size = statSync(archive.path).size;
  const requests: string[] = [];
  const stalled = new Set<import('node:http').ServerResponse>();
  const server: Server = createServer((request, response) => {
    const url = request.url ?? '/';
    requests.push(url);
    const [, route, kind] = url.split('/');
    if (kind === 'torch' && url.endsWith('/torch/')) {
      const href = `/${route}/files/${encodeURIComponent(WHEEL)}#sha256=${archive.sha256}`;
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end(`<!DOCTYPE html><html><body>\n<a href="/${route}/files/torch-2.12.0%2Bcpu-cp311-cp311-manylinux_2_28_x86_64.whl#sha256=${'0'.repeat(64)}">torch-2.12.0+cpu</a>\n` +
        `<a href="${href}">${WHEEL}</a>\n</body></html>\n`);
      return;
    }
    if (kind !== 'files' || decodeURIComponent(url.split('/').pop() ?? '') !== WHEEL) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': String(size) });
    if (route === 'stall') {
      stalled.add(response);
      createReadStream(archive.path, { start: 0, end: Math.floor(size / 2) }).on('data', (chunk) => response.write(chunk));
      return;
    }
    const body = createReadStream(archive.path);
    (route === 'corrupt' ? body.pipe(flipOneByte(Math.floor(size / 3))) : body).pipe(response);
  });
  await new Promise<void>((ready) => server.listen(0, '127.0.0.1', ready));
  const { port } = server.address() as AddressInfo;
  return {
    index: (route) => `http://127.0.0.1:${port}/${route}/torch/`,
    requests,
    close: () => new Promise((closed) => {
      for (const response of stalled) response.destroy();
      server.close(() => closed());
    }),
  };
}
