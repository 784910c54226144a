// Event ids are content addresses: `$` + URL-safe base64 of the SHA-256 of the redacted,
// unsigned event. Deriving (never storing) the id means a peer cannot reuse an id for a
// different event, and redacting an event keeps its id.
import { sha256, toBase64Url } from './canonical-json.js';
import type { Pdu } from './event-types.js';
import { redactedCanonical } from './redaction.js';
import type { PduLike } from './redaction.js';

/** The id for the given redactedCanonical(ev) string. */
export function eventIdFromCanonical(redactedCanonicalJson: string): string {
  return '$' + toBase64Url(sha256(redactedCanonicalJson));
}

/** The event's id. It covers `hashes`, so any content change changes it too. */
export function computeEventId(ev: Pdu | PduLike): string {
  return eventIdFromCanonical(redactedCanonical(ev));
}

/** Syntactic check of an event id: `$` + 43 URL-safe base64 chars (32 bytes, unpadded). */
export function isEventId(s: string): boolean {
  return /^\$[A-Za-z0-9_-]{43}$/.test(s);
}
