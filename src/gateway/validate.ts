// Small shape checks for client payloads (a malformed payload closes with 4002).

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

export function isNonNegativeInt(v: unknown): v is number {
  return typeof v === 'number' && Number.isSafeInteger(v) && v >= 0;
}

/** A string or an array of strings, as a (possibly empty) array; null when neither. */
export function stringOrStrings(v: unknown): string[] | null {
  if (typeof v === 'string') return [v];
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v as string[];
  return null;
}

/** "Bot xyz" / "Bearer xyz" → "xyz" (discord.js sends the bare token in identify, others may not). */
export function stripTokenPrefix(token: string): string {
  return token.replace(/^(?:Bot|Bearer)\s+/i, '');
}
