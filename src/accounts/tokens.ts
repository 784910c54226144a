/**
 * Session/bot tokens. Shaped like Discord's (`base64url(userId).<secret>`) so clients that
 * peek at the first segment keep working, with 256 bits of randomness as the secret.
 * Only `hashToken(token)` is ever stored: a leaked database does not leak live tokens, and
 * SHA-256 is enough because the secret is random, not a human password.
 */
import { createHash, randomBytes } from 'node:crypto';

export const TOKEN_SECRET_BYTES = 32;

export function newToken(userId: string): string {
  const id = Buffer.from(userId, 'utf8').toString('base64url');
  return `${id}.${randomBytes(TOKEN_SECRET_BYTES).toString('base64url')}`;
}

/** SHA-256 hex of the whole token: the key tokens are stored and looked up by. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token, 'utf8').digest('hex');
}

/**
 * The user id a token claims to belong to, for logs and diagnostics only: it is not proof of
 * anything — authentication is a lookup by `hashToken`.
 */
export function claimedUserId(token: string): string | null {
  const dot = token.indexOf('.');
  if (dot <= 0) return null;
  const id = Buffer.from(token.slice(0, dot), 'base64url').toString('utf8');
  return id.length > 0 ? id : null;
}
