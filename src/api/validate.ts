/**
 * Input validation at the API boundary: zod schemas in, Discord-shaped 50035 errors out.
 *
 * Every zod issue becomes a leaf `{code, message}` under its JSON path, using the codes Discord
 * sends (BASE_TYPE_REQUIRED, BASE_TYPE_MAX_LENGTH, NUMBER_TYPE_COERCE, ...) so bots that
 * pretty-print DiscordAPIError show something a human understands. Messages from schema
 * authors are ignored for built-in checks (Discord's wording wins); custom checks can name
 * their own code with `params: { code: 'SOME_CODE' }` and their message is kept.
 */
import { z, type ZodType } from 'zod';
import { invalidFormBody, type FieldError, type FormErrors } from './errors.js';
import { isSnowflake } from '../snowflake.js';

type Issue = z.core.$ZodIssue;

/** Parses a JSON body. A missing body (no JSON sent) is treated as `{}`, so each required field reports itself. */
export function parseBody<T>(schema: ZodType<T>, body: unknown): T {
  return parseOrThrow(schema, body === undefined ? {} : body);
}

/** Parses a query string object (values are strings, or arrays when a key repeats). */
export function parseQuery<T>(schema: ZodType<T>, query: unknown): T {
  return parseOrThrow(schema, query ?? {});
}

/** Parses route params; Discord reports a bad path id as 50035 on the param's name, too. */
export function parseParams<T>(schema: ZodType<T>, params: unknown): T {
  return parseOrThrow(schema, params ?? {});
}

function parseOrThrow<T>(schema: ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input, { reportInput: true });
  if (result.success) return result.data;
  throw invalidFormBody(issuesToFormErrors(result.error.issues));
}

/** Builds Discord's nested error tree from zod issues. */
export function issuesToFormErrors(issues: readonly Issue[]): FormErrors {
  const root: FormErrors = {};
  for (const issue of issues) {
    for (const { path, leaf } of issueLeaves(issue, [])) addLeaf(root, path, leaf);
  }
  return root;
}

function addLeaf(root: FormErrors, path: readonly PropertyKey[], leaf: FieldError): void {
  let node = root;
  for (const key of path) {
    const k = String(key);
    const next = node[k];
    if (next === undefined || Array.isArray(next)) {
      const created: FormErrors = {};
      node[k] = created;
      node = created;
    } else {
      node = next;
    }
  }
  (node._errors ??= []).push(leaf);
}

interface Located {
  path: readonly PropertyKey[];
  leaf: FieldError;
}

function issueLeaves(issue: Issue, prefix: readonly PropertyKey[]): Located[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union') {
    const branch = bestUnionBranch(issue.errors);
    if (branch) return branch.flatMap((inner) => issueLeaves(inner, path));
    return [{ path, leaf: { code: 'BASE_TYPE_BAD_TYPE', message: 'Value is not of an accepted type.' } }];
  }
  if (issue.code === 'unrecognized_keys') {
    // Only strict schemas produce this; report each unexpected key where it is.
    return issue.keys.map((key) => ({
      path: [...path, key],
      leaf: { code: 'BASE_TYPE_UNKNOWN_FIELD', message: 'This field is not allowed.' },
    }));
  }
  return [{ path, leaf: leafFor(issue) }];
}

/**
 * A union fails with one issue list per branch. The branch whose type matched (no type
 * error at its own root) says what is actually wrong; if no branch or several match, none does.
 */
function bestUnionBranch(branches: readonly (readonly Issue[])[]): readonly Issue[] | null {
  const matched = branches.filter((b) => !b.some((i) => i.code === 'invalid_type' && i.path.length === 0));
  return matched.length === 1 ? matched[0] : null;
}

function leafFor(issue: Issue): FieldError {
  switch (issue.code) {
    case 'invalid_type':
      return invalidTypeLeaf(issue);
    case 'too_big':
      return sizeLeaf(issue.origin, 'max', issue.maximum);
    case 'too_small':
      return sizeLeaf(issue.origin, 'min', issue.minimum);
    case 'invalid_value':
      return { code: 'BASE_TYPE_CHOICES', message: `Value must be one of (${issue.values.map(showChoice).join(', ')}).` };
    case 'invalid_format':
      if (issue.format === 'email') return { code: 'EMAIL_TYPE_INVALID_EMAIL', message: 'Not a well formed email address.' };
      return { code: 'STRING_TYPE_REGEX', message: 'String value did not match validation regex.' };
    case 'not_multiple_of':
      return { code: 'NUMBER_TYPE_MULTIPLE_OF', message: `Value must be a multiple of ${String(issue.divisor)}.` };
    case 'custom': {
      const code = typeof issue.params?.code === 'string' ? issue.params.code : 'BASE_TYPE_INVALID';
      return { code, message: issue.message };
    }
    default:
      return { code: 'BASE_TYPE_INVALID', message: 'Invalid value.' };
  }
}

function invalidTypeLeaf(issue: z.core.$ZodIssueInvalidType): FieldError {
  // zod leaves `input` out when the key was absent.
  if (issue.input === undefined) return { code: 'BASE_TYPE_REQUIRED', message: 'This field is required' };
  const shown = showValue(issue.input);
  switch (issue.expected) {
    case 'int':
    case 'number':
    case 'bigint':
      return { code: 'NUMBER_TYPE_COERCE', message: `Value "${shown}" is not ${issue.expected === 'number' ? 'a number' : 'int'}.` };
    case 'string':
      return { code: 'STRING_TYPE_CONVERT', message: `Could not interpret "${shown}" as string.` };
    case 'boolean':
      return { code: 'BOOLEAN_TYPE_CONVERT', message: `Could not interpret "${shown}" as boolean.` };
    case 'object':
    case 'record':
      return { code: 'DICT_TYPE_CONVERT', message: 'Only dictionaries may be used in a DictType' };
    case 'array':
    case 'tuple':
    case 'set':
      return { code: 'LIST_TYPE_CONVERT', message: 'Only iterables may be used in a ListType' };
    default:
      return { code: 'BASE_TYPE_BAD_TYPE', message: `Value "${shown}" is not of type ${issue.expected}.` };
  }
}

