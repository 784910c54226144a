// Per-destination health, for `nexus federation status`, /metrics and operators.
import type { Db } from '../../store/database.js';
import { pendingCounts } from './outbox-store.js';

export interface DestinationStatus {
  destination: string;
  /** Events queued for it, not yet acknowledged. */
  pending: number;
  /** Failed attempts in a row (0 after a success). */
  failures: number;
  /** When the next attempt may be made (ms since the epoch; 0: now). */
  retry_at_ts: number;
  last_success_ts: number | null;
  last_failure_ts: number | null;
  last_error: string | null;
  /** PDUs it has acknowledged, ever. */
  sent_events: number;
}

const num = (v: string | number | null): number | null => (v === null ? null : Number(v));

/** Every destination the sender has ever queued for, by name. Reads only the database, so
 *  the CLI can run it beside (or without) a running server. */
export async function federationStatus(db: Db): Promise<DestinationStatus[]> {
  const [rows, pending] = await Promise.all([
    db.selectFrom('federation_destinations')
      .select(['destination', 'failures', 'retry_at_ts', 'last_success_ts', 'last_failure_ts', 'last_error', 'sent_events'])
      .orderBy('destination').execute(),
    pendingCounts(db),
  ]);
  return rows.map((r) => ({
    destination: r.destination,
    pending: pending.get(r.destination) ?? 0,
    failures: Number(r.failures),
    retry_at_ts: Number(r.retry_at_ts),
    last_success_ts: num(r.last_success_ts),
    last_failure_ts: num(r.last_failure_ts),
    last_error: r.last_error,
    sent_events: Number(r.sent_events),
  }));
}
