// Which modules (PEFT) and which bare parameters (node-peft's extension) each modules_to_save entry selects.
import { NoMatchingTargetError, PeftError } from '../errors.js';
import type { LoraConfigFields, TaskType } from './config-fields.js';
import type { ModuleInfo, ModuleKind } from './matching.js';

/** Head names PEFT's task-specific PeftModel classes append to modules_to_save (spec/peft.md §4.4). */
export const TASK_MODULES_TO_SAVE: Partial<Record<TaskType, readonly string[]>> = {
  SEQ_CLS: ['classifier', 'score'],
  TOKEN_CLS: ['classifier', 'score'],
  QUESTION_ANS: ['qa_outputs'],
};

/**
 * modules_to_save after PEFT's task handling: SEQ_CLS / TOKEN_CLS append 'classifier' and 'score', QUESTION_ANS
 * appends 'qa_outputs' (to a copy; duplicates stay, as in PEFT's saved files: ['classifier', 'classifier', 'score']).
 */
export function modulesToSaveForTask(config: Pick<LoraConfigFields, 'modules_to_save' | 'task_type'>): string[] | null {
  const extra = config.task_type === null ? undefined : TASK_MODULES_TO_SAVE[config.task_type];
  if (extra === undefined) return config.modules_to_save === null ? null : [...config.modules_to_save];
  return [...(config.modules_to_save ?? []), ...extra];
}

export interface ModulesToSaveEntryMatch {
  entry: string;
  /**
   * 'modules': the entry names modules, wrapped exactly as PEFT does; 'parameters': it names no module but bare
   * parameters (node-peft's parameter-level extension); 'covered': its parameters all sit inside modules another
   * entry wraps, so there is nothing more to do; 'unmatched': it matches nothing (only returned for the task's own
   * head names, e.g. 'score' on a BERT classifier, or with onUnmatched: 'warn').
   */
  kind: 'modules' | 'parameters' | 'covered' | 'unmatched';
  modules: string[];
  parameters: string[];
}

export interface ModulesToSaveSelection {
  entries: ModulesToSaveEntryMatch[];
  /** Every module to wrap (union over entries, model order, no duplicates). */
  modules: string[];
  /** Every bare parameter to wrap (full names, model order, no duplicates). */
  parameters: string[];
  /** Raw-suffix matches that are not dot-bounded, nested wrappers, parameters already covered by a module. */
  warnings: string[];
}

export interface ModulesToSaveModel {
  /** namedModules() with duplicates kept (PEFT uses remove_duplicate=False), root included or not. */
  modules: readonly ModuleInfo[];
  /** Full dotted names of all parameters. */
  parameters: readonly string[];
}

export interface MatchModulesToSaveOptions {
  /** Used in messages only. */
  adapterName?: string;
  /** The config's task_type: its head names (TASK_MODULES_TO_SAVE) may match nothing without an error, as in PEFT. */
  taskType?: TaskType | null;
  /**
   * What to do with an entry that matches nothing: 'error' (default, for new adapters) or 'warn' (e.g. when
   * loading an adapter Python PEFT wrote, which it would load without complaint).
   */
  onUnmatched?: 'error' | 'warn';
}

const CONTAINER_KINDS: readonly ModuleKind[] = ['module_list', 'module_dict', 'parameter_list', 'parameter_dict'];

const parentOf = (name: string): string => (name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : '');
const isInside = (name: string, ancestor: string): boolean => ancestor === '' || name === ancestor || name.startsWith(`${ancestor}.`);

/** PEFT's modules_to_save rule: a module is wrapped if its full name ends with the entry as a plain string. */
export function modulesToSaveEntryMatchesModule(entry: string, moduleName: string): boolean {
  return moduleName.endsWith(entry);
}

/** node-peft's rule for parameters: the full name equals the entry or ends with '.' + entry. */
export function modulesToSaveEntryMatchesParameter(entry: string, parameterName: string): boolean {
  return parameterName === entry || parameterName.endsWith(`.${entry}`);
}

