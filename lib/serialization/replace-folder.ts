// Replacing a folder of files that belong together (an adapter, a model, a checkpoint) as a whole. The new version
// is written into a sibling staging folder and fsynced; then the old folder is renamed aside, the staging folder is
// renamed into place, and the old one is removed:
//   1. write   .<name>.node-peft-new-<pid>-<id>/        (the folder still holds the old version)
//   2. rename  <name> -> .<name>.node-peft-old-<pid>-<id>
//   3. rename  .<name>.node-peft-new-<pid>-<id> -> <name>   (now the new version)
//   4. remove  .<name>.node-peft-old-<pid>-<id>
// A kill between 2 and 3 leaves no <name>, an old-<id> and a complete new-<id> (2 happens only once 1 is complete):
// resolveFolder() reads the new version there and recoverFolder() (run by the next save) renames it into place.
// Leftovers of dead processes are removed by the next save of the same folder.
import { randomBytes } from 'node:crypto';
import {
  copyFileSync, existsSync, linkSync, lstatSync, mkdirSync, readdirSync, readlinkSync, realpathSync, renameSync, rmSync, symlinkSync,
} from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { isAtomicWriteTemp, syncFolderSync } from './atomic-write.js';

const LEFTOVER = /^\.(.+)\.node-peft-(new|old)-(\d+)-([0-9a-f]{12})$/;

export interface ReplaceFolderOptions {
  /**
   * Which entries of the old folder belong to the version being replaced (they go with it). Every other entry
   * (a README, tokenizer files, sub-folders of other adapters) is carried into the new folder as hard links.
   * Default: every entry (the folder is replaced wholly).
   */
  owns?: (entry: string) => boolean;
}

interface Leftover {
  path: string;
  kind: 'new' | 'old';
  pid: number;
  id: string;
}

function isAlive(pid: number): boolean {
  if (pid === process.pid) return true;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function leftoversOf(target: string): Leftover[] {
  const parent = dirname(target);
  const name = basename(target);
  if (!existsSync(parent)) return [];
  const found: Leftover[] = [];
  for (const entry of readdirSync(parent)) {
    const m = LEFTOVER.exec(entry);
    if (m && m[1] === name) found.push({ path: join(parent, entry), kind: m[2] as 'new' | 'old', pid: Number(m[3]), id: m[4] });
  }
  return found;
}

/** The new version a kill between the two renames left complete beside a missing folder, if any. */
function interruptedSwap(target: string, leftovers: Leftover[]): Leftover | undefined {
  const olds = new Set(leftovers.filter((l) => l.kind === 'old').map((l) => l.id));
  return leftovers.find((l) => l.kind === 'new' && olds.has(l.id) && !isAlive(l.pid));
}

/** Where to read `target` from: itself, or the complete new version of a save killed between its renames. */
export function resolveFolder(target: string): string {
  const path = resolve(target);
  if (existsSync(path)) return target;
  return interruptedSwap(path, leftoversOf(path))?.path ?? target;
}

/** Finishes a save killed between its renames and removes what dead saves of `target` left. Returns what it removed. */
export function recoverFolder(target: string): string[] {
  const path = resolve(target);
  let leftovers = leftoversOf(path);
  if (!existsSync(path)) {
    const pending = interruptedSwap(path, leftovers);
    if (pending) {
      renameSync(pending.path, path);
      syncFolderSync(dirname(path));
      leftovers = leftovers.filter((l) => l !== pending);
    }
  }
  const removed: string[] = [];
  for (const leftover of leftovers) {
    if (isAlive(leftover.pid)) continue;
    rmSync(leftover.path, { recursive: true, force: true });
    removed.push(leftover.path);
  }
  return removed;
}

/** recoverFolder for every folder in `parent` that a dead save left something beside. */
export function recoverFolders(parent: string): void {
  if (!existsSync(parent)) return;
  const targets = new Set<string>();
  for (const entry of readdirSync(parent)) {
    const m = LEFTOVER.exec(entry);
    if (m) targets.add(join(parent, m[1]));
  }
  for (const target of targets) recoverFolder(target);
}

/** Hard-links (or, across devices, copies) `from` to `to`; folders recursively. */
function linkTree(from: string, to: string): void {
  const stat = lstatSync(from);
  if (stat.isSymbolicLink()) {
    symlinkSync(readlinkSync(from), to);
  } else if (stat.isDirectory()) {
    mkdirSync(to);
    for (const entry of readdirSync(from)) linkTree(join(from, entry), join(to, entry));
    syncFolderSync(to);
  } else {
    try {
      linkSync(from, to);
    } catch {
      copyFileSync(from, to);
    }
  }
}

function carryOver(target: string, staging: string, owns: (entry: string) => boolean): void {
  if (!existsSync(target)) return;
  const written = new Set(readdirSync(staging));
  for (const entry of readdirSync(target)) {
    if (written.has(entry) || owns(entry) || isAtomicWriteTemp(entry) || LEFTOVER.test(entry)) continue;
    linkTree(join(target, entry), join(staging, entry));
  }
}

interface Staged {
  target: string;
  staging: string;
  aside: string;
}

function stage(targetArg: string): Staged {
  // a link to a folder: the folder it points to is replaced, the link stays
  const target = existsSync(targetArg) && lstatSync(targetArg).isSymbolicLink() ? realpathSync(targetArg) : resolve(targetArg);
  mkdirSync(dirname(target), { recursive: true });
  if (existsSync(target) && !lstatSync(target).isDirectory()) throw new Error(`${targetArg} exists and is not a folder`);
  recoverFolder(target);
  const tag = `${process.pid}-${randomBytes(6).toString('hex')}`;
  const staging = join(dirname(target), `.${basename(target)}.node-peft-new-${tag}`);
  mkdirSync(staging);
  return { target, staging, aside: join(dirname(target), `.${basename(target)}.node-peft-old-${tag}`) };
}

function swap({ target, staging, aside }: Staged, options: ReplaceFolderOptions): void {
  carryOver(target, staging, options.owns ?? (() => true));
  syncFolderSync(staging);
  const hadOld = existsSync(target);
  if (hadOld) renameSync(target, aside);
  try {
    renameSync(staging, target);
  } catch (error) {
    if (hadOld) renameSync(aside, target);
    throw error;
  }
  syncFolderSync(dirname(target));
  if (hadOld) rmSync(aside, { recursive: true, force: true });
}

function abandon({ staging }: Staged): void {
  rmSync(staging, { recursive: true, force: true });
}

/**
 * Replaces the folder `target` with what `write` puts into the (empty) staging folder it is given: after a crash at
 * any point `target` holds the old version or the new one (see resolveFolder), never a mix. `write` must make its
 * files durable (the atomic writers in this module fsync). A `write` that throws leaves `target` as it was.
 */
export async function replaceFolder(target: string, write: (staging: string) => Promise<void>, options: ReplaceFolderOptions = {}): Promise<void> {
  const staged = stage(target);
  try {
    await write(staged.staging);
    swap(staged, options);
  } catch (error) {
    abandon(staged);
    throw error;
  }
}

/** As replaceFolder, blocking. */
export function replaceFolderSync(target: string, write: (staging: string) => void, options: ReplaceFolderOptions = {}): void {
  const staged = stage(target);
  try {
    write(staged.staging);
    swap(staged, options);
  } catch (error) {
    abandon(staged);
    throw error;
  }
}
