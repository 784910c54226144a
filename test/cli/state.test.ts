import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Pdu } from '../../src/events/event-types.js';
import { computeEventId } from '../../src/events/event-id.js';
import { stateFromEvents } from '../../src/events/state-map.js';
import { stateHash } from '../../src/events/state-hash.js';
import { runCli, startServeProcess } from '../helpers/cli-process.js';
import { registerUser } from '../helpers/homeserver.js';

// `nexus state --room` prints a guild's state and its hash; the hash must be what anyone
// gets by replaying the guild's state events from `nexus events`.
describe('nexus state', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nexus-state-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('prints the current state, with a hash that a replay of the log reproduces', async () => {
    const env = { NEXUS_DATA_DIR: dataDir, NEXUS_PORT: '0', NEXUS_SERVER_NAME: 'state.test' };
    const server = await startServeProcess(env);
    let roomId: string;
    try {
      const owner = await registerUser(server.url, 'owner');
      const guild = (await owner.api.post('/guilds', { name: 'Stately' })).body;
      roomId = guild.nexus_id;
      await owner.api.post(`/guilds/${guild.id}/roles`, { name: 'mods' });
      await owner.api.patch(`/guilds/${guild.id}`, { name: 'Statelier' });
    } finally {
      server.child.kill('SIGTERM');
      await new Promise((r) => server.child.once('exit', r));
    }
    const printed = await runCli(['state', '--room', roomId], env);
    expect(printed.code).toBe(0);
    const out = JSON.parse(printed.stdout);
    expect(out.state.map((e: { type: string }) => e.type)).toEqual(['nexus.guild.channel', 'nexus.guild.create', 'nexus.guild.member', 'nexus.guild.role', 'nexus.guild.role', 'nexus.guild.settings']);

    const log = await runCli(['events', '--room', roomId], env);
    const events = log.stdout.trim().split('\n').map((line) => JSON.parse(line) as Pdu).map((pdu) => ({ event_id: computeEventId(pdu), pdu }));
    expect(out.hash).toBe(stateHash(stateFromEvents(events)));

    const unknown = await runCli(['state', '--room', '!nothing:state.test'], env);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/no state for room/);
  });
});
