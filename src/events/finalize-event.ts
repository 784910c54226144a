// The two hot paths over whole events: finalizeEvent for every event this server creates
// (hash, sign, id) and inspectPdu for every event a peer sends (id, hash check, the bytes
// to verify). Both serialise each top-level member once and assemble the hash form and the
// signing form from those parts, instead of canonicalising the event twice over.
import { canonicalJson, canonicalObjectFromParts, fromBase64, sha256, toBase64 } from './canonical-json.js';
import type { Pdu, StoredEvent, UnsignedPdu } from './event-types.js';
import { eventIdFromCanonical } from './event-id.js';
import { HASH_EXCLUDED_KEYS } from './hashes.js';
import { REDACTION_TOP_LEVEL_KEEPS, redactContent } from './redaction.js';
import type { PduLike } from './redaction.js';
import { addSignature, signCanonical } from './signing.js';
import type { SigningKey } from './signing-key.js';

/** Canonical member values of everything the content hash covers. */
function hashParts(ev: PduLike): Map<string, string> {
  const parts = new Map<string, string>();
  const src = ev as unknown as Record<string, unknown>;
  for (const k of Object.keys(src)) {
    if (HASH_EXCLUDED_KEYS.includes(k) || src[k] === undefined) continue;
    parts.set(k, canonicalJson(src[k]));
  }
  return parts;
}

/** The signing form (== redactedCanonical) rebuilt from hash parts plus the hashes value. */
function signingCanonical(ev: PduLike, parts: Map<string, string>, hashesCanonical: string | undefined): string {
  const signing = new Map<string, string>();
  for (const k of REDACTION_TOP_LEVEL_KEEPS) {
    if (k === 'signatures') continue;
    if (k === 'content') signing.set(k, canonicalJson(redactContent(ev.type, ev.content)));
    else if (k === 'hashes') {
      if (hashesCanonical !== undefined) signing.set(k, hashesCanonical);
    } else {
      const v = parts.get(k);
      if (v !== undefined) signing.set(k, v);
    }
  }
  return canonicalObjectFromParts(signing);
}

/** Hashes, signs and names a locally built event. Same result as
 *  withContentHash → signPdu → computeEventId, in two canonicalisations instead of four. */
export function finalizeEvent(ev: UnsignedPdu, serverName: string, key: SigningKey): StoredEvent {
  const parts = hashParts(ev);
  const hashes = { sha256: toBase64(sha256(canonicalObjectFromParts(parts))) };
  const forSigning = signingCanonical(ev, parts, canonicalJson(hashes));
  const sig = signCanonical(forSigning, key);
  const pdu: Pdu = { ...ev, hashes, signatures: addSignature(undefined, serverName, key.keyId, sig) };
  return { event_id: eventIdFromCanonical(forSigning), pdu };
}

export interface PduInspection {
  eventId: string;
  /** The canonical JSON every signature on the event must cover (verifyCanonical). */
  signingCanonical: string;
  /** False: the content was altered after signing; keep only redactPdu(pdu). */
  contentHashMatches: boolean;
}

/** Everything a receiver derives from a peer's event before auth checks. Throws only if
 *  the event has no canonical form at all (e.g. a lone surrogate): reject such an event. */
export function inspectPdu(pdu: Pdu): PduInspection {
  const parts = hashParts(pdu);
  const hashesValue = (pdu as Partial<Pdu>).hashes;
  const forSigning = signingCanonical(pdu, parts, hashesValue === undefined ? undefined : canonicalJson(hashesValue));
  let matches = false;
  const claimed = hashesValue?.sha256;
  if (typeof claimed === 'string') {
    try {
      matches = fromBase64(claimed).equals(sha256(canonicalObjectFromParts(parts)));
    } catch {
      matches = false;
    }
  }
  return { eventId: eventIdFromCanonical(forSigning), signingCanonical: forSigning, contentHashMatches: matches };
}
