// A child process for bench/startup.ts (run with `node --import tsx`), in one of two roles:
//   serve        startHomeserver on an existing data dir (NEXUS_DATA_DIR, DATABASE_URL),
//                reporting how long the imports and startHomeserver itself took; optionally
//                seeds messages first (BENCH_SEED) so the data dir is not empty. Stops on
//                a 'stop' message (a clean shutdown, as SIGTERM would do).
//   pglite-open  only opens PGlite on the existing dir (no migrations, no server): the part
//                of a start that is PGlite's own.
import { performance } from 'node:perf_hooks';

const role = process.argv[2];
const send = (m: unknown): void => void process.send!(m);

if (role === 'pglite-open') {
  const t0 = performance.now();
  const { PGlite } = await import('@electric-sql/pglite');
  const t1 = performance.now();
  const pg = new PGlite({ dataDir: process.argv[3] });
  await pg.waitReady;
  const t2 = performance.now();
  await pg.query('SELECT 1');
  const t3 = performance.now();
  send({ type: 'opened', importMs: t1 - t0, openMs: t2 - t1, firstQueryMs: t3 - t2, rssBytes: process.memoryUsage().rss, sinceProcessStartMs: t3 });
  await pg.close();
  process.disconnect();
} else {
  const t0 = performance.now(); // ms since this process started: node boot + tsx are before it
  const [{ loadConfig }, { startHomeserver }, { createLogger }] = await Promise.all([
    import('../../src/config.js'),
    import('../../src/homeserver.js'),
    import('../../src/log.js'),
  ]);
  const t1 = performance.now();
  const config = loadConfig(process.env);
  const hs = await startHomeserver(config, { log: createLogger({ level: 'warn' }) });
  const t2 = performance.now();
  send({ type: 'started', bootMs: t0, importMs: t1 - t0, startHomeserverMs: t2 - t1, url: hs.url, rssBytes: process.memoryUsage().rss });
  const seed = Number(process.env.BENCH_SEED ?? 0);
  if (seed > 0) {
    const owner = `@seed:${config.serverName}`;
    const { roomId } = await hs.guilds.createGuild(owner, { name: 'seeded' });
    const { listChannels } = await import('../../src/events/state-map.js');
    const channel = listChannels(await hs.writer.stateOf(roomId))[0].key;
    for (let n = 0; n < seed; n += 100) {
      await Promise.all(Array.from({ length: Math.min(100, seed - n) }, (_, i) => hs.guilds.sendMessage(roomId, owner, { channel, body: `seed ${n + i}` })));
    }
    send({ type: 'seeded', messages: seed });
  }
  process.on('message', async (m: { type: string }) => {
    if (m.type !== 'stop') return;
    const t = performance.now();
    await hs.close();
    send({ type: 'stopped', closeMs: performance.now() - t });
    process.disconnect();
  });
}
