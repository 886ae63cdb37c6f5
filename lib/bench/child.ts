// The child process of `node-peft bench`: runs one workload in a fresh process (so its peak RSS is its own)
// and prints its rows as one JSON array. argv: <workload> <steps> <threads|0>.
import { WORKLOADS, type WorkloadName } from './args.js';
import { runWorkloadRows } from './run.js';

const [name, steps, threads] = process.argv.slice(2);
if (!(WORKLOADS as readonly string[]).includes(name)) {
  console.error(`bench child: unknown workload '${name}'`);
  process.exit(2);
}
const rows = await runWorkloadRows(name as WorkloadName, Number(steps), Number(threads) > 0 ? Number(threads) : null);
console.log(JSON.stringify(rows));
