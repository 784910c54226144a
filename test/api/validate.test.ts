import { z } from 'zod';
import { ApiError, toBody } from '../../src/api/errors.js';
import {
  MESSAGE_CONTENT_MAX,
  isSnowflake,
  messageContent,
  parseBody,
  parseParams,
  parseQuery,
  permissionString,
  queryInt,
  querySnowflake,
  snowflake,
} from '../../src/api/validate.js';

/** Runs `fn`, expecting a 50035 ApiError, and returns its errors tree. */
function formErrors(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    expect(e).toBeInstanceOf(ApiError);
    const body = toBody(e as ApiError);
    expect((e as ApiError).status).toBe(400);
    expect(body.code).toBe(50035);
    expect(body.message).toBe('Invalid Form Body');
    return body.errors;
  }
  throw new Error('expected an ApiError');
}

const required = { code: 'BASE_TYPE_REQUIRED', message: 'This field is required' };

describe('parseBody', () => {
  const createMessage = z.object({
    content: messageContent.optional(),
    tts: z.boolean().optional(),
    embeds: z
      .array(z.object({ title: z.string().max(256).optional(), fields: z.array(z.object({ name: z.string(), value: z.string() })).optional() }))
      .max(10)
      .optional(),
    message_reference: z.object({ message_id: snowflake }).optional(),
  });

  test('valid input comes back typed, unknown keys stripped', () => {
    const out = parseBody(createMessage, { content: 'hi', tts: false, nonce: 'x', message_reference: { message_id: '175928847299117063' } });
    expect(out).toEqual({ content: 'hi', tts: false, message_reference: { message_id: '175928847299117063' } });
  });

  test('errors nest by JSON path with array indexes as keys', () => {
    const errors = formErrors(() =>
      parseBody(createMessage, {
        content: 'x'.repeat(2001),
        tts: 'yes',
        embeds: [{ title: 't' }, { fields: [{ name: 'n' }, { name: 5, value: 'v' }] }],
        message_reference: { message_id: 'abc' },
      }),
    );
    expect(errors).toEqual({
      content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: 'Must be 2000 or fewer in length.' }] },
      tts: { _errors: [{ code: 'BOOLEAN_TYPE_CONVERT', message: 'Could not interpret "yes" as boolean.' }] },
      embeds: {
        '1': {
          fields: {
            '0': { value: { _errors: [required] } },
            '1': { name: { _errors: [{ code: 'STRING_TYPE_CONVERT', message: 'Could not interpret "5" as string.' }] } },
          },
        },
      },
      message_reference: { message_id: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "abc" is not snowflake.' }] } },
    });
  });

  test('missing fields are BASE_TYPE_REQUIRED; a missing body counts as {}', () => {
    const login = z.object({ login: z.string(), password: z.string() });
    const expected = { login: { _errors: [required] }, password: { _errors: [required] } };
    expect(formErrors(() => parseBody(login, {}))).toEqual(expected);
    expect(formErrors(() => parseBody(login, undefined))).toEqual(expected);
  });

  test('a non-object body is reported at the root', () => {
    const errors = formErrors(() => parseBody(z.object({ a: z.string() }), [1, 2]));
    expect(errors).toEqual({ _errors: [{ code: 'DICT_TYPE_CONVERT', message: 'Only dictionaries may be used in a DictType' }] });
  });

  test('lengths, numbers, choices, lists', () => {
    const schema = z.object({
      name: z.string().min(2).max(100),
      position: z.int().min(0).max(10),
      type: z.union([z.literal(0), z.literal(2), z.literal(4)]),
      kind: z.enum(['text', 'voice']),
      ids: z.array(snowflake),
      count: z.int(),
    });
    const errors = formErrors(() => parseBody(schema, { name: 'a', position: 11, type: 3, kind: 'x', ids: 'nope', count: 1.5 }));
    expect(errors).toEqual({
      name: { _errors: [{ code: 'BASE_TYPE_MIN_LENGTH', message: 'Must be 2 or more in length.' }] },
      position: { _errors: [{ code: 'NUMBER_TYPE_MAX', message: 'int value should be less than or equal to 10.' }] },
      type: { _errors: [{ code: 'BASE_TYPE_BAD_TYPE', message: 'Value is not of an accepted type.' }] },
      kind: { _errors: [{ code: 'BASE_TYPE_CHOICES', message: "Value must be one of ('text', 'voice')." }] },
      ids: { _errors: [{ code: 'LIST_TYPE_CONVERT', message: 'Only iterables may be used in a ListType' }] },
      count: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "1.5" is not int.' }] },
    });
  });

  test('a union reports the branch whose type matched', () => {
    const schema = z.object({ target: z.union([z.string(), z.object({ id: snowflake })]) });
    expect(formErrors(() => parseBody(schema, { target: { id: 'x' } }))).toEqual({
      target: { id: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "x" is not snowflake.' }] } },
    });
  });

  test('custom checks may name their own code and keep their message', () => {
    const schema = z.object({
      username: z.string().refine((s) => !s.includes('#'), { message: 'Username cannot contain "#".', params: { code: 'USERNAME_INVALID_CONTAINS' } }),
    });
    expect(formErrors(() => parseBody(schema, { username: 'a#b' }))).toEqual({
      username: { _errors: [{ code: 'USERNAME_INVALID_CONTAINS', message: 'Username cannot contain "#".' }] },
    });
  });

  test('echoed values are truncated', () => {
    const errors = formErrors(() => parseBody(z.object({ n: z.int() }), { n: 'x'.repeat(1000) })) as { n: { _errors: { message: string }[] } };
    expect(errors.n._errors[0].message.length).toBeLessThan(100);
  });
});

