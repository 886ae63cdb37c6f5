// Fine-tune a ViT with LoRA at a new image size, in a Node script.
//   npm run demo                      (makes out/demo/base-8px, a ViT trained on 8x8 digits)
//   node dist/examples/finetune.js    (fine-tunes it at 16x16 and saves the adapter to out/example/adapter)
import { getPeftModel, LoraConfig, models, optim, torch, train } from '../lib/index.js';

const [baseDir = 'out/demo/base-8px', outDir = 'out/example'] = process.argv.slice(2);
torch.setNumThreads(1); // a model this small runs fastest on one thread

const model = await models.fromPretrained<models.ViTForImageClassification>(baseDir);
model.resizeImageSize(16); // position embeddings interpolated from 4x4 to 8x8 patches

const { train: trainSet, test: testSet } = train.digitsSplit();
const at16 = (images: torch.Tensor) => train.resizeImages(images, 16);
const trainData = new train.DataLoader({ pixel_values: at16(trainSet.pixel_values), labels: trainSet.labels }, { batchSize: 64, seed: 1 });
const testData = new train.DataLoader({ pixel_values: at16(testSet.pixel_values), labels: testSet.labels }, { batchSize: 512, shuffle: false });

const peft = getPeftModel(model, new LoraConfig({
  r: 8, lora_alpha: 16, target_modules: ['q_proj', 'v_proj'], modules_to_save: ['classifier', 'position_embeddings'],
}));
peft.printTrainableParameters();

const optimizer = new optim.AdamW(peft.namedParameters().filter(([, p]) => p.requiresGrad), { lr: 3e-3, weightDecay: 0 });
const scheduler = optim.getCosineScheduleWithWarmup(optimizer, { numWarmupSteps: 10, numTrainingSteps: 200 });
const result = train.train({
  model: peft, optimizer, scheduler, data: trainData, steps: 200, maxGradNorm: 1,
  evalData: testData, evalEvery: 50, metrics: `${outDir}/metrics.jsonl`, outputDir: `${outDir}/checkpoints`, checkpointEvery: 100,
  overwriteOutputDir: true, // each run of the example starts afresh (without it, an earlier run's checkpoints are refused)
});
console.log(`test accuracy: ${(train.evaluate(peft, testData).accuracy * 100).toFixed(2)}% after ${result.step} steps`);
await peft.savePretrained(`${outDir}/adapter`);
console.log(`adapter saved to ${outDir}/adapter`);
