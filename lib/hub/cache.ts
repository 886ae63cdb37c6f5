// Python's Hugging Face cache layout (huggingface_hub): <cache>/models--org--name/{blobs,refs,snapshots/<commit>}.
// Files Python downloaded are found here, and files node-peft downloads are where Python looks.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';

export const COMMIT_HASH = /^[0-9a-f]{40}$/;

// @huggingface/hub takes ~0.2 s to import; only code that touches the Hub pays for it.
const hubLibrary = (): Promise<typeof import('@huggingface/hub')> => import('@huggingface/hub');

/** HF_HUB_CACHE, else HF_HOME/hub, else $XDG_CACHE_HOME/huggingface/hub, else ~/.cache/huggingface/hub. */
export async function hubCacheDir(): Promise<string> {
  return (await hubLibrary()).getHFHubCachePath();
}

/** <cache>/models--org--name */
export async function repoCacheDir(repoId: string, cacheDir?: string): Promise<string> {
  const library = await hubLibrary();
  return join(cacheDir ?? library.getHFHubCachePath(), library.getRepoFolderName({ type: 'model', name: repoId }));
}

/** The commit a revision points to in the cache (a commit hash is its own answer). */
export function cachedCommit(storage: string, revision: string): string | undefined {
  if (COMMIT_HASH.test(revision)) return revision;
  const ref = join(storage, 'refs', revision);
  return existsSync(ref) ? readFileSync(ref, 'utf8').trim() : undefined;
}

export type CachedFile = { kind: 'file'; path: string } | { kind: 'absent' } | { kind: 'unknown' };

/** What the cache knows about `path` at `revision`: a file, a recorded absence (.no_exist), or nothing. */
export function lookupCached(storage: string, revision: string, path: string): CachedFile {
  const commit = cachedCommit(storage, revision);
  if (commit === undefined) return { kind: 'unknown' };
  const file = join(storage, 'snapshots', commit, path);
  if (existsSync(file)) return { kind: 'file', path: file };
  if (existsSync(join(storage, '.no_exist', commit, path))) return { kind: 'absent' };
  return { kind: 'unknown' };
}

function tempNameFor(path: string): string {
  return `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
}

/** Write a small text file atomically (temp file in the same folder, then rename). */
export function writeFileAtomic(path: string, text: string): void {
  mkdirSync(dirname(path), { recursive: true });
  const temp = tempNameFor(path);
  writeFileSync(temp, text, { flush: true });
  renameSync(temp, path);
}

export function writeRef(storage: string, revision: string, commit: string): void {
  if (revision !== commit) writeFileAtomic(join(storage, 'refs', revision), commit);
}

export function recordAbsent(storage: string, commit: string, path: string): void {
  writeFileAtomic(join(storage, '.no_exist', commit, path), '');
}

/** snapshots/<commit>/<path> -> ../../blobs/<etag> (relative, as Python makes it); replaced atomically. */
export function linkSnapshot(storage: string, commit: string, path: string, blob: string): string {
  const pointer = join(storage, 'snapshots', commit, path);
  mkdirSync(dirname(pointer), { recursive: true });
  const temp = tempNameFor(pointer);
  try {
    symlinkSync(relative(dirname(pointer), blob), temp);
  } catch {
    writeFileSync(temp, readFileSync(blob)); // file systems without symlinks get a copy
  }
  try {
    renameSync(temp, pointer);
  } catch (error) {
    rmSync(temp, { force: true });
    throw error;
  }
  return pointer;
}

export function blobPath(storage: string, etag: string): string {
  return join(storage, 'blobs', etag);
}
