// Flag parsing for the benches: `--name value` pairs, numbers or strings, with defaults.
// Deliberately tiny: benches take a handful of flags and print JSON, nothing more.

/** Reads `--name value` flags from argv; unknown flags are an error so typos don't go unnoticed. */
export function parseFlags<T extends Record<string, number | string | boolean>>(argv: string[], defaults: T): T {
  const out: Record<string, number | string | boolean> = { ...defaults };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument "${arg}"`);
    const name = arg.slice(2);
    if (!(name in defaults)) throw new Error(`unknown flag --${name}; known: ${Object.keys(defaults).map((k) => '--' + k).join(' ')}`);
    const dflt = defaults[name];
    if (typeof dflt === 'boolean') {
      out[name] = true;
      continue;
    }
    const value = argv[++i];
    if (value === undefined) throw new Error(`--${name} needs a value`);
    if (typeof dflt === 'number') {
      const n = Number(value);
      if (!Number.isFinite(n)) throw new Error(`--${name} must be a number, got "${value}"`);
      out[name] = n;
    } else out[name] = value;
  }
  return out as T;
}
