// The event format: the shape of every signed event (PDU) and of each event type's
// content. spec/events.md is the normative text; this file is its TypeScript mirror.

/** A signed event as it travels and as it is stored in the log (without its id). */
export interface Pdu {
  room_id: string; // `!opaque:origin`, the guild (or DM) this event belongs to
  type: string;
  state_key?: string; // present exactly on state events
  sender: string; // `@local:server`
  origin: string; // the server that built and signed the event
  origin_server_ts: number;
  depth: number;
  prev_events: string[];
  auth_events: string[];
  content: Record<string, unknown>;
  hashes: { sha256: string };
  signatures: Record<string, Record<string, string>>;
  unsigned?: Record<string, unknown>;
}

/** An event not yet hashed or signed. */
export type UnsignedPdu = Omit<Pdu, 'hashes' | 'signatures'>;

/** A PDU together with its (derived) id; the id is never part of the signed JSON. */
export interface StoredEvent {
  event_id: string;
  pdu: Pdu;
}

export const EventType = {
  Create: 'nexus.guild.create',
  Settings: 'nexus.guild.settings',
  Channel: 'nexus.guild.channel',
  Role: 'nexus.guild.role',
  Member: 'nexus.guild.member',
  Overwrite: 'nexus.guild.overwrite',
  Pin: 'nexus.guild.pin',
  Message: 'nexus.message',
  Edit: 'nexus.message.edit',
  Reaction: 'nexus.reaction',
  Redaction: 'nexus.redaction',
  ReadState: 'nexus.account.read_state',
  ServerAcl: 'nexus.guild.server_acl',
} as const;
export type EventTypeName = (typeof EventType)[keyof typeof EventType];

/** Event types that are state events (they carry a state_key). */
export const STATE_EVENT_TYPES: ReadonlySet<string> = new Set([
  EventType.Create,
  EventType.Settings,
  EventType.Channel,
  EventType.Role,
  EventType.Member,
  EventType.Overwrite,
  EventType.Pin,
  EventType.ReadState,
  EventType.ServerAcl,
]);

/** The state key of the @everyone role; its local snowflake is the guild's snowflake. */
export const EVERYONE_ROLE = 'everyone';

// ---- content of each type -------------------------------------------------------------

/** nexus.guild.create, state_key "". The first event of every guild; its sender owns it. */
export interface CreateContent {
  creator: string; // user id; must equal the sender
  room_version: '1';
  kind: 'guild' | 'dm' | 'account';
  /** kind 'dm' only: its two participants (distinct user ids), the creator first (rule 15). */
  participants?: [string, string];
}

/** The channel key of a DM's one channel (rule 15). */
export const DM_CHANNEL = 'dm';

/** nexus.guild.settings, state_key "". */
export interface SettingsContent {
  name: string;
  description?: string | null;
  icon?: string | null;
  discoverable?: boolean; // listed in the public directory
}

/** Discord's channel types; DM (1) is only the one channel of a DM room (rule 15). */
export const ChannelKind = { Text: 0, DM: 1, Voice: 2, Category: 4 } as const;

/** nexus.guild.channel, state_key = the channel key (minted by its creating server). */
export interface ChannelContent {
  name: string;
  kind: number; // ChannelKind
  topic?: string | null;
  position: number;
  parent?: string | null; // channel key of the category
  nsfw?: boolean;
  deleted?: boolean; // a deleted channel keeps its state entry, marked deleted
}

/** nexus.guild.role, state_key = the role key ("everyone" for @everyone). */
export interface RoleContent {
  name: string;
  permissions: string; // Discord permission bitfield, decimal string
  position: number; // @everyone is 0; higher outranks lower
  color?: number;
  hoist?: boolean;
  mentionable?: boolean;
  deleted?: boolean;
}

export type Membership = 'join' | 'leave' | 'invite' | 'ban';

/** nexus.guild.member, state_key = the member's user id. */
export interface MemberContent {
  membership: Membership;
  roles?: string[]; // role keys (never "everyone": every member has it implicitly)
  nick?: string | null;
  reason?: string;
  /** On a join through an invite code: the member who authorised it; the join must then
   *  also be signed by that member's server (the same idea as Matrix restricted joins). */
  authorised_by?: string;
}

/** nexus.guild.overwrite, state_key = `${channelKey}|${target}`, target a role key or a user id. */
export interface OverwriteContent {
  channel: string;
  target: string;
  kind: 'role' | 'member';
  allow: string;
  deny: string;
  deleted?: boolean;
}

/** nexus.guild.pin, state_key = the pinned message's event id. */
export interface PinContent {
  channel: string;
  pinned: boolean;
}

/** nexus.message: a message in a channel. */
export interface MessageContent {
  channel: string;
  body: string;
  nonce?: string;
  tts?: boolean;
  mentions?: string[]; // user ids
  mention_roles?: string[]; // role keys
  mention_everyone?: boolean;
  reply_to?: string; // event id
}

/** nexus.message.edit: replaces the body of an earlier message by the same sender. */
export interface EditContent {
  channel: string;
  target: string; // event id of the message
  body: string;
  mentions?: string[];
  mention_roles?: string[];
  mention_everyone?: boolean;
}

/** nexus.reaction: one user's reaction; it is removed by redacting it. */
export interface ReactionContent {
  channel: string;
  target: string; // event id of the message
  emoji: string; // unicode emoji, or `name:id` for a custom one
}

/** nexus.redaction: deletes a message (or removes a reaction). */
export interface RedactionContent {
  redacts: string; // event id
  channel?: string;
  reason?: string;
}

/**
 * nexus.guild.server_acl, state_key "": which servers may take part in the guild. A server
 * is allowed when its host (the server name without a port) matches an `allow` pattern and
 * no `deny` pattern; `*` matches any run of characters, `?` one; case-insensitive.
 */
export interface ServerAclContent {
  allow: string[];
  deny: string[];
}

/**
 * nexus.account.read_state, state_key = `${room}|${channel}`, only in an `account` room: a
 * user's private DAG on their own server, which only they write and no other server joins.
 * Read positions are private, so they are never events of the guild itself.
 */
export interface ReadStateContent {
  room: string; // the guild's room id
  channel: string; // channel key
  event: string; // the event id of the last message read
}

export function isStateEvent(pdu: Pick<Pdu, 'state_key'>): boolean {
  return typeof pdu.state_key === 'string';
}

/** The server part of a `@user:server`, `!room:server` id. */
export function serverOf(id: string): string {
  const i = id.indexOf(':');
  return i < 0 ? '' : id.slice(i + 1);
}
