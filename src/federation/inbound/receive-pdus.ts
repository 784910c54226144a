import type { Logger } from 'pino';
import { EventType, type StoredEvent } from '../../events/event-types.js';
import type { RemoteVerdict } from '../../guilds/remote-plan.js';
import type { RoomWriter } from '../../guilds/room-writer.js';
import type { Db } from '../../store/database.js';
import type { FederationClient } from '../federation-client.js';
import type { RemoteKeyStore } from '../remote-keys.js';
import { FEDERATION_PATH_PREFIX } from '../request-auth-middleware.js';
import { checkPdu, type PduCheck } from './check-pdu.js';
import { verifyState } from './verify-state.js';
import type { VerifierPool } from './verifier-pool.js';
import type { HistoryBackfill } from '../history-backfill.js';
import { getLoggedEvent } from '../../store/event-log.js';
import { byDepthThenId } from '../read-endpoints/dag-walk.js';
import { roomExists } from '../../store/append-events.js';

/** Per PDU: {} when it was accepted (or already known), else why not. */
export type PduResults = Record<string, { error?: string }>;

export interface PduReceiverDeps {
  db: Db;
  writer: Pick<RoomWriter, 'submitRemote' | 'headOf'>;
  keys: RemoteKeyStore;
  client: Pick<FederationClient, 'get' | 'post'>;
  /** Gives the users an event names a row here (accounts.ensureRemoteUsers). */
  ensureUsers: (nexusIds: string[]) => Promise<void>;
  log: Logger;
  /** Worker threads for the signatures of big transactions (owned by the federation). */
  verifiers: VerifierPool;
  /** Fetches, as history, the messages of a gap the DAG could not close. */
  history?: Pick<HistoryBackfill, 'gap'>;
  /** Rounds of get_missing_events (each up to 100 events) before falling back to /state. */
  maxGapRounds?: number;
}

const GAP_PAGE = 100;
/** Transactions with this many PDUs have their signatures checked on worker threads. */
const PARALLEL_MIN_PDUS = 8;

/**
 * Receives peers' PDUs (spec/federation.md, "Receiving PDUs"): checks each one's hash and
 * signature, groups them by guild, fills gaps in the DAG from the sending server
 * (get_missing_events, then /state when the gap is too deep), and appends them through the
 * room writer, the same path local events take.
 */
