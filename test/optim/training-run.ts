// Builds the training runs of test/fixtures/nn/optim.json (model, optimizer, groups, schedule) as the Python script does.
import { optim, torch, type Tensor } from '../../lib/index.js';
import { convLoss, fromFixture, mlpLoss, readFixture, type TensorFixture, TinyConvNet, TinyMLP } from '../nn/tiny-models.js';

export interface Run {
  name: string;
  model: 'mlp' | 'conv';
  optimizer: 'adamw' | 'sgd';
  options: Record<string, number | boolean | number[]>;
  groups?: { select: 'decay' | 'no_decay'; options?: Record<string, number> }[];
  clip?: number;
  schedule?: { kind: string; num_warmup_steps: number; num_training_steps?: number };
  losses: number[];
  grad_norms: number[];
  lrs: number[][];
  final_state_param0: Record<string, number[] | number>;
}

export const { runs } = readFixture<{ runs: Run[] }>('optim.json');
const models = readFixture<Record<'mlp' | 'conv', { input: TensorFixture; labels: number[] }>>('models.json');
const camel = (options: Record<string, unknown>) =>
  Object.fromEntries(Object.entries(options).map(([k, v]) => [k.replace(/_([a-z])/g, (_, c: string) => c.toUpperCase()), v]));

/** A fresh seeded model with its optimizer and schedule; trainStep() does one step as the Python script does. */
export function setUp(run: Run) {
  torch.manualSeed(0);
  const model = run.model === 'mlp' ? new TinyMLP() : new TinyConvNet();
  model.eval();
  const named = model.namedParameters();
  const params = run.groups
    ? run.groups.map((g) => ({ params: named.filter(([, p]) => (p.ndim >= 2) === (g.select === 'decay')), ...camel(g.options ?? {}) }))
    : named;
  const options = camel(run.options);
  const optimizer = run.optimizer === 'adamw' ? new optim.AdamW(params, options) : new optim.SGD(params, options);
  const s = run.schedule;
  const schedule = !s ? null
    : s.kind === 'cosine' ? optim.getCosineScheduleWithWarmup(optimizer, { numWarmupSteps: s.num_warmup_steps, numTrainingSteps: s.num_training_steps as number })
    : s.kind === 'linear' ? optim.getLinearScheduleWithWarmup(optimizer, { numWarmupSteps: s.num_warmup_steps, numTrainingSteps: s.num_training_steps as number })
    : optim.getConstantScheduleWithWarmup(optimizer, { numWarmupSteps: s.num_warmup_steps });
  const input = fromFixture(models[run.model].input);
  const labels = torch.tensor(BigInt64Array.from(models[run.model].labels.map(BigInt)));
  const lossOf = (): Tensor => (model instanceof TinyMLP ? mlpLoss(model.forward(input), labels) : convLoss((model as TinyConvNet).forward(input), labels));
  /** One training step as the Python script does it; returns [loss, clipped norm or null, lrs before the step]. */
  const trainStep = (): [number, number | null, number[]] =>
    torch.scope(() => {
      optimizer.zeroGrad();
      const loss = lossOf();
      loss.backward();
      const norm = run.clip === undefined ? null : optim.clipGradNorm(model.parameters(), run.clip);
      const lrs = optimizer.paramGroups.map((g) => g.lr);
      optimizer.step();
      schedule?.step();
      return [loss.item(), norm, lrs];
    });
  const dispose = () => {
    optimizer.dispose();
    model.dispose();
    input.dispose();
    labels.dispose();
  };
  return { model, optimizer, schedule, trainStep, dispose };
}
