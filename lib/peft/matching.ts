// Which modules a LoRA config targets, with PEFT 0.21's semantics (spec/peft.md §3): the per-name check, the
// per-model selection (all-linear, target_parameters, condensing) and PEFT's errors when nothing matches.
import { NoMatchingTargetError, PeftError } from '../errors.js';
import type { LoraConfigFields } from './config-fields.js';
import { pythonRepr, pythonStr } from '../serialization/python-json.js';
import { unusedPatternWarnings } from './patterns.js';
import { pythonFullMatch, pythonMatchSpliced } from './python-regex.js';

/** The config fields target matching reads; a full LoraConfig fits. */
export type MatchingConfig = Pick<
  LoraConfigFields,
  'target_modules' | 'exclude_modules' | 'modules_to_save' | 'target_parameters' | 'layers_to_transform' | 'layers_pattern'
>;

export type TargetMatch = 'matched' | 'excluded' | 'unmatched';

/** PEFT's `all-linear` shorthand, recognised only as a string, case-insensitively. */
export const ALL_LINEAR = 'all-linear';
/** PEFT's placeholder that matches nothing without an error. */
export const DUMMY_TARGET_MODULES = 'dummy-target-modules';
/** A list target_modules this long is condensed to a minimal set of suffixes (PEFT does it; not for IA3). */
export const MIN_TARGET_MODULES_FOR_OPTIMIZATION = 20;

export function isAllLinear(targetModules: MatchingConfig['target_modules']): boolean {
  return typeof targetModules === 'string' && targetModules.toLowerCase() === ALL_LINEAR;
}

const endsWithComponent = (key: string, entry: string): boolean => key.endsWith(`.${entry}`);

function layerIndexOf(key: string, layersPattern: MatchingConfig['layers_pattern']): number | null {
  let match: RegExpExecArray | null = null;
  if (layersPattern === null || layersPattern.length === 0) {
    match = /^.*?\.[^.]*\.(\d+)\./.exec(key);
  } else {
    const patterns = typeof layersPattern === 'string' ? [layersPattern] : layersPattern;
    for (const pattern of patterns) {
      match = pythonMatchSpliced('(?:^|.*?\\.)', pattern, '\\.(\\d+)\\.', key, 'LoraConfig.layers_pattern');
      if (match) break;
    }
  }
  const digits = match?.[match.length - 1];
  return digits === undefined ? null : Number.parseInt(digits, 10);
}

/**
 * PEFT's `check_target_module_exists` for one module name, telling an excluded module from an unmatched one:
 * exclude_modules, then the modules_to_save guard (an entry naming the module or any ancestor, by dotted
 * components, as a regex), then target_modules (regex full match; list: exact name, or dot-bounded suffix followed
 * by the layers_to_transform / layers_pattern filter). `all-linear` must be expanded first (see findTargets).
 */
export function classifyTargetModule(config: MatchingConfig, key: string): TargetMatch {
  const exclude = config.exclude_modules;
  if (exclude !== null && exclude.length > 0) {
    if (typeof exclude === 'string') {
      if (pythonFullMatch(exclude, key, 'LoraConfig.exclude_modules')) return 'excluded';
    } else if (exclude.includes(key) || exclude.some((entry) => endsWithComponent(key, entry))) {
      return 'excluded';
    }
  }
  const modulesToSave = config.modules_to_save;
  if (modulesToSave !== null && modulesToSave.length > 0) {
    if (modulesToSave.some((entry) => pythonMatchSpliced('(^|.*\\.)', entry, '($|\\..*)', key, 'LoraConfig.modules_to_save'))) return 'excluded';
  }
  const targets = config.target_modules;
  if (targets === null) return 'unmatched';
  if (typeof targets === 'string') return pythonFullMatch(targets, key, 'LoraConfig.target_modules') ? 'matched' : 'unmatched';
  if (targets.includes(key)) return 'matched';
  if (!targets.some((entry) => endsWithComponent(key, entry))) return 'unmatched';
  const layers = config.layers_to_transform;
  const filtersLayers = layers !== null && (typeof layers === 'number' || layers.length > 0);
  if (!filtersLayers) return 'matched';
  const index = layerIndexOf(key, config.layers_pattern);
  if (index === null) return 'unmatched';
  return (typeof layers === 'number' ? index === layers : layers.includes(index)) ? 'matched' : 'unmatched';
}

/** PEFT's `check_target_module_exists(config, key)` as a boolean (excluded modules are not targets). */
export function checkTargetModuleExists(config: MatchingConfig, key: string): boolean {
  return classifyTargetModule(config, key) === 'matched';
}

/** What kind of module a name holds, as far as matching cares. */
export type ModuleKind =
  | 'linear'
  | 'transformers_conv1d'
  | 'embedding'
  | 'conv1d'
  | 'conv2d'
  | 'conv1d'
  | 'conv3d'
  | 'multihead_attention'
  | 'module_list'
  | 'module_dict'
  | 'parameter_list'
  | 'parameter_dict'
  | 'other';

