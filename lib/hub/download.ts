// One file from a Hub repo into the shared cache, reusing what is there (also what Python downloaded).
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { dirname } from 'node:path';
import { HubError } from '../errors.js';
import { blobPath, COMMIT_HASH, linkSnapshot, lookupCached, recordAbsent, repoCacheDir, writeRef } from './cache.js';
import { fileMetadata, HubConnectionError, hubEndpoint, openDownload, type FileMetadata, type MissingFile } from './http.js';
import { PROGRESS_MIN_BYTES, terminalProgressBar, type ProgressListener } from './progress.js';

export interface HubDownloadOptions {
  revision?: string;
  /** Defaults to the Hugging Face cache (HF_HUB_CACHE / HF_HOME). */
  cacheDir?: string;
  /** Called as bytes arrive on files of 10 MB or more; defaults to a bar on stderr when it is a terminal. */
  onProgress?: ProgressListener;
}

export function isOffline(): boolean {
  return ['1', 'on', 'yes', 'true'].includes((process.env.HF_HUB_OFFLINE ?? '').toLowerCase());
}

async function fetchBlob(meta: FileMetadata, blob: string, path: string, onProgress: ProgressListener | undefined): Promise<void> {
  mkdirSync(dirname(blob), { recursive: true });
  const temp = `${blob}.${process.pid}.${Date.now()}.incomplete`;
  const file = await open(temp, 'w');
  const sha256 = createHash('sha256');
  let received = 0;
  const report = meta.size >= PROGRESS_MIN_BYTES ? onProgress : undefined;
  try {
    const reader = (await openDownload(meta.downloadUrl, path)).getReader();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      await file.write(value);
      sha256.update(value);
      received += value.length;
      report?.({ file: path, received, total: meta.size });
    }
    await file.sync();
  } catch (error) {
    await file.close();
    rmSync(temp, { force: true });
    if (error instanceof HubConnectionError || error instanceof HubError) throw error;
    throw new HubError(`${path}: the download broke off (${(error as Error).message})`);
  }
  await file.close();
  const digest = sha256.digest('hex');
  // An LFS file's ETag is its SHA-256: check it; any file's size must match.
  if (received !== meta.size || (/^[0-9a-f]{64}$/.test(meta.etag) && digest !== meta.etag)) {
    rmSync(temp, { force: true });
    throw new HubError(`${path}: downloaded ${received} bytes (sha256 ${digest}) but the Hub announced ${meta.size} bytes (etag ${meta.etag})`);
  }
  renameSync(temp, blob);
}

/**
 * The local path of `path` in `repoId`, downloading it if needed; undefined when the repo has no such file
 * and `optional` is set. Offline (HF_HUB_OFFLINE=1) or when the Hub can't be reached, only the cache is used.
 */
export async function hubDownload(repoId: string, path: string, options: HubDownloadOptions & { optional?: boolean } = {}): Promise<string | undefined> {
  const revision = options.revision ?? 'main';
  const storage = await repoCacheDir(repoId, options.cacheDir);
  const cached = lookupCached(storage, revision, path);
  const fromCache = (reason: string): string | undefined => {
    if (cached.kind === 'file') return cached.path;
    if (cached.kind === 'absent' && options.optional) return undefined;
    if (cached.kind === 'absent') throw new HubError(`${repoId} has no file ${path} at ${revision} (recorded in the cache)`);
    if (options.optional) return undefined;
    throw new HubError(`${repoId}/${path} at ${revision} is not in the cache (${storage}) and ${reason}`);
  };
  if (isOffline()) return fromCache('HF_HUB_OFFLINE is set');
  if (COMMIT_HASH.test(revision) && cached.kind !== 'unknown') return fromCache('');
  let meta: FileMetadata | MissingFile;
  try {
    meta = await fileMetadata(repoId, revision, path);
  } catch (error) {
    if (error instanceof HubConnectionError) return fromCache(`${error.message} at ${hubEndpoint()}`);
    throw error;
  }
  if ('missing' in meta) {
    const commit = COMMIT_HASH.test(revision) ? revision : meta.commit;
    if (commit) {
      writeRef(storage, revision, commit);
      recordAbsent(storage, commit, path);
    }
    if (options.optional) return undefined;
    throw new HubError(`${repoId} has no file ${path} at revision ${revision}`);
  }
  writeRef(storage, revision, meta.commit);
  const pointer = lookupCached(storage, meta.commit, path);
  if (pointer.kind === 'file') return pointer.path;
  const blob = blobPath(storage, meta.etag);
  if (!existsSync(blob) || statSync(blob).size !== meta.size) {
    await fetchBlob(meta, blob, `${repoId}/${path}`, options.onProgress ?? terminalProgressBar());
  }
  return linkSnapshot(storage, meta.commit, path, blob);
}