export function createPduReceiver(deps: PduReceiverDeps) {
  const maxRounds = deps.maxGapRounds ?? 200;

  /** checkPdu for each, all at once (the same answers as one by one). */
  async function checkAll(raws: unknown[]): Promise<PduCheck[]> {
    if (raws.length < PARALLEL_MIN_PDUS) {
      const out: PduCheck[] = [];
      for (const raw of raws) out.push(await checkPdu(raw, undefined, deps.keys));
      return out;
    }
    return deps.verifiers.use((verify) => Promise.all(raws.map((raw) => checkPdu(raw, undefined, deps.keys, { verify }))));
  }

  async function receive(origin: string, raws: unknown[]): Promise<PduResults> {
    const results: PduResults = {};
    const byRoom = new Map<string, StoredEvent[]>();
    const redacted = new Set<string>();
    for (const [i, checked] of (await checkAll(raws)).entries()) {
      if (!checked.ok) {
        results[checked.eventId ?? `#${i}`] = { error: checked.reason };
        continue;
      }
      if (checked.redacted) redacted.add(checked.event.event_id);
      if (checked.redacted) deps.log.info({ event_id: checked.event.event_id, origin }, 'content hash mismatch: keeping the redacted event');
      const list = byRoom.get(checked.event.pdu.room_id) ?? [];
      list.push(checked.event);
      byRoom.set(checked.event.pdu.room_id, list);
    }
    for (const [roomId, events] of byRoom) {
      if (!(await roomExists(deps.db, roomId))) {
        for (const ev of events) results[ev.event_id] = { error: 'this server has no member in that guild' };
        continue;
      }
      const verdicts = await appendFillingGaps(origin, roomId, byDepth(events), 0, redacted);
      for (const ev of events) results[ev.event_id] = resultOf(verdicts.get(ev.event_id));
    }
    return results;
  }

  async function appendFillingGaps(origin: string, roomId: string, events: StoredEvent[], round: number, redacted?: ReadonlySet<string>): Promise<Map<string, RemoteVerdict>> {
    await deps.ensureUsers(usersNamedBy(events));
    const verdicts = await deps.writer.submitRemote(roomId, { events, redacted });
    let waiting = events.filter((e) => verdicts.get(e.event_id)?.status === 'missing');
    if (waiting.length === 0) return verdicts;

    if (round < maxRounds) {
      const fetched = await fetchMissing(origin, roomId, waiting);
      if (fetched.length > 0) {
        await appendFillingGaps(origin, roomId, fetched, round + 1);
        const again = await deps.writer.submitRemote(roomId, { events: waiting, redacted });
        for (const [id, v] of again) verdicts.set(id, v);
        waiting = waiting.filter((e) => verdicts.get(e.event_id)?.status === 'missing');
      }
    }
    // Too deep, the peer had nothing, or what it sent did not close the gap: take the state
    // at the missing prev from the peer, so one unclosable gap does not hold back the
    // server's later events.
    for (const ev of waiting) {
      const v = verdicts.get(ev.event_id);
      if (v?.status !== 'missing' || ev.pdu.prev_events.length !== 1) continue;
      const seeded = await appendOnFetchedState(origin, roomId, ev);
      if (seeded) verdicts.set(ev.event_id, seeded);
    }
    return verdicts;
  }

  async function fetchMissing(origin: string, roomId: string, waiting: StoredEvent[]): Promise<StoredEvent[]> {
    const head = await deps.writer.headOf(roomId);
    let body: { events?: unknown };
    try {
      body = await deps.client.post(origin, `${FEDERATION_PATH_PREFIX}/get_missing_events/${encodeURIComponent(roomId)}`, {
        earliest_events: head.extremities, latest_events: waiting.map((e) => e.event_id), limit: GAP_PAGE,
      });
    } catch (err) {
      deps.log.info({ err, origin, roomId }, 'get_missing_events failed');
      return [];
    }
    const out: StoredEvent[] = [];
    for (const raw of Array.isArray(body.events) ? body.events.slice(0, GAP_PAGE) : []) {
      const checked = await checkPdu(raw, roomId, deps.keys);
      if (checked.ok) out.push(checked.event);
    }
    return byDepth(out);
  }

  async function appendOnFetchedState(origin: string, roomId: string, ev: StoredEvent): Promise<RemoteVerdict | undefined> {
    const prev = ev.pdu.prev_events[0];
    try {
      const body = await deps.client.get<{ pdus?: unknown; auth_chain?: unknown }>(origin, `${FEDERATION_PATH_PREFIX}/state/${encodeURIComponent(roomId)}?event_id=${encodeURIComponent(prev)}`);
      const verified = await verifyState(roomId, asArray(body.pdus), asArray(body.auth_chain), deps.keys);
      if (!verified.ok) {
        deps.log.info({ origin, roomId, reason: verified.reason }, 'refused the state a peer sent for a gap');
        return undefined;
      }
      await deps.ensureUsers(usersNamedBy(verified.events));
      const verdicts = await deps.writer.submitRemote(roomId, { events: [ev], outliers: verified.events, seedState: verified.state });
      const verdict = verdicts.get(ev.event_id);
      // The DAG now skips what lies between what we held and `ev`: the messages written
      // there are fetched as history, placed before `ev`, in the background.
      const appended = verdict?.status === 'accepted' ? await getLoggedEvent(deps.db, ev.event_id) : undefined;
      if (appended && deps.history) await deps.history.gap(roomId, [prev], appended.received_ts);
      return verdict;
    } catch (err) {
      deps.log.info({ err, origin, roomId }, 'could not fetch the state at a gap');
      return undefined;
    }
  }

  return { receive, appendFillingGaps };
}

export type PduReceiver = ReturnType<typeof createPduReceiver>;

function resultOf(v: RemoteVerdict | undefined): { error?: string } {
  if (!v) return { error: 'not processed' };
  if (v.status === 'accepted' || v.status === 'duplicate') return {};
  if (v.status === 'rejected') return { error: v.reason };
  return { error: `missing prev_events: ${v.missing.join(', ')}` };
}

/** Parents before children: depth, then id for a stable order. */
export function byDepth(events: StoredEvent[]): StoredEvent[] {
  return [...events].sort(byDepthThenId);
}

/** The users an event shows: its sender, and a member event's subject. */
export function usersNamedBy(events: StoredEvent[]): string[] {
  const ids = new Set<string>();
  for (const ev of events) {
    ids.add(ev.pdu.sender);
    if (ev.pdu.type === EventType.Member && typeof ev.pdu.state_key === 'string') ids.add(ev.pdu.state_key);
  }
  return [...ids];
}

const asArray = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
