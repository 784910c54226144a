// Server discovery: where to send a request for server name S (spec/federation.md, "Server
// names and discovery"; modelled on Matrix's "Resolving server names", without SRV records).
//   1. S has an explicit port          → connect to host:port, Host: S
//   2. S is an IP literal              → connect to ip:8448,   Host: S
//   3. GET https://S/.well-known/nexus/server → {"server": "D"}: apply 1–2 to D, else D:8448;
//      Host: D
//   4. otherwise                       → S:8448, Host: S
// Answers of step 3 (and its failures) are cached per server name, so one slow or broken
// well-known does not cost a round trip per request.
import { isIPv4, isIPv6 } from 'node:net';
import { Agent, interceptors, request } from 'undici';
import type { Dispatcher } from 'undici';
import type { Clock } from '../clock.js';
import { abandonBody, readBodyLimited } from './federation-client.js';

export const DEFAULT_FEDERATION_PORT = 8448;
export const WELL_KNOWN_PATH = '/.well-known/nexus/server';

/** `NEXUS_FEDERATION_INSECURE=1` (or `true`): plain HTTP for discovery and requests.
 *  Tests and loopback only (spec/federation.md, Server names and discovery). */
export function federationInsecureFromEnv(env: Record<string, string | undefined>): boolean {
  const v = (env.NEXUS_FEDERATION_INSECURE ?? '').trim().toLowerCase();
  return v === '1' || v === 'true';
}

export interface ParsedServerName {
  /** As written in the name; an IPv6 literal keeps its brackets. */
  host: string;
  port?: number;
  kind: 'dns' | 'ipv4' | 'ipv6';
}

const DNS_NAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const DOTTED_DIGITS = /^[0-9.]+$/;

/** Parses `host[:port]` (spec/events.md, Identifiers); undefined when it is not one. */
export function parseServerName(name: string): ParsedServerName | undefined {
  if (name.length === 0 || name.length > 255) return undefined;
  let host: string;
  let portText: string | undefined;
  if (name.startsWith('[')) {
    const close = name.indexOf(']');
    if (close < 0) return undefined;
    host = name.slice(0, close + 1);
    const rest = name.slice(close + 1);
    if (rest !== '') {
      if (!rest.startsWith(':')) return undefined;
      portText = rest.slice(1);
    }
    if (!isIPv6(host.slice(1, -1))) return undefined;
  } else {
    const colon = name.indexOf(':');
    host = colon < 0 ? name : name.slice(0, colon);
    if (colon >= 0) portText = name.slice(colon + 1);
  }
  let port: number | undefined;
  if (portText !== undefined) {
    if (!/^[0-9]{1,5}$/.test(portText)) return undefined;
    port = Number(portText);
    if (port < 1 || port > 65535) return undefined;
  }
  let kind: ParsedServerName['kind'];
  if (host.startsWith('[')) kind = 'ipv6';
  else if (DOTTED_DIGITS.test(host)) {
    if (!isIPv4(host)) return undefined; // 999.1.1.1 is neither an address nor a sane name
    kind = 'ipv4';
  } else if (DNS_NAME.test(host)) kind = 'dns';
  else return undefined;
  return port === undefined ? { host, kind } : { host, port, kind };
}

export interface ResolvedServer {
  serverName: string;
  /** Scheme, host and port, no trailing slash: `https://b.example:8448`. */
  baseUrl: string;
  /** The Host header to send (the name the peer's certificate is for). */
  hostHeader: string;
}

/** What a well-known fetch yields: the parsed JSON body and, if the answer said so
 *  (Cache-Control max-age), how long it may be cached. Throws on any failure. */
export interface WellKnownAnswer {
  body: unknown;
  maxAgeMs?: number;
}
export type WellKnownFetcher = (url: string) => Promise<WellKnownAnswer>;

export interface ServerResolverOptions {
  clock: Clock;
  /** Plain HTTP instead of HTTPS everywhere (tests and loopback only). */
  insecure?: boolean;
  /** Replaces the HTTP fetch of the well-known document (tests, or a custom transport). */
  fetchWellKnown?: WellKnownFetcher;
  /** Where the well-known document of a host name lives; tests point it at 127.0.0.1 so
   *  that no DNS is needed. Default `<scheme>://<hostname>/.well-known/nexus/server`. */
  wellKnownUrl?: (hostname: string) => string;
  /** Dispatcher for the default fetcher; default a private undici Agent. */
  dispatcher?: Dispatcher;
  timeoutMs?: number; // default 10 s
  maxBytes?: number; // default 64 KiB: the document is one short member
  cacheTtlMs?: number; // default 24 h, when the answer gives no max-age
  maxCacheTtlMs?: number; // default 48 h
  minCacheTtlMs?: number; // default 5 min, even for a no-cache answer: no per-request lookups
  failureTtlMs?: number; // default 10 min
  maxEntries?: number; // default 10,000
}

export interface ServerResolver {
  /** Where to send requests for serverName. Throws a TypeError for a malformed name;
   *  never fails otherwise (a broken well-known falls back to port 8448). */
  resolveServer(serverName: string): Promise<ResolvedServer>;
  /** Releases the private Agent, if one was created. */
  close(): Promise<void>;
}

