import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FederationRequestError } from '../../../src/federation/errors.js';
import { createFederationSender } from '../../../src/federation/sender/index.js';
import { silentLogger } from '../../../src/log.js';
import { openDatabase } from '../../../src/store/database.js';
import { runCli } from '../../helpers/cli-process.js';
import { FakeClock } from '../federation-harness.js';

// `nexus federation status` reads the sender's tables from the server's database and prints
// one JSON line per destination.
describe('nexus federation status', () => {
  let dataDir: string;
  beforeAll(async () => {
    dataDir = await mkdtemp(join(tmpdir(), 'nexus-fedstatus-'));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  it('prints a failing destination with its error and backoff', async () => {
    const clock = new FakeClock();
    const database = await openDatabase({ pgliteDir: join(dataDir, 'pglite') });
    // A destination with a queued event, then one failed attempt through the real sender.
    // (The queue is filled by hand here: the feeder has its own tests.)
    await database.db.insertInto('federation_destinations').values({ destination: 'down.test', last_success_ts: null, last_failure_ts: null, last_error: null, claimed_by: null, claimed_until_ts: null }).execute();
    await database.db.insertInto('events').values({ event_id: '$e1', room_id: '!r:a.test', type: 'nexus.message', state_key: null, sender: '@a:a.test', origin: 'a.test', depth: 1, received_ts: 1, pdu: '{"room_id":"!r:a.test"}' }).execute();
    const ev = await database.db.selectFrom('events').select('position').executeTakeFirstOrThrow();
    await database.db.insertInto('federation_outbox').values({ destination: 'down.test', position: ev.position, event_id: '$e1', room_id: '!r:a.test' }).execute();
    const sender = createFederationSender({
      db: database.db, clock, log: silentLogger(), serverName: 'a.test', pollMs: 0, random: () => 0.5,
      client: {
        request: async (destination, method, path) => {
          throw new FederationRequestError({ kind: 'unreachable', destination, method, path, detail: 'connect ECONNREFUSED' });
        },
      },
    });
    await sender.start();
    await sender.idle();
    await sender.stop();
    await database.close();

    const out = await runCli(['federation', 'status'], { NEXUS_DATA_DIR: dataDir, NEXUS_SERVER_NAME: 'a.test' });
    expect(out.code).toBe(0);
    const lines = out.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toEqual([{
      destination: 'down.test', pending: 1, failures: 1, retry_at_ts: clock.now() + 1_000, last_success_ts: null, last_failure_ts: clock.now(),
      last_error: expect.stringMatching(/unreachable: connect ECONNREFUSED/), sent_events: 0,
    }]);

    const usage = await runCli(['federation', 'bogus'], { NEXUS_DATA_DIR: dataDir });
    expect(usage.code).toBe(2);
  });
});
