// The current state of one guild (or DM) as a map from (type, state_key) to the event that
// holds that slot. Pure helpers to read it; the auth rules and permissions read state only
// through this file, so "what does state say" has exactly one interpretation.
//
// Reading state is defensive: state events got in through the auth rules, so their content
// is valid, but a helper must still never throw on odd input (a state map can also be
// built from untrusted auth chains before they are checked).

import {
  ChannelKind,
  EventType,
  EVERYONE_ROLE,
  type ChannelContent,
  type CreateContent,
  type MemberContent,
  type Membership,
  type OverwriteContent,
  type RoleContent,
  type StoredEvent,
} from './event-types.js';

/** State keyed by `stateMapKey(type, stateKey)`. */
export type StateMap = ReadonlyMap<string, StoredEvent>;

/** NUL cannot occur in an event type, so the key is unambiguous whatever the state_key is. */
export function stateMapKey(type: string, stateKey: string): string {
  return `${type}\u0000${stateKey}`;
}

/** The inverse of stateMapKey. */
export function splitStateMapKey(key: string): { type: string; stateKey: string } {
  const i = key.indexOf('\u0000');
  return i < 0 ? { type: key, stateKey: '' } : { type: key.slice(0, i), stateKey: key.slice(i + 1) };
}

/** The state key of a permission overwrite. Channel keys never contain '|'. */
export function overwriteKey(channelKey: string, target: string): string {
  return `${channelKey}|${target}`;
}

function contentOf(ev: StoredEvent | undefined): Record<string, unknown> | undefined {
  const c = ev?.pdu?.content;
  return c !== null && typeof c === 'object' && !Array.isArray(c) ? c : undefined;
}

export function getStateEvent(state: StateMap, type: string, stateKey: string): StoredEvent | undefined {
  return state.get(stateMapKey(type, stateKey));
}

export function getCreate(state: StateMap): StoredEvent | undefined {
  return getStateEvent(state, EventType.Create, '');
}

export function getCreateContent(state: StateMap): CreateContent | undefined {
  const c = contentOf(getCreate(state));
  return c && typeof c.creator === 'string' ? (c as unknown as CreateContent) : undefined;
}

/** The guild owner: the creator named in the create event. Ownership never moves. */
export function getOwner(state: StateMap): string | undefined {
  return getCreateContent(state)?.creator;
}

export function getMember(state: StateMap, userId: string): MemberContent | undefined {
  const c = contentOf(getStateEvent(state, EventType.Member, userId));
  return c && typeof c.membership === 'string' ? (c as unknown as MemberContent) : undefined;
}

export function membershipOf(state: StateMap, userId: string): Membership | undefined {
  return getMember(state, userId)?.membership;
}

export function isJoined(state: StateMap, userId: string): boolean {
  return membershipOf(state, userId) === 'join';
}

/** The role keys a member holds, as listed (strings only; may name deleted roles). */
export function memberRoleKeys(member: MemberContent | undefined): string[] {
  const roles = member?.roles;
  return Array.isArray(roles) ? roles.filter((r): r is string => typeof r === 'string') : [];
}

/** The role's content, or undefined if it never existed or was deleted. */
export function getRole(state: StateMap, roleKey: string): RoleContent | undefined {
  const c = contentOf(getStateEvent(state, EventType.Role, roleKey));
  if (!c || c.deleted === true || typeof c.permissions !== 'string') return undefined;
  return c as unknown as RoleContent;
}

/** The channel's content, or undefined if it never existed or was deleted. */
export function getChannel(state: StateMap, channelKey: string): ChannelContent | undefined {
  const c = contentOf(getStateEvent(state, EventType.Channel, channelKey));
  if (!c || c.deleted === true || typeof c.kind !== 'number') return undefined;
  return c as unknown as ChannelContent;
}

/** A channel messages are written in: a guild's text channel or a DM's channel. */
export function isTextChannel(channel: ChannelContent | undefined): boolean {
  return channel?.kind === ChannelKind.Text || channel?.kind === ChannelKind.DM;
}

