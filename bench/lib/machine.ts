// What else the machine was doing: load averages and whole-machine CPU busy time over a
// window (from /proc/stat), so a bench result can be read against concurrent work.
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';

export interface MachineInfo {
  cpus: number;
  loadavg: number[];
  node: string;
}

export function machineInfo(): MachineInfo {
  return { cpus: cpus().length, loadavg: loadavg().map((x) => Math.round(x * 100) / 100), node: process.version };
}

interface CpuTicks {
  busy: number;
  total: number;
}

function readTicks(): CpuTicks | undefined {
  try {
    const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]; // "cpu  user nice system idle iowait irq softirq steal ..."
    const f = line.trim().split(/\s+/).slice(1).map(Number);
    const idle = f[3] + (f[4] ?? 0);
    const total = f.reduce((a, b) => a + b, 0);
    return { busy: total - idle, total };
  } catch {
    return undefined; // not Linux
  }
}

/** Starts a window; the returned function gives the machine's busy share over it, in cores (e.g. 1.85 of 2). */
export function machineCpuWindow(): () => number | null {
  const start = readTicks();
  return () => {
    const end = readTicks();
    if (!start || !end || end.total === start.total) return null;
    return Math.round(((end.busy - start.busy) / (end.total - start.total)) * cpus().length * 100) / 100;
  };
}
