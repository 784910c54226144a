/**
 * Password hashing with scrypt (memory-hard), stored self-describing as
 * `scrypt$N$r$p$saltB64$hashB64` so the cost can be raised later without breaking old hashes
 * (`needsRehash` tells the login path when to upgrade one).
 *
 * Always the async scrypt: it runs on libuv's threadpool, where the sync variant would stall
 * every request on this process for ~100 ms per login.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual, type ScryptOptions } from 'node:crypto';

/** Length limits for the API schema (the upper bound also caps hashing work per request). */
export const PASSWORD_MIN_LENGTH = 8;
export const PASSWORD_MAX_LENGTH = 128;

export interface ScryptCost {
  N: number;
  r: number;
  p: number;
}

/** 2^15, 8, 1: ~32 MiB and ~100 ms per hash on this machine class (OWASP's scrypt floor is 2^17/8/1 at 128 MiB; we trade some of it for login throughput on 2 cores). */
export const DEFAULT_SCRYPT_COST: ScryptCost = { N: 2 ** 15, r: 8, p: 1 };

const SALT_BYTES = 16;
const KEY_BYTES = 32;
// Stored strings are ours, but never let one ask for unbounded work or memory.
const MAX_N = 2 ** 20;
const MAX_R = 32;
const MAX_P = 16;

function scrypt(password: string, salt: Buffer, keylen: number, options: ScryptOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(password, salt, keylen, options, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

function options(cost: ScryptCost): ScryptOptions {
  // Node refuses unless maxmem exceeds 128·N·r·p (its default is exactly 32 MiB, too tight for N=2^15, r=8).
  return { N: cost.N, r: cost.r, p: cost.p, maxmem: 2 * 128 * cost.N * cost.r * cost.p + 1024 * 1024 };
}

/** NFKC so the same password typed on different keyboards/OSes hashes the same (NIST SP 800-63B). */
function normalise(password: string): string {
  return password.normalize('NFKC');
}

export async function hashPassword(password: string, opts: { cost?: ScryptCost } = {}): Promise<string> {
  const cost = opts.cost ?? DEFAULT_SCRYPT_COST;
  assertCost(cost);
  const salt = randomBytes(SALT_BYTES);
  const key = await scrypt(normalise(password), salt, KEY_BYTES, options(cost));
  return ['scrypt', cost.N, cost.r, cost.p, salt.toString('base64'), key.toString('base64')].join('$');
}

export interface ParsedHash {
  cost: ScryptCost;
  salt: Buffer;
  key: Buffer;
}

/** Parses a stored hash; null when it is not one of ours (so verify just says "no"). */
export function parsePasswordHash(stored: string): ParsedHash | null {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return null;
  const [N, r, p] = parts.slice(1, 4).map((x) => (/^\d{1,8}$/.test(x) ? Number(x) : NaN));
  const cost = { N, r, p };
  if (!isValidCost(cost)) return null;
  const salt = Buffer.from(parts[4], 'base64');
  const key = Buffer.from(parts[5], 'base64');
  if (salt.length === 0 || key.length < 16) return null;
  return { cost, salt, key };
}

export async function verifyPassword(password: string, stored: string): Promise<boolean> {
  const parsed = parsePasswordHash(stored);
  if (!parsed) return false;
  const key = await scrypt(normalise(password), parsed.salt, parsed.key.length, options(parsed.cost));
  return timingSafeEqual(key, parsed.key);
}

/**
 * For logins: when the account does not exist, still pay for one hash at the default cost, so
 * response time does not reveal which logins exist. Always false for a missing hash.
 */
export async function verifyPasswordOrBurn(password: string, stored: string | null | undefined): Promise<boolean> {
  if (stored) return verifyPassword(password, stored);
  const { N, r, p } = DEFAULT_SCRYPT_COST;
  const dummy = `scrypt$${N}$${r}$${p}$${Buffer.alloc(SALT_BYTES).toString('base64')}$${Buffer.alloc(KEY_BYTES).toString('base64')}`;
  await verifyPassword(password, dummy);
  return false;
}

/** True when a stored hash was made with a different cost than the current one. */
export function needsRehash(stored: string, cost: ScryptCost = DEFAULT_SCRYPT_COST): boolean {
  const parsed = parsePasswordHash(stored);
  return !parsed || parsed.cost.N !== cost.N || parsed.cost.r !== cost.r || parsed.cost.p !== cost.p;
}

function isValidCost(c: ScryptCost): boolean {
  const powerOfTwo = Number.isInteger(c.N) && c.N > 1 && (c.N & (c.N - 1)) === 0;
  return powerOfTwo && c.N <= MAX_N && Number.isInteger(c.r) && c.r >= 1 && c.r <= MAX_R && Number.isInteger(c.p) && c.p >= 1 && c.p <= MAX_P;
}

function assertCost(c: ScryptCost): void {
  if (!isValidCost(c)) throw new RangeError(`invalid scrypt cost ${JSON.stringify(c)}`);
}
