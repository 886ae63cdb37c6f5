// A progress bar on stderr: steps done, loss, throughput and time left. On a terminal it redraws one
// line; otherwise (a log file, CI) it prints a plain line every so often.

export interface ProgressStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface ProgressOptions {
  total: number;
  label?: string;
  /** Unit of the throughput figure (default 'samples'). */
  unit?: string;
  stream?: ProgressStream;
  /** Minimum milliseconds between redraws (TTY) or between plain lines (default 100 / 5000). */
  intervalMs?: number;
  now?: () => number;
}

export interface ProgressUpdate {
  step: number;
  loss?: number;
  /** Samples (or the unit's things) done since the start. */
  done?: number;
  extra?: Record<string, number | string>;
}

/** A duration in seconds as '1h02m', '3m05s' or '12s'. */
export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '?';
  const s = Math.round(seconds);
  if (s >= 3600) return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
  if (s >= 60) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${s}s`;
}

function formatNumber(value: number | string): string {
  if (typeof value === 'string') return value;
  if (Number.isInteger(value)) return String(value);
  return Math.abs(value) >= 100 ? value.toFixed(1) : value.toPrecision(4);
}

export class ProgressBar {
  readonly total: number;
  readonly #label: string;
  readonly #unit: string;
  readonly #stream: ProgressStream;
  readonly #interval: number;
  readonly #now: () => number;
  readonly #start: number;
  #lastDraw = -Infinity;
  #lastLine = '';
  #finished = false;

  constructor(options: ProgressOptions) {
    this.total = options.total;
    this.#label = options.label ?? 'train';
    this.#unit = options.unit ?? 'samples';
    this.#stream = options.stream ?? process.stderr;
    this.#interval = options.intervalMs ?? (this.#stream.isTTY ? 100 : 5000);
    this.#now = options.now ?? (() => performance.now());
    this.#start = this.#now();
  }

  /** The status text for an update (without bar or line control). */
  describe(update: ProgressUpdate): string {
    const elapsed = (this.#now() - this.#start) / 1000;
    const parts = [`${this.#label} ${update.step}/${this.total}`];
    if (update.loss !== undefined) parts.push(`loss ${formatNumber(update.loss)}`);
    for (const [key, value] of Object.entries(update.extra ?? {})) parts.push(`${key} ${formatNumber(value)}`);
    if (update.done !== undefined && elapsed > 0) parts.push(`${formatNumber(update.done / elapsed)} ${this.#unit}/s`);
    const left = update.step > 0 ? (elapsed / update.step) * (this.total - update.step) : NaN;
    parts.push(`${formatDuration(elapsed)} elapsed`, `${formatDuration(left)} left`);
    return parts.join(' | ');
  }

  update(update: ProgressUpdate): void {
    if (this.#finished) return;
    const now = this.#now();
    const last = update.step >= this.total;
    if (!last && now - this.#lastDraw < this.#interval) return;
    this.#lastDraw = now;
    const text = this.describe(update);
    if (this.#stream.isTTY) {
      const width = Math.max(10, Math.min(30, (this.#stream.columns ?? 80) - text.length - 4));
      const filled = Math.round((Math.min(update.step, this.total) / Math.max(1, this.total)) * width);
      this.#lastLine = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${text}`;
      this.#stream.write(`\r\x1b[2K${this.#lastLine}`);
    } else {
      this.#stream.write(`${text}\n`);
    }
  }

  /** Prints a message without breaking the bar (the bar is redrawn under it on a terminal). */
  log(message: string): void {
    if (this.#stream.isTTY && this.#lastLine) this.#stream.write(`\r\x1b[2K${message}\n${this.#lastLine}`);
    else this.#stream.write(`${message}\n`);
  }

  /** Ends the bar's line. */
  finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    if (this.#stream.isTTY && this.#lastLine) this.#stream.write('\n');
  }
}
