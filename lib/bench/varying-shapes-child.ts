// A child process of the `cache` workload: runs varyingShapeInference under the allocator its environment chose
// (NODE_PEFT_CPU_CACHE) and prints its JSON object.
import { varyingShapeInference } from './varying-shapes.js';

console.log(JSON.stringify(varyingShapeInference(Number(process.argv[2]) || undefined)));
