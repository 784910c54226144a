// What the per-connection protocol code shares with its gateway. One per Gateway instance.
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';
import type { Connection } from './connection.js';
import type { FlushScheduler } from './flush-scheduler.js';
import type { GatewayBackend, GatewayMetrics } from './gateway-types.js';
import type { SessionRegistry } from './session-registry.js';

export type GatewayCounters = Omit<GatewayMetrics, 'connections' | 'sessions' | 'resumableSessions'>;

export interface ResolvedGatewayOptions {
  heartbeatIntervalMs: number;
  heartbeatTimeoutMs: number;
  resumeWindowMs: number;
  maxBufferedDispatches: number;
  resumeGatewayUrl: string;
  commandLimit: { count: number; windowMs: number };
  maxSocketBufferedBytes: number;
}

export interface GatewayContext {
  readonly backend: GatewayBackend;
  readonly clock: Clock;
  readonly log: Logger;
  readonly registry: SessionRegistry;
  readonly counters: GatewayCounters;
  readonly opts: ResolvedGatewayOptions;
  readonly flusher: FlushScheduler;
  /** Open connections (removed on their socket's 'close'). */
  readonly connections: Set<Connection>;
  isClosed(): boolean;
}

export function newCounters(): GatewayCounters {
  return {
    dispatchesPublished: 0,
    framesSent: 0,
    framesBuffered: 0,
    identifies: 0,
    resumes: 0,
    invalidSessions: 0,
  };
}
