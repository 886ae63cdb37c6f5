// A loopback stand-in for the Hugging Face Hub: serves fixture folders under resolve/<revision>/<path> with the
// headers huggingface_hub relies on (X-Repo-Commit, ETag, X-Linked-Etag/-Size), LFS files via a redirect to a
// "CDN" path, relative redirects for renamed repos, 401 for private repos, 404 EntryNotFound for missing files.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

export interface FixtureRepo {
  id: string;
  dir: string;
  commit: string;
  /** Needs `Authorization: Bearer <token>`. */
  token?: string;
}

export interface HubServer {
  url: string;
  /** "METHOD path" of every request, in order. */
  requests: string[];
  close(): Promise<void>;
}

const isLfs = (path: string): boolean => /\.(safetensors|bin)$/.test(path);
const gitBlobSha = (bytes: Buffer): string => createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex');

export async function startHubServer(repos: FixtureRepo[], renamed: Record<string, string> = {}): Promise<HubServer> {
  const requests: string[] = [];
  const blobs = new Map<string, Buffer>();
  let base = '';

  const handle = (req: IncomingMessage, res: ServerResponse): void => {
    const url = decodeURIComponent(req.url ?? '/');
    requests.push(`${req.method} ${url}`);
    const cdn = /^\/cdn\/([0-9a-f]{64})$/.exec(url);
    if (cdn) {
      const bytes = blobs.get(cdn[1]!);
      res.writeHead(bytes ? 200 : 404, { 'content-length': bytes?.length ?? 0 }).end(req.method === 'HEAD' ? undefined : bytes);
      return;
    }
    const match = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(url);
    if (!match) return void res.writeHead(404).end();
    const [, repoId, revision, path] = match as unknown as [string, string, string, string];
    if (renamed[repoId]) {
      return void res.writeHead(307, { location: `/${renamed[repoId]}/resolve/${revision}/${path}` }).end();
    }
    const repo = repos.find((r) => r.id === repoId);
    if (!repo) return void res.writeHead(404, { 'x-error-code': 'RepoNotFound' }).end();
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) return void res.writeHead(401).end();
    if (revision !== 'main' && revision !== repo.commit) return void res.writeHead(404, { 'x-error-code': 'RevisionNotFound' }).end();
    const file = join(repo.dir, path);
    if (!existsSync(file) || !statSync(file).isFile()) {
      return void res.writeHead(404, { 'x-error-code': 'EntryNotFound', 'x-repo-commit': repo.commit }).end();
    }
    const bytes = readFileSync(file);
    if (isLfs(path)) {
      const oid = sha256(bytes);
      blobs.set(oid, bytes);
      res.writeHead(302, {
        location: `${base}/cdn/${oid}`, 'x-repo-commit': repo.commit, 'x-linked-etag': `"${oid}"`,
        'x-linked-size': bytes.length, etag: `"${gitBlobSha(Buffer.from(`oid sha256:${oid}`))}"`,
      }).end();
      return;
    }
    res.writeHead(200, { 'x-repo-commit': repo.commit, etag: `"${gitBlobSha(bytes)}"`, 'content-length': bytes.length });
    res.end(req.method === 'HEAD' ? undefined : bytes);
  };

  const server = createServer(handle);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    url: base,
    requests,
    close: () => new Promise<void>((resolve) => {
      server.closeAllConnections();
      server.close(() => resolve());
    }),
  };
}
