import { EventType, type ReadStateContent } from '../../events/event-types.js';
import type { LoggedEvent } from '../event-log.js';

/** The read_states row a nexus.account.read_state event projects to (live and in rebuild). */
export function readStateRow(ev: LoggedEvent): { user_id: string; room_id: string; channel_key: string; event_id: string } | undefined {
  if (ev.pdu.type !== EventType.ReadState) return undefined;
  const c = ev.pdu.content as unknown as ReadStateContent;
  return { user_id: ev.pdu.sender, room_id: c.room, channel_key: c.channel, event_id: c.event };
}
