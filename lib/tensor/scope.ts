// Deterministic freeing: scope(fn) disposes every tensor created inside fn except what fn returns.

export interface Owned {
  dispose(): void;
  readonly disposed: boolean;
}

const scopes: Set<Owned>[] = [];
let isOwned: (value: unknown) => value is Owned = (_value: unknown): _value is Owned => false;

/** lib/tensor/tensor.ts tells the scope machinery what a tensor is. */
export function setOwnedCheck(check: (value: unknown) => value is Owned): void {
  isOwned = check;
}

/** Tensors made while a disposeIfThrows(fn) runs, kept ones (parameters) included. */
const guards: Set<Owned>[] = [];

export function track(value: Owned): void {
  scopes[scopes.length - 1]?.add(value);
  for (const guard of guards) guard.add(value);
}

/**
 * Runs fn (synchronous, e.g. a model constructor); if it throws, every tensor it made is disposed, parameters
 * and other kept tensors included, so a constructor that fails halfway leaks nothing. On success nothing changes.
 */
export function disposeIfThrows<T>(fn: () => T): T {
  const created = new Set<Owned>();
  guards.push(created);
  try {
    return fn();
  } catch (error) {
    for (const t of created) if (!t.disposed) t.dispose();
    throw error;
  } finally {
    guards.splice(guards.indexOf(created), 1);
  }
}

/** Removes a tensor from every open scope so that it outlives them (parameters, caches). */
export function keep<T extends Owned>(value: T): T {
  for (const s of scopes) s.delete(value);
  return value;
}

function collect(value: unknown, into: Set<Owned>, seen: Set<unknown>): void {
  if (value === null || typeof value !== 'object' || seen.has(value)) return;
  seen.add(value);
  if (isOwned(value)) {
    into.add(value);
    return;
  }
  if (Array.isArray(value)) {
    for (const item of value) collect(item, into, seen);
  } else if (value instanceof Map) {
    for (const item of value.values()) collect(item, into, seen);
  } else if (Object.getPrototypeOf(value) === Object.prototype) {
    for (const item of Object.values(value)) collect(item, into, seen);
  }
}

/**
 * Runs fn and disposes every tensor it created, except the tensors in its result (found in arrays,
 * plain objects and Maps), which move to the enclosing scope. fn must be synchronous.
 */
export function scope<T>(fn: () => T): T {
  const created = new Set<Owned>();
  scopes.push(created);
  let result: T;
  try {
    result = fn();
  } catch (error) {
    scopes.pop();
    for (const t of created) if (!t.disposed) t.dispose();
    throw error;
  }
  scopes.pop();
  if (result instanceof Promise) {
    for (const t of created) if (!t.disposed) t.dispose();
    throw new TypeError('scope(fn): fn must be synchronous; tensors made after an await are not tracked');
  }
  const kept = new Set<Owned>();
  collect(result, kept, new Set());
  const parent = scopes[scopes.length - 1];
  for (const t of created) {
    if (kept.has(t)) parent?.add(t);
    else if (!t.disposed) t.dispose();
  }
  return result;
}
