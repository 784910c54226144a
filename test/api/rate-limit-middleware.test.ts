import express from 'express';
import { pino } from 'pino';
import { createErrorHandler, jsonBody } from '../../src/api/error-middleware.js';
import { createRateLimiter, rateRulesFromConfig } from '../../src/api/rate-limit.js';
import { createLoginRateLimit, createRouteRateLimit, routeBucket } from '../../src/api/rate-limit-middleware.js';
import { serve, type Served } from './listen.js';

const C1 = '175928847299117063';
const C2 = '175928847299117064';
const M1 = '175928847299117100';
const M2 = '175928847299117101';

describe('routeBucket', () => {
  test('major parameters stay literal, other ids collapse', () => {
    expect(routeBucket('post', `/api/v10/channels/${C1}/messages`).route).toBe(`POST /channels/${C1}/messages`);
    expect(routeBucket('PATCH', `/channels/${C1}/messages/${M1}`).route).toBe(`PATCH /channels/${C1}/messages/:id`);
    expect(routeBucket('PATCH', `/channels/${C1}/messages/${M2}`).route).toBe(routeBucket('PATCH', `/channels/${C1}/messages/${M1}`).route);
    expect(routeBucket('GET', `/guilds/${C1}/members/${M1}`).route).toBe(`GET /guilds/${C1}/members/:id`);
    expect(routeBucket('GET', `/users/${M1}`).route).toBe('GET /users/:id');
    expect(routeBucket('GET', '/users/@me/guilds').route).toBe('GET /users/@me/guilds');
  });

  test('reactions, invite codes and webhook tokens', () => {
    const r1 = routeBucket('PUT', `/channels/${C1}/messages/${M1}/reactions/%F0%9F%91%8D/@me`);
    const r2 = routeBucket('PUT', `/channels/${C1}/messages/${M2}/reactions/custom:123/${M1}`);
    expect(r1.route).toBe(`PUT /channels/${C1}/messages/:id/reactions/:reaction`);
    expect(r2.route).toBe(r1.route);
    expect(routeBucket('GET', '/invites/abcDEF').route).toBe('GET /invites/:code');
    expect(routeBucket('GET', '/invites/other').route).toBe('GET /invites/:code');
    const token = 'aB3_xYz-' + 'Q'.repeat(60);
    const wh = routeBucket('POST', `/webhooks/${C1}/${token}`);
    expect(wh.route).toBe(`POST /webhooks/${C1}/${token}`);
    expect(wh.template).toBe('POST /webhooks/:webhook_id/:webhook_token');
  });

  test('the bucket hash is shared across major parameters but not methods or routes', () => {
    const a = routeBucket('POST', `/channels/${C1}/messages`);
    const b = routeBucket('POST', `/channels/${C2}/messages`);
    expect(a.route).not.toBe(b.route);
    expect(a.hash).toBe(b.hash);
    expect(a.hash).toMatch(/^[0-9a-f]{32}$/);
    expect(routeBucket('GET', `/channels/${C1}/messages`).hash).not.toBe(a.hash);
    expect(routeBucket('POST', `/channels/${C1}/typing`).hash).not.toBe(a.hash);
  });

  test('odd segments cannot mint unbounded buckets', () => {
    expect(routeBucket('GET', '/channels/NotAnId/whatever!').route).toBe('GET /channels/:param/:param');
  });
});

function fakeClock(start = 1_700_000_000_000) {
  const clock = { t: start, now: () => clock.t };
  return clock;
}

interface Reply {
  status: number;
  headers: Headers;
  body: any;
}

