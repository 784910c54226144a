/**
 * Polls `probe` until it returns something other than undefined/false, and returns that.
 * The deadline only bounds a hang: a test asserts on what the probe saw, never on how long
 * it took. On timeout the error names what was awaited, the last error and what the probe
 * last noted.
 */
export async function eventually<T>(what: string, probe: (note: (seen: unknown) => void) => Promise<T | undefined | false>, opts: { timeoutMs?: number; intervalMs?: number } = {}): Promise<T> {
  const until = Date.now() + (opts.timeoutMs ?? 15_000);
  let lastError: unknown;
  let lastSeen: unknown;
  // The probe may note what it saw, so that a timeout says how far things got.
  const note = (seen: unknown) => {
    lastSeen = seen;
  };
  for (;;) {
    try {
      const v = await probe(note);
      if (v !== undefined && v !== false) return v;
      lastError = undefined;
    } catch (err) {
      // A server that is restarting refuses connections for a moment: keep polling.
      lastError = err;
    }
    if (Date.now() > until) {
      const seen = lastSeen === undefined ? '' : `\nlast seen: ${JSON.stringify(lastSeen, null, 1)}`;
      throw new Error(`timed out waiting for ${what}${lastError ? ` (last error: ${(lastError as Error).message})` : ''}${seen}`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 100));
  }
}
