import type { Router } from 'express';
import { isJoined, membershipOf } from '../../events/state-map.js';
import { getChannelByKey } from '../../store/views/channels.js';
import { getGuildByRoomId } from '../../store/views/guilds.js';
import { countMembers } from '../../store/views/members.js';
import { INVITE_CODE, deleteInvite, getInvite, incrementInviteUses, isInviteUsable, releaseInviteUse, listGuildInvites, type InviteRow } from '../../store/views/invites.js';
import { getUserByNexusId } from '../../store/views/users.js';
import { channelAccess, guildAccess, requirePermission } from '../access.js';
import { me, param, type ApiContext } from '../context.js';
import { apiError, ApiError } from '../errors.js';
import { FederationRequestError } from '../../federation/errors.js';
import { RemoteJoinError } from '../../federation/joins/remote-join.js';
import { renderInvite, renderRemoteInvitePreview } from '../render/invite.js';
import { isoTime } from '../render/common.js';
import { Permission } from '../../events/permissions.js';
import { apiRouter } from './router.js';

/** GET /invites/{code} needs no login (a link preview); accepting one does. */
export function publicInviteRoutes(ctx: ApiContext): Router {
  const r = apiRouter();
  r.get('/invites/:code', async (req, res) => {
    const withCounts = req.query.with_counts === 'true';
    const remote = parseRemoteCode(param(req, 'code'), ctx.config.serverName);
    if (remote) return void res.json(await previewRemote(ctx, remote.code, remote.server, withCounts));
    const found = await usableInvite(ctx, localCode(param(req, 'code'), ctx.config.serverName));
    res.json(await presentInvite(ctx, found, withCounts));
  });
  return r;
}

export function inviteRoutes(ctx: ApiContext): Router {
  const r = apiRouter();

  r.post('/invites/:code', async (req, res) => {
    const user = me(res);
    const remote = parseRemoteCode(param(req, 'code'), ctx.config.serverName);
    if (remote) return void res.json(await joinRemote(ctx, remote.code, remote.server, user.nexus_id));
    const invite = await usableInvite(ctx, localCode(param(req, 'code'), ctx.config.serverName));
    const state = await ctx.writer.stateOf(invite.room_id);
    if (membershipOf(state, user.nexus_id) === 'ban') throw apiError('bannedFromGuild');
    if (!isJoined(state, user.nexus_id)) {
      // Count the use first (atomically, within max_uses), then join, authorised by the inviter.
      if (!(await incrementInviteUses(ctx.db, invite.code, ctx.clock.now()))) throw apiError('unknownInvite');
      try {
        await ctx.guilds.join(invite.room_id, user.nexus_id, invite.inviter);
      } catch (err) {
        await releaseInviteUse(ctx.db, invite.code); // a refused join uses nothing up
        throw err;
      }
    }
    res.json(await presentInvite(ctx, (await getInvite(ctx.db, invite.code))!, false));
  });

  r.get('/guilds/:guildId/invites', async (req, res) => {
    const access = await guildAccess(ctx, me(res), param(req, 'guildId'));
    requirePermission(access.perms, Permission.MANAGE_GUILD);
    const invites = (await listGuildInvites(ctx.db, access.guild.room_id)).filter((i) => isInviteUsable(i, ctx.clock.now()));
    const out = [];
    for (const invite of invites) out.push(await presentInvite(ctx, invite, false));
    res.json(out);
  });

  r.delete('/invites/:code', async (req, res) => {
    const user = me(res);
    const invite = await getInvite(ctx.db, param(req, 'code'));
    if (!invite) throw apiError('unknownInvite');
    const channel = await getChannelByKey(ctx.db, invite.room_id, invite.channel_key, { includeDeleted: true });
    if (!channel) throw apiError('unknownInvite');
    if (invite.inviter !== user.nexus_id) requirePermission((await channelAccess(ctx, user, channel.id)).perms, Permission.MANAGE_CHANNELS);
    const deleted = (await deleteInvite(ctx.db, invite.code))!;
    res.json(await presentInvite(ctx, deleted, false));
  });

  return r;
}

