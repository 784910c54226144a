import type { ColumnType, Generated } from 'kysely';

/** A jsonb column: written as JSON text, read back parsed (by pg and PGlite alike). */
type Json<T> = ColumnType<T, string, string>;

// Kysely's view of the tables in migrations.ts. bigint columns arrive as strings on both
// pg and PGlite (database.ts makes PGlite agree with pg), because snowflakes exceed 2^53.

export interface EventsTable {
  position: Generated<string>;
  txid: Generated<string>;
  event_id: string;
  room_id: string;
  type: string;
  state_key: string | null;
  sender: string;
  origin: string;
  depth: number | string;
  received_ts: number | string;
  pdu: string;
}

export interface RoomsTable {
  room_id: string;
  version: number | string;
  last_position: number | string;
  depth: number | string;
  forward_extremities: Json<string[]>;
  /** The state group of the room's current (resolved) state; null before migration 003's first append. */
  state_group: ColumnType<string | null, string | number | null | undefined, string | number | null>;
}

export interface RoomStateTable {
  room_id: string;
  type: string;
  state_key: string;
  event_id: string;
}

export interface GuildsTable {
  id: string;
  room_id: string;
  kind: string;
  owner: string;
  name: string;
  description: string | null;
  icon: string | null;
  discoverable: boolean;
  created_ts: number | string;
}

export interface ChannelsTable {
  id: string;
  room_id: string;
  channel_key: string;
  guild_id: string;
  name: string;
  kind: number;
  topic: string | null;
  position: number;
  parent_key: string | null;
  nsfw: boolean;
  deleted: boolean;
  last_message_id: string | null;
}

export interface RolesTable {
  id: string;
  room_id: string;
  role_key: string;
  guild_id: string;
  name: string;
  permissions: string;
  position: number;
  color: number;
  hoist: boolean;
  mentionable: boolean;
  deleted: boolean;
}

export interface MembersTable {
  room_id: string;
  user_id: string;
  guild_id: string;
  membership: string;
  nick: string | null;
  roles: Json<string[]>; // role keys
  joined_ts: number | string | null;
}

export interface OverwritesTable {
  room_id: string;
  channel_key: string;
  target: string;
  kind: string;
  allow: string;
  deny: string;
}

export interface MessagesTable {
  id: string;
  event_id: string;
  room_id: string;
  channel_id: string;
  author: string;
  body: string;
  nonce: string | null;
  tts: boolean;
  mentions: Json<string[]>;
  mention_roles: Json<string[]>;
  mention_everyone: boolean;
  reply_to: string | null;
  created_ts: number | string;
  edited_ts: number | string | null;
  deleted: boolean;
  pinned: boolean;
}

export interface ReactionsTable {
  event_id: string;
  message_id: string;
  emoji: string;
  user_id: string;
}

export interface ReadStatesTable {
  user_id: string;
  room_id: string;
  channel_key: string;
  event_id: string;
}

export interface UsersTable {
  id: string;
  nexus_id: string;
  username: string;
  display_name: string | null;
  avatar: string | null;
  bot: boolean;
  local: boolean;
  password_hash: string | null;
  created_ts: number | string;
  /**
   * When this server last learnt a remote user's profile (display name) from the user's own
   * server, by query or by a `nexus.profile` EDU; null when never (and always for local users).
   */
  profile_ts: ColumnType<string | number | null, string | number | null | undefined, string | number | null>;
}

export interface BackfillFrontierTable {
  room_id: string;
  event_id: string;
  before_ts: ColumnType<string | number | null, number | null | undefined, number | null>;
}

export interface TokensTable {
  token_hash: string;
  user_id: string;
  created_ts: number | string;
}

export interface InvitesTable {
  code: string;
  room_id: string;
  channel_key: string;
  inviter: string;
  max_age: number;
  max_uses: number;
  uses: Generated<number>;
  temporary: boolean;
  created_ts: number | string;
}

export interface ProjectionCheckpointsTable {
  name: string;
  position: number | string;
}

export interface StateGroupsTable {
  id: Generated<string>;
  room_id: string;
  parent: string | number | null;
  chain: number;
  /** [type, state_key, event_id] triples: the slots this group sets over its parent. */
  delta: Json<Array<[string, string, string]>>;
}

export interface EventStateTable {
  event_id: string;
  room_id: string;
  state_group: string | number;
  soft_failed: Generated<boolean>;
  shown: Generated<boolean>;
  resolved: Generated<boolean>;
}

export interface RejectedEventsTable {
  event_id: string;
  room_id: string;
  reason: string;
  received_ts: number | string;
  /** JSON array of the rejected event's prev_events; null on rows older than migration 008. */
  prev_events: string | null;
}

export interface FederationTxnsTable {
  origin: string;
  txn_id: string;
  response: string;
  received_ts: number | string;
}

export interface FederationOutboxTable {
  destination: string;
  position: string | number;
  event_id: string;
  room_id: string;
}

export interface FederationDestinationsTable {
  destination: string;
  failures: Generated<number>;
  retry_at_ts: Generated<string | number>;
  last_success_ts: string | number | null;
  last_failure_ts: string | number | null;
  last_error: string | null;
  sent_events: Generated<string | number>;
  /** The sender process holding this destination (a lease), and until when. */
  claimed_by: string | null;
  claimed_until_ts: string | number | null;
}

export interface FederationCursorTable {
  id: number;
  txid: string;
  position: string | number;
}

export interface Database {
  federation_cursor: FederationCursorTable;
  state_groups: StateGroupsTable;
  event_state: EventStateTable;
  rejected_events: RejectedEventsTable;
  federation_txns: FederationTxnsTable;
  federation_outbox: FederationOutboxTable;
  federation_destinations: FederationDestinationsTable;
  events: EventsTable;
  rooms: RoomsTable;
  room_state: RoomStateTable;
  guilds: GuildsTable;
  channels: ChannelsTable;
  roles: RolesTable;
  members: MembersTable;
  overwrites: OverwritesTable;
  messages: MessagesTable;
  reactions: ReactionsTable;
  read_states: ReadStatesTable;
  users: UsersTable;
  backfill_frontier: BackfillFrontierTable;
  tokens: TokensTable;
  invites: InvitesTable;
  projection_checkpoints: ProjectionCheckpointsTable;
}
