import type { Clock } from '../clock.js';
import { authorizeEvent } from '../events/auth-rules.js';
import { selectAuthEvents } from '../events/auth-events.js';
import type { StoredEvent, UnsignedPdu } from '../events/event-types.js';
import { finalizeEvent } from '../events/finalize-event.js';
import type { SigningKey } from '../events/signing-key.js';
import { applyInPlace, type StateMap } from '../events/state-map.js';
import type { Db } from '../store/database.js';
import { appendToRoom, ConcurrencyError, loadRoomHead, loadRoomState, type RoomHead } from '../store/append-events.js';
import { earliestReceivedTs, type LoggedEvent } from '../store/event-log.js';
import { linearPlan } from '../store/dag-plan.js';
import { recordRejections } from '../store/state-groups.js';
import { createStateStore, type StateStore } from '../store/state-store.js';
import { placeHistory } from './history-placement.js';
import { planRemoteAppend, type RemoteBatch, type RemoteVerdict } from './remote-plan.js';

/** What a command wants to say; the writer fills in the DAG fields, hashes and signs it. */
export interface EventDraft {
  type: string;
  state_key?: string;
  sender: string;
  content: Record<string, unknown>;
}

/**
 * Builds a draft against the room's current state. It may throw (an ApiError, say) when the
 * state makes the command pointless — only that command fails. Drafts are functions because
 * a retry after a concurrent append must rebuild them against the newer state.
 */
export type Drafter = (state: StateMap) => EventDraft | EventDraft[];

/** The auth rules refused an event; `reason` says which rule. */
export class AuthRejection extends Error {
  constructor(readonly reason: string) {
    super(reason);
  }
}

export interface RoomWriterDeps {
  db: Db;
  clock: Clock;
  serverName: string;
  signingKey: () => SigningKey;
  /** Shared with the federation read endpoints; a private one when absent. */
  stateStore?: StateStore;
  /** Called after each commit (for metrics). */
  onAppended?: (events: LoggedEvent[], origin: 'local' | 'remote') => void;
}

interface Pending {
  drafter: Drafter;
  resolve: (events: LoggedEvent[]) => void;
  reject: (err: unknown) => void;
}

/** Peers' events waiting for their turn in the room's queue (see remote-plan.ts). */
interface PendingRemote {
  remote: RemoteBatch;
  resolve: (verdicts: Map<string, RemoteVerdict>) => void;
  reject: (err: unknown) => void;
}

type Queued = Pending | PendingRemote;
const isRemote = (q: Queued): q is PendingRemote => 'remote' in q;

interface Room {
  generation: number; // bumped whenever the cache is invalidated
  head?: RoomHead;
  state?: Map<string, StoredEvent>;
  queue: Queued[];
  running: boolean;
}

const MAX_BATCH = 100;
const MAX_RETRIES = 8;

/**
 * Serialises the appends to each room within this process and commits them in groups: a
 * burst of commands for one room becomes one transaction (group commit). Across processes,
 * the room's expected version catches a concurrent writer; the batch is then redrafted
 * against the reloaded state. Keeps each room's head and state cached between batches.
 */
