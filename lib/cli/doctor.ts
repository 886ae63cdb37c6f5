// node-peft doctor: which LibTorch was found and loaded, its version and path, devices, threads and the CPU tensor cache.
import { availableParallelism } from 'node:os';
import { parseCommandArgs } from './args.js';
import type { Command } from './command.js';

const CACHE_ENV = ['NODE_PEFT_CPU_CACHE', 'NODE_PEFT_CPU_CACHE_MB', 'NODE_PEFT_CPU_CACHE_DECAY_S'];

export const doctorCommand: Command = {
  name: 'doctor',
  usage: 'usage: node-peft doctor [--json]\n  Loads LibTorch and reports its version, path, devices, threads and CPU tensor cache.',
  async run(argv, io) {
    const { values } = parseCommandArgs('doctor', argv, { json: { type: 'boolean' } });
    const { torch } = await import('../index.js');
    const versions = torch.versions();
    const cudaDevices = torch.cuda.isAvailable() ? torch.cuda.deviceCount() : 0;
    const report = {
      libtorch: versions.libtorch,
      libtorchPath: versions.libtorchPath,
      node: versions.node,
      napi: versions.napi,
      devices: ['cpu', ...Array.from({ length: cudaDevices }, (_, i) => `cuda:${i}`)],
      threads: torch.getNumThreads(),
      cores: availableParallelism(),
      threadsFromEnv: process.env.NODE_PEFT_THREADS ?? null,
      cpuCache: torch.cpuCacheStats() !== null,
      cpuCacheFromEnv: Object.fromEntries(CACHE_ENV.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]])),
    };
    // A real op proves the library works, not just that it loaded.
    const check = torch.scope(() => torch.ones([2, 2]).matmul(torch.ones([2, 2])).sum().item());
    if (values.json) {
      io.out(JSON.stringify({ ...report, matmulCheck: check === 8 }, null, 2));
    } else {
      io.out(`LibTorch   ${report.libtorch}`);
      io.out(`path       ${report.libtorchPath}`);
      io.out(`Node.js    ${report.node} (N-API ${report.napi})`);
      io.out(`devices    ${report.devices.join(', ')}${cudaDevices === 0 ? ' (no CUDA)' : ''}`);
      io.out(`threads    ${report.threads} intra-op on ${report.cores} cores${report.threadsFromEnv ? ` (NODE_PEFT_THREADS=${report.threadsFromEnv})` : ''}`);
      const cacheEnv = Object.entries(report.cpuCacheFromEnv).map(([k, v]) => `${k}=${v}`).join(', ');
      io.out(`cpu cache  ${report.cpuCache ? 'on (blocks of 128 KiB and more are reused)' : 'off'}${cacheEnv ? ` (${cacheEnv})` : ''}`);
      io.out(`check      ones(2,2) @ ones(2,2) sums to ${check}: ${check === 8 ? 'ok' : 'WRONG'}`);
    }
    return check === 8 ? 0 : 1;
  },
};
