// Gateway fan-out benchmark (not a test): N clients on loopback, M MESSAGE_CREATE dispatches
// published to all of them at a target rate (or in one burst), measuring frames/s and the
// latency from publish() to receipt. The gateway runs in this process; the clients run in a
// child process (the second core), so the server's event loop is measured alone.
//
//   npx tsx bench/gateway-fanout.ts --clients 100 --messages 30000 --rate 3000
//   npx tsx bench/gateway-fanout.ts --clients 100 --messages 30000 --rate 0     (one burst)
//
// Prints one JSON object.
import http from 'node:http';
import { fork, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { pino } from 'pino';
import { WebSocket } from 'ws';
import { systemClock } from '../src/clock.js';
import { createGateway } from '../src/gateway/gateway-server.js';
import type { GatewayBackend, GatewayIdentity } from '../src/gateway/gateway-types.js';
import { Intent } from '../src/gateway/intents.js';

interface Args {
  clients: number;
  messages: number;
  rate: number; // messages/s; 0 = publish everything in one synchronous burst
  contentBytes: number;
}

interface Summary {
  type: 'summary';
  received: number;
  outOfOrder: number;
  lastAt: number;
  latency: { p50: number; p90: number; p99: number; max: number };
}

interface ClientReport {
  received: number;
  outOfOrder: number;
  latencies: number[]; // ms, one sample per received frame
  firstAt: number;
  lastAt: number;
}

const GUILD = '1100000000000000001';
const userId = (i: number): string => (1_000_000_000_000_000_000n + BigInt(i)).toString();
const now = (): number => performance.timeOrigin + performance.now(); // comparable across threads

function parseArgs(argv: string[]): Args {
  const get = (name: string, dflt: number): number => {
    const i = argv.indexOf(`--${name}`);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  return { clients: get('clients', 100), messages: get('messages', 30000), rate: get('rate', 3000), contentBytes: get('content', 200) };
}

function percentile(sorted: number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

const round = (x: number): number => Math.round(x * 100) / 100;

async function runServer(args: Args): Promise<void> {
  const identities = new Map<string, GatewayIdentity>();
  for (let i = 0; i < args.clients; i++) {
    identities.set(`token-${i}`, { user: { id: userId(i), username: `bot${i}`, bot: true }, applicationId: userId(999_999) });
  }
  const backend: GatewayBackend = {
    authenticate: async (token) => identities.get(token) ?? null,
    guildsFor: async () => [{ id: GUILD, name: 'bench', channels: [{ id: '1200000000000000001', type: 0 }], roles: [], members: [] }],
  };
  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/gateway`;
  const gateway = createGateway({
    server,
    backend,
    clock: systemClock,
    log: pino({ level: 'silent' }),
    resumeGatewayUrl: url,
    heartbeatIntervalMs: 600_000,
    maxSocketBufferedBytes: 256 * 1024 * 1024,
  });

  const child: ChildProcess = fork(fileURLToPath(import.meta.url), ['--clients-process', url, JSON.stringify(args)], {
    execArgv: ['--import', 'tsx'],
  });
  const message = (type: string): Promise<any> =>
    new Promise((resolve) => {
      const on = (m: any): void => {
        if (m.type === type) {
          child.off('message', on);
          resolve(m);
        }
      };
      child.on('message', on);
    });
  await message('ready');

  const recipients = new Set([...identities.values()].map((i) => i.user.id));
  const content = 'x'.repeat(args.contentBytes);
  const cpuStart = process.cpuUsage();
  const start = now();
  const publishOne = (n: number): void =>
    gateway.publish({
      t: 'MESSAGE_CREATE',
      d: {
        id: (1_300_000_000_000_000_000n + BigInt(n)).toString(),
        channel_id: '1200000000000000001',
        guild_id: GUILD,
        author: { id: userId(0), username: 'bot0', discriminator: '0', avatar: null, bot: true },
        content,
        timestamp: new Date().toISOString(),
        edited_timestamp: null,
        tts: false,
        mention_everyone: false,
        mentions: [],
        mention_roles: [],
        attachments: [],
        embeds: [],
        pinned: false,
        type: 0,
        n,
        ts: now(),
      },
      intent: Intent.GUILD_MESSAGES,
      recipients,
      guildId: GUILD,
    });

  if (args.rate <= 0) {
    for (let n = 0; n < args.messages; n++) publishOne(n);
  } else {
    // Publish on a 5 ms tick, catching up to the schedule each time (like a NOTIFY-driven dispatcher).
    let sent = 0;
    await new Promise<void>((resolve) => {
      const tick = (): void => {
        const due = Math.min(args.messages, Math.floor(((now() - start) / 1000) * args.rate) + 1);
        while (sent < due) publishOne(sent++);
        if (sent >= args.messages) return resolve();
        setTimeout(tick, 5);
      };
      tick();
    });
  }
  const publishedAt = now();
  child.send({ type: 'report' });
  const summary = (await message('summary')) as Summary;
  const cpu = process.cpuUsage(cpuStart);

  const seconds = (summary.lastAt - start) / 1000;
  const metrics = gateway.metrics();
  console.log(
    JSON.stringify({
      bench: 'gateway-fanout',
      clients: args.clients,
      messages: args.messages,
      target_rate_msgs_per_s: args.rate || 'burst',
      content_bytes: args.contentBytes,
      frames_expected: args.clients * args.messages,
      frames_received: summary.received,
      out_of_order: summary.outOfOrder,
      seconds: round(seconds),
      publish_seconds: round((publishedAt - start) / 1000),
      frames_per_s: Math.round(summary.received / seconds),
      latency_ms: summary.latency,
      server_cpu_s: round((cpu.user + cpu.system) / 1e6),
      server_frames_sent: metrics.framesSent,
      node: process.version,
    }),
  );
  child.kill();
  await gateway.close();
  server.closeAllConnections();
  server.close();
}

/** Child process: N gateway clients. Parses only what it measures (seq and the publish timestamp). */
async function runClients(url: string, args: Args): Promise<void> {
  const reports: ClientReport[] = [];
  const expected = args.messages;
  let done = 0;
  let reportRequested = false;
  const maybeReport = (): void => {
    if (!reportRequested || done !== args.clients) return;
    const latencies = reports.flatMap((r) => r.latencies).sort((a, b) => a - b);
    const summary: Summary = {
      type: 'summary',
      received: reports.reduce((a, r) => a + r.received, 0),
      outOfOrder: reports.reduce((a, r) => a + r.outOfOrder, 0),
      lastAt: Math.max(...reports.map((r) => r.lastAt)),
      latency: {
        p50: round(percentile(latencies, 50)),
        p90: round(percentile(latencies, 90)),
        p99: round(percentile(latencies, 99)),
        max: round(latencies[latencies.length - 1] ?? NaN),
      },
    };
    process.send!(summary);
  };

  await Promise.all(
    Array.from({ length: args.clients }, (_, i) =>
      new Promise<void>((resolve, reject) => {
        const ws = new WebSocket(`${url}?v=10&encoding=json`);
        const r: ClientReport = { received: 0, outOfOrder: 0, latencies: [], firstAt: 0, lastAt: 0 };
        reports.push(r);
        let lastSeq = 0;
        let ready = false;
        ws.on('error', reject);
        ws.on('message', (data: Buffer) => {
          const at = now();
          const text = data.toString();
          if (!ready) {
            const f = JSON.parse(text);
            if (f.op === 10) ws.send(JSON.stringify({ op: 2, d: { token: `token-${i}`, intents: Intent.GUILDS | Intent.GUILD_MESSAGES | Intent.MESSAGE_CONTENT, properties: {} } }));
            if (f.t === 'GUILD_CREATE') {
              ready = true;
              lastSeq = f.s;
              resolve();
            }
            return;
          }
          const s = Number(text.slice(12, text.indexOf(',', 12))); // '{"op":0,"s":' is 12 chars
          if (s !== lastSeq + 1) r.outOfOrder++;
          lastSeq = s;
          const tsAt = text.lastIndexOf('"ts":');
          r.latencies.push(at - Number(text.slice(tsAt + 5, text.indexOf('}', tsAt))));
          if (r.received++ === 0) r.firstAt = at;
          r.lastAt = at;
          if (r.received === expected) {
            done++;
            maybeReport();
          }
        });
      }),
    ),
  );
  process.on('message', (m: { type: string }) => {
    if (m.type === 'report') {
      reportRequested = true;
      maybeReport();
    }
  });
  process.send!({ type: 'ready' });
}

const mode = process.argv.indexOf('--clients-process');
if (mode < 0) await runServer(parseArgs(process.argv.slice(2)));
else await runClients(process.argv[mode + 1], JSON.parse(process.argv[mode + 2]) as Args);
