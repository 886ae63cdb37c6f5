// ViT module names across transformers eras. transformers 5 renamed the encoder in memory
// (vit.encoder.layer.N.attention.attention.query → vit.layers.N.attention.q_proj, ...) but still reads and
// writes model.safetensors under the old names. These functions convert any dotted name, whatever follows
// the module path (".weight", ".lora_A.weight", ...), and leave every other name alone.

/** Legacy (transformers 4 / on-disk) → current (transformers 5 in-memory), applied in this order. */
const TO_CURRENT: [RegExp, string][] = [
  [/(^|\.)vit\.encoder\.layer\.(\d+)\./, '$1vit.layers.$2.'],
  [/(^|\.)(vit\.layers\.\d+\.)attention\.attention\.query(\.|$)/, '$1$2attention.q_proj$3'],
  [/(^|\.)(vit\.layers\.\d+\.)attention\.attention\.key(\.|$)/, '$1$2attention.k_proj$3'],
  [/(^|\.)(vit\.layers\.\d+\.)attention\.attention\.value(\.|$)/, '$1$2attention.v_proj$3'],
  [/(^|\.)(vit\.layers\.\d+\.)attention\.output\.dense(\.|$)/, '$1$2attention.o_proj$3'],
  [/(^|\.)(vit\.layers\.\d+\.)intermediate\.dense(\.|$)/, '$1$2mlp.fc1$3'],
  [/(^|\.)(vit\.layers\.\d+\.)output\.dense(\.|$)/, '$1$2mlp.fc2$3'],
];

/** Current → legacy: the inverse of TO_CURRENT. */
const TO_LEGACY: [RegExp, string][] = [
  [/(^|\.)(vit\.layers\.\d+\.)attention\.q_proj(\.|$)/, '$1$2attention.attention.query$3'],
  [/(^|\.)(vit\.layers\.\d+\.)attention\.k_proj(\.|$)/, '$1$2attention.attention.key$3'],
  [/(^|\.)(vit\.layers\.\d+\.)attention\.v_proj(\.|$)/, '$1$2attention.attention.value$3'],
  [/(^|\.)(vit\.layers\.\d+\.)attention\.o_proj(\.|$)/, '$1$2attention.output.dense$3'],
  [/(^|\.)(vit\.layers\.\d+\.)mlp\.fc1(\.|$)/, '$1$2intermediate.dense$3'],
  [/(^|\.)(vit\.layers\.\d+\.)mlp\.fc2(\.|$)/, '$1$2output.dense$3'],
  [/(^|\.)vit\.layers\.(\d+)\./, '$1vit.encoder.layer.$2.'],
];

function rewrite(name: string, rules: [RegExp, string][]): string {
  return rules.reduce((out, [pattern, replacement]) => out.replace(pattern, replacement), name);
}

/** A ViT name in transformers 5's in-memory form (legacy names converted; current names unchanged). */
export function vitNameToCurrent(name: string): string {
  return rewrite(name, TO_CURRENT);
}

/** A ViT name in the legacy form transformers 4 uses in memory and both eras use on disk. */
export function vitNameToLegacy(name: string): string {
  return rewrite(name, TO_LEGACY);
}

/** Leaf module names that changed (legacy → current); 'dense' is absent because it became o_proj, fc1 or fc2. */
export const VIT_LEAF_RENAMES: Readonly<Record<string, string>> = Object.freeze({ query: 'q_proj', key: 'k_proj', value: 'v_proj' });
