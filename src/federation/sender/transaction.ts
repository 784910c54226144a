// The shape of an outbound `PUT /_nexus/federation/v1/send/{txnId}` and how its id is made.
import { createHash } from 'node:crypto';
import type { Pdu } from '../../events/event-types.js';

export const SEND_PATH_PREFIX = '/_nexus/federation/v1/send/';

/** Spec limits of one transaction (DESIGN, Federation: ≤50 PDUs, ≤100 EDUs). */
export const MAX_PDUS_PER_TXN = 50;
export const MAX_EDUS_PER_TXN = 100;

/** An ephemeral data unit (typing, presence): sent, never logged. */
export interface Edu {
  edu_type: string;
  content: object;
}

export interface SendTransactionBody {
  origin: string;
  origin_server_ts: number;
  pdus: Pdu[];
  edus: Edu[];
}

/** The receiver's answer: per PDU event id, `{}` or `{error}`. */
export interface SendTransactionResponse {
  pdus?: Record<string, { error?: string } | undefined>;
}

/**
 * The id of a transaction carrying these outbox rows. A retry of the same rows gets the same
 * id, so the receiver's per-(origin, txn id) idempotency answers it from its cache. The digest
 * of the event ids is there because positions alone do not pin the content: a row whose
 * event committed late can land between two positions already tried, and the receiver must
 * never answer a different set of PDUs from the cache of an earlier one (we would delete a
 * row it never saw). EDUs ride along but are not part of the id: they are best effort, and
 * if a retried id is answered from the cache, its EDUs are simply lost.
 */
export function pduTransactionId(rows: ReadonlyArray<{ position: string; event_id: string }>): string {
  if (rows.length === 0) throw new Error('a PDU transaction needs at least one row');
  const digest = createHash('sha256').update(rows.map((r) => r.event_id).join('\n')).digest('base64url').slice(0, 16);
  return `${rows[0].position}-${rows[rows.length - 1].position}-${digest}`;
}

/** The id of a transaction of EDUs only: unique per sender instance and attempt. */
export function eduTransactionId(instance: string, seq: number): string {
  return `edu-${instance}-${seq}`;
}