describe('schemas', () => {
  test('snowflake: 17–20 digits within uint64', () => {
    for (const ok of ['17592884729911706', '175928847299117063', '18446744073709551615']) expect(isSnowflake(ok)).toBe(true);
    for (const bad of ['1759288472991170', '18446744073709551616', '123456789012345678901', '-175928847299117063', ' 175928847299117063', '1e20', 175928847299117063]) {
      expect(isSnowflake(bad)).toBe(false);
    }
    expect(snowflake.safeParse('175928847299117063').success).toBe(true);
    expect(snowflake.safeParse(175928847299117063).success).toBe(false);
  });

  test('messageContent counts code points, not UTF-16 units', () => {
    const emoji = '😀'.repeat(MESSAGE_CONTENT_MAX); // 4000 UTF-16 units, 2000 code points
    expect(messageContent.safeParse(emoji).success).toBe(true);
    expect(messageContent.safeParse(emoji + 'x').success).toBe(false);
    expect(messageContent.safeParse('x'.repeat(2000)).success).toBe(true);
  });

  test('permissionString: decimal strings and safe integers, normalised to a string', () => {
    const p = z.object({ permissions: permissionString });
    expect(parseBody(p, { permissions: '2147483648' })).toEqual({ permissions: '2147483648' });
    expect(parseBody(p, { permissions: '0008' })).toEqual({ permissions: '8' });
    expect(parseBody(p, { permissions: 8 })).toEqual({ permissions: '8' });
    expect(parseBody(p, { permissions: '18446744073709551615' })).toEqual({ permissions: '18446744073709551615' });
    for (const bad of ['-1', '1.5', 'abc', '', '18446744073709551616', -1, 1.5, true]) {
      expect(formErrors(() => parseBody(p, { permissions: bad }))).toEqual({
        permissions: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: `Value "${String(bad)}" is not int.` }] },
      });
    }
  });
});

describe('parseQuery / parseParams', () => {
  const history = z.object({
    limit: queryInt({ min: 1, max: 100, default: 50 }),
    before: querySnowflake,
    after: querySnowflake,
  });

  test('defaults and coercion', () => {
    expect(parseQuery(history, {})).toEqual({ limit: 50 });
    expect(parseQuery(history, { limit: '7', before: '175928847299117063' })).toEqual({ limit: 7, before: '175928847299117063' });
    expect(parseQuery(history, undefined)).toEqual({ limit: 50 });
    expect(parseQuery(history, { limit: '' })).toEqual({ limit: 50 });
  });

  test('limit out of range or not an int', () => {
    expect(formErrors(() => parseQuery(history, { limit: '101' }))).toEqual({
      limit: { _errors: [{ code: 'NUMBER_TYPE_MAX', message: 'int value should be less than or equal to 100.' }] },
    });
    expect(formErrors(() => parseQuery(history, { limit: '0' }))).toEqual({
      limit: { _errors: [{ code: 'NUMBER_TYPE_MIN', message: 'int value should be greater than or equal to 1.' }] },
    });
    for (const bad of ['abc', '1.5', '1e3', ['1', '2']]) {
      expect(formErrors(() => parseQuery(history, { limit: bad }))).toEqual({
        limit: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: `Value "${Array.isArray(bad) ? JSON.stringify(bad) : bad}" is not int.` }] },
      });
    }
  });

  test('required int without default', () => {
    const s = z.object({ n: queryInt({ min: 0, max: 5 }) });
    expect(formErrors(() => parseQuery(s, {}))).toEqual({ n: { _errors: [required] } });
  });

  test('bad snowflake in a path param', () => {
    const params = z.object({ channel_id: snowflake });
    expect(parseParams(params, { channel_id: '175928847299117063' })).toEqual({ channel_id: '175928847299117063' });
    expect(formErrors(() => parseParams(params, { channel_id: '@me' }))).toEqual({
      channel_id: { _errors: [{ code: 'NUMBER_TYPE_COERCE', message: 'Value "@me" is not snowflake.' }] },
    });
  });
});

describe('permissionString presence', () => {
  test('required unless optional', () => {
    expect(formErrors(() => parseBody(z.object({ permissions: permissionString }), {}))).toEqual({ permissions: { _errors: [required] } });
    expect(parseBody(z.object({ permissions: permissionString.optional() }), {})).toEqual({});
  });
});
