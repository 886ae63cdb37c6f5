// Hub downloads against a loopback server: Python's cache layout, reuse, offline mode, errors.
import { mkdtempSync, readFileSync, readlinkSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HubError } from '../../lib/errors.js';
import { hubDownload, resolveAdapterDir, resolveModelDir, resolvePretrainedDir } from '../../lib/hub/index.js';
import { startHubServer, type HubServer } from './hub-server.js';

const FIXTURES = resolve(__dirname, '..', 'fixtures');
const SHARDED = join(FIXTURES, 'models', 'llama_tied_sharded_generate');
const COMMIT = 'a'.repeat(40);
const SHARDS = ['model-00001-of-00004.safetensors', 'model-00002-of-00004.safetensors', 'model-00003-of-00004.safetensors', 'model-00004-of-00004.safetensors'];

let server: HubServer;
let cache: string;
let bigDir: string;
const savedEnv = { ...process.env };

beforeAll(async () => {
  bigDir = mkdtempSync(join(tmpdir(), 'hub-big-'));
  writeFileSync(join(bigDir, 'config.json'), '{}');
  writeFileSync(join(bigDir, 'model.safetensors'), Buffer.alloc(11 * 1024 * 1024, 7));
  server = await startHubServer([
    { id: 'tiny/llama-sharded', dir: SHARDED, commit: COMMIT },
    { id: 'tiny/qwen2-tokenizer', dir: join(FIXTURES, 'text', 'qwen2'), commit: 'b'.repeat(40) },
    { id: 'tiny/llama-lora', dir: join(FIXTURES, 'peft-golden', '03_llama_all_linear_rslora', 'adapter'), commit: 'c'.repeat(40) },
    { id: 'tiny/private', dir: join(FIXTURES, 'text', 'gpt2'), commit: 'd'.repeat(40), token: 'hf_secret' },
    { id: 'tiny/big', dir: bigDir, commit: 'e'.repeat(40) },
  ], { 'old-name/llama-sharded': 'tiny/llama-sharded' });
});

afterAll(async () => {
  await server.close();
  rmSync(bigDir, { recursive: true, force: true });
});

beforeEach(() => {
  cache = mkdtempSync(join(tmpdir(), 'hub-cache-'));
  process.env.HF_HUB_CACHE = cache;
  process.env.HF_ENDPOINT = server.url;
  delete process.env.HF_HUB_OFFLINE;
  delete process.env.HF_TOKEN;
  server.requests.length = 0;
});

afterEach(() => {
  process.env = { ...savedEnv };
  rmSync(cache, { recursive: true, force: true });
});

