// Text end to end, offline: a tiny Llama-style chat model (shipped in examples/text/base, pretrained by
// make_base.py on tasks around dates but never on this one) learns with LoRA to rewrite day/month/year dates
// (5/3/2021, 5.3.2021, 05/03/2021) as YYYY-MM-DD from a chat JSONL file; base and adapter answers and accuracy before/after are printed; then the saved adapter is
// loaded onto a fresh base, as a server would, and answers a streamed request.
//   npm run example:text            (node dist/examples/text/run.js [outDir])
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AutoTokenizer, getPeftModel, loadSftDataset, LoraConfig, models, optim, PeftModel, type PreTrainedTokenizer, readJsonl, sftTensors, torch, train,
} from '../../lib/index.js';

const EXAMPLE = fileURLToPath(new URL('../../../examples/text/', import.meta.url)); // run from dist/examples/text/
const baseDir = join(EXAMPLE, 'base');
const dataDir = join(EXAMPLE, 'data');
const [outDir = 'out/text-example'] = process.argv.slice(2);
torch.setNumThreads(Math.min(2, torch.getNumThreads()));
const started = Date.now();
const seconds = (): string => `${((Date.now() - started) / 1000).toFixed(1)}s`;

interface Case { question: string; answer: string }
const evalCases: Case[] = readJsonl(join(dataDir, 'eval.jsonl')).map(({ value }) => {
  const [user, assistant] = (value as { messages: { content: string }[] }).messages;
  return { question: user.content, answer: assistant.content };
});

async function answers(model: models.CausalLM, tokenizer: PreTrainedTokenizer): Promise<string[]> {
  const chats = evalCases.map((c) => [{ role: 'user', content: c.question }]);
  const texts = await models.generate(model, chats, { tokenizer, maxNewTokens: 12 });
  return texts.map((t) => t.trim());
}
const accuracy = (got: string[]): number => got.filter((a, i) => a === evalCases[i].answer).length / got.length;
const percent = (x: number): string => `${(x * 100).toFixed(1)}%`;

const tokenizer = await AutoTokenizer.fromPretrained(baseDir);
const base = await models.fromPretrained(baseDir);
console.log(`base model: ${baseDir}; ${evalCases.length} held-out dates`);
const before = await answers(base, tokenizer);
console.log(`base accuracy: ${percent(accuracy(before))} [${seconds()}]`);

// LoRA on every linear layer, trained on chat rows with the loss on the assistant's answer only (as TRL)
const examples = loadSftDataset(join(dataDir, 'train.jsonl'), tokenizer, { maxLength: 64 });
const data = sftTensors(examples, tokenizer);
torch.manualSeed(0);
const peft = getPeftModel(base, new LoraConfig({
  r: 16, lora_alpha: 32, lora_dropout: 0, target_modules: ['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj'],
}));
peft.printTrainableParameters();
const steps = 200;
const optimizer = new optim.AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: 5e-3, weightDecay: 0 });
const scheduler = optim.getCosineScheduleWithWarmup(optimizer, { numWarmupSteps: 10, numTrainingSteps: steps });
const result = train.train({
  model: peft, optimizer, scheduler, steps, maxGradNorm: 1, logEvery: 50, progress: false,
  data: new train.DataLoader(data, { batchSize: 16, seed: 1 }),
  onStep: (step, loss) => step % 50 === 0 && console.log(`  step ${step}: loss ${loss.toFixed(4)} [${seconds()}]`),
});
console.log(`trained ${result.step} steps [${seconds()}]`);
const after = await answers(peft, tokenizer);

console.log('\nquestion                                         expected     base          adapter');
for (let i = 0; i < 6; i++) {
  const q = evalCases[i].question.replace(/^.*: /, '');
  console.log(`${q.padEnd(48)} ${evalCases[i].answer.padEnd(12)} ${JSON.stringify(before[i]).padEnd(13)} ${JSON.stringify(after[i])}`);
}
const margin = accuracy(after) - accuracy(before);
console.log(`\naccuracy on ${evalCases.length} held-out dates: base ${percent(accuracy(before))} -> adapter ${percent(accuracy(after))} (+${(margin * 100).toFixed(1)} points)`);

// Serving: the adapter saved as PEFT writes it, loaded onto a fresh base model, answering a streamed request.
const adapterDir = join(outDir, 'adapter');
await peft.savePretrained(adapterDir);
optimizer.dispose();
for (const t of Object.values(data)) t.dispose();
peft.dispose();
const served = await PeftModel.fromPretrained(await models.fromPretrained(baseDir), adapterDir);
const request = [{ role: 'user', content: 'Rewrite the day/month/year date as YYYY-MM-DD: 4/7/1976' }];
process.stdout.write(`\nserved from ${adapterDir}: "${request[0].content}" -> `);
for await (const chunk of models.streamText(served, request, { tokenizer, maxNewTokens: 12 })) process.stdout.write(chunk);
process.stdout.write(`\n[${seconds()} in all]\n`);
served.dispose();
if (margin < 0.3) {
  console.error(`the adapter should beat the base model by 30 points or more; it did by ${(margin * 100).toFixed(1)}`);
  process.exitCode = 1;
}
