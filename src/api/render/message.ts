import type { MessageRow, ReactionSummary } from '../../store/views/messages.js';
import { isoTime, isoTimeOrNull } from './common.js';
import { localizeMentions } from './mention-text.js';
import { renderUserOf, type ApiUser, type RenderableUser } from './user.js';

/** Discord's message types that Nexus produces. */
export const MessageType = { Default: 0, Reply: 19 } as const;

export interface ApiEmoji {
  id: string | null;
  name: string;
}

/** Discord's reaction object (https://discord.com/developers/docs/resources/message#reaction-object). */
export interface ApiReaction {
  count: number;
  count_details: { burst: number; normal: number };
  me: boolean;
  me_burst: boolean;
  emoji: ApiEmoji;
  burst_colors: string[];
}

export interface ApiMessageReference {
  type: 0;
  channel_id: string;
  guild_id?: string;
  message_id?: string;
}

/** Discord's message object (https://discord.com/developers/docs/resources/message#message-object), plus `nexus_id` (the event id). */
export interface ApiMessage {
  id: string;
  type: number;
  channel_id: string;
  guild_id?: string;
  author: ApiUser;
  content: string;
  timestamp: string;
  edited_timestamp: string | null;
  tts: boolean;
  mention_everyone: boolean;
  mentions: ApiUser[];
  mention_roles: string[];
  attachments: never[];
  embeds: never[];
  components: never[];
  reactions?: ApiReaction[];
  nonce?: string;
  pinned: boolean;
  flags: number;
  message_reference?: ApiMessageReference;
  referenced_message?: ApiMessage | null;
  nexus_id: string;
}

/** A custom emoji is stored as `name:id`; anything else is a unicode emoji. */
export function renderEmoji(emoji: string): ApiEmoji {
  const m = /^(.+):([0-9]{1,20})$/.exec(emoji);
  return m ? { id: m[2], name: m[1] } : { id: null, name: emoji };
}

/** `meId` is the viewer's nexus id: `me` says whether they are among the reactors. */
export function renderReactions(reactions: readonly ReactionSummary[], meId: string | undefined): ApiReaction[] {
  return reactions.map((r) => ({
    count: r.count,
    count_details: { burst: 0, normal: r.count },
    me: meId !== undefined && r.users.includes(meId),
    me_burst: false,
    emoji: renderEmoji(r.emoji),
    burst_colors: [],
  }));
}

export interface MessageRenderOptions {
  /** Set for guild messages; DMs have none. */
  guildId?: string;
  reactions?: readonly ReactionSummary[];
  /** The viewer's nexus id, for reactions' `me`. */
  meId?: string;
  /** Users by nexus id: at least the mentioned ones (and the reply target's author). */
  mentionUsers?: ReadonlyMap<string, RenderableUser>;
  /** role key → snowflake, for mention_roles (unknown keys are dropped) and role mentions in the text. */
  roleIdsByKey?: ReadonlyMap<string, string>;
  /** channel key → snowflake, for channel mentions in the text (needed only when it has some: mentionsChannel). */
  channelIdsByKey?: ReadonlyMap<string, string>;
  /**
   * For a reply (message.reply_to set): the message replied to, or null if it is gone or
   * unknown here. Undefined means "not looked up" and renders the same as null.
   */
  replyTarget?: MessageRow | null;
}

/**
 * A message as Discord shows it. `author` may be missing for a remote user with no `users`
 * row (a placeholder stands in). A reply is type 19 with `message_reference` and
 * `referenced_message` (the target rendered without its own reference, as Discord does).
 */
export function renderMessage(message: MessageRow, author: RenderableUser | undefined, opts: MessageRenderOptions = {}): ApiMessage {
  const users = opts.mentionUsers ?? new Map<string, RenderableUser>();
  const authorMap = author ? new Map([[message.author, author]]) : users;
  const roleIds = opts.roleIdsByKey ?? new Map<string, string>();
  const mentions = Array.isArray(message.mentions) ? message.mentions : [];
  const mentionRoles = Array.isArray(message.mention_roles) ? message.mention_roles : [];
  const out: ApiMessage = {
    id: String(message.id),
    type: message.reply_to ? MessageType.Reply : MessageType.Default,
    channel_id: String(message.channel_id),
    author: renderUserOf(message.author, authorMap),
    // The body's mentions carry global ids; clients read them with our snowflakes.
    content: localizeMentions(message.body, {
      user: (id) => users.get(id)?.id ?? authorMap.get(id)?.id,
      role: (key) => roleIds.get(key),
      channel: (key) => opts.channelIdsByKey?.get(key),
    }),
    timestamp: isoTime(message.created_ts),
    edited_timestamp: isoTimeOrNull(message.edited_ts),
    tts: message.tts,
    mention_everyone: message.mention_everyone,
    mentions: [...new Set(mentions)].map((id) => renderUserOf(id, users)),
    mention_roles: mentionRoles.map((key) => roleIds.get(key)).filter((id): id is string => id !== undefined),
    attachments: [],
    embeds: [],
    components: [],
    pinned: message.pinned,
    flags: 0,
    nexus_id: message.event_id,
  };
  if (opts.guildId !== undefined) out.guild_id = opts.guildId;
  if (opts.reactions && opts.reactions.length > 0) out.reactions = renderReactions(opts.reactions, opts.meId);
  if (message.nonce !== null) out.nonce = message.nonce;
  if (message.reply_to) {
    const target = opts.replyTarget ?? null;
    const ref: ApiMessageReference = { type: 0, channel_id: target ? String(target.channel_id) : out.channel_id };
    if (opts.guildId !== undefined) ref.guild_id = opts.guildId;
    if (target) ref.message_id = String(target.id);
    out.message_reference = ref;
    out.referenced_message = target
      ? renderMessage({ ...target, reply_to: null }, users.get(target.author), { guildId: opts.guildId, mentionUsers: users, roleIdsByKey: roleIds, channelIdsByKey: opts.channelIdsByKey })
      : null;
  }
  return out;
}
