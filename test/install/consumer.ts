// A consumer project for the install test: node-peft packed with `npm pack`, installed from the tarball into a
// fresh temporary folder, run with a PATH that holds only node, npm and npx (no compiler, cmake, make or python).
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, realpathSync, symlinkSync, writeFileSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const REPO = resolve(__dirname, '..', '..');
/** The private torch 2.13 of the checkout (CI: <clone>/.torch/venv; a worktree: a link to it). */
export const PYTHON = join(REPO, '.torch', 'venv', 'bin', 'python3');
export const GOLDEN_CASE = join(REPO, 'test', 'fixtures', 'peft-golden', '03_llama_all_linear_rslora');

export interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  out: string;
  err: string;
}

/** Runs a command to its end without blocking the event loop (the loopback server answers meanwhile). */
export function run(command: string, args: string[], options: { cwd: string; env: NodeJS.ProcessEnv }): Promise<Result> {
  return new Promise((done, fail) => {
    const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (chunk: Buffer) => (out += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (err += chunk.toString()));
    child.on('error', fail);
    child.on('close', (code, signal) => done({ code, signal, out, err }));
  });
}

function onPath(name: string): string {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    try {
      return realpathSync(join(dir, name));
    } catch {
      // not here
    }
  }
  throw new Error(`${name} is not on PATH`);
}

/** A folder holding only node, npm and npx: the PATH of a machine without a C++ toolchain or Python. */
export function barePath(dir: string): string {
  mkdirSync(dir, { recursive: true });
  symlinkSync(process.execPath, join(dir, 'node'));
  for (const tool of ['npm', 'npx']) symlinkSync(onPath(tool), join(dir, tool));
  return dir;
}

/**
 * The environment of a consumer's shell: HOME (npm's cache), the bare PATH and what the case sets. npx starts
 * package binaries through a shell it looks up on PATH; it is named by absolute path instead (every system has one).
 */
export function consumerEnv(path: string, extra: Record<string, string>): NodeJS.ProcessEnv {
  return { HOME: process.env.HOME, TMPDIR: process.env.TMPDIR, PATH: path, NODE_PEFT_THREADS: '1',
    npm_config_script_shell: '/bin/sh', ...extra };
}

const FORWARD = `
const dir = process.argv[2];
const base = await models.fromPretrained(dir + '/base');
const peft = await PeftModel.fromPretrained(base, dir + '/adapter', { warn: () => undefined });
const inputs = await safetensors.load(dir + '/inputs.safetensors');
const expected = await safetensors.load(dir + '/expected.safetensors');
const logits = peft.forward(inputs).logits;
const diff = logits.sub(expected.logits_peft).abs().max().item();
console.log(JSON.stringify({ diff, shape: logits.shape, native: torch.nativeInfo() }));
`;

const TYPE_CHECK = `
// @ts-expect-error: a Tensor is not a number (so the types are real, not any)
export const wrong: number = torch.ones([1]);
export const right: Tensor = torch.ones([1]);
`;

/** TypeScript files that use node-peft's types through import (.mts) and require (.cts), and a tsconfig for them. */
export function writeTypeChecks(dir: string, typeRoots: string): void {
  writeFileSync(join(dir, 'types.mts'), `import { torch, type Tensor } from 'node-peft';\n${TYPE_CHECK}`);
  writeFileSync(join(dir, 'types.cts'), `import peft = require('node-peft');\nconst torch = peft.torch;\ntype Tensor = peft.Tensor;\n${TYPE_CHECK}`);
  writeFileSync(join(dir, 'tsconfig.json'), `${JSON.stringify({
    compilerOptions: { module: 'node16', moduleResolution: 'node16', target: 'es2022', strict: true, noEmit: true,
      skipLibCheck: true, typeRoots: [typeRoots], types: ['node'] },
    files: ['types.mts', 'types.cts'],
  }, null, 2)}\n`);
}

/** A project folder with the golden case and two scripts: a LoRA forward through import and through require. */
export function makeProject(dir: string): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), `${JSON.stringify({ name: 'consumer', version: '1.0.0', private: true }, null, 2)}\n`);
  cpSync(GOLDEN_CASE, join(dir, 'case'), { recursive: true });
  writeFileSync(join(dir, 'forward.mjs'), `import { models, PeftModel, safetensors, torch } from 'node-peft';\n${FORWARD}`);
  writeFileSync(join(dir, 'forward.cjs'),
    `const { models, PeftModel, safetensors, torch } = require('node-peft');\n(async () => {${FORWARD}})();\n`);
}
