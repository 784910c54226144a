import type { Clock } from './clock.js';

/** Discord's epoch (2015-01-01T00:00:00Z): discord.js expects 17–19 digit ids on it. */
export const DISCORD_EPOCH = 1420070400000n;

/**
 * The snowflake of an object created by a logged event: the time the event entered this
 * server's log in the high bits and its log position (mod 2^22) in the low 22 bits. It is
 * unique (two events with the same millisecond differ in position by far less than 2^22)
 * and a rebuild from the log reproduces it exactly.
 */
export function snowflakeFromLog(receivedTs: number, position: number | string | bigint): string {
  return (((BigInt(receivedTs) - DISCORD_EPOCH) << 22n) | (BigInt(position) & 0x3fffffn)).toString();
}

/** The creation time (ms since the Unix epoch) encoded in a snowflake. */
export function snowflakeTime(id: string): number {
  return Number((BigInt(id) >> 22n) + DISCORD_EPOCH);
}

/** A snowflake as Discord writes one: a string of 17–20 digits, at most 2^64 − 1. */
export function isSnowflake(s: unknown): s is string {
  return typeof s === 'string' && /^[0-9]{17,20}$/.test(s) && BigInt(s) < 1n << 64n;
}

/** Snowflakes for objects that are not created by a logged event (local users). */
export function createSnowflakeGenerator(clock: Clock, worker = 1): () => string {
  let lastMs = 0;
  let sequence = 0;
  return () => {
    let ms = Math.max(clock.now(), lastMs);
    if (ms === lastMs) {
      sequence = (sequence + 1) & 0xfff;
      if (sequence === 0) ms = lastMs + 1; // 4096 ids in one ms: borrow the next ms
    } else sequence = 0;
    lastMs = ms;
    return (((BigInt(ms) - DISCORD_EPOCH) << 22n) | (BigInt(worker & 0x3ff) << 12n) | BigInt(sequence)).toString();
  };
}
