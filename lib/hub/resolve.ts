// 'org/name' -> a local snapshot folder (snapshots/<commit>/) holding the files a loader needs.
import { existsSync, readFileSync, statSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { HubError } from '../errors.js';
import { hubDownload, type HubDownloadOptions } from './download.js';

export interface ResolveOptions extends HubDownloadOptions {
  /** Files that must exist in the repo. */
  required: readonly string[];
  /** Files fetched when the repo has them. */
  optional?: readonly string[];
}

const REPO_ID = /^[A-Za-z0-9][\w.-]*(\/[A-Za-z0-9][\w.-]*)?$/;

/**
 * Folders pass through: existing ones, and anything that can only be a path (absolute, ./ or ../, more than one
 * slash), so the loader reports the missing file itself.
 */
export function isLocalDir(path: string): boolean {
  if (existsSync(path) && statSync(path).isDirectory()) return true;
  return isAbsolute(path) || path.startsWith('.') || path.includes('\\') || path.split('/').length > 2;
}

function checkRepoId(dirOrRepo: string): void {
  if (!REPO_ID.test(dirOrRepo) || dirOrRepo.includes('..') || dirOrRepo.includes('--')) {
    throw new HubError(`${JSON.stringify(dirOrRepo)} is neither an existing folder nor a Hub repo id like "org/name"`);
  }
}

/** The snapshot folder of `repoId` holding `required` (and the `optional` files the repo has); local folders pass through. */
export async function resolvePretrainedDir(dirOrRepo: string, options: ResolveOptions): Promise<string> {
  if (isLocalDir(dirOrRepo)) return dirOrRepo;
  checkRepoId(dirOrRepo);
  const [first, ...rest] = options.required;
  if (first === undefined) throw new HubError('resolvePretrainedDir needs at least one required file');
  const download: HubDownloadOptions = { revision: options.revision, cacheDir: options.cacheDir, onProgress: options.onProgress };
  const firstPath = (await hubDownload(dirOrRepo, first, download))!;
  const snapshot = firstPath.slice(0, firstPath.length - first.length - 1);
  // Every later file comes from the same commit as the first, even if the branch moves meanwhile.
  const pinned = { ...download, revision: snapshot.split(/[\\/]/).at(-1) };
  for (const path of rest) await hubDownload(dirOrRepo, path, pinned);
  for (const path of options.optional ?? []) {
    if (!options.required.includes(path)) await hubDownload(dirOrRepo, path, { ...pinned, optional: true });
  }
  return snapshot;
}

function shardNames(indexPath: string): string[] {
  let index: unknown;
  try {
    index = JSON.parse(readFileSync(indexPath, 'utf8'));
  } catch (error) {
    throw new HubError(`${indexPath}: not valid JSON (${(error as Error).message})`);
  }
  const map = (index as { weight_map?: unknown }).weight_map;
  if (typeof map !== 'object' || map === null) throw new HubError(`${indexPath}: no "weight_map" object`);
  return [...new Set(Object.values(map as Record<string, unknown>).map(String))];
}

/** A model folder: config.json, then model.safetensors or the index and every shard it lists. */
export async function resolveModelDir(dirOrRepo: string, options: HubDownloadOptions = {}): Promise<string> {
  if (isLocalDir(dirOrRepo)) return dirOrRepo;
  const dir = await resolvePretrainedDir(dirOrRepo, {
    ...options, required: ['config.json'], optional: ['generation_config.json', 'model.safetensors'],
  });
  if (existsSync(join(dir, 'model.safetensors'))) return dir;
  const pinned = { ...options, revision: dir.split(/[\\/]/).at(-1) };
  const index = await hubDownload(dirOrRepo, 'model.safetensors.index.json', { ...pinned, optional: true });
  if (index === undefined) throw new HubError(`${dirOrRepo} has neither model.safetensors nor model.safetensors.index.json (only safetensors weights are supported)`);
  for (const shard of shardNames(index)) await hubDownload(dirOrRepo, shard, pinned);
  return dir;
}

/** An adapter folder: adapter_config.json and adapter_model.safetensors (or .bin). */
export async function resolveAdapterDir(dirOrRepo: string, options: HubDownloadOptions = {}): Promise<string> {
  if (isLocalDir(dirOrRepo)) return dirOrRepo;
  const dir = await resolvePretrainedDir(dirOrRepo, {
    ...options, required: ['adapter_config.json'], optional: ['adapter_model.safetensors'],
  });
  if (existsSync(join(dir, 'adapter_model.safetensors'))) return dir;
  const bin = await hubDownload(dirOrRepo, 'adapter_model.bin', { ...options, revision: dir.split(/[\\/]/).at(-1), optional: true });
  if (bin === undefined) throw new HubError(`${dirOrRepo} has adapter_config.json but no adapter_model.safetensors or adapter_model.bin`);
  return dir;
}
