// Load time, encode speed and id equality of node-peft's tokenizer on the full-size tokenizer big_tokenizer.py wrote.
import { readFileSync } from 'node:fs';
import { PreTrainedTokenizer } from '../../dist/lib/text/index.js';

const dir = '/tmp/node-peft-big-tokenizer';
let started = performance.now();
const tokenizer = PreTrainedTokenizer.fromDirectory(dir);
const loadMs = performance.now() - started;
const { snippets, ids } = JSON.parse(readFileSync(`${dir}/expected.json`, 'utf8'));
started = performance.now();
const ours = snippets.map((s) => tokenizer.encode(s));
const seconds = (performance.now() - started) / 1000;
const equal = ours.filter((row, i) => JSON.stringify(row) === JSON.stringify(ids[i])).length;
const decoded = snippets.filter((s, i) => tokenizer.decode(ours[i], { skipSpecialTokens: true }) === s).length;
const kb = snippets.reduce((n, s) => n + s.length, 0) / 1024;
console.log(`vocab ${tokenizer.vocabSize}: load ${loadMs.toFixed(0)} ms, encode ${(kb / seconds).toFixed(0)} KB/s (first pass, cold caches), `
  + `${equal}/${snippets.length} snippets id-equal to transformers, ${decoded}/${snippets.length} decode back exactly`);
