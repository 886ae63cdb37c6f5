// Kills a process at random points while it saves (crash-child.mjs), and checks what each kill left: every folder
// loads as the version saved last or the one being saved, never a mix, and leftovers never pile up.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { models, nn, PeftModel, type Tensor } from '../../lib/index.js';
import { loadWithMetadataSync } from '../../lib/serialization/index.js';
import { recoverFolder, recoverFolders } from '../../lib/serialization/replace-folder.js';
import { readTrainerState } from '../../lib/train/checkpoint.js';
import { seededRandom } from '../../lib/train/random.js';

export type CrashMode = 'adapter' | 'checkpoint' | 'model';
const CHILD = process.env.NODE_PEFT_CRASH_CHILD ?? join(dirname(fileURLToPath(import.meta.url)), 'crash-child.mjs');

/** What one folder held after a kill: the version it loads as, or absent (a first save killed). */
export type Found = 1 | 2 | 'absent';

export interface CrashReport {
  mode: CrashMode;
  kills: number;
  /** Per folder checked: loaded as the version saved last (old), the one being saved (new), or absent. */
  old: number;
  new: number;
  absent: number;
  /** The most entries a kill left beside the folders (staging and old copies; cleaned by the next save). */
  maxLeftovers: number;
  /** Leftovers after the recovery the next save runs first (must be 0). */
  leftoversAfterRecovery: number;
}

class Net extends nn.Module {
  constructor() {
    super();
    this.registerModule('fc1', new nn.Linear(8, 8));
    this.registerModule('fc2', new nn.Linear(8, 4));
  }

  forward(inputs: Record<string, unknown>): Tensor {
    return this.child<nn.Linear>('fc2').forward(this.child<nn.Linear>('fc1').forward(inputs.x as Tensor));
  }
}

function allEqual(tensors: Tensor[], value: number): boolean {
  return tensors.every((t) => Array.from(t.toArray(), Number).every((v) => v === value));
}

/** The version a folder loads as; throws when it loads as neither. */
async function adapterVersion(folder: string, rPerVersion: number): Promise<Found> {
  if (!existsSync(folder)) return 'absent';
  const { r } = JSON.parse(readFileSync(join(folder, 'adapter_config.json'), 'utf8')) as { r: number };
  const version = r / rPerVersion;
  if (version !== 1 && version !== 2) throw new Error(`${folder}: r=${r} is neither version`);
  const peft = await PeftModel.fromPretrained(new Net(), folder, { strict: true, warn: () => undefined });
  try {
    const lora = peft.namedParameters().filter(([n]) => n.includes('lora_')).map(([, p]) => p);
    if (!allEqual(lora, version)) throw new Error(`${folder}: config of version ${version}, weights of another`);
  } finally {
    peft.dispose();
  }
  return version;
}

async function foldersOf(mode: CrashMode, dir: string): Promise<Found[]> {
  if (mode === 'adapter') return [await adapterVersion(dir, 4), await adapterVersion(join(dir, 'other'), 2)];
  if (mode === 'checkpoint') {
    const folder = join(dir, 'checkpoint-3');
    if (!existsSync(folder)) return ['absent'];
    const state = readTrainerState(folder);
    const version = (state.extra as { version: number }).version as 1 | 2;
    const weights = loadWithMetadataSync(join(folder, 'trainable.safetensors')).tensors;
    const optimizer = loadWithMetadataSync(join(folder, 'optimizer.safetensors'));
    try {
      if (weights.weight.shape[0] !== 4 * version || !allEqual(Object.values(weights), version) || state.loader.batch !== version) {
        throw new Error(`${folder}: trainer_state of version ${version}, weights or position of another`);
      }
      if (optimizer.metadata?.optimizer === undefined) throw new Error(`${folder}: optimizer.safetensors lacks its metadata`);
    } finally {
      for (const t of [...Object.values(weights), ...Object.values(optimizer.tensors)]) t.dispose();
    }
    return [version];
  }
  if (!existsSync(dir)) return ['absent'];
  const model = await models.fromPretrained(dir);
  try {
    const version = (model.config as unknown as { hidden_size: number }).hidden_size / 16;
    if ((version !== 1 && version !== 2) || !allEqual(model.parameters(), version)) throw new Error(`${dir}: not one version`);
    return [version];
  } finally {
    model.dispose();
  }
}

function leftovers(mode: CrashMode, dir: string): string[] {
  const places = mode === 'checkpoint' ? [dir] : mode === 'adapter' ? [dirname(dir), dir] : [dirname(dir)];
  return places.filter(existsSync).flatMap((p) => readdirSync(p).filter((n) => n.startsWith('.')).map((n) => join(p, n)));
}

/** A small seeded generator (mulberry32), so a failing run can be repeated with its seed. */
export const random = seededRandom;

/** Starts the child, lets it save, and kills it (SIGKILL) at a random moment; returns the version saved last. */
function saveAndKill(mode: CrashMode, dir: string, draw: () => number): Promise<0 | 1 | 2> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CHILD, mode, dir], { stdio: ['ignore', 'pipe', 'pipe'] });
    let lastSaved: 0 | 1 | 2 = 0;
    let stderr = '';
    let buffered = '';
    let started = 0;
    let killTimer: NodeJS.Timeout | undefined;
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.stdout.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop() as string;
      for (const line of lines) {
        if (line === 'ready') started = performance.now();
        const saved = /^saved ([12])$/.exec(line);
        if (saved) {
          lastSaved = Number(saved[1]) as 1 | 2;
          // After the first save: kill within the next ~3 saves, at a uniformly random moment.
          if (killTimer === undefined) killTimer = setTimeout(() => child.kill('SIGKILL'), draw() * 3 * (performance.now() - started));
        }
      }
    });
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(killTimer);
      if (signal === 'SIGKILL') resolve(lastSaved);
      else reject(new Error(`crash-child ${mode} exited with ${code}: ${stderr}`));
    });
  });
}

/** `kills` random kills of a process saving `mode` folders into dir; throws at the first folder that is a mix. */
export async function crashRun(mode: CrashMode, dir: string, kills: number, seed: number): Promise<CrashReport> {
  const draw = random(seed);
  const report: CrashReport = { mode, kills: 0, old: 0, new: 0, absent: 0, maxLeftovers: 0, leftoversAfterRecovery: 0 };
  const target = mode === 'model' ? dir : mode === 'adapter' ? dir : join(dir, 'checkpoint-3');
  for (let k = 0; k < kills; k += 1) {
    const lastSaved = await saveAndKill(mode, dir, draw);
    report.kills += 1;
    report.maxLeftovers = Math.max(report.maxLeftovers, leftovers(mode, dir).length);
    for (const found of await foldersOf(mode, dir)) {
      if (found === 'absent') report.absent += 1;
      else if (found === lastSaved) report.old += 1;
      else report.new += 1;
    }
  }
  recoverFolder(target);
  if (mode === 'adapter') recoverFolder(join(dir, 'other'));
  if (mode === 'checkpoint') recoverFolders(dir);
  report.leftoversAfterRecovery = leftovers(mode, dir).length;
  return report;
}
