// The gateway's contract with the rest of the homeserver. The gateway speaks the protocol;
// the backend (built by the homeserver) knows users, guilds and members, and the producer
// of dispatches turns log events into `Dispatch` objects and calls `Gateway.publish`.
import type http from 'node:http';
import type { Duplex } from 'node:stream';
import type { Logger } from 'pino';
import type { Clock } from '../clock.js';

export interface GatewayBackend {
  /** Resolve a bot/user token (already stripped of any "Bot "/"Bearer " prefix) to its user; null if invalid. */
  authenticate(token: string): Promise<GatewayIdentity | null>;
  /** Full GUILD_CREATE payloads (Discord guild objects with channels, roles, members (bounded), member_count, etc.) for the user's guilds. */
  guildsFor(userId: string): Promise<Record<string, unknown>[]>;
  /**
   * Optional: op 8 REQUEST_GUILD_MEMBERS → member objects (for GUILD_MEMBERS_CHUNK).
   * `limit` 0 means "no limit" (Discord's "all members" when query is ""). The backend must
   * return [] when `userId` may not see the guild. `options.userIds` is set when the client
   * asked for specific users (discord.js `members.fetch({ user: [...] })`) — then `query` is "".
   */
  requestGuildMembers?(
    userId: string,
    guildId: string,
    query: string,
    limit: number,
    options?: { userIds?: string[]; presences?: boolean },
  ): Promise<Record<string, unknown>[]>;
  /** Called when a user's presence changes (first session identifies, last one goes away, op 3). */
  presenceChanged?(userId: string, presence: { status: string; activities: unknown[] }): void;
  /** Optional: the user's DM channels, for READY's `private_channels`. */
  privateChannels?(userId: string): Promise<Array<Record<string, unknown>>>;
  /** Optional: the user's read positions for READY (`read_state.entries`: {id: channel id, last_message_id, mention_count}). Not asked for bots. */
  readStates?(userId: string): Promise<Array<Record<string, unknown>>>;
  /** Optional: op 4 VOICE_STATE_UPDATE `{guild_id, channel_id, self_mute, self_deaf}`; ignored when absent. */
  voiceStateUpdate?(userId: string, payload: Record<string, unknown>): void;
}

export interface GatewayIdentity {
  user: Record<string, unknown> & { id: string; bot?: boolean };
  applicationId: string;
  /**
   * Optional: the privileged intents (GUILD_MEMBERS, GUILD_PRESENCES, MESSAGE_CONTENT) this
   * application may use. When set, asking for others closes with 4014. When absent, all are allowed.
   */
  allowedIntents?: number;
}

/** One event to deliver. Built ONCE by the producer and shared by every session. */
export interface Dispatch {
  t: string; // e.g. 'MESSAGE_CREATE'
  d: Record<string, unknown>; // the payload
  intent: number; // the intent bit a session needs to receive it (0 = always delivered); see intents.ts intentForEvent
  recipients: ReadonlySet<string>; // user ids (snowflake strings) who may see it
  guildId?: string; // for shard filtering: shard = (BigInt(guildId) >> 22n) % numShards; absent = shard 0 only (DMs)
  /**
   * For MESSAGE_CREATE/UPDATE: sessions lacking MESSAGE_CONTENT (1<<15) get content, embeds,
   * attachments, components blanked (content "" and empty arrays), unless the session's user is
   * in this set (the author and mentioned users — Discord's rule). Absent = nobody is exempt,
   * so for DMs pass the DM's participants (Discord exempts DMs with the app).
   */
  contentVisibleTo?: ReadonlySet<string>;
}

export interface GatewayMetrics {
  connections: number; // open sockets
  sessions: number; // live + resumable sessions
  resumableSessions: number; // sessions without a socket, kept for op 6
  dispatchesPublished: number; // publish() calls
  framesSent: number; // dispatch frames written to sockets (including replays)
  framesBuffered: number; // dispatch frames assigned to sessions (sent or kept for resume)
  identifies: number;
  resumes: number;
  invalidSessions: number; // op 9 sent
}

export interface GatewayOptions {
  /** When given, the gateway listens to this server's 'upgrade' for `path` (other paths are left alone). */
  server?: http.Server;
  path?: string; // default '/gateway'
  backend: GatewayBackend;
  clock: Clock;
  log: Logger;
  heartbeatIntervalMs?: number; // default 41250 (Discord's value)
  /** No heartbeat for heartbeatIntervalMs × this → close 4009. Default 1.5. */
  heartbeatTimeoutFactor?: number;
  /** How long a disconnected session stays resumable and keeps buffering. Default 120000. */
  resumeWindowMs?: number;
  maxBufferedDispatches?: number; // per session, default 5000
  resumeGatewayUrl: string; // e.g. 'ws://host:port/gateway' (sent in READY)
  /** Called on every housekeeping sweep with a snapshot of the counters. */
  onMetrics?: (m: GatewayMetrics) => void;
  /** Commands a connection may send per window before 4008. Default 120 per 60000 ms. */
  commandLimit?: { count: number; windowMs: number };
  /** A socket whose unsent bytes exceed this is dropped (the session stays resumable). Default 16 MiB. */
  maxSocketBufferedBytes?: number;
  /** Largest accepted client frame in bytes (ws closes 1009 above it). Default 64 KiB. */
  maxPayloadBytes?: number;
}

export interface Gateway {
  publish(d: Dispatch): void;
  sessionCount(): number;
  metrics(): GatewayMetrics;
  /** Hand over an upgrade request yourself (when no `server` was given, or for a custom router). */
  handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Send op 7 RECONNECT to every live session and close its socket; sessions stay resumable. */
  reconnectAll(reason?: string): void;
  /** Shut down: op 7 to every live session, close every socket, drop every session, clear timers. */
  close(reason?: string): Promise<void>;
}
