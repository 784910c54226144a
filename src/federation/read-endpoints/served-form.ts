import { EventType, type Pdu, type StoredEvent } from '../../events/event-types.js';
import { redactPdu } from '../../events/redaction.js';
import type { Db } from '../../store/database.js';

const ID_CHUNK = 500;

/**
 * The form in which events go out to peers: a message or reaction this server no longer
 * shows (it was deleted) is served redacted, as Matrix servers serve redacted events. Its
 * id and signatures still hold (both cover the redacted form); the receiver finds the
 * content hash off, keeps the redacted form and never shows it. So history that a server
 * fetches after a deletion does not bring the deleted message back.
 */
export async function servedPdus(db: Db, events: readonly StoredEvent[]): Promise<Pdu[]> {
  const shown = new Set<string>();
  const messages = events.filter((e) => e.pdu.type === EventType.Message).map((e) => e.event_id);
  const reactions = events.filter((e) => e.pdu.type === EventType.Reaction).map((e) => e.event_id);
  for (let i = 0; i < messages.length; i += ID_CHUNK) {
    for (const r of await db.selectFrom('messages').select('event_id').where('event_id', 'in', messages.slice(i, i + ID_CHUNK)).execute()) shown.add(r.event_id);
  }
  for (let i = 0; i < reactions.length; i += ID_CHUNK) {
    for (const r of await db.selectFrom('reactions').select('event_id').where('event_id', 'in', reactions.slice(i, i + ID_CHUNK)).execute()) shown.add(r.event_id);
  }
  return events.map((e) => ((e.pdu.type === EventType.Message || e.pdu.type === EventType.Reaction) && !shown.has(e.event_id) ? redactPdu(e.pdu) : e.pdu));
}
