import { DEFAULT_RATE_RULES, createRateLimiter, rateRulesFromConfig } from '../../src/api/rate-limit.js';

function fakeClock(start = 1_700_000_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

describe('rate limiter (fixed window, fake clock)', () => {
  test('exhausts, refuses, then resets after the window', () => {
    const clock = fakeClock();
    const rl = createRateLimiter({ clock, rules: { r: { limit: 3, windowMs: 1000 } } });

    const results = [1, 2, 3].map(() => rl.take('alice', 'r'));
    expect(results.map((r) => [r.allowed, r.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    expect(results[0]).toMatchObject({ limit: 3, resetAt: clock.t + 1000, resetAfterMs: 1000, bucket: 'r:alice' });

    clock.t += 400;
    const denied = rl.take('alice', 'r');
    expect(denied).toMatchObject({ allowed: false, remaining: 0, resetAt: clock.t + 600, resetAfterMs: 600 });
    // a denial does not push the reset further away
    expect(rl.take('alice', 'r').resetAt).toBe(denied.resetAt);

    clock.t += 599;
    expect(rl.take('alice', 'r').allowed).toBe(false);
    clock.t += 1;
    const fresh = rl.take('alice', 'r');
    expect(fresh).toMatchObject({ allowed: true, remaining: 2, resetAt: clock.t + 1000 });
  });

  test('keys and rules are independent', () => {
    const clock = fakeClock();
    const rl = createRateLimiter({ clock, rules: { a: { limit: 1, windowMs: 1000 }, b: { limit: 1, windowMs: 1000 } } });
    expect(rl.take('k', 'a').allowed).toBe(true);
    expect(rl.take('k', 'a').allowed).toBe(false);
    expect(rl.take('k', 'b').allowed).toBe(true);
    expect(rl.take('other', 'a').allowed).toBe(true);
  });

  test('expired buckets are swept lazily, keeping memory bounded', () => {
    const clock = fakeClock();
    const rl = createRateLimiter({ clock, rules: { r: { limit: 5, windowMs: 1000 } } });
    for (let i = 0; i < 1000; i++) rl.take(`ip${i}`, 'r');
    expect(rl.size()).toBe(1000);
    clock.t += 500;
    for (let i = 0; i < 10; i++) rl.take(`late${i}`, 'r');
    expect(rl.size()).toBe(1010);
    clock.t += 500; // the first 1000 windows end now
    rl.take('x', 'r');
    expect(rl.size()).toBe(11);
    clock.t += 10_000;
    rl.take('y', 'r');
    expect(rl.size()).toBe(1);
  });

  test('a window restart moves the bucket to the back, so sweeping stays correct', () => {
    const clock = fakeClock();
    const rl = createRateLimiter({ clock, rules: { r: { limit: 1, windowMs: 1000 } } });
    rl.take('a', 'r'); // window [0, 1000)
    clock.t += 500;
    rl.take('b', 'r'); // window [500, 1500)
    clock.t += 600; // 1100: a expired, b live
    expect(rl.take('a', 'r').allowed).toBe(true); // a restarts: [1100, 2100)
    clock.t += 500; // 1600: b expired, a live
    expect(rl.take('a', 'r').allowed).toBe(false);
    rl.take('c', 'r');
    expect(rl.size()).toBe(2); // a and c; b swept even though a sits before it in insertion history
  });

  test('a hard cap evicts the oldest bucket under a flood of keys', () => {
    const clock = fakeClock();
    const rl = createRateLimiter({ clock, rules: { r: { limit: 1, windowMs: 60_000 } }, maxBucketsPerRule: 100 });
    for (let i = 0; i < 500; i++) rl.take(`k${i}`, 'r');
    expect(rl.size()).toBe(100);
    expect(rl.take('k499', 'r').allowed).toBe(false); // the newest are still tracked
  });

  test('an Infinity limit disables the rule and keeps nothing', () => {
    const clock = fakeClock();
    const rl = createRateLimiter({ clock, rules: rateRulesFromConfig({ disabled: true }) });
    for (let i = 0; i < 1000; i++) expect(rl.take('k', 'route').allowed).toBe(true);
    expect(rl.size()).toBe(0);
  });

  test('unknown rule and invalid rules throw', () => {
    const rl = createRateLimiter({ clock: fakeClock(), rules: {} });
    expect(() => rl.take('k', 'nope')).toThrow(/unknown rate rule/);
    expect(() => createRateLimiter({ clock: fakeClock(), rules: { r: { limit: 1, windowMs: 0 } } })).toThrow(RangeError);
  });

  test('config: defaults, overrides, disabled', () => {
    expect(rateRulesFromConfig()).toEqual(DEFAULT_RATE_RULES);
    expect(DEFAULT_RATE_RULES).toEqual({
      route: { limit: 50, windowMs: 1000 },
      loginPerAccount: { limit: 5, windowMs: 60_000 },
      loginPerIp: { limit: 20, windowMs: 60_000 },
    });
    const rules = rateRulesFromConfig({ rules: { route: { limit: 10_000 }, extra: { limit: 2, windowMs: 5 } } });
    expect(rules.route).toEqual({ limit: 10_000, windowMs: 1000 });
    expect(rules.extra).toEqual({ limit: 2, windowMs: 5 });
    expect(Object.values(rateRulesFromConfig({ disabled: true })).every((r) => r.limit === Infinity)).toBe(true);
  });
});
