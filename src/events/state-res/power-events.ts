// Which events are "power events", and how much power their sender had
// (spec/state-resolution.md, "Power events" and "Sender power").
//
// Matrix's power events are those that may take someone's abilities away (power levels,
// join rules, kicks and bans). Nexus spreads the same information over more event types:
// roles (permissions and rank), the member events that hand roles out or remove people,
// channel overwrites, guild settings, and the create event.

import { EventType, type MemberContent, type StoredEvent } from '../event-types.js';
import { topRolePosition } from '../permissions.js';
import { getMember, memberRoleKeys, stateFromEvents, type StateMap } from '../state-map.js';
import { authEventIds, type EventLookup } from './auth-chain.js';

const ALWAYS_POWER: ReadonlySet<string> = new Set([
  EventType.Create,
  EventType.Role,
  EventType.Overwrite,
  EventType.Settings,
  EventType.ServerAcl,
]);

/** The state made of the event's own auth events (those the lookup knows, minus `exclude`). */
export function authEventsState(ev: StoredEvent, lookup: EventLookup, exclude?: ReadonlySet<string>): StateMap {
  const events: StoredEvent[] = [];
  for (const id of authEventIds(ev)) {
    if (exclude?.has(id)) continue;
    const a = lookup(id);
    if (a) events.push(a);
  }
  return stateFromEvents(events);
}

function sameRoles(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a);
  return b.every((r) => set.has(r));
}

/**
 * A state event that may change who can do what:
 * - create, role, overwrite and settings events;
 * - a member event whose sender is not its target and whose membership is `leave` or
 *   `ban` (kick, unban, ban);
 * - a member event whose role set differs from that of the target's previous member
 *   event among its own auth events (no such event, or one without `roles`, counts as
 *   no roles): a grant or removal, and also a role holder leaving.
 * Invites, joins, a role-less member leaving, and nick changes are not power events.
 */
export function isPowerEvent(ev: StoredEvent, lookup: EventLookup): boolean {
  const pdu = ev.pdu;
  if (typeof pdu?.state_key !== 'string') return false;
  if (ALWAYS_POWER.has(pdu.type)) return true;
  if (pdu.type !== EventType.Member) return false;
  const content = pdu.content ?? {};
  const membership = content.membership;
  if (pdu.sender !== pdu.state_key && (membership === 'leave' || membership === 'ban')) return true;
  const oldRoles = memberRoleKeys(getMember(authEventsState(ev, lookup), pdu.state_key));
  const newRoles = memberRoleKeys(content as unknown as MemberContent);
  return !sameRoles(oldRoles, newRoles);
}

/**
 * The sender's power for ordering: their top role position (the owner +∞, anyone not
 * joined 0) in the state made of the event's own auth events, i.e. the power the event
 * claimed when it was authorised. It is fixed by the signed event, so every server
 * computes the same value whatever else it holds.
 */
export function senderPower(ev: StoredEvent, lookup: EventLookup): number {
  return topRolePosition(authEventsState(ev, lookup), ev.pdu.sender);
}
