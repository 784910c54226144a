import {
  ApiError,
  ERROR_CATALOGUE,
  apiError,
  fieldErrors,
  invalidFormBody,
  invalidLogin,
  maximumReached,
  rateLimitedBody,
  toBody,
  usernameTaken,
  type ErrorName,
} from '../../src/api/errors.js';

describe('error catalogue', () => {
  const expected: [ErrorName, number, number, string][] = [
    ['unauthorized', 401, 0, '401: Unauthorized'],
    ['invalidToken', 401, 0, '401: Unauthorized'],
    ['notFound', 404, 0, '404: Not Found'],
    ['methodNotAllowed', 405, 0, '405: Method Not Allowed'],
    ['internal', 500, 0, '500: Internal Server Error'],
    ['unknownChannel', 404, 10003, 'Unknown Channel'],
    ['unknownGuild', 404, 10004, 'Unknown Guild'],
    ['unknownInvite', 404, 10006, 'Unknown Invite'],
    ['unknownMember', 404, 10007, 'Unknown Member'],
    ['unknownMessage', 404, 10008, 'Unknown Message'],
    ['unknownRole', 404, 10011, 'Unknown Role'],
    ['unknownUser', 404, 10013, 'Unknown User'],
    ['unknownEmoji', 404, 10014, 'Unknown Emoji'],
    ['unknownBan', 404, 10026, 'Unknown Ban'],
    ['missingAccess', 403, 50001, 'Missing Access'],
    ['missingPermissions', 403, 50013, 'Missing Permissions'],
    ['cannotSendEmptyMessage', 400, 50006, 'Cannot send an empty message'],
    ['invalidJson', 400, 50109, 'The request body contains invalid JSON.'],
    ['requestTooLarge', 413, 40005, 'Request entity too large. Try sending something smaller in size'],
  ];

  test.each(expected)('%s → %i {code: %i, message: %s}', (name, status, code, message) => {
    const err = apiError(name);
    expect(err).toBeInstanceOf(ApiError);
    expect(err).toBeInstanceOf(Error);
    expect(err.status).toBe(status);
    expect(toBody(err)).toEqual({ code, message });
  });

  test('every catalogue entry has a client or server error status', () => {
    for (const [name, e] of Object.entries(ERROR_CATALOGUE)) {
      expect([name, e.status >= 400 && e.status < 600]).toEqual([name, true]);
    }
  });

  test('invalidFormBody carries the errors tree', () => {
    const errors = { content: { _errors: [{ code: 'BASE_TYPE_REQUIRED', message: 'This field is required' }] } };
    const err = invalidFormBody(errors);
    expect(err.status).toBe(400);
    expect(toBody(err)).toEqual({ code: 50035, message: 'Invalid Form Body', errors });
  });

  test('invalid login is 50035 on both login and password, like Discord', () => {
    const leaf = { code: 'INVALID_LOGIN', message: 'Login or password is invalid.' };
    expect(invalidLogin().status).toBe(400);
    expect(toBody(invalidLogin())).toEqual({
      code: 50035,
      message: 'Invalid Form Body',
      errors: { login: { _errors: [leaf] }, password: { _errors: [leaf] } },
    });
  });

  test('username taken', () => {
    const body = toBody(usernameTaken());
    expect(body.code).toBe(50035);
    expect(body.errors).toEqual({
      username: { _errors: [{ code: 'USERNAME_ALREADY_TAKEN', message: 'Username is unavailable. Try another.' }] },
    });
  });

  test('fieldErrors accepts one leaf or several', () => {
    const a = { code: 'A', message: 'a' };
    const b = { code: 'B', message: 'b' };
    expect(toBody(fieldErrors({ x: a, y: [a, b] })).errors).toEqual({ x: { _errors: [a] }, y: { _errors: [a, b] } });
  });

  test('maximum reached uses Discord codes and our limit', () => {
    expect(toBody(maximumReached('roles', 250))).toEqual({ code: 30005, message: 'Maximum number of guild roles reached (250)' });
    expect(toBody(maximumReached('guilds'))).toEqual({ code: 30001, message: 'Maximum number of guilds reached' });
    expect(maximumReached('pins', 50).status).toBe(400);
  });

  test('toBody never includes a stack or extra fields', () => {
    const body = toBody(apiError('unknownGuild'));
    expect(Object.keys(body).sort()).toEqual(['code', 'message']);
  });

  test('rate limited body', () => {
    expect(rateLimitedBody(0.5)).toEqual({ message: 'You are being rate limited.', retry_after: 0.5, global: false, code: 0 });
  });
});
