// When to try a destination again after failures (DESIGN habit 6; Synapse's
// per-destination retry and Tuwunel's peer backoff). Pure: the clock and the randomness
// come in as arguments, so the schedule is testable without waiting.

/** The first retry comes after about this long. */
export const BASE_RETRY_DELAY_MS = 1_000;
/** No destination waits longer than this between attempts, jitter included: a peer that
 *  comes back after a long outage is found within ten minutes. */
export const MAX_RETRY_DELAY_MS = 10 * 60_000;

/** The delay before the next attempt when `failures` attempts in a row have failed, before
 *  jitter: 1 s, 2 s, 4 s, … capped at MAX_RETRY_DELAY_MS; 0 when nothing has failed. */
export function nominalRetryDelayMs(failures: number): number {
  if (!(failures > 0)) return 0;
  // 2^20 s is far past the cap already; clamping the exponent keeps the arithmetic finite.
  return Math.min(MAX_RETRY_DELAY_MS, BASE_RETRY_DELAY_MS * 2 ** Math.min(failures - 1, 20));
}

/**
 * The nominal delay times a random factor in [0.5, 1.5), still capped. The jitter spreads
 * the retries of many senders that lost the same peer at the same moment, so the peer does
 * not meet them all at once when it comes back. `random` returns [0, 1) like Math.random.
 * For a fixed random value the delay never decreases as failures grow.
 */
export function retryDelayMs(failures: number, random: () => number): number {
  const nominal = nominalRetryDelayMs(failures);
  if (nominal === 0) return 0;
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.min(MAX_RETRY_DELAY_MS, Math.round(nominal * (0.5 + r)));
}

/** Whether a destination's backoff allows an attempt now. */
export function shouldAttempt(dest: { retry_at_ts: number | string }, now: number): boolean {
  return Number(dest.retry_at_ts) <= now;
}
