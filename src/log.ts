// Structured logging (pino). Every component gets its logger passed in (usually a
// `log.child({ component })` of the homeserver's logger); there is deliberately no
// module-level logger, so three homeservers in one test process keep separate logs.
import { pino, type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

export interface LoggerOptions {
  /** pino level name: 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent'. */
  level?: string;
  /** Human-readable lines instead of JSON; the CLI passes `process.stdout.isTTY`. */
  pretty?: boolean;
  /** Appears as `name` on every line; useful when several homeservers share a terminal. */
  name?: string;
  /** Where lines go (default: stdout). Tests and the CLI may redirect. */
  destination?: DestinationStream;
}

const LEVELS = new Set(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']);

export function createLogger(options: LoggerOptions = {}): Logger {
  const level = options.level ?? 'info';
  if (!LEVELS.has(level)) throw new Error(`unknown log level "${level}"`);
  const pinoOptions = { level, ...(options.name ? { name: options.name } : {}) };
  if (options.pretty) {
    // pino-pretty as an in-process stream rather than a worker-thread transport: a
    // transport's thread keeps the event loop alive and loses lines on a hard exit, and
    // pretty output only matters on an interactive terminal where throughput is small.
    const stream = pretty({
      translateTime: 'SYS:HH:MM:ss.l',
      ignore: 'pid,hostname',
      sync: true,
      ...(options.destination ? { destination: options.destination } : {}),
    });
    return pino(pinoOptions, stream);
  }
  return options.destination ? pino(pinoOptions, options.destination) : pino(pinoOptions);
}

/** A logger that drops everything: for tests and for code paths that must not log. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
