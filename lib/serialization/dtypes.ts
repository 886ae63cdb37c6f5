// The safetensors dtype names, their sizes in bits, and the node-peft dtypes they map to.
import type { DType } from '../tensor/dtype.js';

/** Every dtype the format defines, in the reference's enum order (the writer sorts by it, descending). */
export const SAFETENSORS_DTYPES = [
  'BOOL', 'F4', 'F6_E2M3', 'F6_E3M2', 'U8', 'I8', 'F8_E5M2', 'F8_E4M3', 'F8_E8M0', 'F8_E4M3FNUZ', 'F8_E5M2FNUZ',
  'I16', 'U16', 'F16', 'BF16', 'I32', 'U32', 'F32', 'C64', 'F64', 'I64', 'U64',
] as const;

export type SafetensorsDtype = (typeof SAFETENSORS_DTYPES)[number];

const BITS: Record<SafetensorsDtype, number> = {
  BOOL: 8, F4: 4, F6_E2M3: 6, F6_E3M2: 6, U8: 8, I8: 8, F8_E5M2: 8, F8_E4M3: 8, F8_E8M0: 8, F8_E4M3FNUZ: 8,
  F8_E5M2FNUZ: 8, I16: 16, U16: 16, F16: 16, BF16: 16, I32: 32, U32: 32, F32: 32, C64: 64, F64: 64, I64: 64, U64: 64,
};

const TO_TENSOR: Partial<Record<SafetensorsDtype, DType>> = {
  F64: 'float64', F32: 'float32', F16: 'float16', BF16: 'bfloat16',
  I64: 'int64', I32: 'int32', I16: 'int16', I8: 'int8', U8: 'uint8', BOOL: 'bool',
};

const FROM_TENSOR: Record<DType, SafetensorsDtype> = {
  float64: 'F64', float32: 'F32', float16: 'F16', bfloat16: 'BF16',
  int64: 'I64', int32: 'I32', int16: 'I16', int8: 'I8', uint8: 'U8', bool: 'BOOL',
};

export function isSafetensorsDtype(name: string): name is SafetensorsDtype {
  return Object.hasOwn(BITS, name);
}

export function dtypeBits(dtype: SafetensorsDtype): number {
  return BITS[dtype];
}

/** Position in the enum; the writer orders tensors by it, highest first. */
export function alignmentRank(dtype: SafetensorsDtype): number {
  return SAFETENSORS_DTYPES.indexOf(dtype);
}

/** The node-peft dtype for a safetensors dtype, or null when node-peft has no tensor of that kind. */
export function tensorDtypeOf(dtype: SafetensorsDtype): DType | null {
  return TO_TENSOR[dtype] ?? null;
}

export function safetensorsDtypeOf(dtype: DType): SafetensorsDtype {
  return FROM_TENSOR[dtype];
}

/** The dtypes node-peft can load into tensors. */
export const LOADABLE_DTYPES: readonly SafetensorsDtype[] = Object.keys(TO_TENSOR) as SafetensorsDtype[];
