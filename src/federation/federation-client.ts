// Outbound federation HTTP: resolve the destination, sign the request, send it over a
// keep-alive undici Agent with connect/headers/body deadlines, read at most
// maxResponseBytes, and turn every failure into a FederationRequestError whose `kind`
// says whether anyone answered (spec/federation.md, "Errors").
import { Agent, request } from 'undici';
import type { Dispatcher } from 'undici';
import { canonicalJson } from '../events/canonical-json.js';
import type { SigningKey } from '../events/signing-key.js';
import type { ResolvedServer } from './discovery.js';
import { classifyError, FederationRequestError, kindOfStatus } from './errors.js';
import { signRequest } from './request-signing.js';

export interface FederationClientOptions {
  /** Our server name: the `origin` of every request. */
  serverName: string;
  /** Read per request, so a key rotation applies at once. */
  signingKey: () => SigningKey;
  resolve: (serverName: string) => Promise<ResolvedServer>;
  /** Allow plain-HTTP base URLs (tests and loopback). Otherwise an http:// target is refused. */
  insecure?: boolean;
  /** Deadline for the whole exchange, and for each of connect, headers and body (default 30 s). */
  timeoutMs?: number;
  connectTimeoutMs?: number; // default min(timeoutMs, 10 s)
  /** Larger answers are abandoned as bad_response (default 50 MiB: state of a big guild). */
  maxResponseBytes?: number;
  /** Idle keep-alive sockets are closed after this (default 60 s). */
  keepAliveMs?: number;
  /** Use this instead of a private Agent (the caller then owns closing it). */
  dispatcher?: Dispatcher;
  /** The trust policy: a server it refuses is never dialled (the request fails as rejected, 403). */
  allowDestination?: (serverName: string) => boolean;
}

export interface RequestOptions {
  body?: unknown;
  /** Default true; false for the unauthenticated key and well-known endpoints. */
  sign?: boolean;
  timeoutMs?: number;
}

export interface FederationClient {
  get<T = unknown>(destination: string, path: string): Promise<T>;
  put<T = unknown>(destination: string, path: string, body: unknown): Promise<T>;
  post<T = unknown>(destination: string, path: string, body: unknown): Promise<T>;
  /** Any method. `path` is path + query, already encoded: it is signed as-is. */
  request<T = unknown>(destination: string, method: string, path: string, opts?: RequestOptions): Promise<T>;
  close(): Promise<void>;
}

export const DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024;

export function createFederationClient(opts: FederationClientOptions): FederationClient {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const maxResponseBytes = opts.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES;
  const ownAgent =
    opts.dispatcher === undefined
      ? new Agent({
          keepAliveTimeout: opts.keepAliveMs ?? 60_000,
          keepAliveMaxTimeout: Math.max(opts.keepAliveMs ?? 60_000, 600_000),
          connect: { timeout: opts.connectTimeoutMs ?? Math.min(timeoutMs, 10_000) },
          headersTimeout: timeoutMs,
          bodyTimeout: timeoutMs,
          connections: 8, // per origin: enough for a sender plus backfill, not a flood
        })
      : undefined;
  const dispatcher = opts.dispatcher ?? ownAgent!;

  async function send<T>(destination: string, method: string, path: string, ro: RequestOptions = {}): Promise<T> {
    method = method.toUpperCase();
    const fail = (init: Partial<ConstructorParameters<typeof FederationRequestError>[0]> & { kind: FederationRequestError['kind'] }) =>
      new FederationRequestError({ destination, method, path, ...init });
    if (!path.startsWith('/')) throw new TypeError(`federation path must start with "/": ${path}`);
    if (opts.allowDestination && !opts.allowDestination(destination)) {
      throw fail({ kind: 'rejected', status: 403, errcode: 'N_FORBIDDEN', detail: 'this server does not federate with it' });
    }

    let target: ResolvedServer;
    try {
      target = await opts.resolve(destination);
    } catch (err) {
      throw fail({ kind: 'unreachable', detail: `cannot resolve: ${(err as Error).message}`, cause: err });
    }
    if (!opts.insecure && !target.baseUrl.startsWith('https://')) {
      throw fail({ kind: 'unreachable', detail: `refusing plain HTTP to ${target.baseUrl} (not in insecure mode)` });
    }

    const headers: Record<string, string> = { host: target.hostHeader, accept: 'application/json' };
    // The body goes out in its canonical form, and that same string is what gets signed:
    // whatever the receiver parses re-canonicalises to exactly these bytes.
    let body: string | undefined;
    if (ro.body !== undefined) {
      body = canonicalJson(ro.body);
      headers['content-type'] = 'application/json';
    }
    if (ro.sign !== false) {
      headers.authorization = signRequest(
        { method, uri: path, origin: opts.serverName, destination, content: ro.body },
        opts.signingKey(),
        body,
      );
    }

    let res: Dispatcher.ResponseData;
    const signal = AbortSignal.timeout(ro.timeoutMs ?? timeoutMs);
    const exchange = () => request(target.baseUrl + path, { dispatcher, method: method as Dispatcher.HttpMethod, headers, body, signal });
    try {
      try {
        res = await exchange();
      } catch (err) {
        // A pooled keep-alive socket the peer had already closed (our event loop was busy
        // past its idle timeout) fails before any answer. Every federation request is
        // idempotent (reads, and PUTs keyed by a transaction or event id), so try once
        // more on a fresh socket rather than lose, say, the history fetched with a join.
        if (!isStaleSocket(err)) throw err;
        res = await exchange();
      }
    } catch (err) {
      throw fail({ kind: classifyError(err), detail: (err as Error).message, cause: err });
    }

    let raw: Buffer;
    try {
      raw = await readBodyLimited(res.body, maxResponseBytes, res.headers['content-length']);
    } catch (err) {
      // A refusal stays a refusal even if its body was junk; a success we cannot read is not one.
      const ok = res.statusCode >= 200 && res.statusCode < 300;
      const kind = !ok ? kindOfStatus(res.statusCode) : err instanceof ResponseTooLargeError ? 'bad_response' : classifyError(err);
      throw fail({ kind, status: res.statusCode, detail: (err as Error).message, cause: err });
    }

    if (res.statusCode >= 200 && res.statusCode < 300) {
      if (raw.length === 0) return {} as T; // e.g. 204: nothing to parse
      try {
        return JSON.parse(raw.toString('utf8')) as T;
      } catch (err) {
        throw fail({ kind: 'bad_response', status: res.statusCode, detail: 'response is not JSON', cause: err });
      }
    }
    const { errcode, error } = errorBody(raw);
    throw fail({ kind: kindOfStatus(res.statusCode), status: res.statusCode, errcode, detail: error });
  }

  return {
    get: (d, p) => send(d, 'GET', p),
    put: (d, p, b) => send(d, 'PUT', p, { body: b }),
    post: (d, p, b) => send(d, 'POST', p, { body: b }),
    request: send,
    async close() {
      await ownAgent?.close();
    },
  };
}

