// Diagnostics for the benches only: a V8 CPU profile of just the measured window (not the
// setup), via the inspector; written as a .cpuprofile (open it in Chrome DevTools).
import { writeFile } from 'node:fs/promises';
import { Session } from 'node:inspector/promises';
import { summarizeProfile, type ProfileSummary } from './profile-summary.js';

/** Starts profiling this process; the returned function stops, writes `file` and summarizes. */
export async function startCpuProfile(): Promise<(file: string, inclusiveOf?: string[]) => Promise<ProfileSummary>> {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 500 });
  await session.post('Profiler.start');
  return async (file, inclusiveOf = []) => {
    const { profile } = await session.post('Profiler.stop');
    await writeFile(file, JSON.stringify(profile));
    session.disconnect();
    return summarizeProfile(profile as never, inclusiveOf);
  };
}
