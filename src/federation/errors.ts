// Federation errors, both ways (DESIGN habit 9: one catalogue, one place that maps codes to
// HTTP statuses).
//
// Inbound: what we answer a peer. Federation is not the Discord API, so it has its own
// coded errors in the spirit of Matrix's errcodes: `{errcode: 'N_…', error: '…'}`.
//
// Outbound: what happened to a request we sent. "No response" (refused, DNS, timeout) is
// kept apart from "a response said no" (4xx/5xx), because the sender treats them
// differently: the first means back off and retry, the second may mean give up.

/** The errcodes a Nexus server answers federation requests with, and their statuses. */
export const FEDERATION_ERRCODES = {
  N_UNAUTHORIZED: 401, // missing, malformed or invalid request signature
  N_FORBIDDEN: 403, // authenticated, but not allowed (trust policy, server ACL, auth rules)
  N_NOT_FOUND: 404, // the thing asked for does not exist (or is not visible to the peer)
  N_UNRECOGNIZED: 404, // no such endpoint
  N_NOT_JSON: 400, // a body that is not a JSON object
  N_BAD_JSON: 400, // JSON of the wrong shape, or with no canonical form
  N_MISSING_PARAM: 400,
  N_INVALID_PARAM: 400,
  N_TOO_LARGE: 413, // request body above the limit
  N_LIMIT_EXCEEDED: 429, // rate limited: retry later
  N_UNKNOWN: 500,
  N_UNAVAILABLE: 503, // we could not serve it now (e.g. a dependency did not answer)
} as const;

export type FederationErrcode = keyof typeof FEDERATION_ERRCODES;

export interface FederationErrorBody {
  errcode: FederationErrcode;
  error: string;
}

/** An error to answer a peer with; federation routes throw it, the federation error
 *  handler (or the auth middleware directly) turns it into status + body. */
export class FederationApiError extends Error {
  readonly errcode: FederationErrcode;
  readonly status: number;

  constructor(errcode: FederationErrcode, message: string) {
    super(message);
    this.name = 'FederationApiError';
    this.errcode = errcode;
    this.status = FEDERATION_ERRCODES[errcode];
  }

  toBody(): FederationErrorBody {
    return { errcode: this.errcode, error: this.message };
  }
}

export function federationError(errcode: FederationErrcode, message: string): FederationApiError {
  return new FederationApiError(errcode, message);
}

// ---------------------------------------------------------------------------------------
// Outbound

/**
 * How an outbound request failed:
 * - `unreachable`: no response: connection refused or reset, DNS failure, TLS failure.
 * - `timeout`: connecting, or waiting for headers or body, took too long.
 * - `rejected`: the peer answered 4xx (other than 408/429): it will say the same again.
 * - `server_error`: the peer answered 5xx, 408 or 429: it may do better later.
 * - `bad_response`: a 2xx we cannot use (not JSON, too large) or an unexpected redirect.
 * The first two and `server_error` are worth retrying with backoff; `rejected` and
 * `bad_response` are not (a federation sender still backs off on them, see spec).
 */
export type FailureKind = 'unreachable' | 'timeout' | 'rejected' | 'server_error' | 'bad_response';

export interface FederationRequestErrorInit {
  kind: FailureKind;
  destination: string;
  method: string;
  path: string;
  status?: number;
  errcode?: string;
  /** The peer's `error` text, or our description of what went wrong. */
  detail?: string;
  cause?: unknown;
}

/** Every failure of the federation client is one of these. */
export class FederationRequestError extends Error {
  readonly kind: FailureKind;
  readonly destination: string;
  readonly method: string;
  readonly path: string;
  readonly status?: number;
  readonly errcode?: string;

  constructor(init: FederationRequestErrorInit) {
    const status = init.status === undefined ? '' : ` ${init.status}${init.errcode ? ` ${init.errcode}` : ''}`;
    super(`${init.method} ${init.destination}${init.path}: ${init.kind}${status}${init.detail ? `: ${init.detail}` : ''}`, {
      cause: init.cause,
    });
    this.name = 'FederationRequestError';
    this.kind = init.kind;
    this.destination = init.destination;
    this.method = init.method;
    this.path = init.path;
    if (init.status !== undefined) this.status = init.status;
    if (init.errcode !== undefined) this.errcode = init.errcode;
  }
}

/** The failure kind of an HTTP status that is not a success. */
export function kindOfStatus(status: number): FailureKind {
  if (status === 408 || status === 429 || status >= 500) return 'server_error';
  if (status >= 400) return 'rejected';
  return 'bad_response'; // 1xx/3xx: we follow no redirects on the federation API
}

const TIMEOUT_CODES = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);
const BAD_RESPONSE_CODES = new Set([
  'UND_ERR_RES_EXCEEDED_MAX_SIZE',
  'UND_ERR_RES_CONTENT_LENGTH_MISMATCH',
  'UND_ERR_HEADERS_OVERFLOW',
  'UND_ERR_INFO',
  'NEXUS_RESPONSE_TOO_LARGE', // federation-client's size cap
]);

/**
 * Pure: the failure kind of anything the federation client (or undici, or node:net) threw.
 * Looks through `cause` chains, because undici and fetch wrap the system error. Anything
 * unrecognised counts as `unreachable`: we got no usable response.
 */
export function classifyError(err: unknown): FailureKind {
  for (let e: unknown = err, depth = 0; e !== null && typeof e === 'object' && depth < 5; depth++) {
    if (e instanceof FederationRequestError) return e.kind;
    const { code, name, status, statusCode } = e as { code?: unknown; name?: unknown; status?: unknown; statusCode?: unknown };
    if (typeof code === 'string') {
      if (TIMEOUT_CODES.has(code)) return 'timeout';
      if (BAD_RESPONSE_CODES.has(code) || code.startsWith('HPE_')) return 'bad_response';
    }
    if (name === 'TimeoutError') return 'timeout'; // AbortSignal.timeout()
    const httpStatus = typeof statusCode === 'number' ? statusCode : typeof status === 'number' ? status : undefined;
    if (httpStatus !== undefined && httpStatus >= 300 && httpStatus < 600) return kindOfStatus(httpStatus);
    e = (e as { cause?: unknown }).cause;
  }
  return 'unreachable';
}
