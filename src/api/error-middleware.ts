/**
 * The API's last line: every error becomes a Discord-shaped `{code, message, errors?}` with the
 * right status, and nothing internal (stack, SQL, file paths) ever reaches a client.
 *
 *   body-parser errors  → 50109 invalid JSON / 40005 too large / 415 / 400
 *   ApiError            → its own status and body (the catalogue in errors.ts)
 *   other 4xx with `expose` (http-errors from express internals) → `{code: 0, "<status>: <reason>"}`
 *   anything else       → 500 generic body, logged with the stack
 *
 * Also here: the JSON body parser set up so that malformed or oversized bodies fail before
 * any handler runs, and the 404 handler for unknown routes.
 */
import { STATUS_CODES } from 'node:http';
import express, { type ErrorRequestHandler, type RequestHandler } from 'express';
import type { Logger } from 'pino';
import { ApiError, apiError, toBody } from './errors.js';

export interface ErrorHandlerOptions {
  log: Pick<Logger, 'error' | 'warn'>;
}

interface HttpishError {
  type?: unknown;
  status?: unknown;
  statusCode?: unknown;
  expose?: unknown;
}

/** Maps a thrown value to the ApiError we answer with; null for "internal". */
export function classifyError(err: unknown): ApiError | null {
  if (err instanceof ApiError) return err;
  if (typeof err !== 'object' || err === null) return null;
  const e = err as HttpishError;
  switch (e.type) {
    case 'entity.parse.failed':
      return apiError('invalidJson');
    case 'entity.too.large':
      return apiError('requestTooLarge');
    case 'encoding.unsupported':
    case 'charset.unsupported':
      return apiError('unsupportedMediaType');
    case 'request.aborted':
    case 'request.size.invalid':
    case 'parameters.too.many':
      return apiError('badRequest');
  }
  const status = typeof e.status === 'number' ? e.status : typeof e.statusCode === 'number' ? e.statusCode : undefined;
  // http-errors marks client errors safe to show with `expose`; their text is generic anyway.
  if (status !== undefined && status >= 400 && status < 500 && e.expose === true) {
    if (status === 413) return apiError('requestTooLarge');
    return new ApiError(status, 0, `${status}: ${STATUS_CODES[status] ?? 'Error'}`);
  }
  return null;
}

export function createErrorHandler(opts: ErrorHandlerOptions): ErrorRequestHandler {
  return (err, req, res, next) => {
    if (res.headersSent) {
      // Too late for a clean answer; let express tear the connection down.
      opts.log.warn({ err, method: req.method, url: req.originalUrl }, 'error after response started');
      return next(err);
    }
    let apiErr = classifyError(err);
    if (!apiErr) {
      opts.log.error({ err, method: req.method, url: req.originalUrl }, 'unhandled error in request');
      apiErr = apiError('internal');
    } else if (apiErr.status >= 500) {
      opts.log.error({ err, method: req.method, url: req.originalUrl }, 'server error in request');
    }
    res.status(apiErr.status).json(toBody(apiErr));
  };
}

/** 404 `{code: 0, message: '404: Not Found'}` for routes nobody handled. */
export const notFoundHandler: RequestHandler = (_req, _res, next) => {
  next(apiError('notFound'));
};

export interface JsonBodyOptions {
  /** Max body size, bytes or a string like '1mb' (default '1mb'). */
  limit?: number | string;
}

const JSON_TYPES = ['application/json', 'application/*+json'];

/**
 * Parses JSON bodies; parse failures and oversized bodies become errors for the error
 * handler, so handlers only ever see a parsed object or `undefined` (no body).
 * A body of some other type is refused with 415 instead of being silently ignored — a client
 * sending JSON as text/plain, or an attachment upload we do not support, learns why at once.
 */
export function jsonBody(opts: JsonBodyOptions = {}): RequestHandler {
  const parse = express.json({ limit: opts.limit ?? '1mb', type: JSON_TYPES, strict: true });
  return (req, res, next) => {
    if (hasBody(req.headers) && !req.is(JSON_TYPES)) return next(apiError('unsupportedMediaType'));
    parse(req, res, next);
  };
}

function hasBody(headers: { 'transfer-encoding'?: string; 'content-length'?: string }): boolean {
  if (headers['transfer-encoding'] !== undefined) return true;
  const len = headers['content-length'];
  return len !== undefined && len !== '0';
}
