// The `torch.distributed` namespace: c10d process groups (Gloo).
export { ProcessGroup, distributedAvailable, type ProcessGroupOptions, type ReduceOp } from './distributed.js';
