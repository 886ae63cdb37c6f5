// `node-peft train --nproc N`: starts N local ranks of the same command with the environment torchrun gives its
// workers, forwards signals, and fails fast: the first rank to fail ends the others (SIGTERM, then SIGKILL after a
// grace period) and its exit code is the launcher's, with a line naming the rank.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { availableParallelism, constants } from 'node:os';

export interface LaunchOptions {
  nproc: number;
  /** The node-peft arguments each rank runs (e.g. ['train', '--config', 'train.json']). */
  argv: string[];
  /** Where each rank's problems are reported. */
  err: (line: string) => void;
  masterAddr?: string;
  /** Default: a free port on masterAddr. */
  masterPort?: number;
  /** Grace period between SIGTERM and SIGKILL for the surviving ranks (ms; default 30,000 as torchrun). */
  killAfterMs?: number;
  env?: NodeJS.ProcessEnv;
  /** The script each rank runs (default: this process's own, i.e. node-peft's bin). */
  entry?: string;
}

const FORWARDED_SIGNALS = ['SIGINT', 'SIGTERM', 'SIGHUP', 'SIGQUIT'] as const;

/** A port nobody listens on right now (the store of rank 0 binds it a moment later). */
export async function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** The environment of rank `rank` of `nproc` on this machine, as torchrun sets it. */
export function rankEnvironment(base: NodeJS.ProcessEnv, rank: number, nproc: number, masterAddr: string, masterPort: number): NodeJS.ProcessEnv {
  const threads = base.NODE_PEFT_THREADS || String(Math.max(1, Math.floor(availableParallelism() / nproc)));
  return {
    ...base,
    RANK: String(rank), LOCAL_RANK: String(rank), WORLD_SIZE: String(nproc), LOCAL_WORLD_SIZE: String(nproc),
    GROUP_RANK: '0', MASTER_ADDR: masterAddr, MASTER_PORT: String(masterPort), NODE_PEFT_THREADS: threads,
  };
}

function describeExit(code: number | null, signal: NodeJS.Signals | null): string {
  return signal ? `was killed by ${signal}` : `exited with code ${code}`;
}

/** Runs the ranks to the end; resolves to the launcher's exit code (0 when every rank succeeded). */
export async function launch(options: LaunchOptions): Promise<number> {
  const masterAddr = options.masterAddr ?? '127.0.0.1';
  const masterPort = options.masterPort ?? (await freePort(masterAddr));
  const killAfterMs = options.killAfterMs ?? 30_000;
  const entry = options.entry ?? process.argv[1];
  const ranks: ChildProcess[] = [];
  let failed: { rank: number; code: number } | null = null;
  let killTimer: NodeJS.Timeout | null = null;

  const stopOthers = (signal: NodeJS.Signals): void => {
    for (const child of ranks) if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    killTimer ??= setTimeout(() => {
      for (const child of ranks) if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }, killAfterMs);
  };
  const forward = (signal: NodeJS.Signals) => () => stopOthers(signal);
  const handlers = FORWARDED_SIGNALS.map((signal) => [signal, forward(signal)] as const);
  for (const [signal, handler] of handlers) process.on(signal, handler);

  try {
    const exits = Array.from({ length: options.nproc }, (_, rank) => {
      const child = spawn(process.execPath, [entry, ...options.argv], {
        env: rankEnvironment(options.env ?? process.env, rank, options.nproc, masterAddr, masterPort),
        stdio: rank === 0 ? 'inherit' : ['ignore', 'ignore', 'inherit'],
      });
      ranks.push(child);
      return new Promise<void>((resolve) => {
        child.once('error', (error) => {
          failed ??= { rank, code: 1 };
          options.err(`node-peft: rank ${rank} could not start: ${error.message}`);
          stopOthers('SIGTERM');
          resolve();
        });
        child.once('exit', (code, signal) => {
          if ((code !== 0 || signal) && failed === null) {
            failed = { rank, code: code ?? 128 + (signal ? constants.signals[signal] : 0) };
            options.err(`node-peft: rank ${rank} of ${options.nproc} ${describeExit(code, signal)}; stopping the other ranks`);
            stopOthers('SIGTERM');
          }
          resolve();
        });
      });
    });
    await Promise.all(exits);
  } finally {
    if (killTimer) clearTimeout(killTimer);
    for (const [signal, handler] of handlers) process.off(signal, handler);
  }
  return (failed as { rank: number; code: number } | null)?.code ?? 0;
}
