// Argument checks for layer constructors: each error names the argument, what was expected and what was got.
import { TorchError } from '../errors.js';

function got(value: unknown): string {
  return typeof value === 'string' ? JSON.stringify(value) : String(value);
}

export function checkPositiveInt(layer: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) {
    throw new TorchError(`${layer}: ${name} must be a positive integer, got ${got(value)}`);
  }
  return value;
}

export function checkNonNegativeInt(layer: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TorchError(`${layer}: ${name} must be a non-negative integer, got ${got(value)}`);
  }
  return value;
}

export function checkProbability(layer: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value >= 0 && value <= 1)) {
    throw new TorchError(`${layer}: ${name} must be a probability between 0 and 1, got ${got(value)}`);
  }
  return value;
}

export function checkPositiveNumber(layer: string, name: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0)) {
    throw new TorchError(`${layer}: ${name} must be a positive number, got ${got(value)}`);
  }
  return value;
}

/** An int or a pair of ints, as PyTorch's _pair; returns the pair. */
export function checkPair(layer: string, name: string, value: unknown, min: number): [number, number] {
  const pair = typeof value === 'number' ? [value, value] : value;
  if (!Array.isArray(pair) || pair.length !== 2 || pair.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
    throw new TorchError(`${layer}: ${name} must be an integer >= ${min} or a pair of them, got ${Array.isArray(value) ? JSON.stringify(value) : got(value)}`);
  }
  return [pair[0], pair[1]];
}

/** An int or a triple of ints, as PyTorch's _triple; returns the triple. */
export function checkTriple(layer: string, name: string, value: unknown, min: number): [number, number, number] {
  const triple = typeof value === 'number' ? [value, value, value] : value;
  if (!Array.isArray(triple) || triple.length !== 3 || triple.some((v) => typeof v !== 'number' || !Number.isInteger(v) || v < min)) {
    throw new TorchError(`${layer}: ${name} must be an integer >= ${min} or a triple of them, got ${Array.isArray(value) ? JSON.stringify(value) : got(value)}`);
  }
  return triple as [number, number, number];
}
