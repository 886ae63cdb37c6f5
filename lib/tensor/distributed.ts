// Process groups over PyTorch's own c10d engine (native/distributed.cc): a TCPStore rendezvous and a Gloo group,
// configured as torchrun configures its workers. Collectives block the calling thread until every rank took part,
// or throw once the group's timeout passes (a peer that died or hangs is an error, never a silent hang).
import { hostname as osHostname } from 'node:os';
import { N, type Handle } from '../binding.js';
import { TorchError } from '../errors.js';
import { isFloating } from './dtype.js';
import { Tensor } from './tensor.js';

export type ReduceOp = 'sum' | 'avg' | 'max' | 'min' | 'product';

export interface ProcessGroupOptions {
  rank: number;
  worldSize: number;
  /** Where rank 0 (or a torchrun agent) hosts the TCPStore. Default 127.0.0.1. */
  masterAddr?: string;
  /** Default 29500, as torchrun. */
  masterPort?: number;
  /** true: every rank is a client of a store the launcher hosts (torchrun's TORCHELASTIC_USE_AGENT_STORE). */
  agentStore?: boolean;
  /** Timeout of each collective and of joining the group, in ms (default 600,000). */
  timeoutMs?: number;
  /** Timeout of store operations, in ms (default 300,000, as c10d). */
  storeTimeoutMs?: number;
  /** Key namespace in the store (default node-peft/<restart count>/, so a restart never reads stale addresses). */
  prefix?: string;
  /** The address this rank's Gloo device binds (default: the master address when it is loopback, else this host). */
  hostname?: string;
}

const DEFAULT_TIMEOUT_MS = 600_000;
const DEFAULT_STORE_TIMEOUT_MS = 300_000;
/** DDP's default bucket cap (25 MiB). */
const BUCKET_BYTES = 25 * 1024 * 1024;

function integerIn(value: unknown, min: number, max: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw new TorchError(`ProcessGroup: ${what}: expected an integer in ${min}..${max}, got ${JSON.stringify(value)}`);
  }
  return value;
}

function envInteger(env: NodeJS.ProcessEnv, name: string, fallback?: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback !== undefined) return fallback;
    throw new TorchError(`ProcessGroup.fromEnv: ${name} is not set (launch with node-peft train --nproc N, torchrun, or set RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT)`);
  }
  const value = Number(raw);
  if (!Number.isInteger(value) || value < 0) throw new TorchError(`ProcessGroup.fromEnv: ${name}=${raw} is not a non-negative integer`);
  return value;
}

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|localhost|::1)$/;

/** True when this build has Gloo (data-parallel training); see docs/distributed.md for building it in. */
export function distributedAvailable(): boolean {
  return N.distHasGloo() as boolean;
}

export class ProcessGroup {
  readonly rank: number;
  readonly worldSize: number;
  readonly timeoutMs: number;
  #id: number | null;

  private constructor(id: number, rank: number, worldSize: number, timeoutMs: number) {
    this.#id = id;
    this.rank = rank;
    this.worldSize = worldSize;
    this.timeoutMs = timeoutMs;
  }

  /** Joins the group: blocks until all `worldSize` ranks joined, or throws after the timeout. */
  static init(options: ProcessGroupOptions): ProcessGroup {
    const worldSize = integerIn(options.worldSize, 1, 1 << 20, 'worldSize');
    const rank = integerIn(options.rank, 0, worldSize - 1, 'rank');
    const masterAddr = options.masterAddr ?? '127.0.0.1';
    const masterPort = integerIn(options.masterPort ?? 29500, 1, 65535, 'masterPort');
    const timeoutMs = integerIn(options.timeoutMs ?? DEFAULT_TIMEOUT_MS, 1, 2 ** 31 - 1, 'timeoutMs');
    const storeTimeoutMs = integerIn(options.storeTimeoutMs ?? DEFAULT_STORE_TIMEOUT_MS, 1, 2 ** 31 - 1, 'storeTimeoutMs');
    const hostname = options.hostname ?? (LOOPBACK.test(masterAddr) ? '127.0.0.1' : '');
    const prefix = options.prefix ?? `node-peft/${process.env.TORCHELASTIC_RESTART_COUNT ?? '0'}/`;
    const isStoreServer = !options.agentStore && rank === 0;
    const id = N.distInit(masterAddr, masterPort, rank, worldSize, isStoreServer, prefix, storeTimeoutMs, timeoutMs,
      hostname || osHostname()) as number;
    return new ProcessGroup(id, rank, worldSize, timeoutMs);
  }

  /** Joins the group described by the variables torchrun (and `node-peft train --nproc`) sets. */
  static fromEnv(env: NodeJS.ProcessEnv = process.env, options: Partial<ProcessGroupOptions> = {}): ProcessGroup {
    const timeoutFromEnv = env.NODE_PEFT_DIST_TIMEOUT_MS ? envInteger(env, 'NODE_PEFT_DIST_TIMEOUT_MS') : undefined;
    return ProcessGroup.init({
      rank: envInteger(env, 'RANK'),
      worldSize: envInteger(env, 'WORLD_SIZE'),
      masterAddr: env.MASTER_ADDR || '127.0.0.1',
      masterPort: envInteger(env, 'MASTER_PORT', 29500),
      agentStore: env.TORCHELASTIC_USE_AGENT_STORE === 'True',
      timeoutMs: timeoutFromEnv,
      ...options,
    });
  }

  get #handle(): number {
    if (this.#id === null) throw new TorchError('ProcessGroup was used after destroy()');
    return this.#id;
  }

  /** Reduces the tensors across ranks in place (CPU tensors; bucketed, one collective per bucket). */
  allReduce(tensors: readonly Tensor[], op: ReduceOp = 'sum'): void {
    if (tensors.length === 0) return;
    const integral = op === 'avg' ? tensors.findIndex((t) => !isFloating(t.dtype)) : -1;
    if (integral >= 0) throw new TorchError(`allReduce: 'avg' needs floating-point tensors; tensor ${integral} is ${tensors[integral].dtype}`);
    // Gloo has no AVG: divide first, then sum (DDP's order, so rounding matches it).
    const [nativeOp, divisor] = op === 'avg' ? ['sum', this.worldSize] : [op, 1];
    N.distAllReduce(this.#handle, tensors.map((t) => t.handle), nativeOp, divisor, BUCKET_BYTES, this.timeoutMs);
  }

  /** Copies rank `root`'s tensors into every rank's tensors of the same shapes, in place. */
  broadcast(tensors: readonly Tensor[], root = 0): void {
    if (tensors.length === 0) return;
    N.distBroadcast(this.#handle, tensors.map((t) => t.handle), root, BUCKET_BYTES, this.timeoutMs);
  }

  /** Every rank's `tensor` (same shape and dtype on all ranks), in rank order: new tensors, the caller's to free. */
  allGather(tensor: Tensor): Tensor[] {
    return (N.distAllGather(this.#handle, tensor.handle, this.timeoutMs) as Handle[]).map((h) => new Tensor(h));
  }

  barrier(): void {
    N.distBarrier(this.#handle, this.timeoutMs);
  }

  /** Leaves the group (closes its connections). */
  destroy(): void {
    if (this.#id === null) return;
    N.distDestroy(this.#id);
    this.#id = null;
  }

  [Symbol.dispose](): void {
    this.destroy();
  }
}

