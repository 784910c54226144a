// Canonical JSON (RFC 8785, the JSON Canonicalization Scheme) and the byte encodings the
// event format uses. Everything that is hashed or signed goes through canonicalJson, so two
// servers that parse and re-serialise an event still agree on its bytes.
import { createHash } from 'node:crypto';
import canonicalize from 'canonicalize';

/** RFC 8785 serialisation. Throws on values JSON cannot carry (NaN, Infinity, lone
 *  surrogates, cycles, a bare `undefined`). */
export function canonicalJson(value: unknown): string {
  const out = canonicalize(value);
  if (out === undefined) throw new TypeError('canonicalJson: value has no JSON form');
  return out;
}

/** Canonical JSON of an object whose members were already canonicalised one by one.
 *  Equal to canonicalJson(obj) when `parts` maps each key of obj to canonicalJson(obj[key]);
 *  it lets finalizeEvent serialise shared members (prev_events, auth_events, ...) once for
 *  both the hash form and the signing form. Keys sort by UTF-16 code units, as RFC 8785
 *  §3.2.3 requires (and as Array.prototype.sort does by default). */
export function canonicalObjectFromParts(parts: ReadonlyMap<string, string>): string {
  const keys = [...parts.keys()].sort();
  let out = '{';
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    if (i > 0) out += ',';
    out += canonicalJson(k) + ':' + parts.get(k)!;
  }
  return out + '}';
}

/** SHA-256; strings are hashed as UTF-8. */
export function sha256(data: string | Uint8Array): Buffer {
  return createHash('sha256').update(data).digest();
}

/** Standard alphabet, unpadded: hashes, signatures and keys. */
export function toBase64(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('base64').replace(/=+$/, '');
}

/** URL-safe alphabet, unpadded: event ids only. */
export function toBase64Url(buf: Uint8Array): string {
  return Buffer.from(buf.buffer, buf.byteOffset, buf.byteLength).toString('base64url');
}

// Buffer.from(s, 'base64') silently skips characters outside the alphabet; a signature
// or key with junk in it must be refused, not half-decoded.
const BASE64_ANY = /^[A-Za-z0-9+/_-]*={0,2}$/;

/** Decodes base64 in either alphabet, padded or not. Throws on anything else. */
export function fromBase64(s: string): Buffer {
  if (!BASE64_ANY.test(s)) throw new TypeError('fromBase64: not base64');
  const body = s.replace(/=+$/, '');
  if (body.length % 4 === 1) throw new TypeError('fromBase64: impossible length');
  if (s.length !== body.length && s.length % 4 !== 0) throw new TypeError('fromBase64: bad padding');
  return Buffer.from(body.replace(/-/g, '+').replace(/_/g, '/'), 'base64');
}
