import type { StoredEvent, Pdu } from '../events/event-types.js';
import { resolveState } from '../events/state-res/resolve-state.js';
import type { StateMap } from '../events/state-map.js';
import type { Db } from './database.js';
import { applyChain, eventStateGroups, loadGroupChain, type StateIds } from './state-groups.js';

/** A state group, loaded: its id, how far it is from a snapshot, and its slots. */
export interface LoadedGroup {
  id: string;
  chain: number;
  ids: StateIds;
}

/** A small least-recently-used map (Map keeps insertion order; a hit re-inserts). */
function lru<K, V>(capacity: number) {
  const map = new Map<K, V>();
  return {
    get(k: K): V | undefined {
      const v = map.get(k);
      if (v !== undefined) {
        map.delete(k);
        map.set(k, v);
      }
      return v;
    },
    set(k: K, v: V): void {
      map.delete(k);
      map.set(k, v);
      if (map.size > capacity) map.delete(map.keys().next().value as K);
    },
  };
}

/**
 * Reads state groups and the events they name, with caches: the states after events of a
 * guild's DAG, for the remote append path (the state before a peer's event), for state
 * resolution and for the federation read endpoints. Groups are immutable, so caching them
 * is always safe; an id written by a transaction that rolled back is never reused.
 */
export function createStateStore(db: Db, opts: { groupCache?: number; eventCache?: number } = {}) {
  const groups = lru<string, LoadedGroup>(opts.groupCache ?? 256);
  const events = lru<string, StoredEvent>(opts.eventCache ?? 50_000);

  async function group(id: string): Promise<LoadedGroup> {
    const cached = groups.get(id);
    if (cached) return cached;
    const rows = await loadGroupChain(db, id);
    // Start from the nearest cached ancestor rather than from the snapshot.
    let base: LoadedGroup | undefined;
    let cut = rows.length;
    for (let i = 1; i < rows.length; i++) {
      const hit = groups.get(rows[i].id);
      if (hit) {
        base = hit;
        cut = i;
        break;
      }
    }
    const loaded = { id, chain: rows[0].chain, ids: applyChain(rows.slice(0, cut), base?.ids) };
    groups.set(id, loaded);
    return loaded;
  }

  function remember(g: LoadedGroup): void {
    groups.set(g.id, g);
  }

  /** The events with these ids that are in the log (cached). */
  async function eventsById(ids: Iterable<string>): Promise<Map<string, StoredEvent>> {
    const out = new Map<string, StoredEvent>();
    const missing: string[] = [];
    for (const id of ids) {
      const hit = events.get(id);
      if (hit) out.set(id, hit);
      else missing.push(id);
    }
    for (let i = 0; i < missing.length; i += 1000) {
      const rows = await db.selectFrom('events').select(['event_id', 'pdu']).where('event_id', 'in', missing.slice(i, i + 1000)).execute();
      for (const r of rows) {
        const ev = { event_id: r.event_id, pdu: JSON.parse(r.pdu) as Pdu };
        events.set(ev.event_id, ev);
        out.set(ev.event_id, ev);
      }
    }
    return out;
  }

  function rememberEvents(evs: Iterable<StoredEvent>): void {
    for (const ev of evs) events.set(ev.event_id, ev);
  }

  /** A group's slots with their events. */
  async function stateOfGroup(id: string): Promise<Map<string, StoredEvent>> {
    const g = await group(id);
    const byId = await eventsById(g.ids.values());
    const state = new Map<string, StoredEvent>();
    for (const [key, eventId] of g.ids) {
      const ev = byId.get(eventId);
      if (ev) state.set(key, ev);
    }
    return state;
  }

  /** The state after an event of the log, or undefined for an outlier or unknown id. */
  async function stateAfter(eventId: string): Promise<Map<string, StoredEvent> | undefined> {
    const row = (await eventStateGroups(db, [eventId])).get(eventId);
    return row ? stateOfGroup(row.group) : undefined;
  }

  /**
   * Loads the auth chains of `roots` (every event reachable through auth_events) and
   * returns them with the roots, for state resolution's synchronous lookups.
   */
  async function authClosureOf(roots: Iterable<StoredEvent>): Promise<Map<string, StoredEvent>> {
    const found = new Map<string, StoredEvent>();
    let frontier: StoredEvent[] = [];
    for (const ev of roots) {
      if (!found.has(ev.event_id)) {
        found.set(ev.event_id, ev);
        frontier.push(ev);
      }
    }
    while (frontier.length > 0) {
      const wanted = new Set<string>();
      for (const ev of frontier) {
        const auth = Array.isArray(ev.pdu.auth_events) ? ev.pdu.auth_events : [];
        for (const id of auth) if (typeof id === 'string' && !found.has(id)) wanted.add(id);
      }
      const loaded = await eventsById(wanted);
      frontier = [...loaded.values()];
      for (const ev of frontier) found.set(ev.event_id, ev);
    }
    return found;
  }

  /**
   * State resolution over states of the log: loads the auth chains it walks, then resolves.
   * `extra` looks up events not in the log yet (a batch being planned).
   */
  async function resolve(states: StateMap[], extra?: (id: string) => StoredEvent | undefined): Promise<Map<string, StoredEvent>> {
    const known = await authClosureOf(states.flatMap((s) => [...s.values()]));
    return resolveState(states, (id) => known.get(id) ?? extra?.(id));
  }

  return { group, remember, eventsById, rememberEvents, stateOfGroup, stateAfter, authClosureOf, resolve };
}

export type StateStore = ReturnType<typeof createStateStore>;
