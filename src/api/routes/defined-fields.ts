/**
 * The fields of a PATCH that were actually given. The guild service spreads a patch over
 * the current state (`{ ...current, ...patch }`), so a key present with `undefined` would
 * erase the current value instead of keeping it (PATCH /channels/{id} with only a topic
 * lost the channel's name and was refused). `null` stays: it means "clear this".
 */
export function definedFields<T extends object>(patch: T): Partial<T> {
  const out: Partial<T> = {};
  for (const [k, v] of Object.entries(patch)) if (v !== undefined) (out as Record<string, unknown>)[k] = v;
  return out;
}