describe('Hub downloads into the Hugging Face cache layout', () => {
  it('downloads a sharded model: refs/main, blobs named by etag, relative snapshot links', async () => {
    const dir = await resolveModelDir('tiny/llama-sharded');
    const storage = join(cache, 'models--tiny--llama-sharded');
    expect(dir).toBe(join(storage, 'snapshots', COMMIT));
    expect(readFileSync(join(storage, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    for (const file of ['config.json', 'model.safetensors.index.json', ...SHARDS]) {
      expect(readFileSync(join(dir, file))).toEqual(readFileSync(join(SHARDED, file)));
      expect(readlinkSync(join(dir, file))).toMatch(/^\.\.\/\.\.\/blobs\/[0-9a-f]{40,64}$/);
    }
    // model.safetensors is recorded as absent, as huggingface_hub does
    expect(existsSync(join(storage, '.no_exist', COMMIT, 'model.safetensors'))).toBe(true);
  });

  it('reuses the cache: no body is fetched twice, and a stopped server still resolves', async () => {
    await resolveModelDir('tiny/llama-sharded');
    const gets = server.requests.filter((r) => r.startsWith('GET')).length;
    server.requests.length = 0;
    await resolveModelDir('tiny/llama-sharded');
    expect(server.requests.filter((r) => r.startsWith('GET'))).toEqual([]);
    expect(gets).toBe(SHARDS.length + 2);

    process.env.HF_ENDPOINT = 'http://127.0.0.1:9'; // nothing listens there
    const dir = await resolveModelDir('tiny/llama-sharded');
    expect(readFileSync(join(dir, SHARDS[3]!))).toEqual(readFileSync(join(SHARDED, SHARDS[3]!)));
  });

  it('honours HF_HUB_OFFLINE=1: no requests, cached files only, and a clear error otherwise', async () => {
    await resolvePretrainedDir('tiny/qwen2-tokenizer', { required: ['tokenizer.json'] });
    server.requests.length = 0;
    process.env.HF_HUB_OFFLINE = '1';
    await expect(resolvePretrainedDir('tiny/qwen2-tokenizer', { required: ['tokenizer.json'] })).resolves.toContain('b'.repeat(40));
    await expect(resolveModelDir('tiny/llama-sharded')).rejects.toThrow(/not in the cache .*HF_HUB_OFFLINE is set/);
    expect(server.requests).toEqual([]);
  });

  it('pins a revision (commit hash) and follows a renamed repo\'s relative redirect', async () => {
    const dir = await resolveModelDir('old-name/llama-sharded', { revision: COMMIT });
    expect(dir).toContain(join('models--old-name--llama-sharded', 'snapshots', COMMIT));
    await expect(resolveModelDir('tiny/llama-sharded', { revision: 'f'.repeat(40) })).rejects.toThrow(/revision not found/);
  });

  it('downloads an adapter folder', async () => {
    const dir = await resolveAdapterDir('tiny/llama-lora');
    expect(existsSync(join(dir, 'adapter_config.json')) && existsSync(join(dir, 'adapter_model.safetensors'))).toBe(true);
  });

  it('gives clear errors for a missing file, a private repo, an unknown repo and an unreachable Hub', async () => {
    await expect(hubDownload('tiny/qwen2-tokenizer', 'nope.json')).rejects.toThrow(/tiny\/qwen2-tokenizer has no file nope\.json/);
    await expect(hubDownload('tiny/private', 'tokenizer.json')).rejects.toThrow(/401 unauthorized .*HF_TOKEN/);
    process.env.HF_TOKEN = 'hf_secret';
    await expect(hubDownload('tiny/private', 'tokenizer.json')).resolves.toContain('models--tiny--private');
    await expect(hubDownload('tiny/none', 'config.json')).rejects.toThrow(/repository not found/);
    process.env.HF_ENDPOINT = 'http://127.0.0.1:9';
    await expect(hubDownload('tiny/none', 'config.json')).rejects.toThrow(HubError);
    await expect(resolveModelDir('not a repo!')).rejects.toThrow(/neither an existing folder nor a Hub repo id/);
  });

  it('reports progress on large files and writes blobs atomically (no .incomplete left)', async () => {
    const seen: number[] = [];
    const path = await hubDownload('tiny/big', 'model.safetensors', { onProgress: (p) => seen.push(p.received / p.total) });
    expect(seen.at(-1)).toBe(1);
    expect(seen.length).toBeGreaterThan(1);
    expect(readFileSync(path!).length).toBe(11 * 1024 * 1024);
    const blobs = join(cache, 'models--tiny--big', 'blobs');
    expect(readFileSync(join(blobs, readlinkSync(path!).split('/').at(-1)!)).length).toBe(11 * 1024 * 1024);
    const { readdirSync } = await import('node:fs');
    expect(readdirSync(blobs).filter((f) => f.includes('incomplete') || f.endsWith('.tmp'))).toEqual([]);
  });

  it('puts the cache under HF_HOME/hub when HF_HUB_CACHE is unset', async () => {
    delete process.env.HF_HUB_CACHE;
    process.env.HF_HOME = join(cache, 'home');
    const path = await hubDownload('tiny/qwen2-tokenizer', 'tokenizer_config.json');
    expect(path).toBe(join(cache, 'home', 'hub', 'models--tiny--qwen2-tokenizer', 'snapshots', 'b'.repeat(40), 'tokenizer_config.json'));
  });

  it('uses files already in the cache the way Python left them (refs + snapshot), without downloading', async () => {
    const storage = join(cache, 'models--tiny--qwen2-tokenizer');
    const commit = 'b'.repeat(40);
    mkdirSync(join(storage, 'refs'), { recursive: true });
    writeFileSync(join(storage, 'refs', 'main'), commit);
    mkdirSync(join(storage, 'snapshots', commit), { recursive: true });
    writeFileSync(join(storage, 'snapshots', commit, 'tokenizer.json'), readFileSync(join(FIXTURES, 'text', 'qwen2', 'tokenizer.json')));
    await hubDownload('tiny/qwen2-tokenizer', 'tokenizer.json');
    expect(server.requests.filter((r) => r.startsWith('GET'))).toEqual([]);
  });
});
