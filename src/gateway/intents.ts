// Gateway intents (Discord API v10, "Gateway Intents") and which intent each dispatch
// needs, so the producer of dispatches can set `Dispatch.intent` from one table.

export const Intent = {
  GUILDS: 1 << 0,
  GUILD_MEMBERS: 1 << 1, // privileged
  GUILD_MODERATION: 1 << 2,
  GUILD_EXPRESSIONS: 1 << 3, // formerly GUILD_EMOJIS_AND_STICKERS
  GUILD_INTEGRATIONS: 1 << 4,
  GUILD_WEBHOOKS: 1 << 5,
  GUILD_INVITES: 1 << 6,
  GUILD_VOICE_STATES: 1 << 7,
  GUILD_PRESENCES: 1 << 8, // privileged
  GUILD_MESSAGES: 1 << 9,
  GUILD_MESSAGE_REACTIONS: 1 << 10,
  GUILD_MESSAGE_TYPING: 1 << 11,
  DIRECT_MESSAGES: 1 << 12,
  DIRECT_MESSAGE_REACTIONS: 1 << 13,
  DIRECT_MESSAGE_TYPING: 1 << 14,
  MESSAGE_CONTENT: 1 << 15, // privileged
  GUILD_SCHEDULED_EVENTS: 1 << 16,
  AUTO_MODERATION_CONFIGURATION: 1 << 20,
  AUTO_MODERATION_EXECUTION: 1 << 21,
  GUILD_MESSAGE_POLLS: 1 << 24,
  DIRECT_MESSAGE_POLLS: 1 << 25,
} as const;

/** Every defined intent; a bit outside this mask closes the connection with 4013. */
export const ALL_INTENTS: number = Object.values(Intent).reduce((a, b) => a | b, 0);

/** Intents Discord gates behind an application setting (4014 when not allowed). */
export const PRIVILEGED_INTENTS: number = Intent.GUILD_MEMBERS | Intent.GUILD_PRESENCES | Intent.MESSAGE_CONTENT;

export function isValidIntents(intents: unknown): intents is number {
  return (
    typeof intents === 'number' && Number.isSafeInteger(intents) && intents >= 0 && (intents & ~ALL_INTENTS) === 0
  );
}

const I = Intent;
const reactions = ['MESSAGE_REACTION_ADD', 'MESSAGE_REACTION_REMOVE', 'MESSAGE_REACTION_REMOVE_ALL', 'MESSAGE_REACTION_REMOVE_EMOJI'];
const messages = ['MESSAGE_CREATE', 'MESSAGE_UPDATE', 'MESSAGE_DELETE', 'MESSAGE_DELETE_BULK'];
const polls = ['MESSAGE_POLL_VOTE_ADD', 'MESSAGE_POLL_VOTE_REMOVE'];

function table(entries: [number, string[]][]): Readonly<Record<string, number>> {
  const out: Record<string, number> = {};
  for (const [intent, events] of entries) for (const e of events) out[e] = intent;
  return Object.freeze(out);
}

/** Intent needed by a dispatch about a guild. Events not listed need none (intent 0). */
export const GUILD_EVENT_INTENTS = table([
  [I.GUILDS, [
    'GUILD_CREATE', 'GUILD_UPDATE', 'GUILD_DELETE', 'GUILD_ROLE_CREATE', 'GUILD_ROLE_UPDATE', 'GUILD_ROLE_DELETE',
    'CHANNEL_CREATE', 'CHANNEL_UPDATE', 'CHANNEL_DELETE', 'CHANNEL_PINS_UPDATE', 'THREAD_CREATE', 'THREAD_UPDATE',
    'THREAD_DELETE', 'THREAD_LIST_SYNC', 'THREAD_MEMBER_UPDATE', 'THREAD_MEMBERS_UPDATE', 'STAGE_INSTANCE_CREATE',
    'STAGE_INSTANCE_UPDATE', 'STAGE_INSTANCE_DELETE',
  ]],
  [I.GUILD_MEMBERS, ['GUILD_MEMBER_ADD', 'GUILD_MEMBER_UPDATE', 'GUILD_MEMBER_REMOVE']],
  [I.GUILD_MODERATION, ['GUILD_AUDIT_LOG_ENTRY_CREATE', 'GUILD_BAN_ADD', 'GUILD_BAN_REMOVE']],
  [I.GUILD_EXPRESSIONS, [
    'GUILD_EMOJIS_UPDATE', 'GUILD_STICKERS_UPDATE', 'GUILD_SOUNDBOARD_SOUND_CREATE', 'GUILD_SOUNDBOARD_SOUND_UPDATE',
    'GUILD_SOUNDBOARD_SOUND_DELETE', 'GUILD_SOUNDBOARD_SOUNDS_UPDATE',
  ]],
  [I.GUILD_INTEGRATIONS, ['GUILD_INTEGRATIONS_UPDATE', 'INTEGRATION_CREATE', 'INTEGRATION_UPDATE', 'INTEGRATION_DELETE']],
  [I.GUILD_WEBHOOKS, ['WEBHOOKS_UPDATE']],
  [I.GUILD_INVITES, ['INVITE_CREATE', 'INVITE_DELETE']],
  [I.GUILD_VOICE_STATES, ['VOICE_STATE_UPDATE', 'VOICE_CHANNEL_EFFECT_SEND']],
  [I.GUILD_PRESENCES, ['PRESENCE_UPDATE']],
  [I.GUILD_MESSAGES, messages],
  [I.GUILD_MESSAGE_REACTIONS, reactions],
  [I.GUILD_MESSAGE_TYPING, ['TYPING_START']],
  [I.GUILD_SCHEDULED_EVENTS, [
    'GUILD_SCHEDULED_EVENT_CREATE', 'GUILD_SCHEDULED_EVENT_UPDATE', 'GUILD_SCHEDULED_EVENT_DELETE',
    'GUILD_SCHEDULED_EVENT_USER_ADD', 'GUILD_SCHEDULED_EVENT_USER_REMOVE',
  ]],
  [I.AUTO_MODERATION_CONFIGURATION, ['AUTO_MODERATION_RULE_CREATE', 'AUTO_MODERATION_RULE_UPDATE', 'AUTO_MODERATION_RULE_DELETE']],
  [I.AUTO_MODERATION_EXECUTION, ['AUTO_MODERATION_ACTION_EXECUTION']],
  [I.GUILD_MESSAGE_POLLS, polls],
]);

/** Intent needed by a dispatch about a DM / group DM channel. */
export const DIRECT_EVENT_INTENTS = table([
  [I.DIRECT_MESSAGES, [...messages, 'CHANNEL_PINS_UPDATE']],
  [I.DIRECT_MESSAGE_REACTIONS, reactions],
  [I.DIRECT_MESSAGE_TYPING, ['TYPING_START']],
  [I.DIRECT_MESSAGE_POLLS, polls],
]);

/** The intent bit a session needs to receive event `t`; 0 = always delivered (READY, USER_UPDATE, INTERACTION_CREATE, ...). */
export function intentForEvent(t: string, inGuild: boolean): number {
  return (inGuild ? GUILD_EVENT_INTENTS[t] : DIRECT_EVENT_INTENTS[t]) ?? 0;
}
