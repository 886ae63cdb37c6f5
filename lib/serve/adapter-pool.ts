// Adapters on demand (LoRAX style), in the model worker. Known adapters (given at start, loaded through the
// API, or found as <adapter-root>/<name>) are loaded on first use; at most maxLoaded stay in memory, the least
// recently used idle one is evicted to make room, and one in use (pinned by a queued or running request) never
// is. Concurrent first requests share one load; a failed load answers everyone waiting for it.
import { readdir, realpath, stat } from 'node:fs/promises';
import { join, sep } from 'node:path';
import { PeftError, SafetensorsError, StateDictError } from '../errors.js';
import { HttpError } from './http-error.js';
import { ADAPTER_NAME, type AdapterInfo, type AdapterRegistry } from './registry.js';

export interface AdapterPoolOptions {
  adapterRoot: string | null;
  /** null = no limit. */
  maxLoaded: number | null;
  onEvent?: (event: { kind: 'load'; name: string; seconds: number; ok: boolean } | { kind: 'evict'; name: string }) => void;
}

/** What the API may say about an adapter that failed to load: its first line, without quoted file content. */
export function loadErrorMessage(error: unknown): string {
  const lines = (error instanceof Error ? error.message : String(error)).split('\n').map((l) => l.trim()).filter((l) => l !== '');
  if (/unparsable text|not valid JSON|Unexpected token/i.test(lines[0] ?? '')) return 'adapter_config.json is not valid JSON';
  // Several lines (a size mismatch per line) as one; quoted strings that could be file content are left out.
  const kept = lines.slice(0, MESSAGE_LINES).join(' ') + (lines.length > MESSAGE_LINES ? ` (and ${lines.length - MESSAGE_LINES} more lines)` : '');
  return kept.replace(/"[^"]{24,}"/g, '"…"').replace(/'[^']{80,}'/g, "'…'").slice(0, 2000);
}

/** Lines of a load error that reach the client. */
const MESSAGE_LINES = 8;

function isAdapterFault(error: unknown): boolean {
  return error instanceof PeftError || error instanceof StateDictError || error instanceof SafetensorsError;
}

export class AdapterPool {
  readonly #registry: AdapterRegistry;
  readonly #options: AdapterPoolOptions;
  /** name → folder of every adapter the server answers to (loaded or not). */
  readonly #known = new Map<string, string>();
  readonly #pins = new Map<string, number>();
  /** Loaded adapters, least recently used first. */
  readonly #lru: string[] = [];
  readonly #loads = new Map<string, Promise<void>>();
  readonly #roomWaiters: (() => void)[] = [];
  /** Loads run one at a time, so that making room and loading cannot interleave past maxLoaded. */
  #loadChain: Promise<unknown> = Promise.resolve();
  #realRoot: string | null = null;
  evictions = 0;

  constructor(registry: AdapterRegistry, options: AdapterPoolOptions) {
    this.#registry = registry;
    this.#options = options;
  }

  get loadedCount(): number {
    return this.#lru.length;
  }

