// The Hub's HTTP protocol as huggingface_hub speaks it: HEAD resolve/<revision>/<file> (following only relative
// redirects) for X-Repo-Commit, ETag / X-Linked-Etag and size; then GET the bytes (following the CDN redirect).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { HubError } from '../errors.js';

export interface FileMetadata {
  commit: string;
  etag: string;
  size: number;
  downloadUrl: string;
}

/** The server could not be reached at all (as opposed to answering with an error). */
export class HubConnectionError extends Error {
  override name = 'HubConnectionError';
}

export function hubEndpoint(): string {
  return (process.env.HF_ENDPOINT ?? 'https://huggingface.co').replace(/\/+$/, '');
}

/** HF_TOKEN, else the token file huggingface-cli login writes (HF_TOKEN_PATH, else HF_HOME/token). */
export function hubToken(): string | undefined {
  if (process.env.HF_TOKEN) return process.env.HF_TOKEN;
  const home = process.env.HF_HOME ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'huggingface');
  const path = process.env.HF_TOKEN_PATH ?? join(home, 'token');
  return existsSync(path) ? readFileSync(path, 'utf8').trim() || undefined : undefined;
}

export function resolveUrl(repoId: string, revision: string, path: string): string {
  const file = path.split('/').map(encodeURIComponent).join('/');
  return `${hubEndpoint()}/${repoId}/resolve/${encodeURIComponent(revision)}/${file}`;
}

export function authHeaders(url: string): Record<string, string> {
  const token = hubToken();
  // The token goes only to the Hub itself, never to a CDN it redirects to.
  return token !== undefined && new URL(url).origin === new URL(hubEndpoint()).origin ? { authorization: `Bearer ${token}` } : {};
}

export async function request(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch (error) {
    const cause = (error as { cause?: { code?: string; message?: string } }).cause;
    throw new HubConnectionError(`cannot reach ${new URL(url).origin} (${cause?.code ?? cause?.message ?? (error as Error).message})`);
  }
}

const normalizeEtag = (etag: string): string => etag.replace(/^W\//, '').replace(/^"|"$/g, '');

function statusError(response: Response, what: string): HubError {
  const code = response.headers.get('x-error-code');
  const status = response.status;
  if (status === 401 || status === 403) {
    return new HubError(`${what}: ${status} ${status === 401 ? 'unauthorized' : 'forbidden'} — the repo is private or gated, or it does not exist; set HF_TOKEN to a token with access`);
  }
  if (code === 'RepoNotFound') return new HubError(`${what}: repository not found`);
  if (code === 'RevisionNotFound') return new HubError(`${what}: revision not found`);
  return new HubError(`${what}: the Hub answered ${status} ${response.statusText}${code ? ` (${code})` : ''}`);
}

/** The repo exists but has no such file (404 EntryNotFound); `commit` is the revision's commit when the Hub says. */
export interface MissingFile {
  missing: true;
  commit: string | null;
}

/** Metadata of one file, or MissingFile. */
export async function fileMetadata(repoId: string, revision: string, path: string): Promise<FileMetadata | MissingFile> {
  const what = `${repoId}/${path} at ${revision}`;
  let url = resolveUrl(repoId, revision, path);
  let response: Response;
  for (let hops = 0; ; hops++) {
    response = await request(url, { method: 'HEAD', redirect: 'manual', headers: { ...authHeaders(url), 'accept-encoding': 'identity' } });
    const location = response.headers.get('location');
    const relativeRedirect = response.status >= 300 && response.status < 400 && location !== null && !/^[a-z][a-z0-9+.-]*:\/\//i.test(location);
    if (!relativeRedirect || hops >= 10) break;
    url = new URL(location, url).toString(); // a renamed repo: follow on the Hub itself
  }
  if (response.status === 404 && response.headers.get('x-error-code') === 'EntryNotFound') {
    return { missing: true, commit: response.headers.get('x-repo-commit') };
  }
  const redirected = response.status >= 300 && response.status < 400;
  if (!response.ok && !redirected) throw statusError(response, what);
  const commit = response.headers.get('x-repo-commit');
  const etag = response.headers.get('x-linked-etag') ?? response.headers.get('etag');
  const size = Number(response.headers.get('x-linked-size') ?? response.headers.get('content-length'));
  if (!commit || !etag || !Number.isFinite(size)) {
    throw new HubError(`${what}: the server's answer lacks X-Repo-Commit, ETag or size headers (is HF_ENDPOINT a Hugging Face Hub?)`);
  }
  const downloadUrl = redirected ? new URL(response.headers.get('location')!, url).toString() : url;
  return { commit, etag: normalizeEtag(etag), size, downloadUrl };
}

/** The bytes of a file, as a stream of chunks. */
export async function openDownload(url: string, what: string): Promise<ReadableStream<Uint8Array>> {
  const response = await request(url, { headers: { ...authHeaders(url), 'accept-encoding': 'identity' } });
  if (!response.ok || response.body === null) throw statusError(response, what);
  return response.body;
}
