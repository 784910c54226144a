// Percentiles and rounding for bench summaries.
import { performance } from 'node:perf_hooks';

/** Wall-clock milliseconds with sub-millisecond precision, comparable across processes on one machine. */
export function nowMs(): number {
  return performance.timeOrigin + performance.now();
}

export const round2 = (x: number): number => Math.round(x * 100) / 100;

/** A growable list of float samples (latencies), cheaper than number[] at millions of samples. */
export class Samples {
  private data = new Float64Array(1024);
  length = 0;

  push(x: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = x;
  }

  /** p50/p90/p99/max in the samples' unit (rounded to 0.01); NaN when empty. */
  summary(): LatencySummary {
    const sorted = this.data.subarray(0, this.length).slice().sort();
    return summarize(sorted);
  }
}

export interface LatencySummary {
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

export function summarize(sorted: Float64Array | number[]): LatencySummary {
  const at = (p: number): number => (sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]);
  return { p50: round2(at(50)), p90: round2(at(90)), p99: round2(at(99)), max: round2(sorted.length ? sorted[sorted.length - 1] : NaN) };
}
