// Captures what a command writes, for the CLI tests.
import type { CommandIO } from '../../lib/cli/command.js';

export function captureIO(): CommandIO & { stdout: string[]; stderr: string[] } {
  const stdout: string[] = [];
  const stderr: string[] = [];
  return { stdout, stderr, out: (text) => stdout.push(text), err: (text) => stderr.push(text) };
}
