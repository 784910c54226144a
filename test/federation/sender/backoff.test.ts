import fc from 'fast-check';
import {
  BASE_RETRY_DELAY_MS,
  MAX_RETRY_DELAY_MS,
  nominalRetryDelayMs,
  retryDelayMs,
  shouldAttempt,
} from '../../../src/federation/sender/backoff.js';

describe('federation sender backoff', () => {
  it('doubles from 1 s and stops at 10 min', () => {
    expect([0, 1, 2, 3, 4, 10, 11, 50, 1e6].map(nominalRetryDelayMs)).toEqual([0, 1_000, 2_000, 4_000, 8_000, 512_000, 600_000, 600_000, 600_000]);
    expect(retryDelayMs(1, () => 0.5)).toBe(BASE_RETRY_DELAY_MS);
  });

  it('jitters within ×0.5..1.5 of the nominal delay and never past the cap', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 200 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (failures, r) => {
        const nominal = nominalRetryDelayMs(failures);
        const d = retryDelayMs(failures, () => r);
        expect(d).toBeGreaterThanOrEqual(Math.floor(nominal * 0.5));
        expect(d).toBeLessThanOrEqual(Math.min(MAX_RETRY_DELAY_MS, Math.ceil(nominal * 1.5)));
      }),
    );
    expect(retryDelayMs(30, () => 0.999)).toBe(MAX_RETRY_DELAY_MS);
    expect(retryDelayMs(1, () => 0)).toBe(500);
  });

  it('never shortens as failures grow (for the same random draw)', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 100 }), fc.integer({ min: 0, max: 100 }), fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), (a, b, r) => {
        const [lo, hi] = a <= b ? [a, b] : [b, a];
        expect(retryDelayMs(lo, () => r)).toBeLessThanOrEqual(retryDelayMs(hi, () => r));
      }),
    );
  });

  it('gives no delay before the first failure, and tolerates a random() out of range', () => {
    expect(retryDelayMs(0, () => 0.7)).toBe(0);
    expect(retryDelayMs(2, () => 7)).toBe(3_000);
    expect(retryDelayMs(2, () => -1)).toBe(1_000);
  });

  it('attempts once retry_at_ts has come (bigint columns arrive as strings)', () => {
    expect(shouldAttempt({ retry_at_ts: 0 }, 5)).toBe(true);
    expect(shouldAttempt({ retry_at_ts: '1000' }, 1000)).toBe(true);
    expect(shouldAttempt({ retry_at_ts: '1001' }, 1000)).toBe(false);
  });
});
