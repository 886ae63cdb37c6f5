// The adapter registry of a server: one base model, loaded once, wrapped in a PeftModel as soon as an adapter
// is loaded; adapters are loaded (either transformers era: PEFT's loader converts), listed and deleted by name.
// Loads and deletes run one at a time; requests for an adapter that is being (re)loaded wait for it.
import { realpath, stat } from 'node:fs/promises';
import { join, resolve, sep } from 'node:path';
import type { CausalLM, ModelOutput, PreTrainedModel } from '../models/index.js';
import { fromPretrained as modelFromPretrained } from '../models/index.js';
import { BASE_ROW, CONFIG_NAME, type LoraConfig, PeftModel, readAdapterConfig } from '../peft/index.js';
import type { Device, DType } from '../tensor/dtype.js';
import type { Tensor } from '../tensor/tensor.js';
import { badRequest, HttpError, notFound } from './http-error.js';

/** Letters, digits, '_' and '-', starting with a letter or digit, at most 64 characters. */
export const ADAPTER_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

export interface AdapterInfo {
  name: string;
  path: string;
  r: number;
  lora_alpha: number;
  target_modules: string | string[] | null;
  loaded_at: string;
}

export interface LoadOptions {
  /** Replace an adapter of the same name (default false: that is an error). */
  replace?: boolean;
}

export interface RegistryOptions {
  /** Where PEFT's warnings go (default: process.emitWarning). */
  warn?: (message: string) => void;
  /** When set, adapter paths must lie inside this folder. */
  adapterRoot?: string;
  /** Refuse adapters that do not fit the model (PeftModel's strict loading). Default true. */
  strict?: boolean;
}

export function checkAdapterName(name: unknown): string {
  if (typeof name !== 'string' || !ADAPTER_NAME.test(name)) {
    throw badRequest(`adapter name: expected 1-64 letters, digits, '_' or '-' (starting with a letter or digit), got ${JSON.stringify(name)}`);
  }
  return name;
}

export class AdapterRegistry {
  #model: PreTrainedModel;
  /** Where the model was loaded from (open()), to load it again if a failed adapter load left it changed. */
  #modelDir: string | null = null;
  /** Why requests cannot be served now: the model is being reloaded, or could not be (see #loadFirst). */
  #unavailable: HttpError | null = null;
  #peft: PeftModel | null = null;
  readonly #adapters = new Map<string, AdapterInfo>();
  readonly #loading = new Map<string, Promise<unknown>>(); // settles, never rejects
  #mutations: Promise<unknown> = Promise.resolve();
  readonly #warn: (message: string) => void;
  readonly #adapterRoot: string | null;
  readonly #strict: boolean;
  /** Where and in which floating dtype the model's inputs are made. */
  readonly device: Device;
  readonly floatDtype: DType;

  constructor(model: PreTrainedModel, options: RegistryOptions = {}) {
    this.#model = model;
    this.device = model.parameters()[0]?.device ?? 'cpu';
    this.floatDtype = model.dtype;
    this.#warn = options.warn ?? ((message) => process.emitWarning(message, 'PeftWarning'));
    this.#adapterRoot = options.adapterRoot ? resolve(options.adapterRoot) : null;
    this.#strict = options.strict ?? true;
    model.eval();
  }

  /** Loads the Hugging Face model folder once. */
  static async open(modelDir: string, options: RegistryOptions = {}): Promise<AdapterRegistry> {
    const registry = new AdapterRegistry(await modelFromPretrained(modelDir), options);
    registry.#modelDir = modelDir;
    return registry;
  }

  /** The model as loaded; a PeftModel wraps this very object (in place) while adapters are loaded. */
  get model(): PreTrainedModel {
    return this.#model;
  }

  get peft(): PeftModel | null {
    return this.#peft;
  }

