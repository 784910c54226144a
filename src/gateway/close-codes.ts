// Gateway close codes (Discord API v10, "Gateway Close Event Codes"), in one table so the
// server, the tests and the docs agree. `reconnect` says whether a client may reconnect;
// `resumable` says whether *this server* keeps the session for op 6 after closing with it.

export const CloseCode = {
  UnknownError: 4000,
  UnknownOpcode: 4001,
  DecodeError: 4002,
  NotAuthenticated: 4003,
  AuthenticationFailed: 4004,
  AlreadyAuthenticated: 4005,
  InvalidSeq: 4007,
  RateLimited: 4008,
  SessionTimedOut: 4009,
  InvalidShard: 4010,
  ShardingRequired: 4011,
  InvalidApiVersion: 4012,
  InvalidIntents: 4013,
  DisallowedIntents: 4014,
} as const;

export type CloseCodeValue = (typeof CloseCode)[keyof typeof CloseCode];

export interface CloseCodeInfo {
  name: keyof typeof CloseCode;
  /** Default close reason; WebSocket limits reasons to 123 bytes. */
  reason: string;
  reconnect: boolean;
  resumable: boolean;
}

export const CLOSE_CODES: Readonly<Record<CloseCodeValue, CloseCodeInfo>> = {
  4000: { name: 'UnknownError', reason: 'Unknown error; reconnect and resume', reconnect: true, resumable: true },
  4001: { name: 'UnknownOpcode', reason: 'Unknown opcode', reconnect: true, resumable: true },
  4002: { name: 'DecodeError', reason: 'Decode error: invalid payload', reconnect: true, resumable: true },
  4003: { name: 'NotAuthenticated', reason: 'Not authenticated: identify first', reconnect: true, resumable: true },
  4004: { name: 'AuthenticationFailed', reason: 'Authentication failed', reconnect: false, resumable: false },
  4005: { name: 'AlreadyAuthenticated', reason: 'Already authenticated', reconnect: true, resumable: true },
  4007: { name: 'InvalidSeq', reason: 'Invalid seq', reconnect: true, resumable: false },
  4008: { name: 'RateLimited', reason: 'Rate limited: too many gateway commands', reconnect: true, resumable: true },
  4009: { name: 'SessionTimedOut', reason: 'Session timed out: no heartbeat', reconnect: true, resumable: true },
  4010: { name: 'InvalidShard', reason: 'Invalid shard', reconnect: false, resumable: false },
  4011: { name: 'ShardingRequired', reason: 'Sharding required', reconnect: false, resumable: false },
  4012: { name: 'InvalidApiVersion', reason: 'Invalid API version (use v=9 or v=10)', reconnect: false, resumable: false },
  4013: { name: 'InvalidIntents', reason: 'Invalid intent(s)', reconnect: false, resumable: false },
  4014: { name: 'DisallowedIntents', reason: 'Disallowed intent(s)', reconnect: false, resumable: false },
};
