import { availableParallelism } from 'node:os';
import { defineConfig } from 'vitest/config';

// One LibTorch thread per test process and one process per core: workers × threads ≤ cores. A thread that loses
// its core to another program then stalls only itself; with one thread per core in each process, a machine kept busy
// by another program made 60 training steps take 90 s instead of 7 s.
const cores = availableParallelism();

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // Native libraries must not share a process across threads: one forked process per test file.
    pool: 'forks',
    maxWorkers: cores,
    env: { NODE_PEFT_THREADS: process.env.NODE_PEFT_THREADS?.trim() || '1' },
    // Work is never timed out: a busy machine makes it slower, not wrong. Speed is measured in `npm run bench`.
    testTimeout: 0,
    hookTimeout: 0,
  },
});
