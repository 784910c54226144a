import { EventType, type Pdu } from '../../events/event-types.js';
import type { StateMap } from '../../events/state-map.js';
import type { Db } from '../database.js';
import type { LoggedEvent } from '../event-log.js';
import { getCreateContent } from '../../events/state-map.js';
import { projectGuildState } from './guild-state-projection.js';
import { readStateRow } from './read-state-projection.js';
import { projectMessageEvent } from './message-projection.js';

/**
 * Applies one logged event to the chat views. Runs inside the append transaction (and in
 * `nexus rebuild`), so views never lag the log. `stateBefore` is the room's state before
 * this event: redactions and edits need it to decide whether they take effect.
 */
export async function projectEvent(trx: Db, ev: LoggedEvent, stateBefore: StateMap): Promise<void> {
  const pdu: Pdu = ev.pdu;
  if (typeof pdu.state_key === 'string') {
    await trx
      .insertInto('room_state')
      .values({ room_id: pdu.room_id, type: pdu.type, state_key: pdu.state_key, event_id: ev.event_id })
      .onConflict((oc) => oc.columns(['room_id', 'type', 'state_key']).doUpdateSet({ event_id: ev.event_id }))
      .execute();
    if (isAccountRoom(pdu, stateBefore)) await projectAccountState(trx, ev);
    else await projectGuildState(trx, ev);
    return;
  }
  switch (pdu.type) {
    case EventType.Message:
    case EventType.Edit:
    case EventType.Reaction:
    case EventType.Redaction:
      await projectMessageEvent(trx, ev, stateBefore);
  }
}

/** Whether `pdu` belongs to an account room (a user's private DAG; see spec/events.md). */
export function isAccountRoom(pdu: Pdu, stateBefore: StateMap): boolean {
  const kind = pdu.type === EventType.Create ? (pdu.content as { kind?: unknown }).kind : getCreateContent(stateBefore)?.kind;
  return kind === 'account';
}

async function projectAccountState(trx: Db, ev: LoggedEvent): Promise<void> {
  const row = readStateRow(ev);
  if (!row) return;
  await trx.insertInto('read_states').values(row)
    .onConflict((oc) => oc.columns(['user_id', 'room_id', 'channel_key']).doUpdateSet({ event_id: row.event_id })).execute();
}
