// Authenticates every inbound federation request (spec/federation.md, "Request
// authentication") before any route sees it. Checks run cheapest first, and the body is
// read only once the header, destination and trust checks have passed, so an untrusted or
// unsigned peer costs us neither a body read nor a key fetch.
//
// It reads and parses the JSON body itself (the signature covers the parsed content, and
// federation bodies are far larger than the client API's): mount it before any body parser.
// On success: res.locals.origin = the authenticated server name, req.body = the content.
import type { NextFunction, Request, RequestHandler, Response } from 'express';
import { federationError, FederationApiError } from './errors.js';
import type { RemoteKeyStore } from './remote-keys.js';
import { parseXNexusHeader, verifyRequest } from './request-signing.js';
import type { TrustPolicy } from './trust.js';

export const FEDERATION_PATH_PREFIX = '/_nexus/federation/v1';
/** A transaction of 50 PDUs and 100 EDUs fits easily; a few MB is normal. */
export const DEFAULT_MAX_FEDERATION_BODY_BYTES = 10 * 1024 * 1024;

export interface FederationAuthOptions {
  /** Our server name: requests must be addressed to it. */
  serverName: string;
  trust: TrustPolicy;
  keys: Pick<RemoteKeyStore, 'lookup'>;
  maxBodyBytes?: number;
  /** Told about every refused request (for logs and metrics); never about accepted ones. */
  /** Called for each authenticated request (the sender retries a peer that is back). */
  onAuthenticated?: (origin: string) => void;
  onReject?: (info: { status: number; errcode: string; reason: string; origin?: string; ip?: string }) => void;
}

export interface FederationLocals {
  origin: string;
}

/** Express middleware; mount it app-wide or under FEDERATION_PATH_PREFIX: it only acts on
 *  paths under the prefix either way. */
export function federationAuthMiddleware(opts: FederationAuthOptions): RequestHandler {
  const maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_FEDERATION_BODY_BYTES;

  return async (req: Request, res: Response, next: NextFunction) => {
    const uri = req.originalUrl;
    const path = uri.split('?', 1)[0]!;
    if (path !== FEDERATION_PATH_PREFIX && !path.startsWith(FEDERATION_PATH_PREFIX + '/')) return next();
    let origin: string | undefined;
    try {
      if (req.body !== undefined || req.readableEnded) {
        // Someone parsed the body before us: the signature can no longer be checked.
        throw federationError('N_UNKNOWN', 'server misconfigured: federation body already consumed');
      }
      const parsed = parseXNexusHeader(req.headers.authorization);
      if (!parsed.ok) throw federationError('N_UNAUTHORIZED', parsed.reason);
      const auth = parsed.auth;
      origin = auth.origin;
      if (auth.destination !== opts.serverName) {
        throw federationError('N_UNAUTHORIZED', `request is for ${auth.destination}, this is ${opts.serverName}`);
      }
      if (!opts.trust.allows(auth.origin)) {
        throw federationError('N_FORBIDDEN', `this server does not federate with ${auth.origin}`);
      }
      const content = await readJsonBody(req, maxBodyBytes);
      const key = await opts.keys.lookup(auth.origin, auth.key);
      if (!key.ok) throw federationError('N_UNAUTHORIZED', `cannot verify with ${auth.key}: ${key.reason}`);
      if (!verifyRequest({ method: req.method, uri, content }, auth, key.key.publicKey)) {
        throw federationError('N_UNAUTHORIZED', 'invalid request signature');
      }
      (res.locals as FederationLocals).origin = auth.origin;
      req.body = content;
      opts.onAuthenticated?.(auth.origin);
    } catch (err) {
      const e = err instanceof FederationApiError ? err : federationError('N_UNKNOWN', 'internal error');
      opts.onReject?.({ status: e.status, errcode: e.errcode, reason: e.message, origin, ip: req.socket.remoteAddress });
      // A body we did not read would be drained on a kept-alive socket: close instead.
      if (!req.readableEnded && hasBody(req)) res.setHeader('connection', 'close');
      res.status(e.status).json(e.toBody());
      return;
    }
    next();
  };
}

function hasBody(req: Request): boolean {
  const length = req.headers['content-length'];
  return req.headers['transfer-encoding'] !== undefined || (length !== undefined && length !== '0');
}

/** The request's JSON object body, or undefined when it has none. */
async function readJsonBody(req: Request, limit: number): Promise<Record<string, unknown> | undefined> {
  const declared = Number(req.headers['content-length']);
  if (Number.isFinite(declared) && declared > limit) throw tooLarge(limit);
  if (!hasBody(req)) return undefined;
  const raw = await readRaw(req, limit);
  if (raw.length === 0) return undefined;
  let value: unknown;
  try {
    value = JSON.parse(raw.toString('utf8'));
  } catch {
    throw federationError('N_NOT_JSON', 'request body is not JSON');
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value)) {
    throw federationError('N_NOT_JSON', 'request body must be a JSON object');
  }
  return value as Record<string, unknown>;
}

/** Collects the body up to `limit` bytes. Not `for await`: leaving that loop early destroys
 *  the request, and with it the socket the 413 must go out on. */
function readRaw(req: Request, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let total = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      total += chunk.length;
      if (total <= limit) return void chunks.push(chunk);
      cleanup();
      req.resume(); // discard the rest; the response closes the connection
      reject(tooLarge(limit));
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, total));
    };
    const onError = (err: Error) => {
      cleanup();
      reject(err);
    };
    const onClose = () => {
      cleanup();
      reject(new Error('request closed before its body ended'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

function tooLarge(limit: number): FederationApiError {
  return federationError('N_TOO_LARGE', `request body larger than ${limit} bytes`);
}
