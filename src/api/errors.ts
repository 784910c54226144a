/**
 * The one catalogue of coded API errors and the HTTP status each maps to (DESIGN habit 9).
 *
 * Codes and messages follow Discord's "JSON Error Codes" table, so bots written for Discord
 * (discord.js's DiscordAPIError, RESTJSONErrorCodes) recognise them. Route handlers throw
 * `apiError('unknownChannel')` (or one of the helpers below); the error middleware turns any
 * ApiError into `{code, message, errors?}` with its status. Nothing else decides statuses.
 */

/** One leaf problem on a field, e.g. `{code: 'BASE_TYPE_REQUIRED', message: 'This field is required'}`. */
export interface FieldError {
  code: string;
  message: string;
}

/**
 * Discord's nested form-error tree: keys follow the JSON path of the offending field
 * (array indexes as string keys) and leaves carry `_errors`.
 */
export interface FormErrors {
  _errors?: FieldError[];
  [key: string]: FormErrors | FieldError[] | undefined;
}

export interface ErrorBody {
  code: number;
  message: string;
  errors?: FormErrors;
}

export class ApiError extends Error {
  readonly status: number;
  readonly code: number;
  readonly errors?: FormErrors;

  constructor(status: number, code: number, message: string, errors?: FormErrors) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    if (errors !== undefined) this.errors = errors;
  }
}

interface CatalogueEntry {
  status: number;
  code: number;
  message: string;
}

/**
 * Fixed errors. Code 0 entries mirror Discord's bare HTTP errors ("401: Unauthorized").
 * An invalid token gets the same 401/code 0 body Discord sends: discord.js warns loudly on a
 * 401 carrying a non-zero code, and clients cannot act on the difference anyway.
 */
export const ERROR_CATALOGUE = {
  // 4xx without a JSON code, the way Discord words them
  badRequest: { status: 400, code: 0, message: '400: Bad Request' },
  unauthorized: { status: 401, code: 0, message: '401: Unauthorized' },
  invalidToken: { status: 401, code: 0, message: '401: Unauthorized' },
  forbidden: { status: 403, code: 0, message: '403: Forbidden' },
  notFound: { status: 404, code: 0, message: '404: Not Found' },
  methodNotAllowed: { status: 405, code: 0, message: '405: Method Not Allowed' },
  unsupportedMediaType: { status: 415, code: 0, message: '415: Unsupported Media Type' },
  internal: { status: 500, code: 0, message: '500: Internal Server Error' },
  // "no response" from something we depend on, kept apart from "a response said no"
  serviceUnavailable: { status: 503, code: 0, message: '503: Service Unavailable' },

  // 10xxx unknown things
  unknownAccount: { status: 404, code: 10001, message: 'Unknown Account' },
  unknownApplication: { status: 404, code: 10002, message: 'Unknown Application' },
  unknownChannel: { status: 404, code: 10003, message: 'Unknown Channel' },
  unknownGuild: { status: 404, code: 10004, message: 'Unknown Guild' },
  unknownInvite: { status: 404, code: 10006, message: 'Unknown Invite' },
  unknownMember: { status: 404, code: 10007, message: 'Unknown Member' },
  unknownMessage: { status: 404, code: 10008, message: 'Unknown Message' },
  unknownOverwrite: { status: 404, code: 10009, message: 'Unknown Permission Overwrite' },
  unknownRole: { status: 404, code: 10011, message: 'Unknown Role' },
  unknownToken: { status: 404, code: 10012, message: 'Unknown Token' },
  unknownUser: { status: 404, code: 10013, message: 'Unknown User' },
  unknownEmoji: { status: 404, code: 10014, message: 'Unknown Emoji' },
  unknownWebhook: { status: 404, code: 10015, message: 'Unknown Webhook' },
  unknownSession: { status: 404, code: 10020, message: 'Unknown Session' },
  unknownBan: { status: 404, code: 10026, message: 'Unknown Ban' },

  // 20xxx who may use what
  botsCannotUseEndpoint: { status: 403, code: 20001, message: 'Bots cannot use this endpoint' },
  onlyBotsCanUseEndpoint: { status: 403, code: 20002, message: 'Only bots can use this endpoint' },

  // 40xxx
  unauthorizedProvideToken: { status: 401, code: 40001, message: 'Unauthorized. Provide a valid token and try again' },
  requestTooLarge: { status: 413, code: 40005, message: 'Request entity too large. Try sending something smaller in size' },
  bannedFromGuild: { status: 403, code: 40007, message: 'The user is banned from this guild' },

  // 50xxx
  missingAccess: { status: 403, code: 50001, message: 'Missing Access' },
  cannotExecuteOnDmChannel: { status: 403, code: 50003, message: 'Cannot execute action on a DM channel' },
  cannotEditOthersMessage: { status: 403, code: 50005, message: 'Cannot edit a message authored by another user' },
  cannotSendEmptyMessage: { status: 400, code: 50006, message: 'Cannot send an empty message' },
  cannotSendToUser: { status: 403, code: 50007, message: 'Cannot send messages to this user' },
  cannotSendInNonTextChannel: { status: 403, code: 50008, message: 'Cannot send messages in a non-text channel' },
  missingPermissions: { status: 403, code: 50013, message: 'Missing Permissions' },
  invalidAuthToken: { status: 401, code: 50014, message: 'Invalid authentication token provided' },
  bulkDeleteCount: {
    status: 400,
    code: 50016,
    message: 'Provided too few or too many messages to delete. Must provide at least 2 and fewer than 100 messages to delete.',
  },
  pinInWrongChannel: { status: 400, code: 50019, message: 'A message can only be pinned to the channel it was in' },
  cannotExecuteOnSystemMessage: { status: 400, code: 50021, message: 'Cannot execute action on a system message' },
  cannotExecuteOnChannelType: { status: 400, code: 50024, message: 'Cannot execute action on this channel type' },
  invalidRole: { status: 400, code: 50028, message: 'Invalid role' },
  bulkDeleteTooOld: { status: 400, code: 50034, message: 'A message provided was too old to bulk delete' },
  invalidApiVersion: { status: 400, code: 50041, message: 'Invalid API version provided' },
  invalidJson: { status: 400, code: 50109, message: 'The request body contains invalid JSON.' },
} as const satisfies Record<string, CatalogueEntry>;

