// Every fuzz target. Add one here (a FuzzTarget: a parser plus a seed corpus) and both the bounded run in `npm test`
// and `npm run fuzz` pick it up.
import type { FuzzTarget } from '../harness.js';
import { adapterConfig, modelConfig } from './configs.js';
import { httpGenerate, httpPredict, predictInputs } from './http.js';
import { safetensorsBytes, safetensorsFile } from './safetensors.js';

export const TARGETS: FuzzTarget[] = [safetensorsBytes, safetensorsFile, adapterConfig, modelConfig, predictInputs, httpPredict, httpGenerate];
export { stopServer } from './http.js';