export interface ModuleInfo {
  /** Dotted name as namedModules() gives it; '' is the root. */
  name: string;
  /** For a LoRA layer already in the model: the kind of its base layer. */
  kind: ModuleKind;
  /** True for a LoRA layer (from an earlier adapter); its inner modules are never candidates. */
  isLoraLayer?: boolean;
}

export interface FindTargetsModel {
  /** namedModules() order, root included or not. */
  modules: readonly ModuleInfo[];
  /** Full dotted names of every parameter (namedParameters order); needed for target_parameters. */
  parameters?: readonly string[];
  /**
   * Set for a transformers-style model: the name of the module get_output_embeddings() returns (e.g. 'lm_head'),
   * or null if it has none. all-linear leaves that module out (or, with task_type SEQ_CLS and no output embedding,
   * a top-level `score` / `classifier`). Leave undefined for a plain model: PEFT excludes nothing there.
   */
  outputEmbeddingName?: string | null;
}

export interface TargetSelection {
  /** Modules to wrap with a LoRA layer, in model order. */
  targetModules: string[];
  /** Parameters to wrap (target_parameters): the matched key `<module path without .base_layer>.<param>`. */
  targetParameters: string[];
  excludedModules: string[];
  unmatchedModules: string[];
  /** target_modules as PEFT leaves it in the config (all-linear expanded to full names, long lists condensed). */
  resolvedTargetModules: string[] | string | null;
  /** PEFT's warnings for this selection (unused exclude_modules, unused patterns ...). */
  warnings: string[];
}

const LINEAR_KINDS: readonly ModuleKind[] = ['linear', 'transformers_conv1d'];
const SEQ_CLS_HEAD_NAMES = ['score', 'classifier'];

/** The full names `all-linear` stands for (PEFT `_maybe_include_all_linear_layers`), in model order. */
export function expandAllLinear(model: FindTargetsModel, taskType: LoraConfigFields['task_type'] = null): string[] {
  const names = new Set(model.modules.map((m) => m.name));
  const loraPrefixes = model.modules.filter((m) => m.isLoraLayer).map((m) => `${m.name}.`);
  const excluded = new Set<string>();
  if (model.outputEmbeddingName !== undefined) {
    if (model.outputEmbeddingName !== null) excluded.add(model.outputEmbeddingName);
    else if (taskType === 'SEQ_CLS') {
      const head = SEQ_CLS_HEAD_NAMES.find((name) => names.has(name));
      if (head !== undefined) excluded.add(head);
    }
  }
  return model.modules
    .filter((m) => m.name !== '' && LINEAR_KINDS.includes(m.kind))
    .filter((m) => !excluded.has(m.name) && !loraPrefixes.some((prefix) => m.name.startsWith(prefix)))
    .map((m) => m.name);
}

/**
 * PEFT's `_find_minimal_target_modules`: the fewest dotted suffixes that still match every target and no other
 * module. Returns the targets unchanged if no shorter set exists.
 */
export function findMinimalTargetModules(targetModules: readonly string[], otherModuleNames: readonly string[]): string[] {
  if (targetModules.length === 0) throw new PeftError('findMinimalTargetModules: expected a non-empty list of target modules, got []');
  if (targetModules.includes('')) throw new PeftError('findMinimalTargetModules: expected no empty target name, got ""');
  const suffixesOf = (name: string): string[] => {
    const parts = name.split('.');
    return parts.map((_, i) => parts.slice(parts.length - 1 - i).join('.'));
  };
  const otherSuffixes = new Set(otherModuleNames.flatMap(suffixesOf));
  const compareLists = (a: string[], b: string[]): number => {
    for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! < b[i]! ? -1 : 1;
    return a.length - b.length;
  };
  const entries = [...new Set(targetModules)].map((name) => [name, suffixesOf(name)] as const).sort((a, b) => compareLists(a[1], b[1]));
  const required: string[] = [];
  for (const [name, suffixes] of entries) {
    for (const suffix of suffixes) {
      if (required.includes(suffix) || otherSuffixes.has(suffix)) continue;
      if (!required.some((r) => name.endsWith(`.${r}`))) {
        required.push(suffix);
        break;
      }
    }
  }
  return required.length === 0 ? [...new Set(targetModules)] : required;
}

function layerNotes(config: MatchingConfig): string {
  let notes = '';
  if (config.layers_to_transform !== null) notes += ` Note: You specified 'layers_to_transform': ${pythonRepr(config.layers_to_transform)}.`;
  if (config.layers_pattern !== null) notes += ` You also specified 'layers_pattern': ${pythonStr(config.layers_pattern)}.`;
  return notes;
}

/** How PEFT prints target_modules in its messages: a set for lists, the bare string for a regex. */
function printedTargets(targets: MatchingConfig['target_modules']): string {
  return targets === null ? 'None' : pythonStr(targets, { asSet: true });
}

