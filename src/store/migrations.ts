import { sql, type Kysely } from 'kysely';

/**
 * Schema migrations, applied in order, each in its own transaction, recorded in
 * nexus_migrations. One list serves Postgres and PGlite (the same SQL runs on both).
 *
 * Tables fall in three groups:
 * - the log (`events`): the only source of truth, append-only;
 * - projections (`rooms` … `reactions`): views rebuilt from the log by `nexus rebuild`;
 * - local identity (`users`, `tokens`, `invites`): server-local data that is not part of any
 *   guild's history (accounts, credentials, invite codes) and survives rebuilds.
 *
 * Snowflakes of guilds, channels, roles and messages are derived from the log position of
 * the event that created them (snowflake.ts), so a rebuild reproduces the same ids.
 */
const MIGRATIONS: Array<{ name: string; statements: string[] }> = [
  {
    name: '001-initial',
    statements: [
      // The log. `txid` lets readers stay behind pg_snapshot_xmin so that an event whose
      // transaction commits late is never skipped (see log-reader.ts).
      `CREATE TABLE events (
        position bigserial PRIMARY KEY,
        txid xid8 NOT NULL DEFAULT pg_current_xact_id(),
        event_id text NOT NULL UNIQUE,
        room_id text NOT NULL,
        type text NOT NULL,
        state_key text,
        sender text NOT NULL,
        origin text NOT NULL,
        depth bigint NOT NULL,
        received_ts bigint NOT NULL,
        pdu text NOT NULL
      )`,
      `CREATE INDEX events_by_room ON events (room_id, position)`,
      `CREATE INDEX events_by_txid ON events (txid, position)`,
      `CREATE INDEX events_by_state_slot ON events (room_id, type, state_key, position) WHERE state_key IS NOT NULL`,

      // Projections.
      `CREATE TABLE projection_checkpoints (name text PRIMARY KEY, position bigint NOT NULL)`,
      // A room's head; `version` counts its events and `last_position` is its projection
      // checkpoint, both written in the same transaction as the views (one row per room,
      // so appends to different rooms never contend on a shared checkpoint row).
      `CREATE TABLE rooms (
        room_id text PRIMARY KEY,
        version bigint NOT NULL,
        last_position bigint NOT NULL,
        depth bigint NOT NULL,
        forward_extremities jsonb NOT NULL
      )`,
      `CREATE TABLE room_state (
        room_id text NOT NULL,
        type text NOT NULL,
        state_key text NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (room_id, type, state_key)
      )`,
      `CREATE TABLE guilds (
        id bigint PRIMARY KEY,
        room_id text NOT NULL UNIQUE,
        kind text NOT NULL,
        owner text NOT NULL,
        name text NOT NULL DEFAULT '',
        description text,
        icon text,
        discoverable boolean NOT NULL DEFAULT false,
        created_ts bigint NOT NULL
      )`,
      `CREATE TABLE channels (
        id bigint PRIMARY KEY,
        room_id text NOT NULL,
        channel_key text NOT NULL,
        guild_id bigint NOT NULL,
        name text NOT NULL,
        kind int NOT NULL,
        topic text,
        position int NOT NULL,
        parent_key text,
        nsfw boolean NOT NULL DEFAULT false,
        deleted boolean NOT NULL DEFAULT false,
        last_message_id bigint,
        UNIQUE (room_id, channel_key)
      )`,
      `CREATE INDEX channels_by_guild ON channels (guild_id)`,
      `CREATE TABLE roles (
        id bigint PRIMARY KEY,
        room_id text NOT NULL,
        role_key text NOT NULL,
        guild_id bigint NOT NULL,
        name text NOT NULL,
        permissions text NOT NULL,
        position int NOT NULL,
        color int NOT NULL DEFAULT 0,
        hoist boolean NOT NULL DEFAULT false,
        mentionable boolean NOT NULL DEFAULT false,
        deleted boolean NOT NULL DEFAULT false,
        UNIQUE (room_id, role_key)
      )`,
      `CREATE INDEX roles_by_guild ON roles (guild_id)`,
      `CREATE TABLE members (
        room_id text NOT NULL,
        user_id text NOT NULL,
        guild_id bigint NOT NULL,
        membership text NOT NULL,
        nick text,
        roles jsonb NOT NULL DEFAULT '[]',
        joined_ts bigint,
        PRIMARY KEY (room_id, user_id)
      )`,
      `CREATE INDEX members_by_user ON members (user_id, membership)`,
      `CREATE TABLE overwrites (
        room_id text NOT NULL,
        channel_key text NOT NULL,
        target text NOT NULL,
        kind text NOT NULL,
        allow text NOT NULL,
        deny text NOT NULL,
        PRIMARY KEY (room_id, channel_key, target)
      )`,
      `CREATE TABLE messages (
        id bigint PRIMARY KEY,
        event_id text NOT NULL UNIQUE,
        room_id text NOT NULL,
        channel_id bigint NOT NULL,
        author text NOT NULL,
        body text NOT NULL,
        nonce text,
        tts boolean NOT NULL DEFAULT false,
        mentions jsonb NOT NULL DEFAULT '[]',
        mention_roles jsonb NOT NULL DEFAULT '[]',
        mention_everyone boolean NOT NULL DEFAULT false,
        reply_to text,
        created_ts bigint NOT NULL,
        edited_ts bigint,
        deleted boolean NOT NULL DEFAULT false,
        pinned boolean NOT NULL DEFAULT false
      )`,
      `CREATE INDEX messages_by_channel ON messages (channel_id, id)`,
      `CREATE TABLE reactions (
        event_id text PRIMARY KEY,
        message_id bigint NOT NULL,
        emoji text NOT NULL,
        user_id text NOT NULL
      )`,
      `CREATE INDEX reactions_by_message ON reactions (message_id, emoji)`,

      // Local identity.
      `CREATE TABLE users (
        id bigint PRIMARY KEY,
        nexus_id text NOT NULL UNIQUE,
        username text NOT NULL,
        display_name text,
        avatar text,
        bot boolean NOT NULL DEFAULT false,
        local boolean NOT NULL,
        password_hash text,
        created_ts bigint NOT NULL
      )`,
      `CREATE UNIQUE INDEX users_local_username ON users (lower(username)) WHERE local`,
      `CREATE TABLE tokens (
        token_hash text PRIMARY KEY,
        user_id bigint NOT NULL REFERENCES users (id),
        created_ts bigint NOT NULL
      )`,
      `CREATE TABLE invites (
        code text PRIMARY KEY,
        room_id text NOT NULL,
        channel_key text NOT NULL,
        inviter text NOT NULL,
        max_age int NOT NULL,
        max_uses int NOT NULL,
        uses int NOT NULL DEFAULT 0,
        temporary boolean NOT NULL DEFAULT false,
        created_ts bigint NOT NULL
      )`,
    ],
  },
  {
    name: '002-read-states',
    statements: [
      // Projected from the users' account rooms (nexus.account.read_state): the last message
      // each user has read in each channel, by event id (its snowflake comes from the log).
      `CREATE TABLE read_states (
        user_id text NOT NULL,
        room_id text NOT NULL,
        channel_key text NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (user_id, room_id, channel_key)
      )`,
    ],
  },
  {
    name: '003-federation',
    statements: [
      // The state of a guild after each event, as groups shared by every event that leaves
      // the state unchanged (a message keeps its prev's group). A group is a delta over its
      // parent; `chain` counts the deltas down to a full snapshot (parent NULL), kept short
      // so a group is never far from a snapshot. Derived from the DAG alone (not from the
      // order events arrived in), so `nexus rebuild` keeps these tables.
      `CREATE TABLE state_groups (
        id bigserial PRIMARY KEY,
        room_id text NOT NULL,
        parent bigint,
        chain int NOT NULL,
        delta jsonb NOT NULL
      )`,
      // One row per event whose state is known (an outlier has none). `soft_failed`: the
      // event is in the DAG but was not shown (it passed auth against its own state but not
      // against the guild's current state, e.g. a message from a user banned meanwhile).
      `CREATE TABLE event_state (
        event_id text PRIMARY KEY,
        room_id text NOT NULL,
        state_group bigint NOT NULL,
        soft_failed boolean NOT NULL DEFAULT false
      )`,
      `ALTER TABLE rooms ADD COLUMN state_group bigint`,
      // Peers' events the auth rules refused: never appended, remembered so they are not
      // fetched again and so children that cite them can skip them.
      `CREATE TABLE rejected_events (
        event_id text PRIMARY KEY,
        room_id text NOT NULL,
        reason text NOT NULL,
        received_ts bigint NOT NULL
      )`,
      // Inbound transactions already answered, per origin: a replay gets the same answer.
      `CREATE TABLE federation_txns (
        origin text NOT NULL,
        txn_id text NOT NULL,
        response text NOT NULL,
        received_ts bigint NOT NULL,
        PRIMARY KEY (origin, txn_id)
      )`,
      // The outbound queue: one row per (destination, event) still to deliver, filled by
      // the federation sender as it reads the log, deleted when the peer acknowledges.
      `CREATE TABLE federation_outbox (
        destination text NOT NULL,
        position bigint NOT NULL,
        event_id text NOT NULL,
        room_id text NOT NULL,
        PRIMARY KEY (destination, position)
      )`,
      // Catch-up looks at one destination's backlog per room.
      `CREATE INDEX federation_outbox_by_room ON federation_outbox (destination, room_id, position)`,
      // Where the federation sender has read the log to (it fills federation_outbox).
      // Not a projection checkpoint: a rebuild must not make the sender resend everything.
      `CREATE TABLE federation_cursor (
        id int PRIMARY KEY,
        txid text NOT NULL,
        position bigint NOT NULL
      )`,
      // Per destination: backoff and health, shown by /metrics and \`nexus federation status\`.
      `CREATE TABLE federation_destinations (
        destination text PRIMARY KEY,
        failures int NOT NULL DEFAULT 0,
        retry_at_ts bigint NOT NULL DEFAULT 0,
        last_success_ts bigint,
        last_failure_ts bigint,
        last_error text,
        sent_events bigint NOT NULL DEFAULT 0,
        -- A lease rather than a row lock held across the send: a transaction open for a
        -- whole HTTP exchange would pin a pool connection per destination, block PGlite's
        -- single connection, and (having an xid) hold back pg_snapshot_xmin, stalling
        -- every log reader while a peer hangs. Expired leases are free to take.
        claimed_by text,
        claimed_until_ts bigint
      )`,
    ],
  },
  {
    name: '004-user-profiles',
    statements: [
      // When a remote user's profile was last learnt from their server (query/profiles or a
      // nexus.profile EDU): a profile older than the TTL is asked again when the user is seen.
      `ALTER TABLE users ADD COLUMN profile_ts bigint`,
    ],
  },
  {
    name: '005-backfill-frontier',
    statements: [
      // Per guild joined from another server: the events just before the oldest history
      // held here (prev_events not in the log), where the next backfill starts. A guild
      // with no row has nothing older to fetch. Kept across rebuilds, like the log.
      `CREATE TABLE backfill_frontier (
        room_id text NOT NULL,
        event_id text NOT NULL,
        PRIMARY KEY (room_id, event_id)
      )`,
      // Edits and reactions by the message they apply to: history fetched after them
      // finds them when its messages are projected (eventsTargeting in event-log.ts).
      `CREATE INDEX events_by_target ON events (room_id, ((pdu::jsonb -> 'content' ->> 'target'))) WHERE type IN ('nexus.message.edit', 'nexus.reaction')`,
    ],
  },
  {
    name: '006-gap-history',
    statements: [
      // A frontier row of a gap (history a catch-up could not fetch in the DAG): its history
      // is placed before this time of the log (the oldest placed so far, or the event after
      // the gap). Null: the history before a join, placed before everything.
      `ALTER TABLE backfill_frontier ADD COLUMN before_ts bigint`,
    ],
  },
  {
    name: '007-redactions-by-target',
    statements: [
      // Redactions by the event they redact: a reaction undone before the history that
      // brings its message arrives stays undone (eventsTargeting in event-log.ts).
      `CREATE INDEX events_by_redacts ON events (room_id, ((pdu::jsonb -> 'content' ->> 'redacts'))) WHERE type = 'nexus.redaction'`,
    ],
  },
  {
    name: '008-rejected-prev-events',
    statements: [
      // A rejected event changes no state, so an event citing it stands on the state before
      // it: the state of the rejected event's own prev_events (JSON array; null for rows
      // written before this column, whose children still count them as unknown).
      `ALTER TABLE rejected_events ADD COLUMN prev_events text`,
    ],
  },
  {
    name: '009-event-state-projection',
    statements: [
      // How the append projected the event, for the gateway fan-out, which follows the log:
      // `shown` false: the event itself is not in the views (a soft-failed or redacted
      // message, reaction, edit or redaction; a state event that merged or lost a fork);
      // `resolved`: the room's current state after it came from a state resolution, so its
      // views changed slot by slot rather than by this one event.
      `ALTER TABLE event_state ADD COLUMN shown boolean NOT NULL DEFAULT true`,
      `ALTER TABLE event_state ADD COLUMN resolved boolean NOT NULL DEFAULT false`,
    ],
  },
];

export async function migrate(db: Kysely<any>): Promise<void> {
  // One transaction under an advisory lock: two processes starting on one database at
  // once must not both apply a migration.
  await db.transaction().execute(async (trx) => {
    await sql`SELECT pg_advisory_xact_lock(7415011)`.execute(trx);
    await sql`CREATE TABLE IF NOT EXISTS nexus_migrations (name text PRIMARY KEY, applied_ts bigint NOT NULL)`.execute(trx);
    const done = await sql<{ name: string }>`SELECT name FROM nexus_migrations`.execute(trx);
    const applied = new Set(done.rows.map((r) => r.name));
    for (const migration of MIGRATIONS) {
      if (applied.has(migration.name)) continue;
      for (const statement of migration.statements) await sql.raw(statement).execute(trx);
      await sql`INSERT INTO nexus_migrations (name, applied_ts) VALUES (${migration.name}, ${Date.now()})`.execute(trx);
    }
  });
}

/** The projection tables, in an order safe to truncate and rebuild. */
export const PROJECTION_TABLES = [
  'rooms',
  'room_state',
  'guilds',
  'channels',
  'roles',
  'members',
  'overwrites',
  'messages',
  'reactions',
  'read_states',
  'projection_checkpoints',
] as const;
