import express from 'express';
import { pino } from 'pino';
import { z } from 'zod';
import { apiError } from '../../src/api/errors.js';
import { createErrorHandler, jsonBody, notFoundHandler } from '../../src/api/error-middleware.js';
import { parseBody } from '../../src/api/validate.js';
import { serve, type Served } from './listen.js';

/** A real pino logger whose lines we keep. */
function capturingLogger() {
  const lines: Record<string, unknown>[] = [];
  const log = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s)) });
  return { log, lines };
}

describe('error middleware over HTTP', () => {
  let served: Served;
  let lines: Record<string, unknown>[];
  let seenBodies: unknown[];

  beforeAll(async () => {
    const logger = capturingLogger();
    lines = logger.lines;
    seenBodies = [];
    const app = express();
    app.use(jsonBody({ limit: 1024 }));
    app.post('/echo', (req, res) => {
      seenBodies.push(req.body);
      const body = parseBody(z.object({ content: z.string().max(5) }), req.body);
      res.json(body);
    });
    app.get('/channels/:id', () => {
      throw apiError('unknownChannel');
    });
    app.get('/async-forbidden', async () => {
      await Promise.resolve();
      throw apiError('missingPermissions');
    });
    app.get('/boom', () => {
      throw new Error('secret database password in /srv/nexus/db.ts');
    });
    app.get('/async-boom', async () => {
      await Promise.resolve();
      throw new TypeError('cannot read properties of undefined');
    });
    app.get('/half-sent', (_req, res) => {
      res.write('partial');
      throw new Error('after headers');
    });
    app.use(notFoundHandler);
    app.use(createErrorHandler({ log: logger.log }));
    served = await serve(app);
  });

  afterAll(() => served.close());

  async function call(path: string, init?: RequestInit) {
    const res = await fetch(served.url + path, init);
    const text = await res.text();
    return { status: res.status, type: res.headers.get('content-type'), text, body: text ? JSON.parse(text) : undefined };
  }

  const post = (body: string, type = 'application/json') => ({ method: 'POST', headers: { 'content-type': type }, body });

  test('valid JSON reaches the handler', async () => {
    const r = await call('/echo', post('{"content":"hi"}'));
    expect(r.status).toBe(200);
    expect(r.body).toEqual({ content: 'hi' });
  });

  test('invalid JSON → 400 50109, no stack, handler never runs', async () => {
    const before = seenBodies.length;
    const r = await call('/echo', post('{"content": "hi",'));
    expect(r.status).toBe(400);
    expect(r.type).toMatch(/^application\/json/);
    expect(r.body).toEqual({ code: 50109, message: 'The request body contains invalid JSON.' });
    expect(r.text).not.toMatch(/at |stack|SyntaxError|node_modules/);
    expect(seenBodies.length).toBe(before);
  });

  test('a bare JSON string is refused as invalid JSON (strict mode)', async () => {
    const r = await call('/echo', post('"hello"'));
    expect(r.body).toEqual({ code: 50109, message: 'The request body contains invalid JSON.' });
  });

  test('too-large body → 413 40005', async () => {
    const r = await call('/echo', post(JSON.stringify({ content: 'x'.repeat(5000) })));
    expect(r.status).toBe(413);
    expect(r.body).toEqual({ code: 40005, message: 'Request entity too large. Try sending something smaller in size' });
  });

  test('a body that is not JSON → 415', async () => {
    const r = await call('/echo', post('content=hi', 'application/x-www-form-urlencoded'));
    expect(r.status).toBe(415);
    expect(r.body).toEqual({ code: 0, message: '415: Unsupported Media Type' });
  });

  test('no body at all → the schema reports the missing fields', async () => {
    const r = await call('/echo', { method: 'POST' });
    expect(r.status).toBe(400);
    expect(r.body).toEqual({
      code: 50035,
      message: 'Invalid Form Body',
      errors: { content: { _errors: [{ code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] } },
    });
  });

  test('validation failure → 400 50035 with errors', async () => {
    const r = await call('/echo', post('{"content":"toolong"}'));
    expect(r.status).toBe(400);
    expect(r.body.errors).toEqual({ content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 5 or fewer in length.' }] } });
  });

  test('thrown ApiError → its status and body (sync and async handlers)', async () => {
    expect(await call('/channels/123')).toMatchObject({ status: 404, body: { code: 10003, message: 'Unknown Channel' } });
    expect(await call('/async-forbidden')).toMatchObject({ status: 403, body: { code: 50013, message: 'Missing Permissions' } });
  });

  test('unknown route → 404 {code: 0}', async () => {
    const r = await call('/nope');
    expect(r.status).toBe(404);
    expect(r.body).toEqual({ code: 0, message: '404: Not Found' });
  });

  test('unknown error → 500 generic body, logged with its stack', async () => {
    const before = lines.length;
    for (const path of ['/boom', '/async-boom']) {
      const r = await call(path);
      expect(r.status).toBe(500);
      expect(r.body).toEqual({ code: 0, message: '500: Internal Server Error' });
      expect(r.text).not.toMatch(/secret|\/srv|TypeError|at /);
    }
    const logged = lines.slice(before);
    expect(logged).toHaveLength(2);
    expect(logged[0]).toMatchObject({ level: 50, method: 'GET', url: '/boom', err: { message: 'secret database password in /srv/nexus/db.ts' } });
    expect(String((logged[0].err as { stack: string }).stack)).toMatch(/Error: secret/);
    expect(logged[1]).toMatchObject({ url: '/async-boom', err: { type: 'TypeError' } });
  });

  test('client errors are not logged as errors', async () => {
    const before = lines.length;
    await call('/channels/1');
    await call('/echo', post('{'));
    expect(lines.length).toBe(before);
  });

  test('an error after headers were sent is logged and the connection ends', async () => {
    const before = lines.length;
    const outcome = await fetch(served.url + '/half-sent').then(
      (res) => res.text().then(() => 'completed', () => 'aborted'),
      () => 'aborted',
    );
    expect(['completed', 'aborted']).toContain(outcome);
    expect(lines.slice(before).some((l) => l.msg === 'error after response started')).toBe(true);
  });
});
