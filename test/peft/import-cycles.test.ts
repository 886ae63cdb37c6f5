// lib/peft has no import cycle (type-only imports included): files that PeftModel uses see it through a narrow
// host interface (host.ts), not by importing peft-model.ts.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const peftRoot = resolve(__dirname, '..', '..', 'lib', 'peft');

function sourceFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sourceFiles(path);
    return path.endsWith('.ts') ? [path] : [];
  });
}

/** peft-relative paths of the lib/peft files one file imports (value and type imports, re-exports). */
function peftImportsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  const specifiers = [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'";]*?from\s+['"]([^'"]+)['"]/g)].map((m) => m[1]);
  return specifiers
    .filter((s) => s.startsWith('.'))
    .map((s) => relative(peftRoot, resolve(dirname(file), s)).replace(/\.js$/, '.ts'))
    .filter((path) => !path.startsWith('..'));
}

/** Every cycle, each as the list of files along it (found by depth-first search). */
function cycles(graph: Map<string, string[]>): string[][] {
  const found: string[][] = [];
  const state = new Map<string, 'open' | 'done'>();
  const stack: string[] = [];
  const visit = (node: string): void => {
    state.set(node, 'open');
    stack.push(node);
    for (const next of graph.get(node) ?? []) {
      if (state.get(next) === 'open') found.push([...stack.slice(stack.indexOf(next)), next]);
      else if (!state.has(next)) visit(next);
    }
    stack.pop();
    state.set(node, 'done');
  };
  for (const node of [...graph.keys()].sort()) if (!state.has(node)) visit(node);
  return found;
}

describe('lib/peft import graph', () => {
  const graph = new Map(sourceFiles(peftRoot).map((f) => [relative(peftRoot, f), peftImportsOf(f)]));

  it('reads the imports it checks (peft-model.ts imports save-load.ts and weighted-adapter.ts)', () => {
    expect(graph.get('peft-model.ts')).toEqual(expect.arrayContaining(['save-load.ts', 'weighted-adapter.ts', 'state-dict.ts']));
  });

  it('has no cycle', () => {
    expect(cycles(graph).map((c) => c.join(' -> '))).toEqual([]);
  });

  it('finds a cycle when there is one (the check itself)', () => {
    expect(cycles(new Map([['a.ts', ['b.ts']], ['b.ts', ['c.ts']], ['c.ts', ['a.ts']]]))).toEqual([['a.ts', 'b.ts', 'c.ts', 'a.ts']]);
  });

  it('nothing but index.ts imports peft-model.ts', () => {
    const importers = [...graph].filter(([, imports]) => imports.includes('peft-model.ts')).map(([file]) => file);
    expect(importers).toEqual(['index.ts']);
  });
});
