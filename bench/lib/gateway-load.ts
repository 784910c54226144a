// N gateway clients (run in a child process of a bench, so the server's CPU is its own).
// Each identifies with its own token, heartbeats, and for every MESSAGE_CREATE whose
// content is `bench <seq> <sentAtMs>` records arrival − sentAt. Frames are scanned with
// indexOf rather than JSON.parse: at 100 clients × 3,000 msgs/s a full parse per frame
// would make this process, not the server, the bottleneck.
import { WebSocket } from 'ws';
import { nowMs, Samples, type LatencySummary } from './stats.js';

export interface GatewayLoadOptions {
  url: string;
  tokens: string[];
  intents: number;
  /** The guild each client must see a GUILD_CREATE for before it counts as ready. */
  guildId: string;
}

export interface GatewayLoadReport {
  clients: number;
  /** MESSAGE_CREATE frames received, summed over clients (duplicates excluded). */
  delivered: number;
  duplicates: number;
  /** Clients that received every one of the expected messages. */
  completeClients: number;
  /** Latest arrival of a bench message at any client. */
  lastArrivalAt: number;
  latencyMs: LatencySummary;
  closed: number;
  /** CPU time this process spent between the end of connecting and the report. */
  cpuMs: number;
}

const cpuMsSince = (start: NodeJS.CpuUsage): number => {
  const c = process.cpuUsage(start);
  return (c.user + c.system) / 1000;
};

const CONTENT_MARK = '"content":"bench ';

export async function runGatewayLoad(opts: GatewayLoadOptions) {
  const samples = new Samples();
  const perClient: Array<{ received: number; seen: Uint8Array; duplicates: number }> = [];
  let lastArrivalAt = 0;
  let closed = 0;
  const sockets: WebSocket[] = [];

  const connectOne = (token: string, index: number) =>
    new Promise<void>((resolve, reject) => {
      const ws = new WebSocket(`${opts.url}?v=10&encoding=json`);
      sockets.push(ws);
      const me = { received: 0, seen: new Uint8Array(1 << 16), duplicates: 0 };
      perClient[index] = me;
      let ready = false;
      let heartbeat: NodeJS.Timeout | undefined;
      let seq: number | null = null;
      ws.on('error', reject);
      ws.on('close', () => {
        closed++;
        if (heartbeat) clearInterval(heartbeat);
        if (!ready) reject(new Error(`client ${index} closed before GUILD_CREATE`));
      });
      ws.on('message', (data: Buffer) => {
        const at = nowMs();
        const text = data.toString();
        if (text.startsWith('{"op":0,"s":')) seq = Number(text.slice(12, text.indexOf(',', 12)));
        const c = text.indexOf(CONTENT_MARK);
        if (c >= 0 && text.includes('"t":"MESSAGE_CREATE"')) {
          const start = c + CONTENT_MARK.length;
          const space = text.indexOf(' ', start);
          const n = Number(text.slice(start, space));
          const sentAt = Number(text.slice(space + 1, text.indexOf('"', space)));
          if (n >= me.seen.length) {
            const bigger = new Uint8Array(Math.max(me.seen.length * 2, n + 1));
            bigger.set(me.seen);
            me.seen = bigger;
          }
          if (me.seen[n]) me.duplicates++;
          else {
            me.seen[n] = 1;
            me.received++;
            samples.push(at - sentAt);
            if (at > lastArrivalAt) lastArrivalAt = at;
          }
          return;
        }
        if (ready) return;
        const f = JSON.parse(text);
        if (f.op === 10) {
          ws.send(JSON.stringify({ op: 2, d: { token, intents: opts.intents, properties: { os: 'linux', browser: 'nexus-bench', device: 'nexus-bench' } } }));
          heartbeat = setInterval(() => ws.send(JSON.stringify({ op: 1, d: seq })), f.d.heartbeat_interval * 0.9);
        } else if (f.op === 0 && f.t === 'GUILD_CREATE' && f.d.id === opts.guildId) {
          ready = true;
          resolve();
        } else if (f.op === 9) reject(new Error(`client ${index}: invalid session`));
      });
    });

  // Connect in small waves: a thousand simultaneous IDENTIFYs is a different benchmark.
  for (let i = 0; i < opts.tokens.length; i += 20) {
    await Promise.all(opts.tokens.slice(i, i + 20).map((t, j) => connectOne(t, i + j)));
  }

  const cpuStart = process.cpuUsage();
  return {
    /** Resolves when every client has `expected` messages, or at `deadline` (ms, nowMs clock). */
    async report(expected: number, deadline: number): Promise<GatewayLoadReport> {
      while (perClient.some((c) => c.received < expected) && nowMs() < deadline) await new Promise((r) => setTimeout(r, 20));
      return {
        clients: perClient.length,
        delivered: perClient.reduce((a, c) => a + c.received, 0),
        duplicates: perClient.reduce((a, c) => a + c.duplicates, 0),
        completeClients: perClient.filter((c) => c.received >= expected).length,
        lastArrivalAt,
        latencyMs: samples.summary(),
        closed,
        cpuMs: Math.round(cpuMsSince(cpuStart)),
      };
    },
    close(): void {
      for (const ws of sockets) ws.terminate();
    },
  };
}
