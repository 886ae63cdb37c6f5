export function neededVersions(path: string): Record<string, string[]>;
export function highestVersion(path: string, prefix?: string): string | null;