  list(): AdapterInfo[] {
    return [...this.#adapters.values()];
  }

  has(name: string): boolean {
    return this.#adapters.has(name);
  }

  /** Resolves when no load of this name is in progress (at once when none is). */
  async settled(name: string): Promise<void> {
    await this.#loading.get(name);
  }

  /** Throws 404 unless the adapter is loaded; null (the base model) always passes. */
  requireAdapter(name: string | null): void {
    if (name !== null && !this.#adapters.has(name)) {
      throw notFound(`unknown adapter ${JSON.stringify(name)}; loaded: ${[...this.#adapters.keys()].join(', ') || 'none'}`);
    }
  }

  /** Runs registry changes one after another. */
  #serialize<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#mutations.then(fn, fn);
    this.#mutations = run.catch(() => undefined);
    return run;
  }

  /** Loads an adapter folder under a name; settled(name) waits for it from the moment this is called. */
  load(nameArg: unknown, pathArg: unknown, options: LoadOptions = {}): Promise<AdapterInfo> {
    let name: string;
    try {
      name = checkAdapterName(nameArg);
    } catch (error) {
      return Promise.reject(error);
    }
    const loading = this.#checkPath(pathArg).then((path) => this.#serialize(() => this.#loadNow(name, path, options)));
    const waitFor = Promise.allSettled([this.#loading.get(name), loading]);
    this.#loading.set(name, waitFor);
    const forget = (): void => {
      if (this.#loading.get(name) === waitFor) this.#loading.delete(name);
    };
    waitFor.then(forget, forget);
    return loading;
  }

  async #loadNow(name: string, path: string, options: LoadOptions): Promise<AdapterInfo> {
    if (this.#adapters.has(name) && !options.replace) {
      throw new HttpError(409, `an adapter named ${JSON.stringify(name)} is already loaded; delete it first or pass "replace": true`);
    }
    await readAdapterConfig(path, () => undefined); // a broken config fails before the old adapter goes
    if (this.#adapters.has(name)) this.#remove(name);
    // Config and weights are read together, from one version of the folder (a save may replace it meanwhile).
    if (this.#peft) await this.#loadAnother(this.#peft, path, name);
    else this.#peft = await this.#loadFirst(path, name);
    this.#peft.eval();
    const config = this.#peft.peftConfig.get(name) as LoraConfig;
    const info: AdapterInfo = {
      name, path, r: config.r, lora_alpha: config.lora_alpha, target_modules: config.target_modules, loaded_at: new Date().toISOString(),
    };
    this.#adapters.set(name, info);
    return info;
  }

  async #loadAnother(peft: PeftModel, path: string, name: string): Promise<void> {
    try {
      await peft.loadAdapter(path, name, { strict: this.#strict });
    } catch (error) {
      if (peft.peftConfig.has(name)) peft.deleteAdapter(name); // added, then its weights did not fit
      throw error;
    }
  }

  /**
   * The first adapter wraps the model in a PeftModel. If its weights then do not fit, that PeftModel is lost with
   * the model already changed in place (LoRA layers, wrappers): the model is loaded again from its folder.
   */
  async #loadFirst(path: string, name: string): Promise<PeftModel> {
    const parameters = new Map(this.#model.namedParameters());
    try {
      return await PeftModel.fromPretrained(this.#model, path, { adapterName: name, warn: this.#warn, strict: this.#strict });
    } catch (error) {
      const now = this.#model.namedParameters();
      if (now.length !== parameters.size || now.some(([key, p]) => parameters.get(key) !== p)) await this.#reloadModel();
      throw error;
    }
  }

  async #reloadModel(): Promise<void> {
    if (this.#modelDir === null) {
      this.#unavailable = new HttpError(500, 'a failed adapter load left the model changed; restart the server');
      return;
    }
    this.#unavailable = new HttpError(503, 'the model is being reloaded after a failed adapter load; retry shortly');
    try {
      const fresh = await modelFromPretrained(this.#modelDir);
      this.#model.dispose();
      this.#model = fresh.eval() as PreTrainedModel;
      this.#unavailable = null;
    } catch (error) {
      this.#unavailable = new HttpError(500, `a failed adapter load left the model changed, and reloading it failed: ${(error as Error).message}`);
    }
  }

  async #checkPath(pathArg: unknown): Promise<string> {
    if (typeof pathArg !== 'string' || pathArg === '') throw badRequest(`path: expected an adapter folder, got ${JSON.stringify(pathArg)}`);
    // real paths on both sides: a symlink inside the root cannot point outside it
    const path = await realpath(resolve(pathArg)).catch(() => resolve(pathArg));
    const root = this.#adapterRoot === null ? null : await realpath(this.#adapterRoot).catch(() => this.#adapterRoot as string);
    if (root !== null && !(path === root || path.startsWith(root + sep))) {
      throw new HttpError(403, `path ${pathArg}: adapters must lie inside ${this.#adapterRoot}`);
    }
    const found = await stat(join(path, CONFIG_NAME)).catch(() => null);
    if (!found?.isFile()) throw badRequest(`path ${pathArg}: not an adapter folder (no ${CONFIG_NAME} in it)`);
    return path;
  }

  delete(nameArg: unknown): Promise<void> {
    const name = checkAdapterName(nameArg);
    return this.#serialize(async () => {
      this.requireAdapter(name);
      this.#remove(name);
    });
  }

  /** The last adapter's deletion unloads the PeftModel, leaving the plain model as it was loaded. */
  #remove(name: string): void {
    const peft = this.#peft as PeftModel;
    const other = [...this.#adapters.keys()].find((n) => n !== name);
    if (peft.activeAdapter === name && other !== undefined) peft.setAdapter(other); // no "active adapter deleted" warning
    peft.deleteAdapter(name);
    this.#adapters.delete(name);
    if (this.#adapters.size === 0) {
      peft.unload();
      this.#peft = null;
    }
  }

  /**
   * Runs fn in a later macrotask. A load that just finished may still have its bookkeeping in the microtask
   * queue (the model already wrapped, #peft not yet set); every microtask runs before the next macrotask.
   */
  schedule<T>(fn: () => T): Promise<T> {
    return new Promise((resolvePromise, reject) => {
      setImmediate(() => {
        try {
          resolvePromise(fn());
        } catch (error) {
          reject(error);
        }
      });
    });
  }

  /** Whether rows of these adapters can share one forward (bare-parameter copies cannot differ per row). */
  canMix(adapters: readonly (string | null)[]): boolean {
    if (!this.#peft) return true;
    for (const wrapper of this.#peft.parameterWrappers.values()) {
      if (new Set(adapters.map((a) => (a !== null && wrapper.hasAdapter(a) ? a : null))).size > 1) return false;
    }
    return true;
  }

  /**
   * The model's forward with one adapter per batch row (null = base model). One adapter for every row runs as
   * `node-peft predict` does (that adapter active); mixed rows go through PeftModel's adapter_names forward.
   * Synchronous; call inside noGrad/scope.
   */
  forward(inputs: Record<string, unknown>, rowAdapters: readonly (string | null)[]): ModelOutput {
    if (this.#unavailable) throw this.#unavailable;
    const distinct = [...new Set(rowAdapters)];
    for (const name of distinct) this.requireAdapter(name);
    const peft = this.#peft;
    if (!peft) return this.model.forward(inputs as Record<string, Tensor>);
    if (distinct.length === 1) return this.withAdapter(distinct[0], (model) => model.forward(inputs));
    return peft.forward({ ...inputs, adapter_names: rowAdapters.map((a) => a ?? BASE_ROW) }) as ModelOutput;
  }

  /** Runs fn (synchronously) with one adapter active, or with every adapter disabled for null. */
  withAdapter<T>(name: string | null, fn: (model: CausalLM & { forward(inputs: Record<string, unknown>): ModelOutput }) => T): T {
    if (this.#unavailable) throw this.#unavailable;
    this.requireAdapter(name);
    const peft = this.#peft;
    if (!peft) return fn(this.model);
    const model = {
      forward: (inputs: Record<string, unknown>) => peft.forward(inputs) as ModelOutput,
      eval: () => peft.eval(),
      get training() {
        return peft.training;
      },
    };
    if (name === null) return peft.disableAdapter(() => fn(model));
    if (peft.activeAdapter !== name) peft.setAdapter(name);
    return fn(model);
  }

  dispose(): void {
    (this.#peft ?? this.model).dispose();
    this.#peft = null;
    this.#adapters.clear();
  }
}
