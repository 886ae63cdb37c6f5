#!/usr/bin/env node
// Fetches LibTorch 2.13 (CPU) into the per-user cache, checked against a SHA-256 that the index serving it
// publishes (or that the user pins), never an invented one. Used by `node-peft install-libtorch` and by the
// runtime's first use (lib/binding.ts runs this file in a child process). docs/install.md has the details.
//
// Where from, in this order:
//   NODE_PEFT_LIBTORCH_URL   an archive (a torch wheel or a libtorch-*.zip); its SHA-256 from
//                            NODE_PEFT_LIBTORCH_SHA256, else the URL's #sha256= fragment, else <url>.sha256
//   NODE_PEFT_LIBTORCH_INDEX a PEP 503 page listing torch wheels (default: PyTorch's CPU wheel index); the
//                            torch-2.13.0+cpu Linux x86_64 wheel and the #sha256= the index gives for it
// Interruption, a wrong checksum or a bad archive leave nothing in the cache but what was complete before.
import { createHash, randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, posix } from 'node:path';
import { Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { fileURLToPath } from 'node:url';
import { acquireLock, removeStaleTemps } from './fetch-lock.mjs';

const require = createRequire(import.meta.url);
const finder = require('./libtorch.cjs');
const yauzl = require('yauzl');

export const DEFAULT_INDEX = 'https://download.pytorch.org/whl/cpu/torch/';
const WHEEL_NAME = new RegExp(`^torch-${finder.PINNED_VERSION.replaceAll('.', '\\.')}(\\+|%2B)cpu-cp\\d+-cp\\d+t?-(manylinux_2_\\d+|linux)_x86_64\\.whl$`);
// Only what running and building needs; the Python half of a wheel (and its test libraries) stays out.
const KEEP = [/^lib\/[^/]+\.so(\.\d+)*$/, /^include\//, /^share\/cmake\//, /^version\.py$/, /^build-version$/, /^build-hash$/];
const SKIP_LIBS = /^lib\/lib(torch_python|torchbind_test|jitbackend_test|backend_with_compiler|aoti_custom_ops)\.so$/;

export class FetchError extends Error {
  constructor(message) {
    super(message);
    this.name = 'FetchError';
  }
}

async function get(url, what) {
  let response;
  try {
    response = await fetch(url, { redirect: 'follow' });
  } catch (error) {
    throw new FetchError(`cannot reach ${url} (${what}): ${error.cause?.message ?? error.message}`);
  }
  return response;
}

function sha256Fragment(url) {
  return /#sha256=([0-9a-f]{64})$/i.exec(url)?.[1]?.toLowerCase() ?? null;
}

/** The index page's links to the pinned CPU wheel, best (highest regular Python tag) first. */
export function wheelLinks(html, indexUrl) {
  const links = [];
  for (const match of html.matchAll(/<a\s[^>]*href="([^"]+)"[^>]*>([^<]*)<\/a>/gi)) {
    const href = match[1].replaceAll('&amp;', '&');
    const name = decodeURIComponent(new URL(href, indexUrl).pathname.split('/').pop() ?? '');
    if (WHEEL_NAME.test(name) || WHEEL_NAME.test(match[2].trim())) links.push({ url: new URL(href, indexUrl).href, name });
  }
  // Any Python tag holds the same libraries; prefer the regular builds over free-threaded (cp3XXt) ones.
  const freeThreaded = (name) => (/-cp\d+t-/.test(name) ? 1 : 0);
  return links.sort((a, b) => freeThreaded(a.name) - freeThreaded(b.name) || b.name.localeCompare(a.name, 'en', { numeric: true }));
}

/** Where to download from and the SHA-256 to check against, with where that checksum came from. */
export async function resolveSource(env = process.env) {
  const pinned = env.NODE_PEFT_LIBTORCH_SHA256?.trim().toLowerCase() || null;
  if (pinned && !/^[0-9a-f]{64}$/.test(pinned)) throw new FetchError(`NODE_PEFT_LIBTORCH_SHA256 is not a SHA-256 (64 hex digits): '${pinned}'`);
  let url = env.NODE_PEFT_LIBTORCH_URL || null;
  let published = null;
  let publishedBy = null;
  if (url) {
    published = sha256Fragment(url);
    publishedBy = published ? 'the URL\'s #sha256= fragment' : null;
    if (!published && !pinned) {
      const sidecar = `${url.replace(/#.*$/, '')}.sha256`;
      const response = await get(sidecar, 'checksum file');
      if (response.ok) {
        published = /^\s*([0-9a-f]{64})\b/i.exec(await response.text())?.[1]?.toLowerCase() ?? null;
        publishedBy = published ? sidecar : null;
      }
    }
  } else {
    const index = env.NODE_PEFT_LIBTORCH_INDEX || DEFAULT_INDEX;
    const response = await get(index, 'wheel index');
    if (!response.ok) throw new FetchError(`the wheel index ${index} answered HTTP ${response.status}`);
    const links = wheelLinks(await response.text(), index);
    if (links.length === 0) throw new FetchError(`the wheel index ${index} lists no torch-${finder.PINNED_VERSION}+cpu Linux x86_64 wheel`);
    const withHash = links.find((link) => sha256Fragment(link.url)) ?? links[0];
    url = withHash.url;
    published = sha256Fragment(url);
    publishedBy = published ? `the index ${index}` : null;
  }
  if (pinned && published && pinned !== published) {
    throw new FetchError(`NODE_PEFT_LIBTORCH_SHA256=${pinned} disagrees with the SHA-256 published by ${publishedBy} (${published}); nothing was downloaded`);
  }
  const sha256 = pinned ?? published;
  if (!sha256) {
    throw new FetchError(`no SHA-256 is published for ${url.replace(/#.*$/, '')} (no #sha256= fragment, no .sha256 file): ` +
      'nothing was downloaded. Check the archive against a source you trust and pin it with NODE_PEFT_LIBTORCH_SHA256=<hex>.');
  }
  return { url: url.replace(/#.*$/, ''), sha256, checksumFrom: pinned ? 'NODE_PEFT_LIBTORCH_SHA256' : publishedBy };
}

function progressBar(total, stream = process.stderr) {
  const started = Date.now();
  let shown = -1;
  const mb = (n) => (n / 1e6).toFixed(0);
  return (done, final = false) => {
    const fraction = total ? done / total : 0;
    const step = stream.isTTY ? Math.floor(fraction * 200) : Math.floor(fraction * 10);
    if (step === shown && !final) return;
    shown = step;
    const rate = done / Math.max(0.001, (Date.now() - started) / 1000);
    const width = 30;
    const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
    const line = `[node-peft] LibTorch [${bar}] ${total ? `${(fraction * 100).toFixed(0)}%` : ''} ${mb(done)}${total ? `/${mb(total)}` : ''} MB ${mb(rate)} MB/s`;
    if (stream.isTTY) stream.write(`\r${line}${final ? '\n' : ''}`);
    else stream.write(`${line}\n`);
  };
}

async function download(source, file) {
  const response = await get(source.url, 'archive');
  if (!response.ok || !response.body) throw new FetchError(`downloading ${source.url} failed: HTTP ${response.status}`);
  const total = Number(response.headers.get('content-length')) || 0;
  const hash = createHash('sha256');
  const show = progressBar(total);
  let done = 0;
  const counter = new Transform({
    transform(chunk, _encoding, callback) {
      hash.update(chunk);
      done += chunk.length;
      show(done);
      callback(null, chunk);
    },
  });
  await pipeline(Readable.fromWeb(response.body), counter, createWriteStream(file));
  show(done, true);
  if (total && done !== total) throw new FetchError(`the download of ${source.url} stopped at ${done} of ${total} bytes`);
  const got = hash.digest('hex');
  if (got !== source.sha256) {
    throw new FetchError(`checksum mismatch for ${source.url}: expected SHA-256 ${source.sha256} (from ${source.checksumFrom}), ` +
      `got ${got}. The archive was refused and deleted; nothing was added to the cache.`);
  }
}

function openZip(file) {
  return new Promise((resolve, reject) => {
    yauzl.open(file, { lazyEntries: true, strictFileNames: true, validateEntrySizes: true }, (error, zip) =>
      (error ? reject(new FetchError(`the archive is not a valid zip file: ${error.message}`)) : resolve(zip)));
  });
}

/** Where an archive entry goes inside the LibTorch folder, or null to skip it. Wheels hold torch/, zips libtorch/. */
export function payloadPath(entryName) {
  const normal = posix.normalize(entryName);
  if (normal.startsWith('/') || normal.split('/').includes('..')) throw new FetchError(`the archive holds an unsafe path: ${entryName}`);
  const match = /^(torch|libtorch)\/(.+)$/.exec(normal);
  if (!match || normal.endsWith('/')) return null;
  const inner = match[2];
  return KEEP.some((pattern) => pattern.test(inner)) && !SKIP_LIBS.test(inner) ? inner : null;
}

async function extract(file, into) {
  const zip = await openZip(file);
  let count = 0;
  await new Promise((resolve, reject) => {
    zip.on('error', (error) => reject(new FetchError(`the archive is damaged: ${error.message}`)));
    zip.on('end', resolve);
    zip.on('entry', (entry) => {
      let target;
      try {
        target = payloadPath(entry.fileName);
        const mode = (entry.externalFileAttributes >>> 16) & 0o170000;
        if (target && mode === 0o120000) throw new FetchError(`the archive holds a symbolic link: ${entry.fileName}`);
      } catch (error) {
        reject(error);
        return;
      }
      if (!target) {
        zip.readEntry();
        return;
      }
      const destination = join(into, target);
      mkdirSync(dirname(destination), { recursive: true });
      zip.openReadStream(entry, (error, stream) => {
        if (error) {
          reject(new FetchError(`the archive is damaged at ${entry.fileName}: ${error.message}`));
          return;
        }
        pipeline(stream, createWriteStream(destination, { mode: 0o755 }))
          .then(() => {
            count += 1;
            zip.readEntry();
          })
          .catch((cause) => reject(new FetchError(`the archive is damaged at ${entry.fileName}: ${cause.message}`)));
      });
    });
    zip.readEntry();
  });
  zip.close();
  return count;
}

/**
 * Downloads, verifies and unpacks LibTorch into the cache; returns the finder's description of it.
 * A complete copy already in the cache is returned as is unless `force`.
 */
export async function fetchLibTorch({ env = process.env, force = false, log = (line) => process.stderr.write(`${line}\n`) } = {}) {
  const cache = finder.libtorchCacheDir();
  mkdirSync(cache, { recursive: true });
  removeStaleTemps(cache);
  const release = await acquireLock(cache, log);
  const temp = join(cache, `.tmp-${process.pid}-${randomBytes(4).toString('hex')}`);
  const cleanUp = () => rmSync(temp, { recursive: true, force: true });
  const onSignal = (signal) => {
    cleanUp();
    release();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    if (!force) {
      const cached = finder.cachedFolders().map((folder) => finder.describeFolder(folder, `cache (${cache})`))
        .find((found) => found && finder.seriesOf(found.version) === finder.PINNED_SERIES);
      if (cached) return cached;
    }
    const source = await resolveSource(env);
    log(`[node-peft] downloading LibTorch ${finder.PINNED_VERSION} (CPU) from ${source.url}`);
    log(`[node-peft] SHA-256 ${source.sha256} (from ${source.checksumFrom})`);
    mkdirSync(temp, { recursive: true });
    const archive = join(temp, 'archive.zip');
    await download(source, archive);
    log('[node-peft] checksum verified; unpacking');
    const unpacked = join(temp, 'libtorch');
    await extract(archive, unpacked);
    rmSync(archive, { force: true });
    const found = finder.describeFolder(unpacked, 'download');
    if (!found) throw new FetchError(`${source.url} holds no lib/libtorch_cpu.so: not a LibTorch archive or torch wheel`);
    if (finder.seriesOf(found.version) !== finder.PINNED_SERIES) {
      throw new FetchError(`${source.url} holds LibTorch ${found.version}, but node-peft needs ${finder.PINNED_SERIES}.x`);
    }
    writeFileSync(join(unpacked, finder.COMPLETE_STAMP), `${JSON.stringify({ ...source, version: found.version, fetched: new Date().toISOString() }, null, 2)}\n`);
    const final = join(cache, `${found.version}`);
    rmSync(final, { recursive: true, force: true });
    renameSync(unpacked, final);
    log(`[node-peft] LibTorch ${found.version} is in ${final}`);
    return finder.describeFolder(final, `cache (${cache})`);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    cleanUp();
    release();
  }
}

/** Folders the cache holds (complete or not), for tests and `doctor`. */
export function cacheEntries() {
  const cache = finder.libtorchCacheDir();
  return existsSync(cache) ? readdirSync(cache).sort() : [];
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const force = process.argv.includes('--force');
  try {
    const found = await fetchLibTorch({ force });
    if (process.argv.includes('--json')) process.stdout.write(`${JSON.stringify(found)}\n`);
  } catch (error) {
    process.stderr.write(`[node-peft] ${error instanceof FetchError || error instanceof finder.LibTorchError ? '' : 'unexpected error: '}${error.message}\n`);
    process.exit(1);
  }
}
