import type { ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freshPostgresDatabase } from '../helpers/databases.js';
import { startServeProcess } from '../helpers/cli-process.js';
import { apiClient, registerUser } from '../helpers/homeserver.js';

// PGlite commits without fsync; a killed process must still lose no acknowledged write
// (the OS keeps what was written). Real `nexus serve` processes, killed with SIGKILL.
const backends = [{ name: 'pglite', env: async (): Promise<Record<string, string>> => ({}) }];
if (process.env.DATABASE_URL) backends.push({ name: 'postgres', env: async () => ({ DATABASE_URL: await freshPostgresDatabase() }) });

describe.each(backends)('kill -9 on $name', ({ env }) => {
  let dataDir: string;
  const children: ChildProcess[] = [];
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nexus-crash-'));
  });
  afterAll(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('loses no acknowledged message', async () => {
    const baseEnv = { NEXUS_DATA_DIR: dataDir, NEXUS_PORT: '0', NEXUS_RATE_LIMITS: 'off', ...(await env()) };
    const first = await startServeProcess(baseEnv);
    children.push(first.child);
    const alice = await registerUser(first.url, 'survivor');
    const guild = (await alice.api.post('/guilds', { name: 'Durable' })).body;
    const channel = (await alice.api.get(`/guilds/${guild.id}/channels`)).body[0].id;
    const acknowledged: string[] = [];
    // Concurrent senders, so the kill lands while appends are in flight.
    await Promise.all(Array.from({ length: 4 }, async (_, w) => {
      for (let i = 0; i < 40; i++) {
        const res = await alice.api.post(`/channels/${channel}/messages`, { content: `w${w} m${i}` });
        if (res.status === 200) acknowledged.push(res.body.id);
        if (w === 0 && i === 30) first.child.kill('SIGKILL');
        if (res.status !== 200) return;
      }
    }).map((p) => p.catch(() => undefined)));
    first.child.kill('SIGKILL');
    await new Promise((r) => (first.child.exitCode !== null || first.child.signalCode ? r(undefined) : first.child.once('exit', r)));
    expect(acknowledged.length).toBeGreaterThan(30);

    const second = await startServeProcess(baseEnv);
    children.push(second.child);
    try {
      const api = apiClient(second.url, alice.token); // the token survived the crash too
      const seen = new Set<string>();
      let before = '';
      for (;;) {
        const page = (await api.get(`/channels/${channel}/messages?limit=100${before ? `&before=${before}` : ''}`)).body as Array<{ id: string }>;
        if (page.length === 0) break;
        for (const m of page) seen.add(m.id);
        before = page[page.length - 1].id;
      }
      expect(acknowledged.filter((id) => !seen.has(id))).toEqual([]);
    } finally {
      second.child.kill('SIGKILL');
    }
  });
});
