// Which state events an event's authorization depends on: its auth_events. The set is
// chosen so that authorizeEvent gives the same answer against a state built from these
// events alone as against the full state (test/events/auth-events.test.ts checks this), so
// a server can judge a remote event from its auth chain without knowing the whole guild.

import { EventType, EVERYONE_ROLE, type StoredEvent } from './event-types.js';
import { getCreate, getMember, getStateEvent, memberRoleKeys, overwriteKey, type StateMap } from './state-map.js';

/**
 * The event ids of: the create event; the sender's member event, the roles it lists and
 * the @everyone role; for member events the target's member event and roles, the roles
 * the new content lists, and for an authorised_by join the authoriser's member event and
 * roles; for role and overwrite events the slot being replaced (and the target role); for
 * channel-scoped events the channel, its parent (channel events) and the overwrites that
 * apply to the sender (@everyone, the sender's roles, the sender). Sorted, deduplicated.
 */
export function selectAuthEvents(
  type: string,
  stateKey: string | undefined,
  sender: string,
  content: Record<string, unknown>,
  state: StateMap,
): string[] {
  if (type === EventType.Create) return [];
  const ids = new Set<string>();
  const slot = (t: string, key: unknown): void => {
    if (typeof key !== 'string') return;
    const ev: StoredEvent | undefined = getStateEvent(state, t, key);
    if (ev) ids.add(ev.event_id);
  };
  const member = (user: unknown): void => {
    if (typeof user !== 'string') return;
    slot(EventType.Member, user);
    for (const role of memberRoleKeys(getMember(state, user))) slot(EventType.Role, role);
  };
  const channelScope = (channel: unknown): void => {
    if (typeof channel !== 'string') return;
    slot(EventType.Channel, channel);
    slot(EventType.Overwrite, overwriteKey(channel, EVERYONE_ROLE));
    for (const role of memberRoleKeys(getMember(state, sender))) slot(EventType.Overwrite, overwriteKey(channel, role));
    slot(EventType.Overwrite, overwriteKey(channel, sender));
  };

  const create = getCreate(state);
  if (create) ids.add(create.event_id);
  slot(EventType.ServerAcl, ''); // every event is judged against the server ACL (rule 2.5)
  member(sender);
  slot(EventType.Role, EVERYONE_ROLE);
  const c = content !== null && typeof content === 'object' ? content : {};

  switch (type) {
    case EventType.Member:
      member(stateKey);
      if (Array.isArray(c.roles)) for (const role of c.roles) slot(EventType.Role, role);
      member(c.authorised_by);
      break;
    case EventType.Role:
      slot(EventType.Role, stateKey);
      break;
    case EventType.Channel:
      channelScope(stateKey);
      slot(EventType.Channel, c.parent);
      break;
    case EventType.Overwrite:
      channelScope(c.channel);
      slot(EventType.Overwrite, stateKey);
      slot(EventType.Role, c.target);
      break;
    case EventType.Pin:
    case EventType.Message:
    case EventType.Edit:
    case EventType.Reaction:
    case EventType.Redaction:
      channelScope(c.channel);
      break;
    default:
      break;
  }
  return [...ids].sort();
}
