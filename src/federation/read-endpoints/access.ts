// Who may read a guild's events over federation (spec/federation.md, "Read access").
// Visibility is per guild, not per event: a server that may read a guild may read its
// whole history (Matrix's history_visibility "shared", for every guild).
import { EventType, serverOf, type StoredEvent } from '../../events/event-types.js';
import { serverAllowedInGuild } from '../../events/server-acl.js';
import { getCreate, getCreateContent, getStateEvent, type StateMap } from '../../events/state-map.js';

export type StateFn<K> = (key: K) => Promise<ReadonlyMap<string, StoredEvent> | undefined>;

export type RoomAccess =
  | { ok: true; current: StateMap }
  /** `not_found`: no such room here, or one nobody else may even know of (account rooms). */
  | { ok: false; reason: 'not_found' | 'forbidden' };

/** Whether some user of `origin` is joined or invited in `state`. */
export function originHasMember(state: StateMap, origin: string): boolean {
  for (const ev of state.values()) {
    const { type, state_key: key, content } = ev.pdu;
    if (type !== EventType.Member || typeof key !== 'string' || serverOf(key) !== origin) continue;
    const membership = (content as { membership?: unknown }).membership;
    if (membership === 'join' || membership === 'invite') return true;
  }
  return false;
}

/** Whether the guild's settings list it in the public directory (anyone may read it). */
export function isDiscoverable(state: StateMap): boolean {
  return (getStateEvent(state, EventType.Settings, '')?.pdu.content as { discoverable?: unknown } | undefined)?.discoverable === true;
}

/** A user's private account room (read states): never served to any server. Known by its
 *  create event, and by the `!acct_` ids this server gives them (accountRoomId). */
export function isAccountRoom(roomId: string, state: StateMap): boolean {
  return roomId.startsWith('!acct_') || getCreateContent(state)?.kind === 'account';
}

/**
 * May `origin` read room `roomId`? Checks, in order: the room exists here (its current
 * state is known and holds a create event) and is not an account room; the guild's server
 * ACL allows `origin`; `origin` has a joined or invited user in the current state, or the
 * guild is discoverable, or `origin` had such a user in the state after one of `atEvents`
 * (events of this room the request names: a server that has left may still read up to
 * where it was a member).
 */
export async function roomAccess(
  deps: { currentState: StateFn<string>; stateAfter: StateFn<string> },
  roomId: string,
  origin: string,
  atEvents: readonly StoredEvent[] = [],
): Promise<RoomAccess> {
  const current = await deps.currentState(roomId);
  // A state without a create event (e.g. an empty map for a room never seen) is no room.
  if (!current || !getCreate(current) || isAccountRoom(roomId, current)) return { ok: false, reason: 'not_found' };
  if (!serverAllowedInGuild(current, origin)) return { ok: false, reason: 'forbidden' };
  if (originHasMember(current, origin) || isDiscoverable(current)) return { ok: true, current };
  for (const ev of atEvents) {
    if (ev.pdu.room_id !== roomId) continue;
    const then = await deps.stateAfter(ev.event_id);
    if (then && originHasMember(then, origin)) return { ok: true, current };
  }
  return { ok: false, reason: 'forbidden' };
}

/** Wraps a state function so that one request asks for each key at most once. */
export function memoized<K>(fn: StateFn<K>): StateFn<K> {
  const seen = new Map<K, ReturnType<StateFn<K>>>();
  return (key) => {
    let p = seen.get(key);
    if (!p) seen.set(key, (p = fn(key)));
    return p;
  };
}
