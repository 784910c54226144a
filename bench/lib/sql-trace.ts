// Diagnostics for the benches only: counts and times every SQL statement the homeserver
// runs, by patching the query method of PGlite and of node-postgres' Client in this
// process. src/ is untouched; a bench turns this on with a flag to see where time goes.
import { PGlite } from '@electric-sql/pglite';
import pg from 'pg';
import { performance } from 'node:perf_hooks';
import { round2 } from './stats.js';

export interface SqlTrace {
  reset(): void;
  /** Statements by total time, with count and mean; `per` divides counts (e.g. per message). */
  report(per?: number, top?: number): Array<{ sql: string; count: number; perUnit: number; totalMs: number; meanMs: number }>;
  totals(): { statements: number; totalMs: number };
}

export function traceSql(): SqlTrace {
  const stats = new Map<string, { count: number; ms: number }>();
  const key = (text: unknown): string => String(typeof text === 'object' && text && 'text' in text ? (text as { text: string }).text : text).replace(/\s+/g, ' ').replace(/\$\d+(, \$\d+)*/g, '$…').slice(0, 140);
  const record = (text: unknown, ms: number): void => {
    const k = key(text);
    const s = stats.get(k) ?? { count: 0, ms: 0 };
    s.count++;
    s.ms += ms;
    stats.set(k, s);
  };
  const wrap = (proto: any, name: string): void => {
    const original = proto[name];
    proto[name] = function (this: unknown, text: unknown, ...rest: unknown[]) {
      if (typeof rest[rest.length - 1] === 'function') return original.call(this, text, ...rest); // callback style: not used by kysely
      const t0 = performance.now();
      const result = original.call(this, text, ...rest);
      if (result && typeof result.then === 'function') return result.finally(() => record(text, performance.now() - t0));
      return result;
    };
  };
  let proto: any = PGlite.prototype;
  while (proto && !Object.prototype.hasOwnProperty.call(proto, 'query')) proto = Object.getPrototypeOf(proto);
  if (proto) wrap(proto, 'query');
  wrap(pg.Client.prototype, 'query');
  return {
    reset: () => stats.clear(),
    report(per = 1, top = 25) {
      return [...stats].sort((a, b) => b[1].ms - a[1].ms).slice(0, top).map(([sql, s]) => ({
        sql, count: s.count, perUnit: round2(s.count / per), totalMs: Math.round(s.ms), meanMs: Math.round((s.ms / s.count) * 1000) / 1000,
      }));
    },
    totals() {
      let statements = 0;
      let totalMs = 0;
      for (const s of stats.values()) {
        statements += s.count;
        totalMs += s.ms;
      }
      return { statements, totalMs: Math.round(totalMs) };
    },
  };
}
