import {
  ChannelType,
  Client,
  Collection,
  DiscordAPIError,
  Events,
  GatewayIntentBits,
  MessageType,
  PermissionFlagsBits,
  type ClientEvents,
  type Guild,
  type Message,
  type TextChannel,
} from 'discord.js';
import { snowflakeTime } from '../../src/snowflake.js';
import { defaultTestDatabase } from '../helpers/databases.js';
import { apiClient, registerUser, startTestHomeserver } from '../helpers/homeserver.js';

// An unmodified discord.js v14 bot against a real homeserver on loopback: discord.js is
// pointed at us only through `rest.api`; everything else (GET /gateway/bot, the gateway
// URL, READY, GUILD_CREATE, REST shapes, errors) must be what it expects from Discord.

const SNOWFLAKE = /^[0-9]{17,19}$/;

/** Resolves with the arguments of the next `event` that satisfies `pred` (rejects after `ms`). */
function next<E extends keyof ClientEvents>(client: Client, event: E, pred: (...args: ClientEvents[E]) => boolean = () => true, ms = 15_000): Promise<ClientEvents[E]> {
  return new Promise((resolve, reject) => {
    const listener = (...args: ClientEvents[E]) => {
      if (!pred(...args)) return;
      clearTimeout(timer);
      client.off(event, listener as never);
      resolve(args);
    };
    const timer = setTimeout(() => {
      client.off(event, listener as never);
      reject(new Error(`discord.js: no ${String(event)} within ${ms} ms`));
    }, ms);
    client.on(event, listener as never);
  });
}

