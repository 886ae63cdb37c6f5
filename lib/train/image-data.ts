// Image training data: an image folder (one subfolder per class, as torchvision's ImageFolder and the Hub's
// imagefolder) or JSONL rows {"image": path, "label": name_or_id}, with labels mapped through a model's
// id2label / label2id (created from the class names, sorted, when the model has none).
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { TorchError } from '../errors.js';
import { ProgressBar, type ProgressStream } from './progress.js';

/** File extensions indexed as images (the formats sharp decodes). */
export const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg', '.webp', '.gif', '.tif', '.tiff', '.avif']);

export interface ImageExample {
  path: string;
  label: number;
}

export interface LabelMaps {
  id2label: Record<string, string>;
  label2id: Record<string, number>;
}

export interface ImageDataset extends LabelMaps {
  examples: ImageExample[];
  /** true when the label maps were made from the data's class names (the model had none). */
  labelsCreated: boolean;
  /** Files in class folders that are not images (by extension) and were left out. */
  skipped: number;
}

export interface ImageDataOptions {
  /** The model's label maps; null or the placeholder LABEL_0, LABEL_1, ... = none. */
  labels?: Partial<LabelMaps> | null;
  /** A progress line while a folder is indexed (default off). */
  progress?: boolean | ProgressStream;
}

/** The model's own label names, or null when it only has transformers' placeholders (LABEL_0, ...) or none. */
export function modelLabels(labels: Partial<LabelMaps> | null | undefined): LabelMaps | null {
  const id2label = labels?.id2label;
  if (!id2label || Object.keys(id2label).length === 0) return null;
  const entries = Object.entries(id2label);
  if (entries.every(([id, name]) => name === `LABEL_${id}`)) return null;
  const label2id = Object.fromEntries(entries.map(([id, name]) => [name, Number(id)]));
  return { id2label: { ...id2label }, label2id: { ...label2id, ...(labels?.label2id ?? {}) } };
}

/** Label maps from class names: sorted, ids 0..n-1 (ImageFolder's order). */
export function labelsFromNames(names: Iterable<string>): LabelMaps {
  const sorted = [...new Set(names)].sort();
  return { id2label: Object.fromEntries(sorted.map((n, i) => [String(i), n])), label2id: Object.fromEntries(sorted.map((n, i) => [n, i])) };
}

function labelId(maps: LabelMaps, label: string | number, where: string): number {
  if (typeof label === 'number') {
    if (!Number.isInteger(label) || maps.id2label[String(label)] === undefined) {
      throw new TorchError(`${where}: label id ${label} is not one of the model's ${Object.keys(maps.id2label).length} labels`);
    }
    return label;
  }
  const id = maps.label2id[label];
  if (id === undefined) {
    const known = Object.keys(maps.label2id);
    throw new TorchError(`${where}: label '${label}' is not one of the model's labels (${known.slice(0, 10).join(', ')}${known.length > 10 ? ', ...' : ''})`);
  }
  return id;
}

/** Every image under dir/<class>/ (nested folders included), sorted by class then path. */
export async function indexImageFolder(dir: string, options: ImageDataOptions = {}): Promise<ImageDataset> {
  const entries = await readdir(dir, { withFileTypes: true }).catch(() => {
    throw new TorchError(`image folder ${dir}: cannot be read (no such folder?)`);
  });
  const classes = entries.filter((e) => e.isDirectory() && !e.name.startsWith('.')).map((e) => e.name).sort();
  if (classes.length === 0) throw new TorchError(`image folder ${dir}: expected one subfolder per class (dir/<label>/<image>), found none`);
  const progress = options.progress ? new ProgressBar({ total: classes.length, label: `indexing ${dir}`, unit: 'images', stream: options.progress === true ? undefined : options.progress }) : null;
  const found: { path: string; name: string }[] = [];
  let skipped = 0;
  const walk = async (folder: string, name: string): Promise<void> => {
    for (const entry of (await readdir(folder, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : 1))) {
      if (entry.name.startsWith('.')) continue;
      const path = join(folder, entry.name);
      if (entry.isDirectory()) await walk(path, name);
      else if (IMAGE_EXTENSIONS.has(extname(entry.name).toLowerCase())) found.push({ path, name });
      else skipped += 1;
    }
  };
  for (const [i, name] of classes.entries()) {
    await walk(join(dir, name), name);
    progress?.update({ step: i + 1, done: found.length });
  }
  progress?.finish();
  if (found.length === 0) throw new TorchError(`image folder ${dir}: no images (${[...IMAGE_EXTENSIONS].join(' ')}) in its ${classes.length} class folders`);
  const own = modelLabels(options.labels);
  const maps = own ?? labelsFromNames(classes);
  const examples = found.map(({ path, name }) => ({ path, label: labelId(maps, name, `image folder ${dir}: class folder '${name}'`) }));
  return { examples, ...maps, labelsCreated: own === null, skipped };
}

/** JSONL rows {"image": path (relative to the file), "label": name or id}. */
export async function readImageJsonl(file: string, options: ImageDataOptions = {}): Promise<ImageDataset> {
  const rows: { path: string; label: string | number; line: number }[] = [];
  const lines = createInterface({ input: createReadStream(file), crlfDelay: Infinity });
  let line = 0;
  try {
    for await (const text of lines) {
      line += 1;
      if (text.trim() === '') continue;
      let row: { image?: unknown; label?: unknown };
      try {
        row = JSON.parse(text) as typeof row;
      } catch {
        throw new TorchError(`${file}: line ${line} is not valid JSON`);
      }
      if (typeof row.image !== 'string' || row.image === '') throw new TorchError(`${file}: line ${line}: expected "image": a file path, got ${JSON.stringify(row.image)}`);
      if (typeof row.label !== 'string' && typeof row.label !== 'number') throw new TorchError(`${file}: line ${line}: expected "label": a class name or id, got ${JSON.stringify(row.label)}`);
      rows.push({ path: isAbsolute(row.image) ? row.image : resolve(dirname(file), row.image), label: row.label, line });
    }
  } catch (error) {
    if (error instanceof TorchError) throw error;
    throw new TorchError(`${file}: cannot be read (${(error as Error).message})`);
  }
  if (rows.length === 0) throw new TorchError(`${file}: no rows`);
  const own = modelLabels(options.labels);
  if (!own && rows.some((r) => typeof r.label === 'number')) {
    throw new TorchError(`${file}: labels given as ids need the model's id2label; give class names instead, or a model with labels`);
  }
  const maps = own ?? labelsFromNames(rows.map((r) => String(r.label)));
  const examples = rows.map((r) => ({ path: r.path, label: labelId(maps, r.label, `${file}: line ${r.line}`) }));
  return { examples, ...maps, labelsCreated: own === null, skipped: 0 };
}

/** An image folder or a .jsonl file, by what the path is. */
export async function loadImageDataset(path: string, options: ImageDataOptions = {}): Promise<ImageDataset> {
  const info = await stat(path).catch(() => null);
  if (!info) throw new TorchError(`image data ${path}: no such file or folder`);
  return info.isDirectory() ? indexImageFolder(path, options) : readImageJsonl(path, options);
}

/** Whether data at this path is images (a folder or .jsonl) rather than a safetensors file of tensors. */
export async function isImageData(path: string): Promise<boolean> {
  const info = await stat(path).catch(() => null);
  return info !== null && (info.isDirectory() || path.endsWith('.jsonl'));
}
