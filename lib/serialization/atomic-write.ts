// Atomic file writes: the data goes to a temporary file in the same folder, which is fsynced and
// renamed over the target, and the folder is fsynced. A failure at any point removes the temporary
// file and leaves the target as it was.
import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** The errors a folder fsync may give on file systems that do not support it. */
const UNSUPPORTED_DIR_SYNC = new Set(['EINVAL', 'ENOTSUP', 'EISDIR', 'EPERM', 'EACCES', 'EBADF']);

/** The temporary files of writeFileAtomic (and `<file>.tmp-<pid>` of earlier releases) that a crash can leave. */
export function isAtomicWriteTemp(fileName: string): boolean {
  return /^\..+\.\d+\.[0-9a-f]{12}\.tmp$/.test(fileName) || /\.tmp-\d+$/.test(fileName);
}

function tempPathFor(path: string): string {
  const target = resolve(path);
  return join(dirname(target), `.${basename(target)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

function isUnsupported(error: unknown): boolean {
  return UNSUPPORTED_DIR_SYNC.has((error as NodeJS.ErrnoException).code ?? '');
}

async function syncFolder(folder: string): Promise<void> {
  let handle;
  try {
    handle = await open(folder, 'r');
    await handle.sync();
  } catch (error) {
    if (!isUnsupported(error)) throw error;
  } finally {
    await handle?.close();
  }
}

/** fsyncs a folder (its entries), where the file system supports it. */
export function syncFolderSync(folder: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(folder, 'r');
    fsyncSync(fd);
  } catch (error) {
    if (!isUnsupported(error)) throw error;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** A failure to create the temporary file, told in terms of the path the caller gave. */
function cannotWrite(path: string, error: unknown): Error {
  const code = (error as NodeJS.ErrnoException).code;
  const folder = dirname(resolve(path));
  const reason = code === 'ENOENT' ? `the folder ${folder} does not exist`
    : code === 'EACCES' || code === 'EPERM' ? `no permission to write in ${folder}`
    : code === 'ENOTDIR' ? `${folder} is not a folder`
    : (error as Error).message;
  return Object.assign(new Error(`cannot write ${path}: ${reason}`), { code });
}

/** Writes `path` atomically: `write` receives the file descriptor of a new, empty temporary file. */
export async function writeFileAtomic(path: string, write: (fd: number) => Promise<void>): Promise<void> {
  const temp = tempPathFor(path);
  const handle = await open(temp, 'wx', 0o666).catch((error: unknown) => {
    throw cannotWrite(path, error);
  });
  let renamed = false;
  try {
    try {
      await write(handle.fd);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, path);
    renamed = true;
    await syncFolder(dirname(resolve(path)));
  } catch (error) {
    if (!renamed) await unlink(temp).catch(() => undefined);
    throw error;
  }
}

/** Writes a text file (UTF-8) atomically. */
export async function writeTextFileAtomic(path: string, text: string): Promise<void> {
  const bytes = Buffer.from(text, 'utf8');
  await writeFileAtomic(path, async (fd) => {
    for (let done = 0; done < bytes.length; ) done += writeSync(fd, bytes, done, bytes.length - done, done);
  });
}

/** As writeFileAtomic, blocking. */
export function writeFileAtomicSync(path: string, write: (fd: number) => void): void {
  const temp = tempPathFor(path);
  let fd: number;
  try {
    fd = openSync(temp, 'wx', 0o666);
  } catch (error) {
    throw cannotWrite(path, error);
  }
  let renamed = false;
  try {
    try {
      write(fd);
      fsyncSync(fd);
    } finally {
      closeSync(fd);
    }
    renameSync(temp, path);
    renamed = true;
    syncFolderSync(dirname(resolve(path)));
  } catch (error) {
    if (!renamed) {
      try {
        unlinkSync(temp);
      } catch {
        // already gone
      }
    }
    throw error;
  }
}
