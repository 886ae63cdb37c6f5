// One LibTorch download at a time per cache (ranks of a data-parallel run start together), and no leftovers
// from a download that was killed: temporary folders carry their process id and go once that process is gone.
import { openSync, closeSync, readFileSync, readdirSync, rmSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function alive(pid) {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

/** Removes .tmp-<pid>-* folders whose process is gone (a download that was killed with SIGKILL). */
export function removeStaleTemps(cache) {
  for (const name of readdirSync(cache)) {
    const pid = Number(/^\.tmp-(\d+)-/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) rmSync(join(cache, name), { recursive: true, force: true });
  }
}

/** Takes <cache>/.lock (waiting while another live process holds it); resolves to a release function. */
export async function acquireLock(cache, log) {
  const lock = join(cache, '.lock');
  let told = false;
  for (;;) {
    try {
      const fd = openSync(lock, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      let released = false;
      return () => {
        if (!released) rmSync(lock, { force: true });
        released = true;
      };
    } catch (error) {
      if (error.code !== 'EEXIST') throw error;
    }
    let text = '';
    try {
      text = readFileSync(lock, 'utf8');
    } catch {
      continue;
    }
    if (text === '') {
      await sleep(100); // its holder is between creating the file and writing its id
      continue;
    }
    const holder = Number(text);
    if (!alive(holder)) {
      rmSync(lock, { force: true });
      continue;
    }
    if (!told) log(`[node-peft] waiting for another LibTorch download (process ${holder}) to finish`);
    told = true;
    await sleep(500);
  }
}
