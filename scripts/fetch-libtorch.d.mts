export const DEFAULT_INDEX: string;
export class FetchError extends Error {}
export function wheelLinks(html: string, indexUrl: string): { url: string; name: string }[];
export function resolveSource(env?: Record<string, string | undefined>): Promise<{ url: string; sha256: string; checksumFrom: string }>;
export function payloadPath(entryName: string): string | null;
export function fetchLibTorch(options?: { env?: Record<string, string | undefined>; force?: boolean; log?: (line: string) => void }): Promise<unknown>;
export function cacheEntries(): string[];
