// POSTs bench messages to one channel over keep-alive HTTP (undici Pool), from `concurrency`
// workers, at a target rate (open loop: message k is due at start + k/rate) or, with rate 0,
// as fast as the server answers (closed loop). Each message's content carries its sequence
// number and send time (`bench <seq> <sentAtMs>`), so the gateway clients can measure
// send → MESSAGE_CREATE latency without a round trip back here.
import { Pool } from 'undici';
import { nowMs, Samples, type LatencySummary } from './stats.js';

export interface SendOptions {
  baseUrl: string;
  channelId: string;
  /** Tokens of the members who send; worker k's message n uses tokens[n % length]. */
  tokens: string[];
  rate: number;
  concurrency: number;
  seconds: number;
}

export interface SendReport {
  attempted: number;
  accepted: number;
  /** Status code → count, for anything but 200. */
  errors: Record<string, number>;
  firstError?: string;
  firstSendAt: number;
  lastResponseAt: number;
  /** How far behind its schedule the last message was sent (open loop only), ms. */
  scheduleLagMs: number;
  postLatencyMs: LatencySummary;
  /** CPU time this process spent sending. */
  cpuMs: number;
}

export async function sendMessages(opts: SendOptions): Promise<SendReport> {
  const pool = new Pool(opts.baseUrl, { connections: opts.concurrency, pipelining: 1, keepAliveTimeout: 60_000 });
  const path = `/api/v10/channels/${opts.channelId}/messages`;
  const postLatency = new Samples();
  const errors: Record<string, number> = {};
  let firstError: string | undefined;
  let next = 0;
  let attempted = 0;
  let accepted = 0;
  let lastResponseAt = 0;
  let scheduleLagMs = 0;
  const cpuStart = process.cpuUsage();
  const start = nowMs() + 50; // a moment for every worker to be waiting
  const end = start + opts.seconds * 1000;
  const total = opts.rate > 0 ? Math.floor(opts.rate * opts.seconds) : Infinity;

  async function worker(): Promise<void> {
    for (;;) {
      const n = next++;
      if (n >= total) return;
      const due = opts.rate > 0 ? start + (n * 1000) / opts.rate : start;
      let t = nowMs();
      if (t >= end) return;
      if (due > t) {
        await new Promise((r) => setTimeout(r, due - t));
        t = nowMs();
      }
      scheduleLagMs = Math.max(scheduleLagMs, t - due);
      attempted++;
      const body = JSON.stringify({ content: `bench ${n} ${t.toFixed(3)}`, nonce: `b${n}` });
      try {
        const res = await pool.request({
          method: 'POST',
          path,
          headers: { authorization: opts.tokens[n % opts.tokens.length], 'content-type': 'application/json' },
          body,
        });
        const text = await res.body.text();
        const at = nowMs();
        postLatency.push(at - t);
        lastResponseAt = Math.max(lastResponseAt, at);
        if (res.statusCode === 200) accepted++;
        else {
          errors[res.statusCode] = (errors[res.statusCode] ?? 0) + 1;
          firstError ??= `${res.statusCode} ${text.slice(0, 300)}`;
        }
      } catch (err) {
        errors.network = (errors.network ?? 0) + 1;
        firstError ??= String(err);
      }
    }
  }

  await Promise.all(Array.from({ length: opts.concurrency }, worker));
  await pool.close();
  const cpu = process.cpuUsage(cpuStart);
  return {
    attempted,
    accepted,
    errors,
    firstError,
    firstSendAt: start,
    lastResponseAt,
    scheduleLagMs: Math.round(scheduleLagMs * 100) / 100,
    postLatencyMs: postLatency.summary(),
    cpuMs: Math.round((cpu.user + cpu.system) / 1000),
  };
}
