// createGateway: the Discord-shaped WebSocket gateway on a shared http.Server. It owns the
// ws server, the connections, the sessions and one housekeeping timer (zombie sockets,
// expired resumable sessions, metrics). Everything is per instance: several gateways can
// run in one process.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocketServer, type WebSocket } from 'ws';
import { CloseCode } from './close-codes.js';
import { Connection } from './connection.js';
import { FlushScheduler } from './flush-scheduler.js';
import { fanOut } from './fanout.js';
import { RECONNECT_FRAME } from './frame.js';
import { newCounters, type GatewayContext, type ResolvedGatewayOptions } from './gateway-context.js';
import type { Dispatch, Gateway, GatewayMetrics, GatewayOptions } from './gateway-types.js';
import { SessionRegistry } from './session-registry.js';

const SUPPORTED_VERSIONS: ReadonlySet<string> = new Set(['9', '10']);
const CLOSE_GRACE_MS = 1000; // how long close() waits for clients to finish the close handshake

export function createGateway(options: GatewayOptions): Gateway {
  const heartbeatIntervalMs = options.heartbeatIntervalMs ?? 41250;
  const opts: ResolvedGatewayOptions = {
    heartbeatIntervalMs,
    heartbeatTimeoutMs: heartbeatIntervalMs * (options.heartbeatTimeoutFactor ?? 1.5),
    resumeWindowMs: options.resumeWindowMs ?? 120_000,
    maxBufferedDispatches: options.maxBufferedDispatches ?? 5000,
    resumeGatewayUrl: options.resumeGatewayUrl,
    commandLimit: options.commandLimit ?? { count: 120, windowMs: 60_000 },
    maxSocketBufferedBytes: options.maxSocketBufferedBytes ?? 16 * 1024 * 1024,
  };
  const path = options.path ?? '/gateway';
  const log = options.log.child({ module: 'gateway' });
  const registry = new SessionRegistry(options.backend, log);
  const counters = newCounters();
  const flusher = new FlushScheduler();
  let closed = false;

  const ctx: GatewayContext = {
    backend: options.backend,
    clock: options.clock,
    log,
    registry,
    counters,
    opts,
    flusher,
    connections: new Set(),
    isClosed: () => closed,
  };

  const wss = new WebSocketServer({
    noServer: true,
    clientTracking: false,
    perMessageDeflate: false, // compressing per session would defeat the shared-frame fan-out
    maxPayload: options.maxPayloadBytes ?? 64 * 1024,
  });

  function onConnection(ws: WebSocket, url: URL): void {
    const v = url.searchParams.get('v') ?? '10';
    const encoding = url.searchParams.get('encoding') ?? 'json';
    if (!SUPPORTED_VERSIONS.has(v)) return void ws.close(CloseCode.InvalidApiVersion, 'Invalid API version (use v=9 or v=10)');
    if (encoding !== 'json') return void ws.close(CloseCode.DecodeError, 'Only encoding=json is supported');
    // `compress=zlib-stream` is not offered: we answer with uncompressed text frames, which
    // discord.js (and Discord's own clients) parse as plain JSON whatever they asked for.
    new Connection(ctx, ws, Number(v));
  }

  function handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void {
    if (closed) return void socket.destroy();
    const url = new URL(req.url ?? '/', 'http://gateway.invalid');
    wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, url));
  }

  const onUpgrade = (req: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
    const pathname = (req.url ?? '/').split('?', 1)[0];
    if (pathname === path || pathname === path + '/') handleUpgrade(req, socket, head);
    // Other paths belong to other listeners on the same server: leave them alone.
  };
  options.server?.on('upgrade', onUpgrade);

  function metrics(): GatewayMetrics {
    let resumable = 0;
    for (const s of registry.values()) if (s.conn === null && s.ready) resumable++;
    return { connections: ctx.connections.size, sessions: registry.size, resumableSessions: resumable, ...counters };
  }

  // Housekeeping. Timers only schedule; every age is measured with the injected clock.
  const sweepEveryMs = Math.max(5, Math.min(5000, Math.min(opts.heartbeatTimeoutMs, opts.resumeWindowMs) / 4));
  let sweepTimer: NodeJS.Timeout | null = null;
  function sweep(): void {
    const now = options.clock.now();
    for (const conn of ctx.connections) {
      if (conn.state !== 'closed' && now - conn.lastHeartbeatAt > opts.heartbeatTimeoutMs) {
        conn.close(CloseCode.SessionTimedOut); // the session stays resumable
      }
    }
    for (const s of registry.values()) {
      if (s.conn === null && s.ready && now - s.detachedAt > opts.resumeWindowMs) registry.remove(s);
    }
    flusher.flush();
    if (options.onMetrics) {
      try {
        options.onMetrics(metrics());
      } catch (err) {
        log.warn({ err }, 'gateway: onMetrics threw');
      }
    }
    if (!closed) sweepTimer = setTimeout(sweep, sweepEveryMs);
  }
  sweepTimer = setTimeout(sweep, sweepEveryMs);

  function publish(d: Dispatch): void {
    if (closed) return;
    counters.dispatchesPublished++;
    fanOut(registry, d);
  }

  function reconnectAll(reason = 'Reconnect requested by the server'): void {
    for (const conn of [...ctx.connections]) {
      conn.send(RECONNECT_FRAME);
      conn.close(CloseCode.UnknownError, reason); // 4000 keeps the session resumable
    }
    flusher.flush();
  }

  async function close(reason = 'Server shutting down'): Promise<void> {
    if (closed) return;
    closed = true;
    options.server?.off('upgrade', onUpgrade);
    if (sweepTimer) clearTimeout(sweepTimer);
    sweepTimer = null;
    const conns = [...ctx.connections];
    for (const conn of conns) {
      conn.send(RECONNECT_FRAME); // clients reconnect (elsewhere) and resume or re-identify
      conn.close(CloseCode.UnknownError, reason, true);
    }
    flusher.flush();
    let grace: NodeJS.Timeout | undefined;
    await Promise.race([
      Promise.all(conns.map((c) => c.closed)),
      new Promise<void>((resolve) => (grace = setTimeout(resolve, CLOSE_GRACE_MS))),
    ]);
    clearTimeout(grace);
    for (const conn of ctx.connections) conn.drop('shutdown');
    for (const s of [...registry.values()]) registry.remove(s);
    flusher.flush();
    await new Promise<void>((resolve) => wss.close(() => resolve()));
    log.debug('gateway: closed');
  }

  return { publish, sessionCount: () => registry.size, metrics, handleUpgrade, reconnectAll, close };
}
