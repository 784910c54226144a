// Redaction: the form of an event that survives deletion. It keeps what the DAG and the
// authorization rules need, drops everything else, and is what event ids and signatures
// cover, so a redacted copy still verifies and keeps its id (the Matrix scheme).
import { canonicalJson } from './canonical-json.js';
import { EventType } from './event-types.js';
import type { Pdu, UnsignedPdu } from './event-types.js';

/** Top-level keys a redacted event keeps (spec/events.md, "Redaction"). */
export const REDACTION_TOP_LEVEL_KEEPS: readonly string[] = [
  'auth_events',
  'content',
  'depth',
  'hashes',
  'origin',
  'origin_server_ts',
  'prev_events',
  'room_id',
  'sender',
  'signatures',
  'state_key',
  'type',
];

/** Per event type, the content keys a redacted event keeps: exactly the ones authorization
 *  (or placing the event in its channel) depends on. Any type not listed keeps `{}`. */
export const REDACTION_KEEPS: Readonly<Record<string, readonly string[]>> = {
  [EventType.Create]: ['creator', 'room_version', 'kind', 'participants'],
  [EventType.Settings]: [],
  [EventType.Channel]: ['kind', 'deleted'],
  [EventType.Role]: ['permissions', 'position', 'deleted'],
  [EventType.Member]: ['membership', 'roles', 'authorised_by'],
  [EventType.Overwrite]: ['channel', 'target', 'kind', 'allow', 'deny', 'deleted'],
  [EventType.Pin]: ['channel', 'pinned'],
  [EventType.Message]: ['channel'],
  [EventType.Edit]: ['channel', 'target'],
  [EventType.Reaction]: ['channel', 'target'],
  [EventType.Redaction]: ['redacts', 'channel'],
  [EventType.ReadState]: ['room', 'channel', 'event'],
  [EventType.ServerAcl]: ['allow', 'deny'],
};

/** An event in any stage of construction: hashed and/or signed or not. */
export type PduLike = UnsignedPdu & Partial<Pick<Pdu, 'hashes' | 'signatures'>>;

const hasOwn = (o: object, k: string): boolean => Object.prototype.hasOwnProperty.call(o, k);

/** The content a redacted event of this type keeps. */
export function redactContent(type: string, content: unknown): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  if (content === null || typeof content !== 'object' || Array.isArray(content)) return out;
  const keeps = hasOwn(REDACTION_KEEPS, type) ? REDACTION_KEEPS[type]! : [];
  for (const k of keeps) {
    if (hasOwn(content, k)) out[k] = (content as Record<string, unknown>)[k];
  }
  return out;
}

/** The redacted form of an event: a new object, the input is untouched. Shared values
 *  (arrays, signatures) are not copied: treat events as immutable. */
export function redactPdu(ev: Pdu): Pdu;
export function redactPdu(ev: PduLike): PduLike;
export function redactPdu(ev: PduLike): PduLike {
  const src = ev as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k of REDACTION_TOP_LEVEL_KEEPS) {
    if (k === 'content') out.content = redactContent(ev.type, ev.content);
    else if (hasOwn(src, k) && src[k] !== undefined) out[k] = src[k];
  }
  return out as unknown as PduLike;
}

/** Canonical JSON of the redacted event without `signatures` (and, being redacted, without
 *  `unsigned`): the exact bytes that signatures cover and whose SHA-256 is the event id. */
export function redactedCanonical(ev: PduLike): string {
  const r = redactPdu(ev) as Record<string, unknown>;
  delete r.signatures;
  return canonicalJson(r);
}