/** `CODE@server` names an invite on another server (`CODE@us` is one of ours). */
export function parseRemoteCode(raw: string, ourServer: string): { code: string; server: string } | undefined {
  const m = /^([A-Za-z0-9]{1,32})@([A-Za-z0-9.-]+(?::[0-9]{1,5})?)$/.exec(raw);
  if (!m || m[2] === ourServer) return undefined;
  return { code: m[1], server: m[2] };
}

function localCode(raw: string, ourServer: string): string {
  return raw.endsWith(`@${ourServer}`) ? raw.slice(0, -(ourServer.length + 1)) : raw;
}

const FEDERATION_OFF = () => new ApiError(404, 10006, 'Unknown Invite (federation is off on this server)');

/** Another server's failure as a client error: "no response" and "a response said no" are told apart. */
async function askRemote<T>(server: string, what: string, call: () => Promise<T>): Promise<T> {
  try {
    return await call();
  } catch (err) {
    if (err instanceof FederationRequestError) {
      if (err.kind === 'rejected') throw new ApiError(err.status === 404 ? 404 : 403, err.status === 404 ? 10006 : 50001, `${server} refused ${what}: ${err.message}`);
      throw new ApiError(502, 0, `${server} could not be reached (${err.kind})`);
    }
    if (err instanceof RemoteJoinError) throw new ApiError(502, 0, `${server} answered ${what} with something this server cannot trust: ${err.message}`);
    throw err;
  }
}

/**
 * The preview of `CODE@server`, from what that server says of the code: with this server's
 * ids when the guild is already held here (another of our users joined it), else without.
 */
async function previewRemote(ctx: ApiContext, code: string, server: string, withCounts: boolean) {
  const ask = ctx.remoteInvite;
  if (!ask) throw FEDERATION_OFF();
  const remote = await askRemote(server, 'the invite', () => ask(code, server));
  const full = `${code}@${server}`;
  const guild = await getGuildByRoomId(ctx.db, remote.roomId);
  const channel = guild && (await getChannelByKey(ctx.db, remote.roomId, remote.channelKey));
  if (!guild || !channel) return renderRemoteInvitePreview(full, remote, withCounts);
  const row = remoteInviteRow(full, remote.roomId, remote.channelKey, ctx.clock.now());
  return { ...renderInvite(row, guild, channel, undefined, withCounts && remote.memberCount !== undefined ? { approximateMemberCount: remote.memberCount } : {}), expires_at: remote.expiresTs === null ? null : isoTime(remote.expiresTs) };
}

/** Joins through another server; answers like a local join, from the views the join built. */
async function joinRemote(ctx: ApiContext, code: string, server: string, userId: string) {
  const join = ctx.joinRemote;
  if (!join) throw FEDERATION_OFF();
  const joined = await askRemote(server, 'the join', () => join(code, server, userId));
  const guild = await getGuildByRoomId(ctx.db, joined.roomId);
  const channel = await getChannelByKey(ctx.db, joined.roomId, joined.channelKey, { includeDeleted: true });
  if (!guild || !channel) throw apiError('unknownInvite');
  return renderInvite(remoteInviteRow(`${code}@${server}`, joined.roomId, joined.channelKey, ctx.clock.now()), guild, channel, undefined, {});
}

/** Another server's invite as a row to render: its uses and limits are that server's, not known here. */
function remoteInviteRow(code: string, roomId: string, channelKey: string, now: number): InviteRow {
  return { code, room_id: roomId, channel_key: channelKey, inviter: '', max_age: 0, max_uses: 0, uses: 0, temporary: false, created_ts: now };
}

async function usableInvite(ctx: ApiContext, code: string): Promise<InviteRow> {
  const invite = INVITE_CODE.test(code) ? await getInvite(ctx.db, code) : undefined;
  if (!invite || !isInviteUsable(invite, ctx.clock.now())) throw apiError('unknownInvite');
  return invite;
}

async function presentInvite(ctx: ApiContext, invite: InviteRow, withCounts: boolean) {
  const guild = await getGuildByRoomId(ctx.db, invite.room_id);
  const channel = await getChannelByKey(ctx.db, invite.room_id, invite.channel_key, { includeDeleted: true });
  if (!guild || !channel) throw apiError('unknownInvite');
  const inviter = await getUserByNexusId(ctx.db, invite.inviter);
  const count = withCounts ? await countMembers(ctx.db, invite.room_id) : undefined;
  return renderInvite(invite, guild, channel, inviter, { approximateMemberCount: count });
}
