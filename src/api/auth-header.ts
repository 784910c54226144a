/**
 * Reads the token out of an Authorization header. Discord clients send `Bot <token>` (bots),
 * `Bearer <token>` (OAuth2) or the bare token (user clients); we accept all three, with the
 * scheme matched case-insensitively. Anything else — another scheme, embedded whitespace, an
 * absurd length — is "no token", so the caller answers 401 rather than hashing garbage.
 */

/** Our tokens are ~70 characters; the cap only stops pathological headers. */
const MAX_TOKEN_LENGTH = 512;
const SCHEMES = new Set(['bot', 'bearer']);
const TOKEN_RE = /^[A-Za-z0-9._~+/=-]+$/;

export function tokenFromAuthorization(header?: string | null): string | null {
  if (typeof header !== 'string') return null;
  const trimmed = header.trim();
  if (trimmed === '') return null;

  let token = trimmed;
  const space = trimmed.search(/\s/);
  if (space === -1 && SCHEMES.has(trimmed.toLowerCase())) return null; // a scheme with no token
  if (space !== -1) {
    const scheme = trimmed.slice(0, space).toLowerCase();
    if (!SCHEMES.has(scheme)) return null;
    token = trimmed.slice(space).trim();
  }
  if (token.length === 0 || token.length > MAX_TOKEN_LENGTH || !TOKEN_RE.test(token)) return null;
  return token;
}
