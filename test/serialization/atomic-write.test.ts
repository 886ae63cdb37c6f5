// Atomic writes: the target is either the old file or the complete new one, never a partial write.
import { readdirSync, readFileSync, statSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, test } from 'vitest';
import { writeFileAtomic, writeFileAtomicSync } from '../../lib/serialization/atomic-write.js';
import { useTempFolder } from './fixtures.js';

const temp = useTempFolder();

const leftovers = () => readdirSync(temp.dir).filter((f) => f.endsWith('.tmp'));

describe('writeFileAtomic', () => {
  test('creates the file with what the writer wrote', async () => {
    const path = join(temp.dir, 'new.bin');
    await writeFileAtomic(path, async (fd) => {
      writeSync(fd, 'hello ');
      writeSync(fd, 'world');
    });
    expect(readFileSync(path, 'utf8')).toBe('hello world');
    expect(leftovers()).toEqual([]);
  });

  test('writes into a temporary file in the target folder, not the target', async () => {
    const path = join(temp.dir, 'watched.bin');
    writeFileSync(path, 'old');
    await writeFileAtomic(path, async (fd) => {
      writeSync(fd, 'new');
      expect(readFileSync(path, 'utf8')).toBe('old');
      const [tmp] = leftovers();
      expect(tmp).toMatch(/^\.watched\.bin\.\d+\.[0-9a-f]{12}\.tmp$/);
      expect(statSync(join(temp.dir, tmp)).size).toBe(3);
    });
    expect(readFileSync(path, 'utf8')).toBe('new');
  });

  test('a writer that fails midway leaves the old file intact and no temporary file', async () => {
    const path = join(temp.dir, 'kept.bin');
    writeFileSync(path, 'the old contents');
    await expect(
      writeFileAtomic(path, async (fd) => {
        writeSync(fd, 'half of the new');
        await new Promise((resolve) => setTimeout(resolve, 1));
        throw new Error('disk on fire');
      }),
    ).rejects.toThrow('disk on fire');
    expect(readFileSync(path, 'utf8')).toBe('the old contents');
    expect(leftovers()).toEqual([]);
  });

  test('fails cleanly when the folder does not exist, naming the path given (not the temporary file)', async () => {
    const path = join(temp.dir, 'missing', 'x.bin');
    const error = await writeFileAtomic(path, async () => undefined).catch((e: unknown) => e);
    expect((error as Error).message).toBe(`cannot write ${path}: the folder ${join(temp.dir, 'missing')} does not exist`);
    expect((error as NodeJS.ErrnoException).code).toBe('ENOENT');
  });
});

describe('writeFileAtomicSync', () => {
  test('replaces the file, or on failure leaves it and removes the temporary file', () => {
    const path = join(temp.dir, 'sync.bin');
    writeFileAtomicSync(path, (fd) => writeSync(fd, 'first'));
    expect(readFileSync(path, 'utf8')).toBe('first');
    expect(() =>
      writeFileAtomicSync(path, (fd) => {
        writeSync(fd, 'sec');
        throw new Error('interrupted');
      }),
    ).toThrow('interrupted');
    expect(readFileSync(path, 'utf8')).toBe('first');
    expect(leftovers()).toEqual([]);
  });
});
