// Append benchmark (not a test): events/s through the room writer and guild service, no
// HTTP — each event drafted, authorized against the room's state, hashed, signed, written
// to the log and projected, in one transaction per batch. Modes, one guild room each:
//   sequential   sendMessage awaited one by one (one transaction per event)
//   concurrent   rounds of --batch sendMessage calls in flight together (the writer
//                group-commits each round into one transaction)
//   drafter      one submit whose drafter returns --batch drafts (one command, one transaction)
// and, to split the cost, two halves of the same work:
//   signOnly     draft + authorize + hash + sign, in memory (the writer's CPU part)
//   storeOnly    appendToRoom of pre-signed batches (the database part)
//
//   npx tsx bench/append.ts --sequential 2000 --events 20000 --batch 100
//   DATABASE_URL=postgres://postgres@127.0.0.1:5432/nexus_ci npx tsx bench/append.ts
//
// Prints one JSON object. PGlite runs on disk in a temp dir (--memory: in memory).
import { randomBytes } from 'node:crypto';
import { systemClock } from '../src/clock.js';
import { selectAuthEvents } from '../src/events/auth-events.js';
import { authorizeEvent } from '../src/events/auth-rules.js';
import { ChannelKind, EventType, type StoredEvent } from '../src/events/event-types.js';
import { finalizeEvent } from '../src/events/finalize-event.js';
import { generateSigningKey } from '../src/events/signing-key.js';
import { applyInPlace, listChannels, type StateMap } from '../src/events/state-map.js';
import { createGuildService } from '../src/guilds/guild-service.js';
import { createRoomWriter, type EventDraft } from '../src/guilds/room-writer.js';
import { appendToRoom, loadRoomHead, loadRoomState } from '../src/store/append-events.js';
import { openDatabase } from '../src/store/database.js';
import { parseFlags } from './lib/args.js';
import { benchBackend } from './lib/backend.js';
import { startCpuProfile } from './lib/cpu-profile.js';
import { machineCpuWindow, machineInfo } from './lib/machine.js';
import { traceSql } from './lib/sql-trace.js';
import { nowMs, round2 } from './lib/stats.js';
import { linearPlan } from '../src/store/dag-plan.js';

const DEFAULTS = {
  sequential: 2000, // events appended one by one
  events: 20000, // events per batched mode
  batch: 100,
  memory: false, // PGlite in memory instead of a temp dir
  profile: '', // .cpuprofile of the concurrent mode
  'trace-sql': false, // statements per event in the concurrent mode
};

const SERVER = 'bench.local';
const OWNER = `@owner:${SERVER}`;

interface ModeResult {
  events: number;
  seconds: number;
  eventsPerSecond: number;
  busyCores: number | null;
}

async function timed(events: number, run: () => Promise<void>): Promise<ModeResult> {
  const cpu = machineCpuWindow();
  const t0 = nowMs();
  await run();
  const seconds = (nowMs() - t0) / 1000;
  return { events, seconds: round2(seconds), eventsPerSecond: Math.round(events / seconds), busyCores: cpu() };
}

const messageDraft = (channel: string, n: number): EventDraft => ({
  type: EventType.Message,
  sender: OWNER,
  content: { channel, body: `bench message ${n} ${'x'.repeat(40)}` },
});

/** What the writer does to each draft before the database sees it (room-writer.ts buildEvent + auth). */
function signDrafts(roomId: string, drafts: EventDraft[], state: Map<string, StoredEvent>, prev: string[], depth: number, key: ReturnType<typeof generateSigningKey>): StoredEvent[] {
  const out: StoredEvent[] = [];
  for (const draft of drafts) {
    const ev = finalizeEvent({
      room_id: roomId, type: draft.type, sender: draft.sender, origin: SERVER, origin_server_ts: Date.now(), depth: ++depth, prev_events: prev,
      auth_events: selectAuthEvents(draft.type, draft.state_key, draft.sender, draft.content, state), content: draft.content,
    }, SERVER, key);
    const verdict = authorizeEvent(ev, state);
    if (!verdict.ok) throw new Error(`auth: ${verdict.reason}`);
    applyInPlace(state, ev);
    out.push(ev);
    prev = [ev.event_id];
  }
  return out;
}

