import { canonicalJson, sha256, toBase64 } from './canonical-json.js';
import type { StateMap } from './state-map.js';

export interface StateEntry {
  type: string;
  state_key: string;
  event_id: string;
}

/** A state's entries in a fixed order: by type, then state key (code-unit order). */
export function stateEntries(state: StateMap): StateEntry[] {
  return [...state.values()]
    .map((e) => ({ type: e.pdu.type, state_key: e.pdu.state_key ?? '', event_id: e.event_id }))
    .sort((a, b) => (a.type === b.type ? cmp(a.state_key, b.state_key) : cmp(a.type, b.type)));
}

/**
 * A fingerprint of a state: base64 SHA-256 of the canonical JSON of its sorted entries. Two
 * servers hold the same state exactly when their hashes match (`nexus state` prints it).
 */
export function stateHash(state: StateMap): string {
  return toBase64(sha256(canonicalJson(stateEntries(state))));
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