describe('an unmodified discord.js v14 bot', () => {
  let hs: Awaited<ReturnType<typeof startTestHomeserver>>;
  let client: Client;
  let human: Awaited<ReturnType<typeof registerUser>>;
  let bot: { token: string; id: string; api: ReturnType<typeof apiClient> };
  let guildId: string;
  let generalId: string;
  let guild: Guild;
  let general: TextChannel;
  const raw: Array<{ t?: string | null; op: number; d: any }> = [];

  beforeAll(async () => {
    hs = await startTestHomeserver(await defaultTestDatabase());
    const reg = await apiClient(hs.url).post('/auth/register', { username: 'pingbot', password: 'correct horse battery', bot: true });
    expect(reg.status).toBe(201);
    bot = { token: reg.body.token, id: reg.body.user_id, api: apiClient(hs.url, reg.body.token) };
    human = await registerUser(hs.url, 'alice');

    guildId = (await human.api.post('/guilds', { name: 'Bot Lab' })).body.id;
    generalId = (await human.api.get(`/guilds/${guildId}/channels`)).body[0].id;
    const invite = await human.api.post(`/channels/${generalId}/invites`, {});
    expect((await bot.api.post(`/invites/${invite.body.code}`)).status).toBe(200);
    // What Discord's OAuth2 bot invite does with `permissions=`: a role for the bot.
    const perms = PermissionFlagsBits.ManageChannels | PermissionFlagsBits.ManageRoles | PermissionFlagsBits.ManageMessages | PermissionFlagsBits.ManageGuild | PermissionFlagsBits.KickMembers;
    const botRole = await human.api.post(`/guilds/${guildId}/roles`, { name: 'pingbot', permissions: String(perms) });
    expect(botRole.status).toBe(200);
    expect((await human.api.put(`/guilds/${guildId}/members/${bot.id}/roles/${botRole.body.id}`)).status).toBe(204);

    client = new Client({
      intents: [GatewayIntentBits.Guilds, GatewayIntentBits.GuildMessages, GatewayIntentBits.MessageContent, GatewayIntentBits.GuildMembers, GatewayIntentBits.GuildMessageReactions, GatewayIntentBits.GuildMessageTyping, GatewayIntentBits.DirectMessages],
      rest: { api: `${hs.url}/api` },
    });
    client.on(Events.Raw, (packet: any) => raw.push(packet));
    if (process.env.DJS_DEBUG) client.on(Events.Debug, (m) => console.log(m));
  });

  afterAll(async () => {
    await client?.destroy();
    await hs?.cleanup();
  });

  it('GET /gateway/bot has the shape discord.js reads at login', async () => {
    const info = await bot.api.get('/gateway/bot');
    expect(info.status).toBe(200);
    expect(info.body).toEqual({
      url: hs.gatewayUrl,
      shards: 1,
      session_start_limit: { total: expect.any(Number), remaining: expect.any(Number), reset_after: expect.any(Number), max_concurrency: 1 },
    });
  });

  it('logs in: ready fires with the bot user, its application and the guild with channels, roles and members', async () => {
    const ready = next(client, Events.ClientReady);
    await client.login(bot.token);
    await ready;
    expect(client.user!.id).toBe(bot.id);
    expect(client.user!.id).toMatch(SNOWFLAKE);
    expect(client.user!.bot).toBe(true);
    expect(client.user!.username).toBe('pingbot');
    expect(client.application!.id).toBe(bot.id);

    const readyPacket = raw.find((p) => p.t === 'READY')!;
    expect(readyPacket.d.application).toEqual({ id: bot.id, flags: 0 });
    expect(readyPacket.d.session_id).toEqual(expect.any(String));
    expect(readyPacket.d.resume_gateway_url).toBe(hs.gatewayUrl);

    guild = client.guilds.cache.get(guildId)!;
    expect(guild).toBeDefined();
    expect(guild.available).toBe(true);
    expect(guild.name).toBe('Bot Lab');
    expect(guild.ownerId).toBe(human.id);
    expect(guild.memberCount).toBe(2);
    general = guild.channels.cache.get(generalId) as TextChannel;
    expect(general?.type).toBe(ChannelType.GuildText);
    expect(general.name).toBe('general');
    expect(guild.roles.everyone.id).toBe(guildId);
    expect(guild.roles.cache.map((r) => r.name).sort()).toEqual(['@everyone', 'pingbot']);
    expect(guild.members.cache.get(bot.id)?.roles.cache.some((r) => r.name === 'pingbot')).toBe(true);
    expect(guild.members.cache.get(human.id)?.user.username).toBe('alice');
    expect(guild.members.me?.id).toBe(bot.id);
    for (const id of [guild.id, ...guild.channels.cache.keys(), ...guild.roles.cache.keys(), ...guild.members.cache.keys()]) expect(id).toMatch(SNOWFLAKE);
    // Permissions computed by discord.js from our roles and overwrites.
    expect(general.permissionsFor(guild.members.me!).has(PermissionFlagsBits.SendMessages)).toBe(true);
    expect(guild.members.me!.permissions.has(PermissionFlagsBits.ManageChannels)).toBe(true);
  });

  it('sees a human message (messageCreate), replies and reacts', async () => {
    const created = next(client, Events.MessageCreate, (m) => m.content === 'ping');
    const sent = await human.api.post(`/channels/${generalId}/messages`, { content: 'ping' });
    expect(sent.status).toBe(200);
    const [message] = await created;
    expect(message.id).toBe(sent.body.id);
    expect(message.author.id).toBe(human.id);
    expect(message.author.bot).toBe(false);
    expect(message.channelId).toBe(generalId);
    expect(message.channel).toBe(general);
    expect(message.guildId).toBe(guildId);
    expect(message.guild).toBe(guild);
    expect(message.member?.id).toBe(human.id);
    expect(message.type).toBe(MessageType.Default);
    // discord.js takes createdTimestamp from the snowflake: it must match the timestamp field.
    expect(message.createdTimestamp).toBe(snowflakeTime(message.id));
    expect(Math.abs(message.createdTimestamp - Date.parse(sent.body.timestamp))).toBeLessThan(1000);
    expect(message.editedTimestamp).toBeNull();

    const reply = await message.reply('pong');
    expect(reply.type).toBe(MessageType.Reply);
    expect(reply.author.id).toBe(bot.id);
    expect(reply.reference?.messageId).toBe(message.id);
    const reaction = await message.react('👍');
    expect(reaction.emoji.name).toBe('👍');
    expect(reaction.me).toBe(true);

    const history = (await human.api.get(`/channels/${generalId}/messages`)).body as any[];
    const pong = history.find((m) => m.id === reply.id);
    expect(pong).toMatchObject({ type: 19, content: 'pong', author: { id: bot.id, bot: true }, message_reference: { message_id: message.id, channel_id: generalId, guild_id: guildId } });
    expect(pong.referenced_message).toMatchObject({ id: message.id, content: 'ping' });
    const ping = history.find((m) => m.id === message.id);
    expect(ping.reactions).toEqual([expect.objectContaining({ count: 1, me: false, emoji: { id: null, name: '👍' } })]);
  });

  it("sees the human's reactions come and go (messageReactionAdd / messageReactionRemove)", async () => {
    // Listen before acting: the dispatch may arrive before the HTTP response does.
    const created = next(client, Events.MessageCreate, (m) => m.content === 'react to me');
    const sent = (await human.api.post(`/channels/${generalId}/messages`, { content: 'react to me' })).body;
    await created;
    // As in a large guild, whose GUILD_CREATE lists only some members: the reactor is not cached.
    guild.members.cache.delete(human.id);
    client.users.cache.delete(human.id);
    const added = next(client, Events.MessageReactionAdd, (r) => r.message.id === sent.id);
    await human.api.put(`/channels/${generalId}/messages/${sent.id}/reactions/${encodeURIComponent('🎉')}/@me`);
    const [reaction, user] = await added;
    expect(reaction.emoji.name).toBe('🎉');
    expect(reaction.count).toBe(1);
    expect(user.id).toBe(human.id);
    const removed = next(client, Events.MessageReactionRemove, (r) => r.message.id === sent.id);
    await human.api.delete(`/channels/${generalId}/messages/${sent.id}/reactions/${encodeURIComponent('🎉')}/@me`);
    const [, remover] = await removed;
    expect(remover.id).toBe(human.id);
    expect(general.messages.cache.get(sent.id)!.reactions.cache.size).toBe(0);
  });

  it('sees the human typing (typingStart), even when the typist is not cached', async () => {
    guild.members.cache.delete(human.id);
    client.users.cache.delete(human.id);
    const typing = next(client, Events.TypingStart, (t) => t.user.id === human.id);
    expect((await human.api.post(`/channels/${generalId}/typing`)).status).toBe(204);
    const [t] = await typing;
    expect(t.channel.id).toBe(generalId);
    expect(t.guild?.id).toBe(guildId);
    expect(t.member?.user.username).toBe('alice');
  });

  it('sees edits (messageUpdate) and deletes (messageDelete) by the human', async () => {
    const created = next(client, Events.MessageCreate, (m) => m.content === 'first draft');
    const sent = (await human.api.post(`/channels/${generalId}/messages`, { content: 'first draft' })).body;
    await created;

    const updated = next(client, Events.MessageUpdate, (_old, m) => m.id === sent.id);
    await human.api.patch(`/channels/${generalId}/messages/${sent.id}`, { content: 'second draft' });
    const [before, after] = await updated;
    expect(before.content).toBe('first draft');
    expect(after.content).toBe('second draft');
    expect(after.editedTimestamp).not.toBeNull();

    const deleted = next(client, Events.MessageDelete, (m) => m.id === sent.id);
    expect((await human.api.delete(`/channels/${generalId}/messages/${sent.id}`)).status).toBe(204);
    const [gone] = await deleted;
    expect(gone.content).toBe('second draft'); // it was cached, so discord.js hands the whole message
    expect(general.messages.cache.has(sent.id)).toBe(false);
  });

  it('fetches history over REST', async () => {
    const fetched = await general.messages.fetch({ limit: 10 });
    expect(fetched).toBeInstanceOf(Collection);
    const contents = [...fetched.values()].map((m: Message) => m.content);
    expect(contents).toEqual(['react to me', 'pong', 'ping']); // newest first, the deleted one gone
    const pong = fetched.find((m) => m.content === 'pong')!;
    expect(pong.reference?.messageId).toBe(fetched.find((m) => m.content === 'ping')!.id);
    const one = await general.messages.fetch({ message: pong.id, force: true });
    expect(one.content).toBe('pong');
  });

  it('creates a channel and a role, gives a member the role, and fetches all members over op 8', async () => {
    const channelCreate = next(client, Events.ChannelCreate, (c) => 'name' in c && c.name === 'bot-made');
    const made = await guild.channels.create({ name: 'bot-made' });
    expect(made.id).toMatch(SNOWFLAKE);
    expect(made.type).toBe(ChannelType.GuildText);
    await channelCreate;
    expect(guild.channels.cache.get(made.id)?.name).toBe('bot-made');
    expect((await human.api.get(`/guilds/${guildId}/channels`)).body.map((c: any) => c.name)).toContain('bot-made');

    const role = await guild.roles.create({ name: 'helper', permissions: [PermissionFlagsBits.ManageMessages], colors: { primaryColor: 0x3498db } });
    expect(role.id).toMatch(SNOWFLAKE);
    expect(role.permissions.has(PermissionFlagsBits.ManageMessages)).toBe(true);
    expect(role.colors.primaryColor).toBe(0x3498db);
    // A PATCH of one field keeps the others.
    const renamed = await role.edit({ name: 'helpers' });
    expect(renamed).toMatchObject({ name: 'helpers', color: 0x3498db });
    expect(renamed.permissions.has(PermissionFlagsBits.ManageMessages)).toBe(true);

    const alice = await guild.members.fetch(human.id);
    const memberUpdate = next(client, Events.GuildMemberUpdate, (_old, m) => m.id === human.id && m.roles.cache.has(role.id));
    await alice.roles.add(role);
    await memberUpdate;
    expect((await human.api.get(`/guilds/${guildId}/members/${human.id}`)).body.roles).toContain(role.id);

    // Setting the roles a member already has is a no-op, not an error.
    expect((await alice.roles.set(alice.roles.cache)).roles.cache.has(role.id)).toBe(true);

    const members = await guild.members.fetch();
    expect([...members.keys()].sort()).toEqual([bot.id, human.id].sort());
    expect(members.get(human.id)!.roles.cache.has(role.id)).toBe(true);
    expect([...(await guild.members.search({ query: 'ALI' })).keys()]).toEqual([human.id]);
  });

  it('moderates: edits a channel, pins, clears reactions, bulk-deletes, lists invites', async () => {
    const topical = await general.setTopic('bots welcome');
    expect(topical).toMatchObject({ name: 'general', topic: 'bots welcome' });
    expect((await general.edit({ name: 'lobby' })).topic).toBe('bots welcome');
    expect((await human.api.get(`/channels/${generalId}`)).body).toMatchObject({ name: 'lobby', topic: 'bots welcome' });

    const note = await general.send('remember this');
    await note.pin();
    const pins = await general.messages.fetchPins();
    expect(pins.items.map((p) => p.message.id)).toEqual([note.id]);
    expect(pins.hasMore).toBe(false);
    expect(pins.items[0].pinnedTimestamp).toBeGreaterThanOrEqual(note.createdTimestamp);
    await note.unpin();
    expect((await general.messages.fetchPins()).items).toEqual([]);

    await note.react('👍');
    const humanReacted = next(client, Events.MessageReactionAdd, (r, u) => r.message.id === note.id && u.id === human.id && r.emoji.name === '👀');
    await human.api.put(`/channels/${generalId}/messages/${note.id}/reactions/${encodeURIComponent('👀')}/@me`);
    const [eyes] = await humanReacted;
    await eyes.users.remove(human.id); // someone else's reaction: needs MANAGE_MESSAGES
    expect((await human.api.get(`/channels/${generalId}/messages/${note.id}`)).body.reactions.map((r: any) => r.emoji.name)).toEqual(['👍']);
    await note.reactions.removeAll();
    expect((await human.api.get(`/channels/${generalId}/messages/${note.id}`)).body.reactions).toBeUndefined();

    const junk = [await general.send('junk 1'), await general.send('junk 2')];
    const lastGone = next(client, Events.MessageDelete, (m) => m.id === junk[1].id);
    await general.bulkDelete(junk);
    await lastGone;
    const ids = ((await human.api.get(`/channels/${generalId}/messages`)).body as any[]).map((m) => m.id);
    expect(ids).toContain(note.id);
    for (const m of junk) expect(ids).not.toContain(m.id);

    const invites = await guild.invites.fetch();
    expect(invites.size).toBe(1);
    expect(invites.first()!.inviterId).toBe(human.id);
    expect(await guild.emojis.fetch()).toHaveProperty('size', 0);
  });

  it('sees a member join (guildMemberAdd), kicks them (guildMemberRemove)', async () => {
    const carol = await registerUser(hs.url, 'carol');
    const code = (await human.api.post(`/channels/${generalId}/invites`, {})).body.code;
    const joined = next(client, Events.GuildMemberAdd, (m) => m.id === carol.id);
    await carol.api.post(`/invites/${code}`);
    const [member] = await joined;
    expect(member.user.username).toBe('carol');
    expect(guild.memberCount).toBe(3);
    const left = next(client, Events.GuildMemberRemove, (m) => m.id === carol.id);
    await member.kick('testing');
    await left;
    expect(guild.memberCount).toBe(2);
    expect((await carol.api.get(`/guilds/${guildId}`)).status).toBe(404);
  });

  it('resumes when the server asks it to reconnect, and misses nothing', async () => {
    const readies = raw.filter((p) => p.t === 'READY').length;
    const seen: string[] = [];
    const collect = (m: Message) => void seen.push(m.id);
    client.on(Events.MessageCreate, collect);
    const resumed = next(client, Events.ShardResume);
    hs.gateway.reconnectAll('test'); // op 7, then close 4000: discord.js resumes on resume_gateway_url
    const during = (await human.api.post(`/channels/${generalId}/messages`, { content: 'while you were away' })).body.id;
    await resumed;
    const back = next(client, Events.MessageCreate, (m) => m.content === 'welcome back');
    const after = (await human.api.post(`/channels/${generalId}/messages`, { content: 'welcome back' })).body.id;
    await back;
    client.off(Events.MessageCreate, collect);
    expect(seen.filter((id) => id === during)).toHaveLength(1);
    expect(seen).toContain(after);
    expect(raw.filter((p) => p.t === 'READY')).toHaveLength(readies); // resumed, not re-identified
    expect(raw.some((p) => p.t === 'RESUMED')).toBe(true);
  });

  it('gets a DM (messageCreate in a DMChannel, without partials) and answers it with user.send', async () => {
    const opened = await human.api.post('/users/@me/channels', { recipient_id: bot.id });
    expect(opened.status).toBe(200);
    const got = next(client, Events.MessageCreate, (m) => m.content === 'psst, bot');
    expect((await human.api.post(`/channels/${opened.body.id}/messages`, { content: 'psst, bot' })).status).toBe(200);
    const [message] = await got;
    expect(message.channel.type).toBe(ChannelType.DM);
    expect(message.guildId).toBeNull();
    expect(message.author.username).toBe('alice');
    const reply = await message.author.send('pong, privately');
    expect(reply.channelId).toBe(opened.body.id);
    const history = (await human.api.get(`/channels/${opened.body.id}/messages`)).body.map((m: { content: string }) => m.content);
    expect(history).toEqual(['pong, privately', 'psst, bot']);
  });

  it('gets a DiscordAPIError 50013 when an overwrite denies it SEND_MESSAGES', async () => {
    const created = next(client, Events.ChannelCreate, (c) => 'name' in c && c.name === 'quiet');
    const quiet = (await human.api.post(`/guilds/${guildId}/channels`, { name: 'quiet' })).body.id as string;
    await created;
    const updated = next(client, Events.ChannelUpdate, (_old, c) => c.id === quiet);
    expect((await human.api.put(`/channels/${quiet}/permissions/${guildId}`, { type: 0, deny: String(PermissionFlagsBits.SendMessages) })).status).toBe(204);
    await updated;
    const channel = (await client.channels.fetch(quiet)) as TextChannel;
    expect(channel.permissionOverwrites.cache.get(guildId)?.deny.has(PermissionFlagsBits.SendMessages)).toBe(true);
    expect(channel.permissionsFor(guild.members.me!).has(PermissionFlagsBits.SendMessages)).toBe(false);
    const err = await channel.send('let me in').then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(DiscordAPIError);
    expect(err).toMatchObject({ code: 50013, status: 403, message: 'Missing Permissions', method: 'POST' });
  });

  it('gets DiscordAPIErrors with Discord codes for bad input and unknown things', async () => {
    const tooLong = await general.send('x'.repeat(2001)).then(() => undefined, (e: unknown) => e);
    expect(tooLong).toBeInstanceOf(DiscordAPIError);
    expect(tooLong).toMatchObject({ code: 50035, status: 400, rawError: { errors: { content: { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH' }] } } } });
    const unknown = await general.messages.fetch({ message: '123456789012345678', force: true }).then(() => undefined, (e: unknown) => e);
    expect(unknown).toMatchObject({ code: 10008, status: 404, message: 'Unknown Message' });
    const gone = await client.channels.fetch('123456789012345678').then(() => undefined, (e: unknown) => e);
    expect(gone).toMatchObject({ code: 10003, status: 404 });
  });
});
