// The content hash: SHA-256 over the whole event except the parts that legitimately change
// after signing (signatures, unsigned) and the hash itself. It covers what redaction strips,
// so a mismatch tells a receiver "the full content was altered: keep only the redacted
// form", while the signature (over the redacted form) still proves who built the event.
import { canonicalJson, fromBase64, sha256, toBase64 } from './canonical-json.js';
import type { Pdu, UnsignedPdu } from './event-types.js';

/** The keys never covered by the content hash. */
export const HASH_EXCLUDED_KEYS: readonly string[] = ['signatures', 'unsigned', 'hashes'];

/** The canonical JSON the content hash is computed over. */
export function canonicalForContentHash(ev: UnsignedPdu | Pdu): string {
  const rest: Record<string, unknown> = { ...ev };
  for (const k of HASH_EXCLUDED_KEYS) delete rest[k];
  return canonicalJson(rest);
}

/** base64 (standard, unpadded) SHA-256 of canonicalForContentHash(ev). */
export function computeContentHash(ev: UnsignedPdu | Pdu): string {
  return toBase64(sha256(canonicalForContentHash(ev)));
}

/** A copy of ev with `hashes.sha256` set. */
export function withContentHash(ev: UnsignedPdu): Omit<Pdu, 'signatures'> {
  return { ...ev, hashes: { sha256: computeContentHash(ev) } };
}

/** Whether the stored hash matches the event's content. False means: redact, not reject.
 *  Compares bytes, so a peer that pads its base64 is still understood. */
export function contentHashMatches(ev: Pdu): boolean {
  const claimed = ev.hashes?.sha256;
  if (typeof claimed !== 'string') return false;
  let claimedBytes: Buffer;
  try {
    claimedBytes = fromBase64(claimed);
  } catch {
    return false;
  }
  return claimedBytes.equals(sha256(canonicalForContentHash(ev)));
}
