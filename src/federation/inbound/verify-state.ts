import { authorizeEvent } from '../../events/auth-rules.js';
import { EventType, type StoredEvent } from '../../events/event-types.js';
import { authEventsState } from '../../events/state-res/power-events.js';
import { applyInPlace } from '../../events/state-map.js';
import type { RemoteKeyStore } from '../remote-keys.js';
import { checkPdu } from './check-pdu.js';
import { byDepthThenId } from '../read-endpoints/dag-walk.js';

export type VerifiedState =
  | { ok: true; state: Map<string, StoredEvent>; events: StoredEvent[] }
  | { ok: false; reason: string };

/**
 * Checks a state and auth chain a peer sent (send_join's answer, or /state when a gap can't
 * be fetched) before anything is trusted: every event signed by its origin with its hash
 * intact, every event allowed by the auth rules against the state its own auth_events make
 * (all of which must be in what was sent), and one create event for `roomId`. Returns
 * the state as a map and every event, auth chain first, by depth.
 */
export async function verifyState(roomId: string, statePdus: unknown[], authChainPdus: unknown[], keys: RemoteKeyStore): Promise<VerifiedState> {
  const byId = new Map<string, StoredEvent>();
  const stateIds: string[] = [];
  for (const [list, isState] of [[authChainPdus, false], [statePdus, true]] as const) {
    for (const raw of list) {
      const checked = await checkPdu(raw, roomId, keys);
      if (!checked.ok) return { ok: false, reason: `event ${checked.eventId ?? '?'}: ${checked.reason}` };
      // A redacted state event could not have been accepted by its guild as it is.
      if (checked.redacted) return { ok: false, reason: `event ${checked.event.event_id} fails its content hash` };
      byId.set(checked.event.event_id, checked.event);
      if (isState) stateIds.push(checked.event.event_id);
    }
  }
  const events = [...byId.values()].sort(byDepthThenId);
  for (const ev of events) {
    const missing = (ev.pdu.auth_events ?? []).filter((id) => !byId.has(id));
    if (missing.length > 0) return { ok: false, reason: `event ${ev.event_id} cites auth events that were not sent: ${missing.join(', ')}` };
    const verdict = authorizeEvent(ev, authEventsState(ev, (id) => byId.get(id)));
    if (!verdict.ok) return { ok: false, reason: `event ${ev.event_id} is not allowed by its auth events: ${verdict.reason}` };
  }
  const state = new Map<string, StoredEvent>();
  for (const id of stateIds) {
    const ev = byId.get(id)!;
    if (typeof ev.pdu.state_key !== 'string') return { ok: false, reason: `event ${id} in the state is not a state event` };
    applyInPlace(state, ev);
  }
  const creates = stateIds.filter((id) => byId.get(id)!.pdu.type === EventType.Create);
  if (creates.length !== 1) return { ok: false, reason: 'the state must hold exactly one create event' };
  return { ok: true, state, events };
}
