// Reads a V8 .cpuprofile into the few numbers a bench report needs: where self time went,
// by function and by file/package, as shares of the sampled time.
import { round2 } from './stats.js';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  children?: number[];
}

export interface ProfileSummary {
  sampledSeconds: number;
  idlePercent: number;
  topFunctions: Array<{ fn: string; selfPercent: number }>;
  topFiles: Array<{ file: string; selfPercent: number }>;
  /** Inclusive shares of chosen frames (by function name substring). */
  inclusive: Record<string, number>;
}

const shortUrl = (url: string): string =>
  url.replace(/^file:\/\/\/.*?\/node_modules\//, '').replace(/^file:\/\/\/.*?\/(src|bench|test)\//, '$1/').replace(/^wasm:\/\/wasm\/.*/, 'wasm (PGlite)');

export function summarizeProfile(profile: { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }, inclusiveOf: string[] = [], top = 15): ProfileSummary {
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const parent = new Map<number, number>();
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const time = new Map<number, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    time.set(id, (time.get(id) ?? 0) + dt);
    total += dt;
  });
  const fns = new Map<string, number>();
  const files = new Map<string, number>();
  const incl = new Map<string, number>(inclusiveOf.map((k) => [k, 0]));
  let idle = 0;
  for (const [id, t] of time) {
    const cf = byId.get(id)!.callFrame;
    if (cf.functionName === '(idle)') idle += t;
    const file = shortUrl(cf.url) || cf.functionName;
    fns.set(`${cf.functionName || '(anonymous)'} ${file}${cf.url ? ':' + (cf.lineNumber + 1) : ''}`, (fns.get(`${cf.functionName || '(anonymous)'} ${file}${cf.url ? ':' + (cf.lineNumber + 1) : ''}`) ?? 0) + t);
    const pkg = file.startsWith('@') ? file.split('/').slice(0, 2).join('/') : file.includes('/') && !/^(src|bench|test)\//.test(file) ? file.split('/')[0] : file;
    files.set(pkg, (files.get(pkg) ?? 0) + t);
    if (inclusiveOf.length) {
      const hit = new Set<string>();
      for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
        const name = byId.get(cur)!.callFrame.functionName;
        for (const k of inclusiveOf) if (name === k) hit.add(k);
      }
      for (const k of hit) incl.set(k, incl.get(k)! + t);
    }
  }
  const pct = (t: number): number => round2((t / total) * 100);
  const rank = (m: Map<string, number>) => [...m].sort((a, b) => b[1] - a[1]).slice(0, top);
  return {
    sampledSeconds: round2(total / 1e6),
    idlePercent: pct(idle),
    topFunctions: rank(fns).map(([fn, t]) => ({ fn, selfPercent: pct(t) })),
    topFiles: rank(files).map(([file, t]) => ({ file, selfPercent: pct(t) })),
    inclusive: Object.fromEntries([...incl].map(([k, t]) => [k, pct(t)])),
  };
}
