// Replacing a folder as a whole: readers see the old version or the new one, whatever state a kill left, and the
// next save cleans up. Kill states are built here by hand (the crash tests in test/reliability kill real saves).
import { spawnSync } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeEach, describe, expect, test } from 'vitest';
import { recoverFolder, recoverFolders, replaceFolder, replaceFolderSync, resolveFolder } from '../../lib/serialization/replace-folder.js';
import { useTempFolder } from './fixtures.js';

const root = useTempFolder();
/** A fresh, empty folder for each test. */
const temp = { dir: '' };
let count = 0;
beforeEach(() => {
  count += 1;
  temp.dir = join(root.dir, `t${count}`);
  mkdirSync(temp.dir);
});

/** The pid of a process that has exited (what a killed save leaves in its leftovers' names). */
const deadPid = (): number => spawnSync(process.execPath, ['-e', '0']).pid as number;

function folderWith(path: string, files: Record<string, string>): void {
  mkdirSync(path, { recursive: true });
  for (const [name, text] of Object.entries(files)) writeFileSync(join(path, name), text);
}

function contents(path: string): Record<string, string> {
  return Object.fromEntries(readdirSync(path, { withFileTypes: true }).filter((e) => e.isFile()).map((e) => [e.name, readFileSync(join(path, e.name), 'utf8')]));
}

const writeFiles = (files: Record<string, string>) => async (staging: string) => {
  for (const [name, text] of Object.entries(files)) writeFileSync(join(staging, name), text);
};

describe('replaceFolder', () => {
  test('creates the folder (and its parents) with what the writer wrote, leaving nothing beside it', async () => {
    const target = join(temp.dir, 'a', 'b', 'adapter');
    await replaceFolder(target, writeFiles({ 'config.json': 'new', 'weights': 'W' }));
    expect(contents(target)).toEqual({ 'config.json': 'new', 'weights': 'W' });
    expect(readdirSync(join(temp.dir, 'a', 'b'))).toEqual(['adapter']);
  });

  test('replaces the files it owns as a set and carries every other entry over (files and sub-folders)', async () => {
    const target = join(temp.dir, 'adapter');
    folderWith(target, { 'config.json': 'old', 'weights': 'w-old', 'stale.bin': 'old only', 'README.md': 'mine' });
    folderWith(join(target, 'other'), { 'config.json': 'other adapter' });
    const owns = (entry: string) => ['config.json', 'weights', 'stale.bin'].includes(entry);
    await replaceFolder(target, writeFiles({ 'config.json': 'new', 'weights': 'w-new' }), { owns });
    expect(contents(target)).toMatchObject({ 'config.json': 'new', 'weights': 'w-new', 'README.md': 'mine' });
    expect(existsSync(join(target, 'stale.bin'))).toBe(false);
    expect(contents(join(target, 'other'))).toEqual({ 'config.json': 'other adapter' });
    expect(readdirSync(temp.dir)).toEqual(['adapter']);
  });

  test('a writer that throws leaves the old folder as it was and no staging folder', async () => {
    const target = join(temp.dir, 'adapter');
    folderWith(target, { 'config.json': 'old' });
    await expect(replaceFolder(target, async (staging) => {
      writeFileSync(join(staging, 'config.json'), 'half');
      throw new Error('disk full');
    })).rejects.toThrow('disk full');
    expect(contents(target)).toEqual({ 'config.json': 'old' });
    expect(readdirSync(temp.dir)).toEqual(['adapter']);
  });

  test('the sync variant does the same', () => {
    const target = join(temp.dir, 'checkpoint-5');
    folderWith(target, { 'state.json': 'old', 'extra': 'x' });
    replaceFolderSync(target, (staging) => writeFileSync(join(staging, 'state.json'), 'new'));
    expect(contents(target)).toEqual({ 'state.json': 'new' });
  });

  test('a link to a folder: the folder is replaced and the link stays', async () => {
    const real = join(temp.dir, 'real');
    folderWith(real, { 'config.json': 'old' });
    symlinkSync(real, join(temp.dir, 'link'));
    await replaceFolder(join(temp.dir, 'link'), writeFiles({ 'config.json': 'new' }));
    expect(lstatSync(join(temp.dir, 'link')).isSymbolicLink()).toBe(true);
    expect(contents(real)).toEqual({ 'config.json': 'new' });
  });

  test('refuses a target that is a file', async () => {
    const target = join(temp.dir, 'file');
    writeFileSync(target, 'x');
    await expect(replaceFolder(target, writeFiles({}))).rejects.toThrow(/exists and is not a folder/);
  });
});

describe('after a kill', () => {
  test('while the new version was written: the folder is the old version; the next save removes the staging folder', async () => {
    const target = join(temp.dir, 'adapter');
    folderWith(target, { 'config.json': 'old' });
    folderWith(join(temp.dir, `.adapter.node-peft-new-${deadPid()}-0123456789ab`), { 'config.json': 'half' });
    expect(resolveFolder(target)).toBe(target);
    await replaceFolder(target, writeFiles({ 'config.json': 'new' }));
    expect(readdirSync(temp.dir)).toEqual(['adapter']);
    expect(contents(target)).toEqual({ 'config.json': 'new' });
  });

  test('between the two renames: readers get the complete new version, and recovery puts it in place', () => {
    const target = join(temp.dir, 'adapter');
    const pid = deadPid();
    folderWith(join(temp.dir, `.adapter.node-peft-old-${pid}-0123456789ab`), { 'config.json': 'old' });
    folderWith(join(temp.dir, `.adapter.node-peft-new-${pid}-0123456789ab`), { 'config.json': 'new' });
    expect(contents(resolveFolder(target))).toEqual({ 'config.json': 'new' });
    recoverFolder(target);
    expect(readdirSync(temp.dir)).toEqual(['adapter']);
    expect(contents(target)).toEqual({ 'config.json': 'new' });
  });

  test('while the old version was removed: the folder is the new version; recovery removes the rest', () => {
    const target = join(temp.dir, 'adapter');
    folderWith(target, { 'config.json': 'new' });
    folderWith(join(temp.dir, `.adapter.node-peft-old-${deadPid()}-0123456789ab`), { 'weights': 'half removed' });
    expect(resolveFolder(target)).toBe(target);
    recoverFolders(temp.dir);
    expect(readdirSync(temp.dir)).toEqual(['adapter']);
  });

  test('a live process\'s save in progress is left alone', () => {
    const target = join(temp.dir, 'adapter');
    folderWith(target, { 'config.json': 'old' });
    const live = join(temp.dir, `.adapter.node-peft-new-${process.ppid}-0123456789ab`);
    folderWith(live, { 'config.json': 'being written' });
    expect(recoverFolder(target)).toEqual([]);
    expect(existsSync(live)).toBe(true);
  });

  test('with no folder and only a staging folder (a first save killed), there is nothing to read', () => {
    const target = join(temp.dir, 'adapter');
    folderWith(join(temp.dir, `.adapter.node-peft-new-${deadPid()}-0123456789ab`), { 'config.json': 'half' });
    expect(resolveFolder(target)).toBe(target);
    recoverFolder(target);
    expect(readdirSync(temp.dir)).toEqual([]);
  });
});
