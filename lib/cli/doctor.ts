// node-peft doctor: which addon binary was loaded (prebuilt or local build), which LibTorch and from where, devices,
// threads, the fp32 GEMM path and the CPU tensor cache; when something is off, what it is and what to do.
import { readFileSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { glibcRuntime, platformKey } from '../native-files.js';
import { findPackageRoot } from '../package-root.js';
import { parseCommandArgs } from './args.js';
import type { Command, CommandIO } from './command.js';

const CACHE_ENV = ['NODE_PEFT_CPU_CACHE', 'NODE_PEFT_CPU_CACHE_MB', 'NODE_PEFT_CPU_CACHE_DECAY_S'];

function packageLine(): { version: string; root: string } {
  const root = findPackageRoot() ?? '?';
  const version = root === '?' ? '?' : (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  return { version, root };
}

function platformLine(): string {
  const glibc = glibcRuntime();
  return `${platformKey()}${glibc ? ` (glibc ${glibc})` : ''}, Node.js ${process.versions.node} (N-API ${process.versions.napi})`;
}

type GemmReport = { path: string; setting: string; reason: string; shape: string; gflops: { mkl: number; onednn: number | null } } |
  { problem: string };

/** The fp32 GEMM path chosen for frozen Linear weights, and what each path does at auto's probe shape. */
function gemmReport(torch: typeof import('../tensor/index.js')): GemmReport {
  try {
    const choice = torch.gemmChoice();
    const { m, k, n, rounds } = torch.GEMM_PROBE;
    const rates = choice.probe ?? torch.measureGemm(m, k, n, rounds);
    return { path: choice.path, setting: choice.setting, reason: choice.reason, shape: `${m}x${k}x${n}`, gflops: rates };
  } catch (error) {
    return { problem: error instanceof Error ? error.message : String(error) };
  }
}

function gemmLine(gemm: GemmReport): string {
  if ('problem' in gemm) return `problem: ${gemm.problem}`;
  const rate = (v: number | null): string => (v === null ? 'not in this LibTorch' : `${v.toFixed(0)} GFLOP/s`);
  const how = gemm.setting === 'auto' ? 'auto, by measurement' : `NODE_PEFT_GEMM=${gemm.setting}`;
  return `${gemm.path === 'onednn' ? 'oneDNN' : 'MKL'} for frozen fp32 Linear weights (${how}); at ${gemm.shape}: ` +
    `MKL ${rate(gemm.gflops.mkl)}, oneDNN ${rate(gemm.gflops.onednn)}`;
}

function reportFailure(error: unknown, json: boolean, io: CommandIO): number {
  const message = error instanceof Error ? error.message : String(error);
  const pkg = packageLine();
  if (json) {
    io.out(JSON.stringify({ ok: false, package: pkg, platform: platformLine(), problem: message }, null, 2));
  } else {
    io.out(`node-peft  ${pkg.version} (${pkg.root})`);
    io.out(`platform   ${platformLine()}`);
    io.out('problem    the native addon or LibTorch did not load:');
    for (const line of message.split('\n')) io.out(`  ${line}`);
  }
  return 1;
}

export const doctorCommand: Command = {
  name: 'doctor',
  usage: 'usage: node-peft doctor [--json]\n  Loads the addon and LibTorch and reports which binary and LibTorch (and from where), ' +
    'devices, threads, the fp32 GEMM path (MKL or oneDNN, with both rates) and the CPU tensor cache; when loading fails, what is wrong and what to do.',
  async run(argv, io) {
    const { values } = parseCommandArgs('doctor', argv, { json: { type: 'boolean' } });
    const json = values.json === true;
    let torch: typeof import('../tensor/index.js');
    try {
      ({ torch } = await import('../index.js'));
    } catch (error) {
      return reportFailure(error, json, io);
    }
    const native = torch.nativeInfo();
    const versions = torch.versions();
    const cudaDevices = torch.cuda.isAvailable() ? torch.cuda.deviceCount() : 0;
    const report = {
      ok: true,
      package: packageLine(),
      platform: platformLine(),
      binary: native.binary,
      libtorch: native.libtorch,
      libtorchPath: versions.libtorchPath,
      node: versions.node,
      napi: versions.napi,
      devices: ['cpu', ...Array.from({ length: cudaDevices }, (_, i) => `cuda:${i}`)],
      threads: torch.getNumThreads(),
      cores: availableParallelism(),
      threadsFromEnv: process.env.NODE_PEFT_THREADS || null,
      cpuCache: torch.cpuCacheStats() !== null,
      cpuCacheFromEnv: Object.fromEntries(CACHE_ENV.filter((name) => process.env[name] !== undefined).map((name) => [name, process.env[name]])),
      bf16Gemm: torch.bf16Gemm(),
      cpuHasBf16Dot: torch.cpuHasBf16Dot(),
    };
    const gemm = gemmReport(torch);
    // A real op proves the library works, not just that it loaded.
    const check = torch.scope(() => torch.ones([2, 2]).matmul(torch.ones([2, 2])).sum().item());
    if (json) {
      io.out(JSON.stringify({ ...report, gemm, matmulCheck: check === 8 }, null, 2));
    } else {
      const { binary, libtorch } = report;
      io.out(`node-peft  ${report.package.version} (${report.package.root})`);
      io.out(`platform   ${report.platform}`);
      io.out(`binary     ${binary.kind}: ${binary.path}${binary.glibcFloor ? ` (needs glibc >= ${binary.glibcFloor})` : ''}`);
      io.out(`LibTorch   ${libtorch.version}${libtorch.cuda ? ' (CUDA build)' : ' (CPU)'} from ${libtorch.source}`);
      io.out(`path       ${libtorch.libDir}`);
      io.out(`devices    ${report.devices.join(', ')}${cudaDevices === 0 ? ' (no CUDA)' : ''}`);
      io.out(`threads    ${report.threads} intra-op on ${report.cores} cores${report.threadsFromEnv ? ` (NODE_PEFT_THREADS=${report.threadsFromEnv})` : ''}`);
      const cacheEnv = Object.entries(report.cpuCacheFromEnv).map(([k, v]) => `${k}=${v}`).join(', ');
      io.out(`cpu cache  ${report.cpuCache ? 'on (blocks of 128 KiB and more are reused)' : 'off'}${cacheEnv ? ` (${cacheEnv})` : ''}`);
      io.out(`gemm       ${gemmLine(gemm)}`);
      const bf16Why = report.cpuHasBf16Dot ? 'the CPU has bf16 dot products' : 'no bf16 dot products on this CPU';
      io.out(`bf16 gemm  ${report.bf16Gemm === 'fp32' ? 'widened to fp32 sgemm' : "ATen's bf16 GEMM"} (${bf16Why}${process.env.NODE_PEFT_BF16_GEMM ? `; NODE_PEFT_BF16_GEMM=${process.env.NODE_PEFT_BF16_GEMM}` : ''})`);
      io.out(`check      ones(2,2) @ ones(2,2) sums to ${check}: ${check === 8 ? 'ok' : 'WRONG: reinstall LibTorch or rebuild with "npx node-peft build"'}`);
    }
    return check === 8 && !('problem' in gemm) ? 0 : 1;
  },
};