describe('route rate limit over HTTP', () => {
  const clock = fakeClock();
  let served: Served;

  beforeAll(async () => {
    const limiter = createRateLimiter({ clock, rules: rateRulesFromConfig({ rules: { route: { limit: 3, windowMs: 2000 } } }) });
    const app = express();
    app.use('/api/v10', createRouteRateLimit({ limiter }));
    app.all('/api/v10/*rest', (_req, res) => {
      res.json({ ok: true });
    });
    served = await serve(app);
  });
  afterAll(() => served.close());

  async function call(method: string, path: string, token?: string): Promise<Reply> {
    const headers: Record<string, string> = token ? { authorization: `Bot ${token}` } : {};
    const res = await fetch(served.url + path, { method, headers });
    return { status: res.status, headers: res.headers, body: await res.json() };
  }

  test('headers count down, 429 on exhaustion with Discord body, reset after the window', async () => {
    const path = `/api/v10/channels/${C1}/messages`;
    const replies: Reply[] = [];
    for (let i = 0; i < 3; i++) replies.push(await call('POST', path, 'tok-a'));
    expect(replies.map((r) => r.status)).toEqual([200, 200, 200]);
    expect(replies.map((r) => r.headers.get('x-ratelimit-remaining'))).toEqual(['2', '1', '0']);
    const h = replies[0].headers;
    expect(h.get('x-ratelimit-limit')).toBe('3');
    expect(h.get('x-ratelimit-reset-after')).toBe('2.000');
    expect(h.get('x-ratelimit-reset')).toBe(((clock.t + 2000) / 1000).toFixed(3));
    expect(h.get('x-ratelimit-bucket')).toBe(routeBucket('POST', path).hash);
    expect(h.get('retry-after')).toBeNull();

    clock.t += 500;
    const limited = await call('POST', path, 'tok-a');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ message: 'You are being rate limited.', retry_after: 1.5, global: false, code: 0 });
    expect(limited.headers.get('retry-after')).toBe('2');
    expect(limited.headers.get('x-ratelimit-remaining')).toBe('0');
    expect(limited.headers.get('x-ratelimit-reset-after')).toBe('1.500');
    expect(limited.headers.get('x-ratelimit-scope')).toBe('user');

    // what @discordjs/rest computes from these headers: a route limit (not a sublimit), 1.5 s away
    const remaining = Number(limited.headers.get('x-ratelimit-remaining'));
    const resetInMs = Number(limited.headers.get('x-ratelimit-reset-after')) * 1000;
    expect(remaining <= 0 && resetInMs === 1500).toBe(true);

    // another channel (major parameter) and another token are separate buckets
    expect((await call('POST', `/api/v10/channels/${C2}/messages`, 'tok-a')).status).toBe(200);
    expect((await call('POST', path, 'tok-b')).status).toBe(200);

    clock.t += 1500;
    const again = await call('POST', path, 'tok-a');
    expect(again.status).toBe(200);
    expect(again.headers.get('x-ratelimit-remaining')).toBe('2');
  });

  test('minor ids share a bucket; requests without a token are keyed by IP', async () => {
    clock.t += 10_000;
    const statuses = [];
    for (const m of [M1, M2, M1, M2]) statuses.push((await call('DELETE', `/api/v10/channels/${C1}/messages/${m}`)).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('rate limits disabled by config', () => {
  test('no headers, no limit', async () => {
    const limiter = createRateLimiter({ clock: fakeClock(), rules: rateRulesFromConfig({ disabled: true }) });
    const app = express();
    app.use(createRouteRateLimit({ limiter }));
    app.get('/x', (_req, res) => {
      res.json({});
    });
    const served = await serve(app);
    try {
      for (let i = 0; i < 60; i++) {
        const res = await fetch(`${served.url}/x`);
        expect(res.status).toBe(200);
        expect(res.headers.get('x-ratelimit-limit')).toBeNull();
        await res.arrayBuffer();
      }
    } finally {
      await served.close();
    }
  });
});

describe('login rate limit over HTTP', () => {
  const clock = fakeClock();
  let served: Served;

  beforeAll(async () => {
    const limiter = createRateLimiter({ clock, rules: rateRulesFromConfig() });
    const app = express();
    app.post('/auth/login', jsonBody(), createLoginRateLimit({ limiter }), (_req, res) => {
      res.status(400).json({ code: 50035 });
    });
    app.use(createErrorHandler({ log: pino({ level: 'silent' }) }));
    served = await serve(app);
  });
  afterAll(() => served.close());

  async function login(who: string) {
    const res = await fetch(`${served.url}/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ login: who, password: 'wrong-password' }),
    });
    return { status: res.status, retryAfter: res.headers.get('retry-after'), body: await res.json() };
  }

  test('5 per minute per (IP, login), 20 per minute per IP', async () => {
    const alice = [];
    for (let i = 0; i < 6; i++) alice.push((await login(i % 2 ? 'alice@example.org' : ' Alice@Example.org')).status);
    expect(alice).toEqual([400, 400, 400, 400, 400, 429]);

    clock.t += 30_000;
    const limited = await login('alice@example.org');
    expect(limited.status).toBe(429);
    expect(limited.body).toEqual({ message: 'You are being rate limited.', retry_after: 30, global: false, code: 0 });
    expect(limited.retryAfter).toBe('30');

    // other accounts from the same IP still go, until the IP's 20 are spent (6 used above + 1 denied = 7 counted)
    const others = [];
    for (let i = 0; i < 14; i++) others.push((await login(`user${i}@example.org`)).status);
    expect(others.filter((s) => s === 400)).toHaveLength(13);
    expect(others.at(-1)).toBe(429);

    clock.t += 30_000; // both windows started at the first request: all reset now
    expect((await login('alice@example.org')).status).toBe(400);
    expect((await login('someone@example.org')).status).toBe(400);
  });
});
