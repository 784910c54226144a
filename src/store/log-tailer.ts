import type { Logger } from 'pino';
import type { OpenedDatabase } from './database.js';
import { LOG_NOTIFY_CHANNEL } from './append-events.js';
import { currentLogCursor, readLogAfter, type LogCursor, type LoggedEvent } from './event-log.js';

export interface LogTailer {
  start(): Promise<void>;
  /** Read now (after a local commit, without waiting for the notification). */
  poke(): void;
  /** Resolves once everything committed before the call has been delivered. */
  caughtUp(): Promise<void>;
  stop(): Promise<void>;
}

/**
 * Follows the log from "now" and hands each new event, in commit-safe order, to `deliver`.
 * Woken by LISTEN/NOTIFY (so events appended by another process on the same Postgres are
 * delivered too); a slow poll covers a lost notification. Delivery is sequential: the next
 * page is read only after `deliver` has finished with the previous one.
 */
export function createLogTailer(opts: {
  database: OpenedDatabase;
  deliver: (events: LoggedEvent[]) => Promise<void>;
  log: Logger;
  pageSize?: number;
  pollMs?: number;
}): LogTailer {
  const { database, deliver, log } = opts;
  const pageSize = opts.pageSize ?? 500;
  let cursor: LogCursor | undefined;
  let running: Promise<void> | undefined;
  let again = false;
  let stopped = false;
  let unlisten: (() => Promise<void>) | undefined;
  let poll: NodeJS.Timeout | undefined;

  async function readUntilEmpty(): Promise<void> {
    do {
      again = false;
      for (;;) {
        const page = await readLogAfter(database.db, cursor!, pageSize);
        if (page.events.length === 0) break;
        try {
          await deliver(page.events);
        } catch (err) {
          log.error({ err }, 'log delivery failed; skipping page');
        }
        cursor = page.cursor;
        // A short page was the visible end of the log: asking again would find nothing.
        // What commits meanwhile pokes (`again`), so it is read on the next pass.
        if (page.events.length < pageSize) break;
      }
    } while (again && !stopped);
  }

  function poke(): void {
    if (stopped || !cursor) return;
    if (running) {
      again = true;
      return;
    }
    running = readUntilEmpty()
      .catch((err) => log.error({ err }, 'reading the log failed'))
      .finally(() => {
        running = undefined;
      });
  }

  return {
    async start() {
      cursor = await currentLogCursor(database.db);
      unlisten = await database.listen(LOG_NOTIFY_CHANNEL, poke);
      poll = setInterval(poke, opts.pollMs ?? 1000);
      poll.unref();
    },
    poke,
    async caughtUp() {
      poke();
      while (running) await running;
    },
    async stop() {
      stopped = true;
      if (poll) clearInterval(poll);
      await unlisten?.();
      await running;
    },
  };
}
