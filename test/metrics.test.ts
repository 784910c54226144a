import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import {
  createMetrics,
  eventTypeLabel,
  httpMetricsMiddleware,
  metricsHandler,
} from '../src/metrics.js';

/** The value of one series in Prometheus text, e.g. sample(text, 'x_total', 'a="b"'). */
function sample(text: string, name: string, labels?: string): number | undefined {
  const head = labels === undefined ? `${name} ` : `${name}{${labels}} `;
  const line = text.split('\n').find((l) => l.startsWith(head));
  return line === undefined ? undefined : Number(line.slice(head.length));
}

describe('metrics registry', () => {
  test('two homeservers in one process keep independent registries', async () => {
    const a = createMetrics({ processMetrics: false });
    const b = createMetrics({ processMetrics: false });
    a.countAppended('local', 'nexus.message');
    a.countAppended('local', 'nexus.message');
    a.countAppended('remote', 'nexus.guild.member');
    a.gatewaySessions.inc(3);
    a.gatewayDispatches.inc(7);
    b.countAppended('remote', 'nexus.message');

    const textA = await a.render();
    const textB = await b.render();
    expect(sample(textA, 'nexus_events_appended_total', 'origin="local",type="nexus.message"')).toBe(2);
    expect(sample(textA, 'nexus_events_appended_total', 'origin="remote",type="nexus.guild.member"')).toBe(1);
    expect(sample(textA, 'nexus_gateway_sessions')).toBe(3);
    expect(sample(textA, 'nexus_gateway_dispatches_total')).toBe(7);
    expect(sample(textB, 'nexus_events_appended_total', 'origin="remote",type="nexus.message"')).toBe(1);
    expect(sample(textB, 'nexus_events_appended_total', 'origin="local",type="nexus.message"')).toBeUndefined();
    expect(sample(textB, 'nexus_gateway_sessions')).toBe(0);
    expect(a.registry).not.toBe(b.registry);
  });

  test('unknown event types from peers are counted as "other"', async () => {
    const m = createMetrics({ processMetrics: false });
    expect(eventTypeLabel('nexus.reaction')).toBe('nexus.reaction');
    expect(eventTypeLabel('evil.type.0001')).toBe('other');
    m.countAppended('remote', 'evil.type.0001');
    m.countAppended('remote', 'evil.type.0002');
    const text = await m.render();
    expect(sample(text, 'nexus_events_appended_total', 'origin="remote",type="other"')).toBe(2);
    expect(text).not.toContain('evil.type');
  });

  test('process metrics and default labels are opt-in per registry', async () => {
    const withProcess = createMetrics({ defaultLabels: { server: 'a.example' } });
    const without = createMetrics({ processMetrics: false });
    withProcess.gatewaySessions.set(1);
    const text = await withProcess.render();
    expect(text).toContain('process_cpu_user_seconds_total');
    expect(sample(text, 'nexus_gateway_sessions', 'server="a.example"')).toBe(1);
    expect(await without.render()).not.toContain('process_cpu_user_seconds_total');
    expect(withProcess.contentType).toMatch(/^text\/plain/);
  });
});

describe('HTTP metrics over real HTTP', () => {
  let server: Server;
  let base: string;
  const metrics = createMetrics({ processMetrics: false });

  beforeAll(async () => {
    const app = express();
    app.use(httpMetricsMiddleware(metrics));
    app.get('/metrics', metricsHandler(metrics));
    const api = express.Router();
    api.get('/channels/:channel_id/messages', (_req, res) => {
      res.json([]);
    });
    api.post('/channels/:channel_id/messages', (_req, res) => {
      res.status(400).json({ code: 50035, message: 'Invalid Form Body' });
    });
    app.use('/api/v10', api);
    server = await new Promise<Server>((resolve) => {
      const s = app.listen(0, '127.0.0.1', () => resolve(s));
    });
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    await new Promise<void>((resolve, reject) => server.close((e) => (e ? reject(e) : resolve())));
  });

  test('requests are observed by route template, and /metrics serves the text', async () => {
    for (const id of ['111', '222', '333']) {
      expect((await fetch(`${base}/api/v10/channels/${id}/messages`)).status).toBe(200);
    }
    expect((await fetch(`${base}/api/v10/channels/9/messages`, { method: 'POST' })).status).toBe(400);
    expect((await fetch(`${base}/no/such/path/${Math.random()}`)).status).toBe(404);
    expect((await fetch(`${base}/api/v10/nothing-here`)).status).toBe(404);

    const res = await fetch(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const text = await res.text();
    const name = 'nexus_http_request_duration_seconds_count';
    const route = '/api/v10/channels/:channel_id/messages';
    expect(sample(text, name, `method="GET",route="${route}",status="200"`)).toBe(3);
    expect(sample(text, name, `method="POST",route="${route}",status="400"`)).toBe(1);
    // Both 404s share one series, however varied their URLs.
    expect(sample(text, name, 'method="GET",route="unmatched",status="404"')).toBe(2);
    expect(text).not.toContain('/channels/111');
    // Histogram buckets are cumulative; the +Inf bucket equals the count.
    expect(sample(text, 'nexus_http_request_duration_seconds_bucket', `le="+Inf",method="GET",route="${route}",status="200"`)).toBe(3);
    expect(text).toContain('le="0.0005"');
  });
});