interface CacheEntry {
  value: ResolvedServer;
  expiresAt: number;
}

export function createServerResolver(opts: ServerResolverOptions): ServerResolver {
  const scheme = opts.insecure ? 'http' : 'https';
  const cacheTtlMs = opts.cacheTtlMs ?? 24 * 3600_000;
  const maxCacheTtlMs = opts.maxCacheTtlMs ?? 48 * 3600_000;
  const minCacheTtlMs = opts.minCacheTtlMs ?? 5 * 60_000;
  const failureTtlMs = opts.failureTtlMs ?? 10 * 60_000;
  const maxEntries = opts.maxEntries ?? 10_000;
  const wellKnownUrl = opts.wellKnownUrl ?? ((hostname: string) => `${scheme}://${hostname}${WELL_KNOWN_PATH}`);
  let ownAgent: Agent | undefined;
  const fetchWellKnown =
    opts.fetchWellKnown ??
    createWellKnownFetcher({
      dispatcher: opts.dispatcher ?? (ownAgent = new Agent({ connect: { timeout: opts.timeoutMs ?? 10_000 } })),
      timeoutMs: opts.timeoutMs ?? 10_000,
      maxBytes: opts.maxBytes ?? 64 * 1024,
    });
  const cache = new Map<string, CacheEntry>();
  const inflight = new Map<string, Promise<ResolvedServer>>();

  const target = (name: string, parsed: ParsedServerName): ResolvedServer => ({
    serverName: name,
    baseUrl: `${scheme}://${parsed.host}:${parsed.port ?? DEFAULT_FEDERATION_PORT}`,
    hostHeader: name,
  });

  async function lookUp(serverName: string, parsed: ParsedServerName): Promise<ResolvedServer> {
    const now = opts.clock.now();
    let value: ResolvedServer;
    let ttl: number;
    try {
      const answer = await fetchWellKnown(wellKnownUrl(parsed.host));
      const delegated = delegatedName(answer.body);
      if (delegated === undefined) throw new Error('well-known: no valid "server"');
      value = { ...target(delegated.name, delegated.parsed), serverName };
      ttl = Math.max(minCacheTtlMs, Math.min(answer.maxAgeMs ?? cacheTtlMs, maxCacheTtlMs));
    } catch {
      // Not delegated (404, no answer, junk): the name itself on the default port.
      value = target(serverName, parsed);
      ttl = failureTtlMs;
    }
    if (cache.size >= maxEntries) cache.delete(cache.keys().next().value!);
    cache.set(serverName, { value, expiresAt: now + ttl });
    return value;
  }

  return {
    async resolveServer(serverName: string): Promise<ResolvedServer> {
      const parsed = parseServerName(serverName);
      if (parsed === undefined) throw new TypeError(`not a server name: ${JSON.stringify(serverName)}`);
      if (parsed.port !== undefined || parsed.kind !== 'dns') return target(serverName, parsed);
      const hit = cache.get(serverName);
      if (hit !== undefined && hit.expiresAt > opts.clock.now()) return hit.value;
      let pending = inflight.get(serverName);
      if (pending === undefined) {
        pending = lookUp(serverName, parsed).finally(() => inflight.delete(serverName));
        inflight.set(serverName, pending);
      }
      return pending;
    },
    async close(): Promise<void> {
      await ownAgent?.close();
    },
  };
}

/** `{"server": "host[:port]"}` → the delegated name, validated. */
function delegatedName(body: unknown): { name: string; parsed: ParsedServerName } | undefined {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) return undefined;
  const name = (body as { server?: unknown }).server;
  if (typeof name !== 'string') return undefined;
  const parsed = parseServerName(name);
  return parsed && { name, parsed };
}

/** The default well-known fetch: GET with a deadline, at most 3 redirects, a size cap. */
export function createWellKnownFetcher(opts: { dispatcher: Dispatcher; timeoutMs: number; maxBytes: number }): WellKnownFetcher {
  const dispatcher = opts.dispatcher.compose(interceptors.redirect({ maxRedirections: 3 }));
  return async (url) => {
    const res = await request(url, {
      dispatcher,
      method: 'GET',
      headers: { accept: 'application/json' },
      signal: AbortSignal.timeout(opts.timeoutMs),
    });
    if (res.statusCode !== 200) {
      abandonBody(res.body);
      throw new Error(`well-known: status ${res.statusCode}`);
    }
    const text = await readBodyLimited(res.body, opts.maxBytes);
    return { body: JSON.parse(text.toString('utf8')), maxAgeMs: maxAgeMs(res.headers['cache-control']) };
  };
}

function maxAgeMs(header: string | string[] | undefined): number | undefined {
  const value = Array.isArray(header) ? header.join(',') : header;
  if (value === undefined) return undefined;
  if (/(?:^|,)\s*(?:no-store|no-cache)\s*(?:,|$)/i.test(value)) return 0;
  const m = /(?:^|,)\s*max-age\s*=\s*"?([0-9]{1,10})"?\s*(?:,|$)/i.exec(value);
  return m ? Number(m[1]) * 1000 : undefined;
}