/**
 * Classifies each modules_to_save entry. An entry that matches any module keeps PEFT's exact behaviour (raw string
 * suffix, so 'head' also wraps 'lm_head' — reported as a warning). An entry that matches no module but names bare
 * parameters (e.g. 'position_embeddings' or 'vit.embeddings.position_embeddings', dot-bounded) selects those
 * parameters; ones inside a module wrapped by another entry are left to that wrapper. An entry that matches
 * nothing throws NoMatchingTargetError naming it (PEFT silently ignores it), except the task's own head names.
 */
export function matchModulesToSave(
  entries: readonly string[] | null,
  model: ModulesToSaveModel,
  options: MatchModulesToSaveOptions = {},
): ModulesToSaveSelection {
  const adapterName = options.adapterName ?? 'default';
  const optional = new Set(options.taskType ? TASK_MODULES_TO_SAVE[options.taskType] ?? [] : []);
  const warnings: string[] = [];
  if (entries === null || entries.length === 0) return { entries: [], modules: [], parameters: [], warnings };
  const kinds = new Map(model.modules.map((m) => [m.name, m] as const));
  const loraLayers = model.modules.filter((m) => m.isLoraLayer).map((m) => m.name);
  const seenEntries = new Set<string>();
  const results: ModulesToSaveEntryMatch[] = [];
  for (const entry of entries) {
    if (typeof entry !== 'string' || entry === '') throw new PeftError(`modules_to_save: expected non-empty module or parameter names, got ${JSON.stringify(entry)}`);
    if (seenEntries.has(entry)) continue;
    seenEntries.add(entry);
    const modules = [...new Set(model.modules.map((m) => m.name).filter((name) => name !== '' && modulesToSaveEntryMatchesModule(entry, name)))];
    for (const name of modules) {
      const info = kinds.get(name)!;
      if (CONTAINER_KINDS.includes(info.kind)) throw new PeftError(`modules_to_save entry '${entry}' matches '${name}', a ${info.kind}; modules_to_save cannot be applied to modules of that type`);
      if (info.isLoraLayer) throw new PeftError(`modules_to_save entry '${entry}' matches '${name}', a LoRA layer; modules_to_save cannot be applied to LoRA layers`);
      const grandparent = parentOf(parentOf(name));
      if (loraLayers.includes(grandparent) && name.includes('.')) {
        throw new PeftError(
          `modules_to_save entry '${entry}' matches '${name}', a child of the LoRA layer '${grandparent}'. Please ensure that the adapter name, '${adapterName}', does not conflict with any of the targeted modules.`,
        );
      }
      if (name !== entry && !name.endsWith(`.${entry}`)) {
        warnings.push(`modules_to_save entry '${entry}' also wraps '${name}': PEFT matches the end of the name as plain text, not at a '.' boundary.`);
      }
    }
    results.push({ entry, kind: 'modules', modules, parameters: [] });
  }
  const wrapped = [...new Set(results.flatMap((r) => r.modules))];
  for (const result of results) {
    if (result.modules.length > 0) continue;
    const named = model.parameters.filter((p) => modulesToSaveEntryMatchesParameter(result.entry, p));
    if (named.length === 0) {
      result.kind = 'unmatched';
      if (optional.has(result.entry)) continue;
      const message = `modules_to_save entry '${result.entry}' matches no module and no parameter of the model. Use a module name (or the end of one) or a parameter name such as 'embeddings.position_embeddings'.`;
      if (options.onUnmatched === 'warn') warnings.push(message);
      else throw new NoMatchingTargetError(message);
      continue;
    }
    const covered = named.filter((p) => wrapped.some((m) => isInside(p, m)));
    for (const p of covered) {
      warnings.push(`modules_to_save entry '${result.entry}' names '${p}', which is already saved with the module '${wrapped.find((m) => isInside(p, m))}'.`);
    }
    result.parameters = named.filter((p) => !covered.includes(p));
    result.kind = result.parameters.length > 0 ? 'parameters' : 'covered';
  }
  for (const inner of wrapped) {
    const outer = wrapped.find((m) => m !== inner && isInside(inner, m));
    if (outer !== undefined) {
      warnings.push(`modules_to_save wraps both '${outer}' and '${inner}' inside it; PEFT then nests wrappers and cannot load the adapter back. Name the outer module only.`);
    }
  }
  const parameters = [...new Set(results.flatMap((r) => r.parameters))];
  return { entries: results, modules: wrapped, parameters, warnings };
}
