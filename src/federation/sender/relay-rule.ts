// Which logged events go to which peers. Pure.
//
// We send the events we built. We also relay one kind of event we did not build: the
// membership event of a remote user that came to us through send_join (or leave), because
// the joining server does not yet know every server in the guild, and the others would
// otherwise never hear of the new member. Such an event's origin is the member's own server.
import { EventType, serverOf, type Pdu } from '../../events/event-types.js';

export interface RelayContext {
  /** The event's room is an account room (a user's private read states): never leaves us. */
  accountRoom?: boolean;
}

export function shouldRelay(pdu: Pdu, ourServerName: string, ctx: RelayContext = {}): boolean {
  if (ctx.accountRoom) return false;
  if (pdu.origin === ourServerName) return true;
  return pdu.type === EventType.Member && typeof pdu.state_key === 'string' && serverOf(pdu.state_key) === pdu.origin;
}

/**
 * The servers an event goes to: every server with a joined member in the room, plus, for a
 * member event, the member's own server (so a leave or a ban reaches the one it concerns,
 * who is no longer joined by then). Never ourselves, never the event's origin (it has the
 * event). Sorted, so the outbox is filled in a stable order.
 */
export function destinationsFor(pdu: Pdu, joinedServers: ReadonlySet<string>, ourServerName: string): string[] {
  const out = new Set(joinedServers);
  if (pdu.type === EventType.Member && typeof pdu.state_key === 'string') out.add(serverOf(pdu.state_key));
  out.delete(ourServerName);
  out.delete(pdu.origin);
  out.delete('');
  return [...out].sort();
}