function sizeLeaf(origin: string, side: 'max' | 'min', bound: number | bigint): FieldError {
  const n = String(bound);
  if (origin === 'number' || origin === 'int' || origin === 'bigint') {
    return side === 'max'
      ? { code: 'NUMBER_TYPE_MAX', message: `int value should be less than or equal to ${n}.` }
      : { code: 'NUMBER_TYPE_MIN', message: `int value should be greater than or equal to ${n}.` };
  }
  return side === 'max'
    ? { code: 'BASE_TYPE_MAX_LENGTH', message: `Must be ${n} or fewer in length.` }
    : { code: 'BASE_TYPE_MIN_LENGTH', message: `Must be ${n} or more in length.` };
}

/** Values are echoed into messages: keep them short so a huge input cannot bloat the reply. */
function showValue(v: unknown): string {
  let s: string;
  if (typeof v === 'string') s = v;
  else if (v === null || typeof v !== 'object') s = String(v);
  else {
    try {
      s = JSON.stringify(v);
    } catch {
      s = Object.prototype.toString.call(v);
    }
  }
  return s.length > 64 ? `${s.slice(0, 61)}...` : s;
}

function showChoice(v: unknown): string {
  return typeof v === 'string' ? `'${v}'` : String(v);
}

// ---------------------------------------------------------------------------------------
// Reusable schemas
// ---------------------------------------------------------------------------------------

const UINT64_MAX = (1n << 64n) - 1n;

export { isSnowflake };

/**
 * A snowflake id as a string of 17–20 digits (≤ 2^64-1). JSON numbers are refused: any real
 * snowflake exceeds 2^53 and would already have lost precision in JSON.parse.
 */
export const snowflake = z.string().check((ctx) => {
  if (!isSnowflake(ctx.value)) {
    ctx.issues.push({
      code: 'custom',
      input: ctx.value,
      message: `Value "${showValue(ctx.value)}" is not snowflake.`,
      params: { code: 'NUMBER_TYPE_COERCE' },
    });
  }
});

/** Discord's message content limit. Counted in code points, as Discord does, not UTF-16 units. */
export const MESSAGE_CONTENT_MAX = 2000;

export const messageContent = z.string().check((ctx) => {
  if (codePointLength(ctx.value) > MESSAGE_CONTENT_MAX) {
    ctx.issues.push({ code: 'too_big', origin: 'string', maximum: MESSAGE_CONTENT_MAX, inclusive: true, input: ctx.value });
  }
});

export function codePointLength(s: string): number {
  let n = 0;
  for (const _ of s) n++;
  return n;
}

/**
 * A permission bitfield as a decimal string (Discord sends strings since bits passed 2^53).
 * Small safe integers are accepted too, for older clients, and normalised to a string.
 */
export const permissionString = z.unknown().transform((v, ctx): string => {
  if (v === undefined) {
    ctx.issues.push({ code: 'custom', input: v, message: 'This field is required', params: { code: 'BASE_TYPE_REQUIRED' } });
    return z.NEVER;
  }
  const s = typeof v === 'number' ? (Number.isSafeInteger(v) && v >= 0 ? String(v) : '') : typeof v === 'string' ? v : '';
  if (/^\d{1,20}$/.test(s) && BigInt(s) <= UINT64_MAX) return BigInt(s).toString();
  ctx.issues.push({
    code: 'custom',
    input: v,
    message: `Value "${showValue(v)}" is not int.`,
    params: { code: 'NUMBER_TYPE_COERCE' },
  });
  return z.NEVER;
});

/**
 * An integer query parameter ("?limit=50"), range-checked, with a default when absent.
 * A repeated key (an array) is refused like any other non-integer.
 */
export function queryInt(opts: { min: number; max: number; default?: number }) {
  // `.optional()` before the transform: zod objects refuse an absent key unless the schema admits undefined.
  return z.unknown().optional().transform((v, ctx): number => {
    if (v === undefined || v === '') {
      if (opts.default !== undefined) return opts.default;
      ctx.issues.push({ code: 'custom', input: v, message: 'This field is required', params: { code: 'BASE_TYPE_REQUIRED' } });
      return z.NEVER;
    }
    const n = typeof v === 'string' && /^-?\d{1,16}$/.test(v) ? Number(v) : NaN;
    if (!Number.isSafeInteger(n)) {
      ctx.issues.push({ code: 'custom', input: v, message: `Value "${showValue(v)}" is not int.`, params: { code: 'NUMBER_TYPE_COERCE' } });
      return z.NEVER;
    }
    if (n > opts.max) ctx.issues.push({ code: 'too_big', origin: 'int', maximum: opts.max, inclusive: true, input: n });
    else if (n < opts.min) ctx.issues.push({ code: 'too_small', origin: 'int', minimum: opts.min, inclusive: true, input: n });
    return n;
  });
}

/** An optional snowflake query parameter (`before`, `after`, `around`). */
export const querySnowflake = snowflake.optional();
