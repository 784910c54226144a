/**
 * Express glue for the rate limiter, speaking Discord's headers so discord.js's REST client
 * (@discordjs/rest SequentialHandler) paces itself. What it reads, and what we send:
 *
 *   X-RateLimit-Limit / -Remaining      numbers; Remaining 0 makes it wait before the next call
 *   X-RateLimit-Reset-After             seconds (float) — the only reset it uses
 *   X-RateLimit-Reset                   epoch seconds (float), for other clients
 *   X-RateLimit-Bucket                  opaque hash shared by every major parameter of a route;
 *                                       discord.js keys its queues by `${hash}:${majorParam}`
 *   Retry-After (+ X-RateLimit-Scope)   only on 429; with Remaining 0 it is treated as a route
 *                                       limit, with Remaining > 0 as a sublimit
 *
 * Route buckets follow Discord: method + route template where the major parameter (the id
 * right after /channels, /guilds, /webhooks, plus a webhook's token) stays literal and every
 * other id collapses, so /channels/1/messages/2 and /channels/1/messages/3 share a bucket but
 * /channels/9/messages/2 does not.
 */
import { createHash } from 'node:crypto';
import type { Request, RequestHandler, Response } from 'express';
import { hashToken } from '../accounts/tokens.js';
import { tokenFromAuthorization } from './auth-header.js';
import { rateLimitedBody } from './errors.js';
import type { RateLimiter, TakeResult } from './rate-limit.js';

const MAJOR_RESOURCES = new Set(['channels', 'guilds', 'webhooks']);
/** Collections whose children are codes, not ids (they would otherwise read as static words). */
const CODE_COLLECTIONS = new Set(['invites', 'templates']);
const ID_RE = /^\d{1,20}$/;
const STATIC_RE = /^[a-z@][a-z0-9_.-]{0,39}$/;

export interface RouteBucket {
  /** Template with the major parameter literal: the limiter's key. */
  route: string;
  /** Template with the major parameter named: hashed into X-RateLimit-Bucket. */
  template: string;
  /** The X-RateLimit-Bucket value. */
  hash: string;
}

/** Buckets a request path (with or without the /api/vN prefix; no query string). */
export function routeBucket(method: string, path: string): RouteBucket {
  const segments = path.split('/').filter((s) => s !== '');
  let start = 0;
  if (segments[start] === 'api') start++;
  if (segments[start] !== undefined && /^v\d+$/.test(segments[start])) start++;
  const rest = segments.slice(start);

  const route: string[] = [];
  const template: string[] = [];
  for (let i = 0; i < rest.length; i++) {
    const seg = rest[i];
    const prev = rest[i - 1];
    const major = MAJOR_RESOURCES.has(rest[0]) && ID_RE.test(rest[1] ?? '');
    if (prev === 'reactions') {
      // emoji, then @me or a user id: all one bucket, as in Discord
      route.push(':reaction');
      template.push(':reaction');
      break;
    } else if (major && i === 1) {
      route.push(seg);
      template.push(`:${rest[0].slice(0, -1)}_id`);
    } else if (major && i === 2 && rest[0] === 'webhooks' && !STATIC_RE.test(seg)) {
      route.push(seg); // the webhook token is part of the major parameter
      template.push(':webhook_token');
    } else if (ID_RE.test(seg)) {
      route.push(':id');
      template.push(':id');
    } else if (prev !== undefined && CODE_COLLECTIONS.has(prev)) {
      route.push(':code');
      template.push(':code');
    } else {
      const s = STATIC_RE.test(seg) ? seg : ':param';
      route.push(s);
      template.push(s);
    }
  }
  const m = method.toUpperCase();
  const tpl = `/${template.join('/')}`;
  return {
    route: `${m} /${route.join('/')}`,
    template: `${m} ${tpl}`,
    hash: createHash('sha256').update(`${m} ${tpl}`).digest('hex').slice(0, 32),
  };
}

/** Who is asking: the token's hash when one is sent, else the client IP. */
export function defaultIdentity(req: Request): string {
  const token = tokenFromAuthorization(req.get('authorization'));
  return token ? `token:${hashToken(token)}` : `ip:${req.ip ?? 'unknown'}`;
}

