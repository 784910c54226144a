// A small progress bar for long CLI jobs (`nexus rebuild`). On a terminal it redraws one
// line in place, at most ~10 times a second so drawing never costs more than the work;
// into a file or a log collector (not a TTY) it prints a plain line at every 10%, since
// carriage-return redraws would turn a log into one enormous line.
import type { Clock } from '../clock.js';
import { systemClock } from '../clock.js';

/** The part of a writable stream the bar uses; process.stderr and process.stdout fit. */
export interface ProgressStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
}

export interface ProgressBarOptions {
  total: number;
  stream: ProgressStream;
  label: string;
  /** Injected for tests; defaults to the system clock. */
  clock?: Clock;
  /** Minimum milliseconds between two TTY redraws (default 100). */
  redrawIntervalMs?: number;
  /** Unit shown in the rate, e.g. 'ev' gives '12,345 ev/s' (default 'ev'). */
  unit?: string;
  /** Width of the bar in characters (default 20). */
  width?: number;
}

export interface ProgressBar {
  /** Records n more items done (default 1). */
  tick(n?: number): void;
  /** Draws the final state and ends the line; later ticks are ignored. */
  done(): void;
}

const numberFormat = new Intl.NumberFormat('en-US', { maximumFractionDigits: 0 });

export function createProgressBar(options: ProgressBarOptions): ProgressBar {
  const { total, stream, label } = options;
  const clock = options.clock ?? systemClock;
  const interval = options.redrawIntervalMs ?? 100;
  const unit = options.unit ?? 'ev';
  const width = options.width ?? 20;
  const tty = stream.isTTY === true;
  const start = clock.now();
  let count = 0;
  let lastDraw = Number.NEGATIVE_INFINITY;
  let lastDecile = -1; // the last 10% step printed in plain mode
  let finished = false;

  const percent = (): number =>
    total <= 0 ? 100 : Math.min(100, Math.floor((count / total) * 100));

  const rate = (now: number): string => {
    const seconds = (now - start) / 1000;
    const perSecond = seconds > 0 ? count / seconds : 0;
    return `${numberFormat.format(perSecond)} ${unit}/s`;
  };

  const line = (now: number, withBar: boolean): string => {
    const pct = percent();
    const filled = Math.round((pct / 100) * width);
    const bar = withBar ? ` [${'#'.repeat(filled)}${'.'.repeat(width - filled)}]` : '';
    return `${label}${bar} ${pct}% ${count}/${total} ${rate(now)}`;
  };

  // '\r' returns to the line start, '\x1b[K' erases what a longer previous line left.
  const redraw = (now: number): void => {
    lastDraw = now;
    stream.write(`\r${line(now, true)}\x1b[K`);
  };

  const printDecile = (now: number): void => {
    const decile = Math.floor(percent() / 10);
    if (decile <= lastDecile) return;
    lastDecile = decile;
    stream.write(`${line(now, false)}\n`);
  };

  return {
    tick(n = 1) {
      if (finished) return;
      count += n;
      const now = clock.now();
      if (!tty) printDecile(now);
      else if (now - lastDraw >= interval) redraw(now);
    },
    done() {
      if (finished) return;
      finished = true;
      const now = clock.now();
      if (tty) {
        redraw(now);
        stream.write('\n');
      } else if (lastDecile < 10) {
        // The job may end short of its estimated total: still say where it ended.
        lastDecile = 10;
        stream.write(`${line(now, false)}\n`);
      }
    },
  };
}
