import type { KeyObject } from 'node:crypto';
import { EventType, serverOf, type Pdu, type StoredEvent } from '../../events/event-types.js';
import { inspectPdu } from '../../events/finalize-event.js';
import { redactPdu } from '../../events/redaction.js';
import { verifyCanonical } from '../../events/signing.js';
import type { RemoteKeyStore } from '../remote-keys.js';

// The first checks on a peer's event (spec/federation.md, "Receiving PDUs", steps 1–3),
// before it goes near the DAG: its shape and size, its content hash, and the signature of
// the server that built it. A hash mismatch does not reject: the event is kept in its
// redacted form, which the signature still covers (the same rule as Matrix).

/** Larger events are refused (the canonical JSON of the event, in bytes). */
export const MAX_PDU_BYTES = 65_536;

/** Checks one Ed25519 signature over `canonical` (verifyCanonical, or the same on another thread). */
export type SignatureVerifier = (canonical: string, signatureBase64: string, publicKey: KeyObject) => boolean | Promise<boolean>;

export type PduCheck =
  | { ok: true; event: StoredEvent; redacted: boolean }
  | { ok: false; eventId?: string; reason: string };

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const isStringArray = (v: unknown): v is string[] => Array.isArray(v) && v.length <= 20 && v.every((x) => typeof x === 'string');

/** The structural check: every field a Nexus PDU has, with the right types. */
export function pduShapeError(raw: unknown): string | undefined {
  if (!isRecord(raw)) return 'not an object';
  if ('event_id' in raw) return 'a PDU carries no event_id (it is derived from the content)';
  for (const k of ['room_id', 'type', 'sender', 'origin'] as const) if (typeof raw[k] !== 'string') return `${k} must be a string`;
  if (raw.state_key !== undefined && typeof raw.state_key !== 'string') return 'state_key must be a string';
  if (!Number.isSafeInteger(raw.origin_server_ts) || !Number.isSafeInteger(raw.depth) || (raw.depth as number) < 0) return 'origin_server_ts and depth must be integers';
  if (!isStringArray(raw.prev_events) || !isStringArray(raw.auth_events)) return 'prev_events and auth_events must be arrays of at most 20 ids';
  if (!isRecord(raw.content)) return 'content must be an object';
  if (!isRecord(raw.hashes) || typeof raw.hashes.sha256 !== 'string') return 'hashes.sha256 is missing';
  if (!isRecord(raw.signatures)) return 'signatures is missing';
  if ((raw.sender as string).indexOf(':') < 0 || serverOf(raw.sender as string) !== raw.origin) return "the sender must be a user of the event's origin server";
  return undefined;
}

/**
 * Checks a peer's PDU for `roomId`: shape, size, content hash (mismatch → redacted), and
 * an Ed25519 signature of its origin server with a key valid at origin_server_ts (and, for
 * a join through an invite, of the inviter's server — unless that is `notYetSignedBy`).
 */
export async function checkPdu(raw: unknown, roomId: string | undefined, keys: RemoteKeyStore, opts: { notYetSignedBy?: string; verify?: SignatureVerifier } = {}): Promise<PduCheck> {
  const shape = pduShapeError(raw);
  if (shape) return { ok: false, reason: shape };
  const pdu = raw as unknown as Pdu;
  if (roomId !== undefined && pdu.room_id !== roomId) return { ok: false, reason: `the event belongs to ${pdu.room_id}, not ${roomId}` };
  let inspection;
  let size: number;
  try {
    // JSON.stringify gives the canonical form's length (only the key order differs), at a
    // fraction of the cost; inspectPdu canonicalises the parts it needs once.
    size = Buffer.byteLength(JSON.stringify(pdu));
    inspection = inspectPdu(pdu);
  } catch {
    return { ok: false, reason: 'the event has no canonical JSON form' };
  }
  const eventId = inspection.eventId;
  if (size > MAX_PDU_BYTES) return { ok: false, eventId, reason: `the event is ${size} bytes; the limit is ${MAX_PDU_BYTES}` };

  // The origin signs every event; a join through an invite is also signed by the
  // inviter's server (rule 3.1c checks the signature is there; this checks it verifies).
  const signers = new Set([pdu.origin]);
  const authorisedBy = (pdu.content as { authorised_by?: unknown }).authorised_by;
  if (pdu.type === EventType.Member && typeof authorisedBy === 'string' && authorisedBy.includes(':')) signers.add(serverOf(authorisedBy));
  if (opts.notYetSignedBy !== undefined && opts.notYetSignedBy !== pdu.origin) signers.delete(opts.notYetSignedBy); // send_join: we co-sign next
  for (const server of signers) {
    const why = await signatureProblem(pdu, server, inspection.signingCanonical, keys, opts.verify ?? verifyCanonical);
    if (why) return { ok: false, eventId, reason: why };
  }
  if (!inspection.contentHashMatches) return { ok: true, event: { event_id: eventId, pdu: redactPdu(pdu) }, redacted: true };
  return { ok: true, event: { event_id: eventId, pdu }, redacted: false };
}

/** Undefined when some signature of `server` on the event verifies; else why not. */
async function signatureProblem(pdu: Pdu, server: string, signingCanonical: string, keys: RemoteKeyStore, verify: SignatureVerifier): Promise<string | undefined> {
  const sigs = pdu.signatures[server];
  if (!isRecord(sigs) || Object.keys(sigs).length === 0) return `the event is not signed by ${server}`;
  let why = `no signature of ${server} verified`;
  for (const [keyId, sig] of Object.entries(sigs)) {
    if (typeof sig !== 'string') continue;
    const found = await keys.lookup(server, keyId, pdu.origin_server_ts);
    if (!found.ok) {
      why = `key ${keyId} of ${server}: ${found.reason}`;
      continue;
    }
    if (await verify(signingCanonical, sig, found.key.publicKey)) return undefined;
    why = `the signature by ${server} ${keyId} does not verify`;
  }
  return why;
}
