// classifyError is pure: real error objects from undici and node, no network.
import { errors as undiciErrors } from 'undici';
import {
  classifyError,
  FEDERATION_ERRCODES,
  FederationApiError,
  federationError,
  FederationRequestError,
  kindOfStatus,
} from '../../src/federation/errors.js';

describe('classifyError', () => {
  const sys = (code: string) => Object.assign(new Error(code), { code });

  it.each([
    ['connection refused', sys('ECONNREFUSED'), 'unreachable'],
    ['connection reset', sys('ECONNRESET'), 'unreachable'],
    ['DNS failure', sys('ENOTFOUND'), 'unreachable'],
    ['DNS temporary failure', sys('EAI_AGAIN'), 'unreachable'],
    ['TLS certificate', sys('CERT_HAS_EXPIRED'), 'unreachable'],
    ['socket closed', new undiciErrors.SocketError('other side closed'), 'unreachable'],
    ['connect timeout', new undiciErrors.ConnectTimeoutError(), 'timeout'],
    ['headers timeout', new undiciErrors.HeadersTimeoutError(), 'timeout'],
    ['body timeout', new undiciErrors.BodyTimeoutError(), 'timeout'],
    ['AbortSignal.timeout', new DOMException('The operation was aborted due to timeout', 'TimeoutError'), 'timeout'],
    ['wrapped (fetch style)', new TypeError('fetch failed', { cause: sys('ECONNREFUSED') }), 'unreachable'],
    ['wrapped timeout', new TypeError('fetch failed', { cause: new undiciErrors.ConnectTimeoutError() }), 'timeout'],
    ['max response size', new undiciErrors.ResponseExceededMaxSizeError(), 'bad_response'],
    ['HTTP parser error', Object.assign(new Error('parse'), { code: 'HPE_INVALID_CONSTANT' }), 'bad_response'],
    ['an error carrying statusCode 502', Object.assign(new Error('bad gateway'), { statusCode: 502 }), 'server_error'],
    ['an error carrying status 403', Object.assign(new Error('forbidden'), { status: 403 }), 'rejected'],
    ['a string', 'boom', 'unreachable'],
    ['null', null, 'unreachable'],
  ])('%s → %s', (_what, err, kind) => {
    expect(classifyError(err)).toBe(kind);
  });

  it('trusts the kind of a FederationRequestError', () => {
    const e = new FederationRequestError({ kind: 'rejected', destination: 'b.example', method: 'GET', path: '/x', status: 403, errcode: 'N_FORBIDDEN', detail: 'no' });
    expect(classifyError(e)).toBe('rejected');
    expect(e.message).toBe('GET b.example/x: rejected 403 N_FORBIDDEN: no');
  });

  it('kindOfStatus', () => {
    expect([400, 401, 403, 404, 413].map(kindOfStatus)).toEqual(Array(5).fill('rejected'));
    expect([408, 429, 500, 502, 503].map(kindOfStatus)).toEqual(Array(5).fill('server_error'));
    expect([301, 302, 101].map(kindOfStatus)).toEqual(Array(3).fill('bad_response'));
  });
});

describe('federation errcodes', () => {
  it('map to statuses and the wire body', () => {
    const e = federationError('N_FORBIDDEN', 'no');
    expect(e).toBeInstanceOf(FederationApiError);
    expect([e.status, e.toBody()]).toEqual([403, { errcode: 'N_FORBIDDEN', error: 'no' }]);
    for (const [code, status] of Object.entries(FEDERATION_ERRCODES)) {
      expect(code).toMatch(/^N_[A-Z_]+$/);
      expect(status).toBeGreaterThanOrEqual(400);
    }
  });
});
