/**
 * Fixed-window rate limiting, pure apart from the injected Clock: no timers, no I/O.
 *
 * Fixed windows are what Discord exposes (a limit, what remains, when it resets), so the
 * numbers we report in X-RateLimit-* headers are exactly the ones we enforce and discord.js's
 * own pre-emptive limiter, which models the same thing, never trips a 429 by surprise.
 *
 * Memory stays bounded without a sweeper timer: each rule keeps its buckets in a Map ordered
 * by window start (a bucket is re-inserted when its window restarts). All windows of a rule
 * have the same length, so expired buckets are always at the front, and every `take` drops
 * them until it meets a live one — amortised O(1). A hard cap per rule evicts the oldest
 * live bucket if a flood of distinct keys arrives within one window.
 */
import type { Clock } from '../clock.js';

export interface RateRule {
  /** Requests allowed per window; `Infinity` disables the rule (no bucket is kept). */
  limit: number;
  windowMs: number;
}

export type RateRules = Record<string, RateRule>;

export interface TakeResult {
  allowed: boolean;
  limit: number;
  /** Requests left in this window after this one. */
  remaining: number;
  /** Epoch ms when the window resets. */
  resetAt: number;
  resetAfterMs: number;
  /** The bucket key that was charged (rule-qualified). */
  bucket: string;
}

export interface RateLimiter {
  take(key: string, rule: string): TakeResult;
  /** Live buckets across all rules (for tests and /metrics). */
  size(): number;
  readonly rules: Readonly<RateRules>;
}

export interface RateLimiterOptions {
  clock: Clock;
  rules: RateRules;
  /** Hard cap on live buckets per rule (default 100,000). */
  maxBucketsPerRule?: number;
}

/** Names the API uses; configs may override any of them. */
export const DEFAULT_RATE_RULES = {
  /** per (token or IP) × route bucket, like Discord's per-route limits */
  route: { limit: 50, windowMs: 1_000 },
  /** per (IP, login) — slows password guessing against one account */
  loginPerAccount: { limit: 5, windowMs: 60_000 },
  /** per IP — slows credential stuffing across accounts */
  loginPerIp: { limit: 20, windowMs: 60_000 },
} as const satisfies RateRules;

export interface RateLimitConfig {
  /** Lifts every limit (for benchmarks — never in production). */
  disabled?: boolean;
  /** Per-rule overrides, e.g. `{ route: { limit: 10_000 } }`; new names add rules. */
  rules?: Record<string, Partial<RateRule>>;
}

/** Rules from config: the defaults, each overridable. */
export function rateRulesFromConfig(config: RateLimitConfig = {}): RateRules {
  const overrides = config.rules ?? {};
  const rules: RateRules = {};
  const names = new Set([...Object.keys(DEFAULT_RATE_RULES), ...Object.keys(overrides)]);
  for (const name of names) {
    const base: RateRule = (DEFAULT_RATE_RULES as RateRules)[name] ?? { limit: Infinity, windowMs: 1_000 };
    const rule = { ...base, ...(overrides[name] ?? {}) };
    rules[name] = config.disabled ? { ...rule, limit: Infinity } : rule;
  }
  return rules;
}

interface Bucket {
  count: number;
  resetAt: number;
}

export function createRateLimiter(opts: RateLimiterOptions): RateLimiter {
  const { clock } = opts;
  const maxBuckets = opts.maxBucketsPerRule ?? 100_000;
  const rules: RateRules = { ...opts.rules };
  for (const [name, r] of Object.entries(rules)) {
    if (!(r.limit >= 0) || !(r.windowMs > 0)) throw new RangeError(`invalid rate rule ${name}: ${JSON.stringify(r)}`);
  }
  const tables = new Map<string, Map<string, Bucket>>();

  function table(rule: string): Map<string, Bucket> {
    let t = tables.get(rule);
    if (!t) tables.set(rule, (t = new Map()));
    return t;
  }

  function sweep(t: Map<string, Bucket>, now: number): void {
    for (const [key, b] of t) {
      if (b.resetAt > now) break; // everything after this started later, so is live too
      t.delete(key);
    }
  }

  function take(key: string, ruleName: string): TakeResult {
    const rule = rules[ruleName];
    if (!rule) throw new Error(`unknown rate rule ${ruleName}`);
    const now = clock.now();
    const bucketKey = `${ruleName}:${key}`;
    if (rule.limit === Infinity) {
      return { allowed: true, limit: Infinity, remaining: Infinity, resetAt: now, resetAfterMs: 0, bucket: bucketKey };
    }

    const t = table(ruleName);
    sweep(t, now);
    let b = t.get(key);
    if (b && b.resetAt <= now) {
      // Only reachable if the clock stepped backwards and broke the ordering; restart the window.
      t.delete(key);
      b = undefined;
    }
    if (!b) {
      if (t.size >= maxBuckets) {
        const oldest = t.keys().next();
        if (!oldest.done) t.delete(oldest.value);
      }
      b = { count: 0, resetAt: now + rule.windowMs };
      t.set(key, b);
    }

    const allowed = b.count < rule.limit;
    if (allowed) b.count++;
    return {
      allowed,
      limit: rule.limit,
      remaining: Math.max(0, rule.limit - b.count),
      resetAt: b.resetAt,
      resetAfterMs: Math.max(0, b.resetAt - now),
      bucket: bucketKey,
    };
  }

  return {
    take,
    size: () => {
      let n = 0;
      for (const t of tables.values()) n += t.size;
      return n;
    },
    rules,
  };
}