const STALE_SOCKET_CODES = new Set(['ECONNRESET', 'EPIPE', 'UND_ERR_SOCKET', 'UND_ERR_CLOSED']);

/** The connection died under the request before the peer answered anything. */
function isStaleSocket(err: unknown): boolean {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    const code = (e as { code?: unknown }).code;
    if (typeof code === 'string' && STALE_SOCKET_CODES.has(code)) return true;
    e = (e as { cause?: unknown }).cause;
  }
  return false;
}

/** A peer's `{errcode, error}`, when its error body is one. */
function errorBody(raw: Buffer): { errcode?: string; error?: string } {
  try {
    const parsed = JSON.parse(raw.toString('utf8')) as unknown;
    if (parsed !== null && typeof parsed === 'object') {
      const { errcode, error } = parsed as { errcode?: unknown; error?: unknown };
      return {
        ...(typeof errcode === 'string' ? { errcode: errcode.slice(0, 128) } : {}),
        ...(typeof error === 'string' ? { error: error.slice(0, 500) } : {}),
      };
    }
  } catch {
    // not JSON: the status says enough
  }
  return {};
}

/** Stops reading a response and frees its socket. Destroying undici's body emits an
 *  'error' (aborted) that nobody else listens for; swallow it rather than crash. */
export function abandonBody(body: Dispatcher.ResponseData['body']): void {
  body.on('error', () => {});
  body.destroy();
}

export class ResponseTooLargeError extends Error {
  readonly code = 'NEXUS_RESPONSE_TOO_LARGE';
  constructor(limit: number) {
    super(`response larger than ${limit} bytes`);
    this.name = 'ResponseTooLargeError';
  }
}

/**
 * Reads a response body into a Buffer, giving up (and destroying the stream, so the socket
 * is not kept reading) as soon as it passes `limit` bytes, or at once when Content-Length
 * already says it will.
 */
export async function readBodyLimited(
  body: Dispatcher.ResponseData['body'],
  limit: number,
  contentLength?: string | string[],
): Promise<Buffer> {
  const declared = typeof contentLength === 'string' ? Number(contentLength) : NaN;
  if (Number.isFinite(declared) && declared > limit) {
    abandonBody(body);
    throw new ResponseTooLargeError(limit);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for await (const chunk of body) {
    total += chunk.length;
    if (total > limit) {
      abandonBody(body);
      throw new ResponseTooLargeError(limit);
    }
    chunks.push(Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
  }
  return Buffer.concat(chunks, total);
}
