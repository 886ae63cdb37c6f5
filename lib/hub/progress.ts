// A one-line progress bar for large downloads (stderr, only on a terminal; HF_HUB_DISABLE_PROGRESS_BARS=1 hides it).
export interface DownloadProgress {
  file: string;
  received: number;
  total: number;
}

export type ProgressListener = (progress: DownloadProgress) => void;

/** Files smaller than this get no bar. */
export const PROGRESS_MIN_BYTES = 10 * 1024 * 1024;

const mb = (bytes: number): string => (bytes / 1024 / 1024).toFixed(1);

export function terminalProgressBar(): ProgressListener | undefined {
  const disabled = ['1', 'true', 'yes'].includes((process.env.HF_HUB_DISABLE_PROGRESS_BARS ?? '').toLowerCase());
  if (disabled || !process.stderr.isTTY) return undefined;
  let lastDraw = 0;
  return ({ file, received, total }) => {
    const now = Date.now();
    const done = received >= total;
    if (!done && now - lastDraw < 100) return;
    lastDraw = now;
    const fraction = total > 0 ? Math.min(1, received / total) : 0;
    const width = 30;
    const bar = '#'.repeat(Math.round(fraction * width)).padEnd(width, '.');
    process.stderr.write(`\r${file} [${bar}] ${(fraction * 100).toFixed(0).padStart(3)}% ${mb(received)}/${mb(total)} MB${done ? '\n' : ''}`);
  };
}
