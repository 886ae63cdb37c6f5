// DESIGN.md's "What may import what", checked on the sources.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const libRoot = resolve(__dirname, '..', 'lib');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** lib-relative paths of the lib files each lib file imports. */
function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(libRoot, resolve(dirname(file), s)).replace(/\.js$/, '.ts'));
}

const files = sourceFiles(libRoot).map((f) => ({ path: relative(libRoot, f), imports: importsOf(f) }));
const area = (path: string): string => (path.includes('/') ? path.split('/')[0] : path.replace(/\.ts$/, ''));

describe('layering rules of DESIGN.md', () => {
  it('errors.ts imports nothing', () => {
    expect(files.find((f) => f.path === 'errors.ts')?.imports).toEqual([]);
  });

  it('only tensor/ and optim/ touch the native binding', () => {
    const offenders = files.filter((f) => f.imports.includes('binding.ts') && !['tensor', 'optim'].includes(area(f.path)));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it('serialization/ never imports nn/', () => {
    const offenders = files.filter((f) => area(f.path) === 'serialization' && f.imports.some((i) => area(i) === 'nn'));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it('models/ and train/ never import peft/', () => {
    const offenders = files.filter((f) => ['models', 'train'].includes(area(f.path)) && f.imports.some((i) => area(i) === 'peft'));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it('vision/ imports tensor/ but never nn/, models/, peft/ or train/', () => {
    const offenders = files.filter((f) => area(f.path) === 'vision' && f.imports.some((i) => ['nn', 'models', 'peft', 'train'].includes(area(i))));
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it('nothing in lib/ imports cli/ or serve/ except themselves', () => {
    const offenders = files.filter(
      (f) => !['cli', 'serve'].includes(area(f.path)) && f.imports.some((i) => ['cli', 'serve'].includes(area(i))),
    );
    expect(offenders.map((f) => f.path)).toEqual([]);
  });

  it('keeps files small (a soft budget of ~400 lines, hard stop at 500)', () => {
    const large = files
      .map((f) => ({ path: f.path, lines: readFileSync(join(libRoot, f.path), 'utf8').split('\n').length }))
      .filter((f) => f.lines > 500);
    expect(large).toEqual([]);
  });
});