export type ErrorName = keyof typeof ERROR_CATALOGUE;

/** Builds the catalogue's error `name`. */
export function apiError(name: ErrorName): ApiError {
  const e: CatalogueEntry = ERROR_CATALOGUE[name];
  return new ApiError(e.status, e.code, e.message);
}

/** 50035 "Invalid Form Body" with a Discord-shaped `errors` tree. */
export function invalidFormBody(errors: FormErrors): ApiError {
  return new ApiError(400, 50035, 'Invalid Form Body', errors);
}

/**
 * 50035 for errors a handler finds itself (after schema validation), one leaf per top-level
 * field: `fieldErrors({ username: { code: 'USERNAME_ALREADY_TAKEN', message: '...' } })`.
 */
export function fieldErrors(fields: Record<string, FieldError | FieldError[]>): ApiError {
  const errors: FormErrors = {};
  for (const [key, value] of Object.entries(fields)) {
    errors[key] = { _errors: Array.isArray(value) ? value : [value] };
  }
  return invalidFormBody(errors);
}

/** Discord answers bad credentials with 50035 on both fields, never saying which was wrong. */
export function invalidLogin(): ApiError {
  const leaf = { code: 'INVALID_LOGIN', message: 'Login or password is invalid.' };
  return fieldErrors({ login: leaf, password: leaf });
}

export function usernameTaken(): ApiError {
  return fieldErrors({ username: { code: 'USERNAME_ALREADY_TAKEN', message: 'Username is unavailable. Try another.' } });
}

/** 30xxx "Maximum number of ... reached": codes from Discord, limit from our config. */
export const MAXIMUM_CODES = {
  guilds: { code: 30001, what: 'guilds' },
  friends: { code: 30002, what: 'friends' },
  pins: { code: 30003, what: 'pins' },
  recipients: { code: 30004, what: 'recipients' },
  roles: { code: 30005, what: 'guild roles' },
  webhooks: { code: 30007, what: 'webhooks' },
  emojis: { code: 30008, what: 'emojis' },
  reactions: { code: 30010, what: 'reactions' },
  channels: { code: 30013, what: 'guild channels' },
  attachments: { code: 30015, what: 'attachments in a message' },
  invites: { code: 30016, what: 'invites' },
  bans: { code: 30035, what: 'bans for non-guild members' },
} as const;

export type MaximumKind = keyof typeof MAXIMUM_CODES;

export function maximumReached(kind: MaximumKind, limit?: number): ApiError {
  const { code, what } = MAXIMUM_CODES[kind];
  const suffix = limit === undefined ? '' : ` (${limit})`;
  return new ApiError(400, code, `Maximum number of ${what} reached${suffix}`);
}

/** The wire body of any ApiError. */
export function toBody(err: ApiError): ErrorBody {
  const body: ErrorBody = { code: err.code, message: err.message };
  if (err.errors !== undefined) body.errors = err.errors;
  return body;
}

export interface RateLimitedBody {
  message: string;
  retry_after: number;
  global: boolean;
  code: number;
}

/** The 429 body Discord sends (retry_after in seconds, fractional). */
export function rateLimitedBody(retryAfterSeconds: number, global = false): RateLimitedBody {
  return { message: 'You are being rate limited.', retry_after: retryAfterSeconds, global, code: 0 };
}
