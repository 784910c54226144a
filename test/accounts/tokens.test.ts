import { claimedUserId, hashToken, newToken } from '../../src/accounts/tokens.js';

describe('tokens', () => {
  const userId = '175928847299117063';

  test('Discord-like shape: base64url(userId).base64url(32 random bytes)', () => {
    const token = newToken(userId);
    expect(token).toMatch(/^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{43}$/);
    const [id, secret] = token.split('.');
    expect(Buffer.from(id, 'base64url').toString()).toBe(userId);
    expect(Buffer.from(secret, 'base64url')).toHaveLength(32);
    expect(claimedUserId(token)).toBe(userId);
  });

  test('tokens are unique', () => {
    const tokens = new Set(Array.from({ length: 2000 }, () => newToken(userId)));
    expect(tokens.size).toBe(2000);
  });

  test('hash is SHA-256 hex, stable, and differs per token', () => {
    expect(hashToken('abc')).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    const t = newToken(userId);
    expect(hashToken(t)).toBe(hashToken(t));
    expect(hashToken(t)).toMatch(/^[0-9a-f]{64}$/);
    expect(hashToken(t)).not.toBe(hashToken(newToken(userId)));
  });

  test('claimedUserId of a malformed token is null', () => {
    expect(claimedUserId('nodot')).toBeNull();
    expect(claimedUserId('.secret')).toBeNull();
  });
});