function seconds(ms: number): string {
  return (ms / 1000).toFixed(3);
}

function setLimitHeaders(res: Response, r: TakeResult, bucketHash: string): void {
  res.setHeader('X-RateLimit-Limit', String(r.limit));
  res.setHeader('X-RateLimit-Remaining', String(r.remaining));
  res.setHeader('X-RateLimit-Reset', seconds(r.resetAt));
  res.setHeader('X-RateLimit-Reset-After', seconds(r.resetAfterMs));
  res.setHeader('X-RateLimit-Bucket', bucketHash);
}

function sendRateLimited(res: Response, resetAfterMs: number): void {
  const retryAfter = Math.round(resetAfterMs) / 1000;
  // HTTP's Retry-After is whole seconds; the body keeps the precise float, as Discord's does.
  res.setHeader('Retry-After', String(Math.max(1, Math.ceil(retryAfter))));
  res.setHeader('X-RateLimit-Scope', 'user');
  res.status(429).json(rateLimitedBody(retryAfter));
}

export interface RouteRateLimitOptions {
  limiter: RateLimiter;
  /** Rule name in the limiter (default 'route'). */
  rule?: string;
  /**
   * Identity of the caller. The default trusts nothing: an unknown token still gets its own
   * bucket, so mount this after authentication and pass the user id for the strictest keying.
   */
  identify?: (req: Request, res: Response) => string;
}

export function createRouteRateLimit(opts: RouteRateLimitOptions): RequestHandler {
  const rule = opts.rule ?? 'route';
  const identify = opts.identify ?? ((req: Request) => defaultIdentity(req));
  if (!opts.limiter.rules[rule]) throw new Error(`unknown rate rule ${rule}`);

  return (req, res, next) => {
    if (opts.limiter.rules[rule].limit === Infinity) return next();
    const bucket = routeBucket(req.method, req.path);
    const result = opts.limiter.take(`${identify(req, res)}|${bucket.route}`, rule);
    setLimitHeaders(res, result, bucket.hash);
    if (!result.allowed) return sendRateLimited(res, result.resetAfterMs);
    next();
  };
}

export interface LoginRateLimitOptions {
  limiter: RateLimiter;
  perAccountRule?: string;
  perIpRule?: string;
  /** The login being attempted; default `req.body.login` (mount after the JSON body parser). */
  loginOf?: (req: Request) => string | undefined;
}

/**
 * Guards the login route: every attempt counts against the client IP and against the
 * (IP, login) pair, so neither guessing one account's password nor spraying many accounts
 * from one address goes fast. A 429 here leaves the route headers alone: discord.js reads a
 * 429 with Remaining > 0 as a sublimit and waits Retry-After, which is what this is.
 */
export function createLoginRateLimit(opts: LoginRateLimitOptions): RequestHandler {
  const perAccount = opts.perAccountRule ?? 'loginPerAccount';
  const perIp = opts.perIpRule ?? 'loginPerIp';
  const loginOf = opts.loginOf ?? defaultLoginOf;
  for (const r of [perAccount, perIp]) if (!opts.limiter.rules[r]) throw new Error(`unknown rate rule ${r}`);

  return (req, res, next) => {
    const ip = req.ip ?? 'unknown';
    const byIp = opts.limiter.take(ip, perIp);
    if (!byIp.allowed) return sendRateLimited(res, byIp.resetAfterMs);
    const login = loginOf(req);
    if (login !== undefined) {
      const byAccount = opts.limiter.take(`${ip}|${login}`, perAccount);
      if (!byAccount.allowed) return sendRateLimited(res, byAccount.resetAfterMs);
    }
    next();
  };
}

function defaultLoginOf(req: Request): string | undefined {
  const body: unknown = req.body;
  if (typeof body !== 'object' || body === null) return undefined;
  const login = (body as Record<string, unknown>).login;
  // Normalised so "Alice@x" and " alice@x" share a bucket; capped so the key stays small.
  return typeof login === 'string' ? login.trim().toLowerCase().slice(0, 256) : undefined;
}