  known(): { name: string; path: string; loaded: boolean; info: AdapterInfo | null }[] {
    const infos = new Map(this.#registry.list().map((a) => [a.name, a]));
    return [...this.#known].map(([name, path]) => ({ name, path, loaded: infos.has(name), info: infos.get(name) ?? null }));
  }

  /** Known adapters and, with an adapter root, every adapter folder in it (not loaded until first used). */
  async listAll(): Promise<{ name: string; path: string; loaded: boolean; info: AdapterInfo | null }[]> {
    const known = this.known();
    if (this.#options.adapterRoot === null) return known;
    const entries = await readdir(this.#options.adapterRoot).catch(() => [] as string[]);
    const found = [];
    for (const name of entries.sort()) {
      if (this.#known.has(name) || !ADAPTER_NAME.test(name)) continue;
      const path = await this.#checkFolder(join(this.#options.adapterRoot, name)).catch(() => null);
      if (path !== null) found.push({ name, path, loaded: false, info: null });
    }
    return [...known, ...found];
  }

  /** Registers an adapter folder under a name (checked: inside the root, has a config); loads nothing yet. */
  async register(name: string, path: string, replace = false): Promise<void> {
    if (this.#known.has(name) && !replace) throw new HttpError(400, `an adapter named ${JSON.stringify(name)} is already loaded`, 'lora_name', 'adapter_exists');
    if ((this.#pins.get(name) ?? 0) > 0) throw new HttpError(409, `adapter ${JSON.stringify(name)} is in use by requests in progress; replace it when they are done`, 'lora_name');
    const folder = await this.#checkFolder(path);
    if (this.#known.has(name)) await this.unregister(name);
    this.#known.set(name, folder);
  }

  /** Forgets an adapter: new requests get 404; it leaves memory once its requests are done. */
  async unregister(name: string): Promise<void> {
    if (!this.#known.delete(name) && !this.#registry.has(name)) throw new HttpError(404, `The lora adapter '${name}' cannot be found.`);
    await this.#loads.get(name)?.catch(() => undefined);
    if ((this.#pins.get(name) ?? 0) === 0) await this.#evict(name);
  }

  /** Loads the adapter if needed and pins it until release(); null (the base model) needs nothing. */
  async acquire(name: string | null): Promise<void> {
    if (name === null) return;
    const path = this.#known.get(name) ?? (await this.#fromRoot(name));
    if (path === null) throw new HttpError(404, `The model '${name}' does not exist: no adapter of that name is loaded${this.#options.adapterRoot === null ? '' : ' or in the adapter root'}`, 'model', 'model_not_found');
    this.#pins.set(name, (this.#pins.get(name) ?? 0) + 1);
    try {
      while (!this.#registry.has(name)) {
        let load = this.#loads.get(name);
        if (!load) {
          const run = this.#loadChain.then(() => this.#load(name, path));
          this.#loadChain = run.catch(() => undefined);
          load = run.finally(() => this.#loads.delete(name));
          this.#loads.set(name, load);
        }
        await load;
      }
      this.#touch(name);
    } catch (error) {
      this.release(name);
      throw error;
    }
  }

  release(name: string | null): void {
    if (name === null) return;
    const left = (this.#pins.get(name) ?? 1) - 1;
    if (left > 0) {
      this.#pins.set(name, left);
      return;
    }
    this.#pins.delete(name);
    if (!this.#known.has(name) && this.#registry.has(name)) void this.#evict(name); // unregistered while in use
    this.#roomWaiters.splice(0).forEach((wake) => wake());
  }

  async #load(name: string, path: string): Promise<void> {
    await this.#makeRoom(name);
    const started = performance.now();
    try {
      await this.#registry.load(name, path, { replace: true });
      this.#touch(name);
      this.#options.onEvent?.({ kind: 'load', name, seconds: (performance.now() - started) / 1000, ok: true });
    } catch (error) {
      this.#options.onEvent?.({ kind: 'load', name, seconds: (performance.now() - started) / 1000, ok: false });
      if (error instanceof HttpError) throw error;
      if (isAdapterFault(error)) throw new HttpError(400, `adapter ${JSON.stringify(name)} cannot be loaded: ${loadErrorMessage(error)}`);
      throw new HttpError(500, `adapter ${JSON.stringify(name)} failed to load: ${loadErrorMessage(error)}`);
    }
  }

  /** Evicts idle adapters, least recently used first, until one more fits; waits while all are pinned. */
  async #makeRoom(incoming: string): Promise<void> {
    const max = this.#options.maxLoaded;
    if (max === null) return;
    while (this.#lru.length >= max) {
      const victim = this.#lru.find((name) => name !== incoming && (this.#pins.get(name) ?? 0) === 0);
      if (victim !== undefined) {
        await this.#evict(victim);
        continue;
      }
      await new Promise<void>((wake) => this.#roomWaiters.push(wake));
    }
  }

  async #evict(name: string): Promise<void> {
    const at = this.#lru.indexOf(name);
    if (at >= 0) this.#lru.splice(at, 1);
    if (!this.#registry.has(name)) return;
    await this.#registry.delete(name);
    this.evictions++;
    this.#options.onEvent?.({ kind: 'evict', name });
  }

  #touch(name: string): void {
    const at = this.#lru.indexOf(name);
    if (at >= 0) this.#lru.splice(at, 1);
    this.#lru.push(name);
  }

  /** <adapter-root>/<name> when it is an adapter folder (its real path inside the root), else null. */
  async #fromRoot(name: string): Promise<string | null> {
    if (this.#options.adapterRoot === null || !ADAPTER_NAME.test(name)) return null;
    try {
      const folder = await this.#checkFolder(join(this.#options.adapterRoot, name));
      this.#known.set(name, folder);
      return folder;
    } catch (error) {
      if (error instanceof HttpError && error.status === 404) return null;
      throw error;
    }
  }

  /** The folder's real path; 403 outside the adapter root (symlinks followed), 404 without adapter_config.json. */
  async #checkFolder(path: string): Promise<string> {
    const real = await realpath(path).catch(() => null);
    const found = real === null ? null : await stat(join(real, 'adapter_config.json')).catch(() => null);
    if (real === null || !found?.isFile()) throw new HttpError(404, `No adapter found at ${path} (no adapter_config.json)`);
    if (this.#options.adapterRoot !== null) {
      this.#realRoot ??= await realpath(this.#options.adapterRoot);
      if (!(real === this.#realRoot || real.startsWith(this.#realRoot + sep))) {
        throw new HttpError(403, `${path}: adapters must lie inside the adapter root`);
      }
    }
    return real;
  }
}
