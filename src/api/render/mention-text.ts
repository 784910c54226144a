// Mentions in message text (spec/events.md, "Mentions in a body"). Clients write Discord's
// forms with this server's snowflakes: <@id> or <@!id> for a user, <@&id> for a role, <#id>
// for a channel. Snowflakes are local to each server, so an event's body carries global
// ids instead: <@@alice:a.example>, <@&roleKey>, <#channelKey>; each server shows them with
// its own snowflakes. Pure text rewriting: the lookups are the caller's.

/** Discord's forms, as a client writes them. */
const LOCAL_FORM = /<@(!?|&)([0-9]{1,20})>|<#([0-9]{1,20})>/g;
/** The global forms, as a body carries them (a key or user id has no space or angle bracket). */
const GLOBAL_FORM = /<@(@[^\s<>]{1,255})>|<@&([^\s<>|@][^\s<>|]{0,63})>|<#([^\s<>|@][^\s<>|]{0,63})>/g;

export interface GlobalMentionLookups {
  /** user snowflake → user id (@local:server) */
  user(snowflake: string): string | undefined;
  /** role snowflake → role key, for this guild's roles */
  role(snowflake: string): string | undefined;
  /** channel snowflake → channel key, for this guild's channels */
  channel(snowflake: string): string | undefined;
}

export interface LocalMentionLookups {
  /** user id → this server's snowflake for them */
  user(userId: string): string | undefined;
  role(roleKey: string): string | undefined;
  channel(channelKey: string): string | undefined;
}

/** The snowflakes a client's text mentions, by kind, so the caller can look them up at once. */
export function mentionedSnowflakes(text: string): { users: string[]; roles: string[]; channels: string[] } {
  const users = new Set<string>();
  const roles = new Set<string>();
  const channels = new Set<string>();
  for (const m of text.matchAll(LOCAL_FORM)) {
    if (m[3] !== undefined) channels.add(m[3]);
    else (m[1] === '&' ? roles : users).add(m[2]);
  }
  return { users: [...users], roles: [...roles], channels: [...channels] };
}

/** A client's text as an event's body: every mention this server knows, in its global form (the rest as written). */
export function globalizeMentions(text: string, lookups: GlobalMentionLookups): string {
  if (!text.includes('<')) return text;
  return text.replace(LOCAL_FORM, (whole, kind: string | undefined, id: string | undefined, channel: string | undefined) => {
    if (channel !== undefined) {
      const key = lookups.channel(channel);
      return key === undefined ? whole : `<#${key}>`;
    }
    const global = kind === '&' ? lookups.role(id!) : lookups.user(id!);
    if (global === undefined) return whole;
    return kind === '&' ? `<@&${global}>` : `<@${global}>`;
  });
}

/**
 * An event's body as this server's clients read it: global mentions with this server's
 * snowflakes. A user this server has no snowflake for is shown by their id, as text; an
 * unknown role or channel key is left as it is.
 */
export function localizeMentions(body: string, lookups: LocalMentionLookups): string {
  if (!body.includes('<')) return body;
  return body.replace(GLOBAL_FORM, (whole, user: string | undefined, role: string | undefined, channel: string | undefined) => {
    if (user !== undefined) {
      const id = lookups.user(user);
      return id === undefined ? user : `<@${id}>`;
    }
    if (role !== undefined) {
      const id = lookups.role(role);
      return id === undefined ? whole : `<@&${id}>`;
    }
    const id = lookups.channel(channel!);
    return id === undefined ? whole : `<#${id}>`;
  });
}

/** Whether a body mentions a channel (its renderer then needs the guild's channel ids). */
export const mentionsChannel = (body: string): boolean => /<#[^\s<>|@][^\s<>|]{0,63}>/.test(body);
