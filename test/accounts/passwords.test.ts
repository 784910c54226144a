import {
  DEFAULT_SCRYPT_COST,
  PASSWORD_MAX_LENGTH,
  PASSWORD_MIN_LENGTH,
  hashPassword,
  needsRehash,
  parsePasswordHash,
  verifyPassword,
  verifyPasswordOrBurn,
} from '../../src/accounts/passwords.js';

// Tests lower N for speed; one test below exercises the production cost.
const cost = { N: 2 ** 14, r: 8, p: 1 };

describe('passwords', () => {
  test('limits are exported for the API schema', () => {
    expect([PASSWORD_MIN_LENGTH, PASSWORD_MAX_LENGTH]).toEqual([8, 128]);
  });

  test('hash is self-describing: scrypt$N$r$p$salt$hash', async () => {
    const stored = await hashPassword('correct horse battery staple', { cost });
    const m = stored.match(/^scrypt\$(\d+)\$(\d+)\$(\d+)\$([A-Za-z0-9+/]+=*)\$([A-Za-z0-9+/]+=*)$/);
    expect(m).not.toBeNull();
    expect(m!.slice(1, 4)).toEqual(['16384', '8', '1']);
    const parsed = parsePasswordHash(stored)!;
    expect(parsed.cost).toEqual(cost);
    expect(parsed.salt).toHaveLength(16);
    expect(parsed.key).toHaveLength(32);
  });

  test('verify: right password true, wrong false', async () => {
    const stored = await hashPassword('correct horse battery staple', { cost });
    expect(await verifyPassword('correct horse battery staple', stored)).toBe(true);
    expect(await verifyPassword('correct horse battery stapl', stored)).toBe(false);
    expect(await verifyPassword('Correct horse battery staple', stored)).toBe(false);
    expect(await verifyPassword('', stored)).toBe(false);
  });

  test('salts are random: same password, different hashes, both verify', async () => {
    const [a, b] = await Promise.all([hashPassword('same password', { cost }), hashPassword('same password', { cost })]);
    expect(a).not.toBe(b);
    expect(await verifyPassword('same password', a)).toBe(true);
    expect(await verifyPassword('same password', b)).toBe(true);
  });

  test('unicode is normalised (NFKC): composed and decomposed forms match', async () => {
    const stored = await hashPassword('caf\u00e9 au lait', { cost });
    expect(await verifyPassword('cafe\u0301 au lait', stored)).toBe(true);
  });

  test('production default cost round-trips', async () => {
    expect(DEFAULT_SCRYPT_COST).toEqual({ N: 32768, r: 8, p: 1 });
    const stored = await hashPassword('a production password');
    expect(stored.startsWith('scrypt$32768$8$1$')).toBe(true);
    expect(await verifyPassword('a production password', stored)).toBe(true);
    expect(needsRehash(stored)).toBe(false);
  });

  test('malformed or hostile stored hashes verify false instead of throwing', async () => {
    const good = await hashPassword('password123', { cost });
    const parts = good.split('$');
    const variants = [
      '',
      'not a hash',
      '$2b$10$abcdefghijklmnopqrstuv', // bcrypt
      parts.slice(0, 5).join('$'),
      ['argon2', ...parts.slice(1)].join('$'),
      ['scrypt', '1000', ...parts.slice(2)].join('$'), // N not a power of two
      ['scrypt', String(2 ** 30), ...parts.slice(2)].join('$'), // would need 128 GiB
      ['scrypt', parts[1], '0', ...parts.slice(3)].join('$'),
      [...parts.slice(0, 5), ''].join('$'),
    ];
    for (const v of variants) {
      expect(parsePasswordHash(v)).toBeNull();
      expect(await verifyPassword('password123', v)).toBe(false);
    }
  });

  test('needsRehash when the cost changes', async () => {
    const stored = await hashPassword('password123', { cost });
    expect(needsRehash(stored, cost)).toBe(false);
    expect(needsRehash(stored)).toBe(true);
    expect(needsRehash('garbage')).toBe(true);
  });

  test('invalid cost is refused when hashing', async () => {
    await expect(hashPassword('password123', { cost: { N: 1000, r: 8, p: 1 } })).rejects.toThrow(RangeError);
  });

  test('verifyPasswordOrBurn: false for a missing account, real answer otherwise', async () => {
    expect(await verifyPasswordOrBurn('whatever password', null)).toBe(false);
    expect(await verifyPasswordOrBurn('whatever password', undefined)).toBe(false);
    const stored = await hashPassword('whatever password', { cost });
    expect(await verifyPasswordOrBurn('whatever password', stored)).toBe(true);
  });
});
