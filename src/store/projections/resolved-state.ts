import type { Db } from '../database.js';
import { getLoggedEvent } from '../event-log.js';
import { applyChain, eventStateGroups, insertStateGroup, loadGroupChain } from '../state-groups.js';
import type { StateStore } from '../state-store.js';
import { loadRoomState } from '../append-events.js';
import { projectEvent } from './project-event.js';

/**
 * After a rebuild's replay, which folds each room's state events in log order: where a
 * fork was resolved live, the room's current state (its state group, which the rebuild
 * keeps) differs from that fold in the slots resolution decided otherwise. Those slots are
 * projected from their resolved winners, as the live append path did when it resolved them.
 */
export async function reconcileResolvedState(trx: Db, roomId: string, groupId: string): Promise<number> {
  const resolved = applyChain(await loadGroupChain(trx, groupId));
  const state = await loadRoomState(trx, roomId);
  const differing = [...resolved].filter(([key, id]) => state.get(key)?.event_id !== id);
  for (const [key, id] of differing) {
    const winner = await getLoggedEvent(trx, id);
    if (!winner) continue;
    await projectEvent(trx, winner, state);
    state.set(key, winner);
  }
  return differing.length;
}

/**
 * The group of the resolved state of a room's forward extremities: the group they share,
 * or a new group holding the resolution of their states. Undefined when none of them has
 * a known state (a room that predates state groups).
 */
export async function currentStateGroup(trx: Db, store: StateStore, roomId: string, extremities: string[]): Promise<string | undefined> {
  const groups = [...new Set([...(await eventStateGroups(trx, extremities)).values()].map((g) => g.group))];
  if (groups.length <= 1) return groups[0];
  const resolved = await store.resolve(await Promise.all(groups.map((g) => store.stateOfGroup(g))));
  const ids = new Map([...resolved].map(([k, ev]) => [k, ev.event_id]));
  return (await insertStateGroup(trx, roomId, null, ids)).id;
}