/** `target_parameters` matching (§3.6): returns the matched keys; a parameter of the root module is refused. */
function matchTargetParameters(entries: readonly string[], parameters: readonly string[]): string[] {
  const matched: string[] = [];
  for (const fullName of parameters) {
    const cut = fullName.lastIndexOf('.');
    const modulePath = cut < 0 ? '' : fullName.slice(0, cut);
    const paramName = fullName.slice(cut + 1);
    const key = `${modulePath.split('.base_layer').join('')}.${paramName}`;
    if (!entries.includes(key) && !entries.some((entry) => key.endsWith(`.${entry}`))) continue;
    if (modulePath === '') throw new PeftError(`Targeting an nn.Parameter on the top-level module is not supported (parameter '${paramName}'). `);
    matched.push(key);
  }
  return matched;
}

/**
 * Selects what a config adapts in a model, as PEFT's `inject_adapter` does, without touching the model: expands
 * `all-linear`, condenses lists of ≥ 20 names, checks every module (root and LoRA-layer internals skipped), matches
 * target_parameters, and throws NoMatchingTargetError with PEFT's exact message when nothing is targeted.
 */
export function findTargets(
  config: MatchingConfig & Pick<LoraConfigFields, 'task_type'> & Partial<Pick<LoraConfigFields, 'rank_pattern' | 'alpha_pattern'>>,
  model: FindTargetsModel,
): TargetSelection {
  const warnings: string[] = [];
  const names = model.modules.map((m) => m.name);
  const dummy = config.target_modules === DUMMY_TARGET_MODULES;
  let resolved = config.target_modules;
  if (isAllLinear(resolved)) resolved = expandAllLinear(model, config.task_type);
  if (Array.isArray(resolved) && resolved.length >= MIN_TARGET_MODULES_FOR_OPTIMIZATION) {
    const list = resolved;
    const others = names.filter((name) => !list.includes(name) && !list.some((entry) => name.endsWith(`.${entry}`)));
    const condensed = findMinimalTargetModules(list, others);
    if (condensed.length < list.length) resolved = condensed;
  }
  const effective: MatchingConfig = { ...config, target_modules: resolved };
  const loraPrefixes = model.modules.filter((m) => m.isLoraLayer).map((m) => `${m.name}.`);
  const targetModules: string[] = [];
  const excludedModules: string[] = [];
  const unmatchedModules: string[] = [];
  if (!dummy) {
    for (const name of names) {
      if (name === '' || loraPrefixes.some((prefix) => name.startsWith(prefix))) continue;
      const result = classifyTargetModule(effective, name);
      if (result === 'matched') targetModules.push(name);
      else if (result === 'excluded') excludedModules.push(name);
      else unmatchedModules.push(name);
    }
  }
  const targetParameters =
    config.target_parameters !== null && config.target_parameters.length > 0
      ? matchTargetParameters(config.target_parameters, model.parameters ?? [])
      : [];

  if (targetModules.length === 0 && targetParameters.length === 0 && !dummy) {
    const emptyTargets = resolved === null || resolved.length === 0;
    if (excludedModules.length > 0 && unmatchedModules.length === 0) {
      throw new NoMatchingTargetError(
        'All modules were excluded. This is likely unintended. Check your `target_modules`, `exclude_modules` and `modules_to_save` configuration.',
      );
    }
    if (excludedModules.length === 0 && unmatchedModules.length > 0 && emptyTargets) {
      throw new NoMatchingTargetError(
        'No `target_modules` passed but also no `target_parameters` found. Please check the values for these arguments.',
      );
    }
    if (excludedModules.length === 0 && unmatchedModules.length > 0) {
      throw new NoMatchingTargetError(
        `Target modules ${printedTargets(resolved)} not found in the base model. Please check the target modules and try again.${layerNotes(config)}`,
      );
    }
    throw new NoMatchingTargetError(
      'No modules were targeted for adaptation. This might be caused by a combination of mismatched target modules and ' +
        'excluded modules. Please check your `target_modules` and `exclude_modules` configuration. You may also have only ' +
        `targeted modules that are marked to be saved (\`modules_to_save\`).${layerNotes(config)}`,
    );
  }
  const exclude = config.exclude_modules;
  if (exclude !== null && exclude.length > 0 && excludedModules.length === 0) {
    warnings.push(`You have passed exclude_modules=${pythonStr(exclude, { asSet: true })} but no modules were excluded. Please check that exclude_modules was set correctly.`);
  } else if (!dummy) {
    if (resolved !== null && resolved.length > 0 && targetModules.length === 0) {
      warnings.push(`target_modules=${printedTargets(resolved)} were set but no module was matched.`);
    } else if (config.target_parameters !== null && config.target_parameters.length > 0 && targetParameters.length === 0) {
      warnings.push(`target_parameters=${pythonRepr(config.target_parameters)} were set but no parameter was matched.`);
    }
  }
  warnings.push(...unusedPatternWarnings({ rank_pattern: config.rank_pattern ?? {}, alpha_pattern: config.alpha_pattern ?? {} }, targetModules));
  return { targetModules, targetParameters, excludedModules, unmatchedModules, resolvedTargetModules: resolved, warnings };
}
