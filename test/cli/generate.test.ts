// node-peft generate on the generation fixtures: prints transformers' greedy text for a prompt and a chat file,
// base and with an adapter; --stream writes the same text in chunks; mistakes are usage errors.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, test } from 'vitest';
import { main } from '../../lib/cli/main.js';
import { captureIO } from './io.js';

const DIR = join('test', 'fixtures', 'generation', 'qwen2');
const expected = JSON.parse(readFileSync(join(DIR, 'expected.json'), 'utf8')) as {
  prompts: string[]; chat: unknown[]; max_new_tokens: number;
  base: Record<string, { text: string[] }>; adapter: Record<string, { text: string[] }>;
};
const work = mkdtempSync(join(tmpdir(), 'node-peft-generate-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));
const chatFile = join(work, 'chat.json');
writeFileSync(chatFile, JSON.stringify({ messages: expected.chat }));

async function generate(...args: string[]): Promise<{ code: number; stdout: string[]; stderr: string[]; written: string[] }> {
  const written: string[] = [];
  const io = { ...captureIO(), write: (text: string) => written.push(text) };
  const code = await main(['generate', '--model', DIR, '--max-new-tokens', String(expected.max_new_tokens), ...args], io);
  return { code, stdout: io.stdout, stderr: io.stderr, written };
}

describe('node-peft generate', () => {
  test('--prompt prints the greedy text transformers generates', async () => {
    const { code, stdout, stderr } = await generate('--prompt', expected.prompts[0]);
    expect(stderr).toEqual([]);
    expect(code).toBe(0);
    expect(stdout).toEqual([expected.base.single.text[0]]);
  });

  test('--chat FILE with --adapter prints the adapter model\'s text', async () => {
    const { code, stdout } = await generate('--chat', chatFile, '--adapter', join(DIR, 'adapter'));
    expect(code).toBe(0);
    expect(stdout).toEqual([expected.adapter.chat.text[0]]);
  });

  test('--stream writes the same text in chunks as it comes', async () => {
    const { code, written } = await generate('--chat', chatFile, '--stream');
    expect(code).toBe(0);
    expect(written.length).toBeGreaterThan(2);
    expect(written.join('')).toBe(`${expected.base.chat.text[0]}\n`);
  });

  test('sampling with a seed is repeatable', async () => {
    const args = ['--prompt', 'Hello', '--temperature', '1.2', '--top-p', '0.9', '--seed', '5'];
    expect((await generate(...args)).stdout).toEqual((await generate(...args)).stdout);
  });

  test.each([
    [['--prompt', 'a', '--chat', 'x.json'], /exactly one of --prompt TEXT or --chat FILE.json/],
    [['--prompt', 'a', '--temperature', 'hot'], /--temperature: expected a number >= 0, got 'hot'/],
    [['--prompt', 'a', '--top-p', '2'], /--top-p: expected a number in \(0, 1\], got '2'/],
    [['--chat', join(DIR, 'config.json')], /expected a non-empty list of \{"role", "content"\} messages/],
    [['--chat', join(work, 'missing.json')], /--chat .*missing.json: no such file/],
  ])('%j is a usage error naming the problem', async (args, message) => {
    const { code, stderr } = await generate(...(args as string[]));
    expect(code).toBe(2);
    expect(stderr[0]).toMatch(message);
  });
});
