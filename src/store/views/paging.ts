/**
 * Clamps a page size into [min, max]. The API validates its input and answers bad values
 * with an error; this is the store's own guard, so no caller can ask for a million rows.
 */
export function clamp(n: number, min: number, max: number): number {
  return Number.isFinite(n) ? Math.min(max, Math.max(min, Math.trunc(n))) : min;
}