async function main(flags: typeof DEFAULTS): Promise<void> {
  const backend = await benchBackend({ pgliteInMemory: flags.memory });
  const database = await openDatabase(backend.database);
  const key = generateSigningKey(randomBytes(3).toString('hex'));
  const writer = createRoomWriter({ db: database.db, clock: systemClock, serverName: SERVER, signingKey: () => key });
  const guilds = createGuildService({ writer, serverName: SERVER });
  try {
    const newRoom = async () => {
      const { roomId } = await guilds.createGuild(OWNER, { name: 'bench' });
      const state = await writer.stateOf(roomId);
      const channel = listChannels(state).find((c) => c.content.kind === ChannelKind.Text)!.key;
      return { roomId, channel };
    };
    // Warm up the JIT and the caches outside the measurements.
    const warm = await newRoom();
    await Promise.all(Array.from({ length: 200 }, (_, n) => guilds.sendMessage(warm.roomId, OWNER, messageDraft(warm.channel, n).content)));

    const seq = await newRoom();
    const sequential = await timed(flags.sequential, async () => {
      for (let n = 0; n < flags.sequential; n++) await guilds.sendMessage(seq.roomId, OWNER, messageDraft(seq.channel, n).content);
    });

    const conc = await newRoom();
    const sqlTrace = flags['trace-sql'] ? traceSql() : undefined;
    const stopProfile = flags.profile ? await startCpuProfile() : undefined;
    const concurrent = await timed(flags.events, async () => {
      for (let n = 0; n < flags.events; n += flags.batch) {
        await Promise.all(Array.from({ length: Math.min(flags.batch, flags.events - n) }, (_, i) => guilds.sendMessage(conc.roomId, OWNER, messageDraft(conc.channel, n + i).content)));
      }
    });
    const profile = await stopProfile?.(flags.profile, ['commitBatch', 'draftBatch', 'finalizeEvent', 'authorizeEvent', 'selectAuthEvents', 'appendToRoom', 'projectEvent', 'insertEvents', 'canonicalJson', 'query']);
    const sql = sqlTrace && { ...sqlTrace.totals(), perEvent: round2(sqlTrace.totals().statements / flags.events), top: sqlTrace.report(flags.events, 12) };

    const drafted = await newRoom();
    const drafter = await timed(flags.events, async () => {
      for (let n = 0; n < flags.events; n += flags.batch) {
        await writer.submit(drafted.roomId, () => Array.from({ length: Math.min(flags.batch, flags.events - n) }, (_, i) => messageDraft(drafted.channel, n + i)));
      }
    });

    // The two halves: signing in memory, then storing pre-signed batches.
    const split = await newRoom();
    let head = await loadRoomHead(database.db, split.roomId);
    const state = await loadRoomState(database.db, split.roomId);
    const batches: StoredEvent[][] = [];
    const signOnly = await timed(flags.events, async () => {
      const scratch = new Map(state);
      let prev = head.extremities;
      let depth = head.depth;
      for (let n = 0; n < flags.events; n += flags.batch) {
        const evs = signDrafts(split.roomId, Array.from({ length: Math.min(flags.batch, flags.events - n) }, (_, i) => messageDraft(split.channel, n + i)), scratch, prev, depth, key);
        batches.push(evs);
        prev = [evs[evs.length - 1].event_id];
        depth += evs.length;
      }
    });
    const storeOnly = await timed(flags.events, async () => {
      for (const evs of batches) head = (await appendToRoom(database.db, head, evs, linearPlan(head.stateGroup, evs, state), state, Date.now())).head;
    });

    console.log(JSON.stringify({
      bench: 'append',
      backend: backend.name + (backend.name === 'pglite' ? (flags.memory ? ' (memory)' : ' (disk)') : ''),
      batch: flags.batch,
      sequential,
      concurrent,
      drafter,
      signOnly,
      storeOnly,
      ...(sql ? { sql } : {}),
      ...(profile ? { profile } : {}),
      machine: machineInfo(),
    }));
  } finally {
    await database.close();
    await backend.cleanup();
  }
}

await main(parseFlags(process.argv.slice(2), DEFAULTS));