/** A DM room's two participants (rule 15); undefined for any other room. */
export function dmParticipants(state: StateMap): readonly string[] | undefined {
  const c = getCreateContent(state);
  return c?.kind === 'dm' && Array.isArray(c.participants) ? c.participants : undefined;
}

/** A live (not deleted) overwrite for `target` in `channelKey`. */
export function getOverwrite(state: StateMap, channelKey: string, target: string): OverwriteContent | undefined {
  const c = contentOf(getStateEvent(state, EventType.Overwrite, overwriteKey(channelKey, target)));
  if (!c || c.deleted === true || typeof c.allow !== 'string' || typeof c.deny !== 'string') return undefined;
  return c as unknown as OverwriteContent;
}

export interface Keyed<T> {
  key: string;
  event_id: string;
  content: T;
}

// The list helpers below scan the whole map (O(state size)); they are for building views,
// not for per-event checks, which look slots up by key instead.

function listOf<T>(state: StateMap, type: string, read: (s: StateMap, key: string) => T | undefined): Keyed<T>[] {
  const out: Keyed<T>[] = [];
  const prefix = `${type}\u0000`;
  for (const [k, ev] of state) {
    if (!k.startsWith(prefix)) continue;
    const key = k.slice(prefix.length);
    const content = read(state, key);
    if (content !== undefined) out.push({ key, event_id: ev.event_id, content });
  }
  return out;
}

/** Live roles (the @everyone role included), by position then key. */
export function listRoles(state: StateMap): Keyed<RoleContent>[] {
  return listOf(state, EventType.Role, getRole).sort(
    (a, b) => a.content.position - b.content.position || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

/** Live channels, by position then key. */
export function listChannels(state: StateMap): Keyed<ChannelContent>[] {
  return listOf(state, EventType.Channel, getChannel).sort(
    (a, b) => a.content.position - b.content.position || (a.key < b.key ? -1 : a.key > b.key ? 1 : 0),
  );
}

/** Live overwrites of one channel. */
export function listOverwrites(state: StateMap, channelKey: string): Keyed<OverwriteContent>[] {
  const prefix = `${channelKey}|`;
  return listOf(state, EventType.Overwrite, (s, key) => {
    if (!key.startsWith(prefix)) return undefined;
    return getOverwrite(s, channelKey, key.slice(prefix.length));
  });
}

/** User ids whose membership is `join`. */
export function joinedMembers(state: StateMap): string[] {
  return listOf(state, EventType.Member, (s, key) => (membershipOf(s, key) === 'join' ? true : undefined)).map(
    (m) => m.key,
  );
}

/** Whether `roleKey` is the implicit @everyone role. */
export function isEveryoneRole(roleKey: string): boolean {
  return roleKey === EVERYONE_ROLE;
}

/**
 * A new state map with `ev` placed in its slot (if it is a state event). Copies the map:
 * O(state size) per call. Use it where the previous snapshot must stay intact (tests,
 * small guilds, a one-off "state after"). To fold many events (replaying a log, state
 * resolution's working copy, building state from an auth chain), copy once and use
 * applyInPlace.
 */
export function applyToState(state: StateMap, ev: StoredEvent): StateMap {
  if (typeof ev.pdu?.state_key !== 'string') return state;
  const next = new Map(state);
  applyInPlace(next, ev);
  return next;
}

/** Places `ev` in `map` (mutating it) if it is a state event. O(1). */
export function applyInPlace(map: Map<string, StoredEvent>, ev: StoredEvent): void {
  if (typeof ev.pdu?.state_key !== 'string' || typeof ev.pdu.type !== 'string') return;
  map.set(stateMapKey(ev.pdu.type, ev.pdu.state_key), ev);
}

/** Folds state events in order into a fresh map (later events win their slot). */
export function stateFromEvents(events: Iterable<StoredEvent>): Map<string, StoredEvent> {
  const map = new Map<string, StoredEvent>();
  for (const ev of events) applyInPlace(map, ev);
  return map;
}
