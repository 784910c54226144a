// Step 0 of state resolution (spec/state-resolution.md, "Unconflicted state map and
// conflicted state set"): split the slots of the input states into those every state
// agrees on and those it does not.

import type { StoredEvent } from '../event-types.js';
import type { StateMap } from '../state-map.js';

export interface ConflictSplit {
  /** Slots present in every state set with the same event. */
  unconflicted: Map<string, StoredEvent>;
  /** Every event that holds a slot some state set disagrees on (missing counts as disagreeing), by id. */
  conflicted: Map<string, StoredEvent>;
  /** For each state set, its events at the conflicted slots (same order as the input). */
  conflictedBySet: StoredEvent[][];
}

/** O(total slots). The result does not depend on the order of `stateSets`. */
export function splitConflicted(stateSets: readonly StateMap[]): ConflictSplit {
  const unconflicted = new Map<string, StoredEvent>();
  const conflicted = new Map<string, StoredEvent>();
  const conflictedKeys = new Set<string>();
  const first = stateSets[0];
  if (first === undefined) return { unconflicted, conflicted, conflictedBySet: [] };
  for (const [key, ev] of first) {
    let agreed = true;
    for (let i = 1; i < stateSets.length; i++) {
      if (stateSets[i].get(key)?.event_id !== ev.event_id) {
        agreed = false;
        break;
      }
    }
    if (agreed) unconflicted.set(key, ev);
    else conflictedKeys.add(key);
  }
  // A slot absent from the first set is conflicted wherever it appears.
  for (let i = 1; i < stateSets.length; i++) {
    for (const key of stateSets[i].keys()) if (!first.has(key)) conflictedKeys.add(key);
  }
  const conflictedBySet = stateSets.map((set) => {
    const mine: StoredEvent[] = [];
    for (const key of conflictedKeys) {
      const ev = set.get(key);
      if (!ev) continue;
      mine.push(ev);
      conflicted.set(ev.event_id, ev);
    }
    return mine;
  });
  return { unconflicted, conflicted, conflictedBySet };
}
