// Prometheus metrics, served as text at GET /metrics. Each homeserver owns a fresh
// prom-client Registry (never prom-client's global default registry), so several
// homeservers in one process count separately and never clash on metric names.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { EventType } from './events/event-types.js';

export interface Metrics {
  registry: Registry;
  /** The Content-Type to serve render()'s text with. */
  contentType: string;
  /** Events appended to the log. Label `type` goes through eventTypeLabel() (see below). */
  eventsAppended: Counter<'origin' | 'type'>;
  /** Open gateway sessions (inc on identify/resume, dec on close). */
  gatewaySessions: Gauge;
  /** Dispatch frames sent to gateway sessions (one per frame per session). */
  gatewayDispatches: Counter;
  /** HTTP request latency in seconds, by method, route template and status. */
  httpRequestDuration: Histogram<'method' | 'route' | 'status'>;
  /** Federation sender: events queued for a destination and not yet acknowledged. */
  federationOutboxPending: Gauge<'destination'>;
  /** Federation sender: failed attempts in a row per destination (0 when healthy). */
  federationDestinationFailures: Gauge<'destination'>;
  /** Federation sender: PDUs a destination has acknowledged. */
  federationSentEvents: Counter<'destination'>;
  /** Counts one appended event, clamping its type to a bounded label set. */
  countAppended(origin: 'local' | 'remote', type: string): void;
  render(): Promise<string>;
}

export interface MetricsOptions {
  /** Also export Node process metrics (CPU, memory, event-loop lag, GC). Default true.
   *  They describe the whole process, so a test process running several homeservers
   *  can turn them off: each registry would otherwise add its own GC observer. */
  processMetrics?: boolean;
  /** Labels added to every series, e.g. `{ server: 'a.example' }`. */
  defaultLabels?: Record<string, string>;
}

// Latencies of a Postgres-backed request are single milliseconds when healthy; the
// buckets resolve 0.5 ms .. 2.5 s, in Prometheus' base unit (seconds).
export const HTTP_DURATION_BUCKETS = [
  0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5,
];

const KNOWN_EVENT_TYPES: ReadonlySet<string> = new Set(Object.values(EventType));

/** Remote servers may send events of any type; counting raw types would let a peer grow
 *  our series without bound, so unknown types are counted as 'other'. */
export function eventTypeLabel(type: string): string {
  return KNOWN_EVENT_TYPES.has(type) ? type : 'other';
}

export function createMetrics(options: MetricsOptions = {}): Metrics {
  const registry = new Registry();
  if (options.defaultLabels) registry.setDefaultLabels(options.defaultLabels);
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry });

  const eventsAppended = new Counter({
    name: 'nexus_events_appended_total',
    help: 'Events appended to the event log, by origin (local|remote) and event type.',
    labelNames: ['origin', 'type'] as const,
    registers: [registry],
  });
  const gatewaySessions = new Gauge({
    name: 'nexus_gateway_sessions',
    help: 'Open gateway (WebSocket) sessions.',
    registers: [registry],
  });
  const gatewayDispatches = new Counter({
    name: 'nexus_gateway_dispatches_total',
    help: 'Dispatch frames sent to gateway sessions.',
    registers: [registry],
  });
  const httpRequestDuration = new Histogram({
    name: 'nexus_http_request_duration_seconds',
    help: 'HTTP request latency by method, matched route template and status code.',
    labelNames: ['method', 'route', 'status'] as const,
    buckets: HTTP_DURATION_BUCKETS,
    registers: [registry],
  });

  // Labelled by destination: bounded by the servers we share guilds with (and the trust
  // policy), not by anything a peer can make up.
  const federationOutboxPending = new Gauge({
    name: 'nexus_federation_outbox_pending',
    help: 'Events queued for a federation destination and not yet acknowledged.',
    labelNames: ['destination'] as const,
    registers: [registry],
  });
  const federationDestinationFailures = new Gauge({
    name: 'nexus_federation_destination_failures',
    help: 'Failed send attempts in a row to a federation destination (0 when healthy).',
    labelNames: ['destination'] as const,
    registers: [registry],
  });
  const federationSentEvents = new Counter({
    name: 'nexus_federation_sent_events_total',
    help: 'Events (PDUs) acknowledged by a federation destination.',
    labelNames: ['destination'] as const,
    registers: [registry],
  });

  return {
    registry,
    contentType: registry.contentType,
    eventsAppended,
    gatewaySessions,
    gatewayDispatches,
    httpRequestDuration,
    federationOutboxPending,
    federationDestinationFailures,
    federationSentEvents,
    countAppended: (origin, type) => eventsAppended.inc({ origin, type: eventTypeLabel(type) }),
    render: () => registry.metrics(),
  };
}

/** The route label: the matched route's template (mount path + route path), so
 *  `/api/v10/channels/123/messages` counts as `/api/v10/channels/:channel_id/messages`.
 *  Requests that matched no route (404s, scanners) share one label, keeping cardinality
 *  bounded whatever URLs clients send. */
export function routeLabel(req: Request): string {
  const route = (req as { route?: { path?: unknown } }).route;
  if (!route || route.path === undefined) return 'unmatched';
  const path = Array.isArray(route.path) ? route.path.join('|') : String(route.path);
  return `${req.baseUrl ?? ''}${path}` || '/';
}

/** Express middleware observing every request's latency. Mount it first, on the app. */
export function httpMetricsMiddleware(metrics: Metrics): RequestHandler {
  return (req: Request, res: Response, next: NextFunction) => {
    const start = process.hrtime.bigint();
    // 'close' fires for finished and for aborted responses alike; the route is read only
    // then, because express sets req.route when a route matches, after this middleware.
    res.once('close', () => {
      const seconds = Number(process.hrtime.bigint() - start) / 1e9;
      const status = res.writableFinished ? String(res.statusCode) : 'aborted';
      metrics.httpRequestDuration.observe(
        { method: req.method, route: routeLabel(req), status },
        seconds,
      );
    });
    next();
  };
}

/** Express handler for GET /metrics. */
export function metricsHandler(metrics: Metrics): RequestHandler {
  return async (_req: Request, res: Response) => {
    try {
      const text = await metrics.render();
      res.set('Content-Type', metrics.contentType).send(text);
    } catch {
      // A failing collector must not take the route down with a stack trace.
      res.status(500).type('text/plain').send('metrics unavailable\n');
    }
  };
}