export function createRoomWriter(deps: RoomWriterDeps) {
  const rooms = new Map<string, Room>();
  const stateStore = deps.stateStore ?? createStateStore(deps.db);
  let lastReceivedTs = 0;
  // Ids this writer appended that the log reader has not seen come back yet: anything else
  // the reader sees was appended by another process, and makes our cached room stale.
  const ownRecent = new Set<string>();

  function roomOf(roomId: string): Room {
    let room = rooms.get(roomId);
    if (!room) rooms.set(roomId, (room = { generation: 0, queue: [], running: false }));
    return room;
  }

  /** Appends the events one drafter produces, atomically; resolves when committed. */
  function submit(roomId: string, drafter: Drafter): Promise<LoggedEvent[]> {
    const room = roomOf(roomId);
    return new Promise((resolve, reject) => {
      room.queue.push({ drafter, resolve, reject });
      if (!room.running) void drain(roomId, room);
    });
  }

  /**
   * Appends peers' events (hashes and signatures already checked) through the same queue
   * and the same append as local commands; resolves with a verdict per event.
   */
  function submitRemote(roomId: string, remote: RemoteBatch): Promise<Map<string, RemoteVerdict>> {
    const room = roomOf(roomId);
    return new Promise((resolve, reject) => {
      room.queue.push({ remote, resolve, reject });
      if (!room.running) void drain(roomId, room);
    });
  }

  async function drain(roomId: string, room: Room): Promise<void> {
    room.running = true;
    try {
      while (room.queue.length > 0) {
        // Local commands group-commit together; a peer's batch goes on its own.
        let n = 0;
        if (isRemote(room.queue[0])) n = 1;
        else while (n < room.queue.length && n < MAX_BATCH && !isRemote(room.queue[n])) n++;
        const batch = room.queue.splice(0, n);
        try {
          if (isRemote(batch[0])) await commitRemote(roomId, room, batch[0]);
          else await commitBatch(roomId, room, batch as Pending[]);
        } catch (err) {
          // Never strand a command: whatever went wrong, its caller hears of it.
          for (const p of batch) p.reject(err);
        }
      }
    } finally {
      room.running = false;
    }
  }

  /** The room's cached head and state, loaded if missing. `generation` tells whether they were invalidated since. */
  async function loaded(roomId: string, room: Room): Promise<{ head: RoomHead; state: Map<string, StoredEvent>; generation: number }> {
    if (room.head && room.state) return { head: room.head, state: room.state, generation: room.generation };
    const generation = room.generation;
    const head = await loadRoomHead(deps.db, roomId);
    const state = await loadRoomState(deps.db, roomId);
    if (room.generation === generation) {
      room.head = head;
      room.state = state;
    }
    return { head, state, generation };
  }

  async function commitBatch(roomId: string, room: Room, batch: Pending[]): Promise<void> {
    let pending = batch;
    for (let attempt = 0; ; attempt++) {
      const { head: before, state: committed, generation } = await loaded(roomId, room);
      const { accepted, events } = draftBatch(roomId, before, committed, pending);
      // A command refused now has been answered: a retry must not redraft it.
      pending = accepted.map((a) => a.pending);
      if (events.length === 0) {
        for (const { pending: p } of accepted) p.resolve([]);
        return;
      }
      const receivedTs = (lastReceivedTs = Math.max(deps.clock.now(), lastReceivedTs));
      // Only state events change the state: a batch of messages keeps the same map (and so
      // the audience caches keyed by it stay valid).
      const state = events.some((e) => e.pdu.state_key !== undefined) ? new Map(committed) : committed;
      // Marked as ours before the commit: the log reader may see the rows the moment they
      // commit, before appendToRoom returns, and must not take them for another writer's.
      if (ownRecent.size > 100_000) ownRecent.clear(); // nobody is reading the log back
      for (const e of events) ownRecent.add(e.event_id);
      try {
        const { logged, head } = await appendToRoom(deps.db, before, events, linearPlan(before.stateGroup, events, committed), state, receivedTs);
        // Keep the new head unless another process's append was seen meanwhile.
        if (room.generation === generation) {
          room.head = head;
          room.state = state;
        }
        const byId = new Map(logged.map((e) => [e.event_id, e]));
        for (const { pending, eventIds } of accepted) pending.resolve(eventIds.map((id) => byId.get(id)!));
        deps.onAppended?.(logged, 'local');
        return;
      } catch (err) {
        for (const e of events) ownRecent.delete(e.event_id);
        // Whatever failed, the cache may be stale or half-advanced: reload next time.
        forget(room);
        if (err instanceof ConcurrencyError && attempt < MAX_RETRIES) continue;
        for (const { pending } of accepted) pending.reject(err);
        return;
      }
    }
  }

  async function commitRemote(roomId: string, room: Room, item: PendingRemote): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      const { head: before, state: committed, generation } = await loaded(roomId, room);
      const planned = await planRemoteAppend(deps.db, stateStore, before, committed, item.remote);
      if (planned.rejections.length > 0) await recordRejections(deps.db, planned.rejections, deps.clock.now());
      if (planned.events.length === 0) return item.resolve(planned.verdicts);
      const state = new Map(committed);
      const receivedTs = (lastReceivedTs = Math.max(deps.clock.now(), lastReceivedTs));
      const history = item.remote.history;
      const placed = history ? placeHistory(planned.events, history.before ?? (await earliestReceivedTs(deps.db, roomId)) ?? receivedTs) : undefined;
      for (const e of planned.events) ownRecent.add(e.event_id);
      try {
        const { logged, head } = await appendToRoom(deps.db, before, planned.events, planned.plan, state, placed ? (e) => placed.get(e.event_id) ?? receivedTs : receivedTs);
        if (room.generation === generation) {
          room.head = head;
          room.state = state;
        }
        deps.onAppended?.(logged, 'remote');
        return item.resolve(planned.verdicts);
      } catch (err) {
        for (const e of planned.events) ownRecent.delete(e.event_id);
        forget(room);
        if (err instanceof ConcurrencyError && attempt < MAX_RETRIES) continue;
        throw err;
      }
    }
  }

  function forget(room: Room): void {
    room.generation++;
    room.head = undefined;
    room.state = undefined;
  }

  /** Drafts, authorizes and signs each pending command against the state left by the ones before it. */
  function draftBatch(roomId: string, head: RoomHead, committed: StateMap, batch: Pending[]) {
    const working = new Map(committed);
    let prev = head.extremities;
    let depth = head.depth;
    const events: StoredEvent[] = [];
    const accepted: Array<{ pending: Pending; eventIds: string[] }> = [];
    for (const pending of batch) {
      const staged: StoredEvent[] = [];
      const scratch = new Map(working);
      try {
        let drafts = pending.drafter(scratch);
        if (!Array.isArray(drafts)) drafts = [drafts];
        let stagedPrev = prev;
        let stagedDepth = depth;
        for (const draft of drafts) {
          const ev = buildEvent(roomId, draft, scratch, stagedPrev, stagedDepth + 1);
          const verdict = authorizeEvent(ev, scratch);
          if (!verdict.ok) throw new AuthRejection(verdict.reason);
          applyInPlace(scratch, ev);
          staged.push(ev);
          stagedPrev = [ev.event_id];
          stagedDepth++;
        }
        // Every event of the command passed: it joins the batch.
        for (const ev of staged) applyInPlace(working, ev);
        events.push(...staged);
        if (staged.length > 0) {
          prev = stagedPrev;
          depth = stagedDepth;
        }
        accepted.push({ pending, eventIds: staged.map((e) => e.event_id) });
      } catch (err) {
        pending.reject(err);
      }
    }
    return { accepted, events };
  }

  function buildEvent(roomId: string, draft: EventDraft, state: StateMap, prev: string[], depth: number): StoredEvent {
    const unsigned: UnsignedPdu = {
      room_id: roomId,
      type: draft.type,
      ...(draft.state_key !== undefined ? { state_key: draft.state_key } : {}),
      sender: draft.sender,
      origin: deps.serverName,
      origin_server_ts: deps.clock.now(),
      depth,
      prev_events: prev,
      auth_events: selectAuthEvents(draft.type, draft.state_key, draft.sender, draft.content, state),
      content: draft.content,
    };
    return finalizeEvent(unsigned, deps.serverName, deps.signingKey());
  }

  /** The cached state of a room (loaded on first use). Read-only for callers. */
  async function stateOf(roomId: string): Promise<StateMap> {
    return (await loaded(roomId, roomOf(roomId))).state;
  }

  /** Called by the log reader for every event: forgets rooms another process wrote to. */
  function observe(events: LoggedEvent[]): void {
    for (const e of events) {
      if (ownRecent.delete(e.event_id)) continue;
      const room = rooms.get(e.pdu.room_id);
      if (room) forget(room);
    }
  }

    /** The room's head (loaded on first use): its forward extremities and depth, for make_join. */
  async function headOf(roomId: string): Promise<RoomHead> {
    return (await loaded(roomId, roomOf(roomId))).head;
  }

  return { submit, submitRemote, stateOf, headOf, observe };
}

export type RoomWriter = ReturnType<typeof createRoomWriter>;
