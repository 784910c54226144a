// Federation request authentication (spec/federation.md, "Request authentication"; Matrix's
// X-Matrix scheme under our own name). The sender signs the canonical JSON of
//   {method, uri, origin, destination, content?}
// with its current server key and sends
//   Authorization: X-Nexus origin="a.example",destination="b.example",key="ed25519:v1",sig="…"
// The receiver rebuilds the same object from what it received and checks the signature
// with the origin's published key. Pure: key lookup and HTTP live elsewhere.
import type { KeyObject } from 'node:crypto';
import { canonicalJson, canonicalObjectFromParts, fromBase64 } from '../events/canonical-json.js';
import { signCanonical, verifyCanonical } from '../events/signing.js';
import type { SigningKey } from '../events/signing-key.js';
import { parseKeyId } from '../events/signing-key.js';
import { parseServerName } from './discovery.js';

export const AUTH_SCHEME = 'X-Nexus';

/** What a request signature covers. */
export interface RequestSigningInput {
  /** Upper-case HTTP method. */
  method: string;
  /** Path and query exactly as sent on the request line, e.g. `/_nexus/federation/v1/x?a=1`. */
  uri: string;
  origin: string;
  destination: string;
  /** The parsed JSON body; absent when the request has no body. */
  content?: unknown;
}

/** The parameters of an X-Nexus Authorization header. */
export interface XNexusAuth {
  origin: string;
  destination: string;
  key: string;
  sig: string;
}

/** The object that is signed; `content` only when there is a body. */
export function requestSigningJson(input: RequestSigningInput): Record<string, unknown> {
  const obj: Record<string, unknown> = {
    method: input.method.toUpperCase(),
    uri: input.uri,
    origin: input.origin,
    destination: input.destination,
  };
  if (input.content !== undefined) obj.content = input.content;
  return obj;
}

/** The canonical JSON (RFC 8785) whose UTF-8 bytes are signed. Throws if content has no
 *  canonical form. `contentCanonical`, when given, is canonicalJson(input.content) already
 *  computed (a sender that puts it on the wire serialises the body once). */
export function canonicalRequest(input: RequestSigningInput, contentCanonical?: string): string {
  const parts = new Map<string, string>([
    ['method', canonicalJson(input.method.toUpperCase())],
    ['uri', canonicalJson(input.uri)],
    ['origin', canonicalJson(input.origin)],
    ['destination', canonicalJson(input.destination)],
  ]);
  if (contentCanonical !== undefined) parts.set('content', contentCanonical);
  else if (input.content !== undefined) parts.set('content', canonicalJson(input.content));
  return canonicalObjectFromParts(parts);
}

/** Signs a request and returns the Authorization header value. */
export function signRequest(input: RequestSigningInput, key: SigningKey, contentCanonical?: string): string {
  const sig = signCanonical(canonicalRequest(input, contentCanonical), key);
  return formatXNexusHeader({ origin: input.origin, destination: input.destination, key: key.keyId, sig });
}

/** Every value is quoted: server names hold `:` and signatures `/`, `+`, neither of which
 *  is an HTTP token character. Valid values never contain `"` or `\`, so nothing needs
 *  escaping. */
export function formatXNexusHeader(auth: XNexusAuth): string {
  return `${AUTH_SCHEME} origin="${auth.origin}",destination="${auth.destination}",key="${auth.key}",sig="${auth.sig}"`;
}

export type ParseResult = { ok: true; auth: XNexusAuth } | { ok: false; reason: string };

const TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+/;
const KNOWN = ['origin', 'destination', 'key', 'sig'] as const;

/**
 * Parses an Authorization header value of scheme X-Nexus (RFC 9110 §11.4 auth-params):
 * scheme case-insensitive; `name = value` pairs separated by commas with optional
 * whitespace; names case-insensitive; values quoted strings (with `\` escapes) or bare
 * runs without whitespace, commas or quotes. Unknown parameters are ignored (room for
 * later additions); a repeated or missing known parameter, or an invalid value, is refused.
 */
export function parseXNexusHeader(value: string | undefined): ParseResult {
  if (value === undefined || value === '') return fail('no Authorization header');
  if (value.length > 4096) return fail('Authorization header too long');
  const m = /^[ \t]*([!#$%&'*+.^_`|~0-9A-Za-z-]+)(?:[ \t]+|$)/.exec(value);
  if (!m || m[1]!.toLowerCase() !== AUTH_SCHEME.toLowerCase()) return fail(`Authorization scheme is not ${AUTH_SCHEME}`);
  const params = new Map<string, string>();
  let i = m[0].length;
  const skipWs = () => {
    while (i < value.length && (value[i] === ' ' || value[i] === '\t')) i++;
  };
  for (;;) {
    // Empty list elements (", ,") are allowed by the list syntax; skip them.
    skipWs();
    while (value[i] === ',') {
      i++;
      skipWs();
    }
    if (i >= value.length) break;
    const name = TOKEN.exec(value.slice(i));
    if (!name) return fail(`expected a parameter name at offset ${i}`);
    i += name[0].length;
    skipWs();
    if (value[i] !== '=') return fail(`expected "=" after ${name[0]}`);
    i++;
    skipWs();
    let v: string;
    if (value[i] === '"') {
      v = '';
      i++;
      for (;;) {
        if (i >= value.length) return fail('unterminated quoted string');
        const c = value[i]!;
        if (c === '"') break;
        if (c === '\\') {
          i++;
          if (i >= value.length) return fail('unterminated quoted string');
        } else if (c < ' ' && c !== '\t') return fail('control character in quoted string');
        v += value[i];
        i++;
      }
      i++;
    } else {
      const bare = /^[^\s,"]+/.exec(value.slice(i));
      if (!bare) return fail(`empty value for ${name[0]}`);
      v = bare[0];
      i += v.length;
    }
    const key = name[0].toLowerCase();
    if ((KNOWN as readonly string[]).includes(key)) {
      if (params.has(key)) return fail(`repeated parameter ${key}`);
      params.set(key, v);
    }
    skipWs();
    if (i < value.length && value[i] !== ',') return fail(`expected "," at offset ${i}`);
  }
  for (const k of KNOWN) if (!params.has(k)) return fail(`missing parameter ${k}`);
  const auth: XNexusAuth = {
    origin: params.get('origin')!,
    destination: params.get('destination')!,
    key: params.get('key')!,
    sig: params.get('sig')!,
  };
  if (parseServerName(auth.origin) === undefined) return fail('origin is not a server name');
  if (parseServerName(auth.destination) === undefined) return fail('destination is not a server name');
  if (parseKeyId(auth.key) === undefined) return fail('key is not an ed25519 key id');
  let sigBytes: Buffer;
  try {
    sigBytes = fromBase64(auth.sig);
  } catch {
    return fail('sig is not base64');
  }
  if (sigBytes.length !== 64) return fail('sig is not an Ed25519 signature');
  return { ok: true, auth };
}

function fail(reason: string): ParseResult {
  return { ok: false, reason };
}

/**
 * Whether the header's signature covers this request. The caller has already checked that
 * auth.destination is itself and found publicKey as auth.origin's key auth.key; the
 * method, uri and content are what it received. Never throws.
 */
export function verifyRequest(
  request: { method: string; uri: string; content?: unknown },
  auth: XNexusAuth,
  publicKey: KeyObject,
): boolean {
  let canonical: string;
  try {
    canonical = canonicalRequest({ ...request, origin: auth.origin, destination: auth.destination });
  } catch {
    return false; // content with no canonical form carries no valid signature
  }
  return verifyCanonical(canonical, auth.sig, publicKey);
}
