import { createHash, randomBytes } from 'node:crypto';
import {
  ChannelKind,
  EVERYONE_ROLE,
  EventType,
  type ChannelContent,
  type MemberContent,
  type RoleContent,
  type SettingsContent,
} from '../events/event-types.js';
import { DEFAULT_EVERYONE_PERMISSIONS, formatPermissions } from '../events/permissions.js';
import { getChannel, getMember, getRole, getStateEvent, joinedMembers, overwriteKey, type StateMap } from '../events/state-map.js';
import type { LoggedEvent } from '../store/event-log.js';
import type { EventDraft, RoomWriter } from './room-writer.js';

/** A fresh opaque key for a channel or role (the state key every server shares). */
export function newObjectKey(): string {
  return randomBytes(9).toString('base64url');
}

/** The id of a user's account room: their private DAG (read states), on their own server. */
export function accountRoomId(user: string, serverName: string): string {
  return `!acct_${createHash('sha256').update(user).digest('base64url').slice(0, 22)}:${serverName}`;
}

export class NotFoundInState extends Error {
  constructor(readonly what: 'channel' | 'role' | 'member' | 'message') {
    super(`unknown ${what}`);
  }
}

/**
 * Guild commands: each turns a request into event drafts against the room's current state
 * and appends them through the room writer (which authorizes, signs and commits). The
 * auth rules decide who may do what; these functions only say what is meant.
 */
export function createGuildService(deps: { writer: RoomWriter; serverName: string }) {
  const { writer } = deps;
  const one = async (roomId: string, drafter: (s: StateMap) => EventDraft | EventDraft[]) => (await writer.submit(roomId, drafter))[0];

  return {
    async createGuild(owner: string, input: { name: string; kind?: 'guild' }): Promise<{ roomId: string; events: LoggedEvent[] }> {
      const roomId = `!${randomBytes(12).toString('base64url')}:${deps.serverName}`;
      const events = await writer.submit(roomId, () => [
        { type: EventType.Create, state_key: '', sender: owner, content: { creator: owner, room_version: '1', kind: input.kind ?? 'guild' } },
        { type: EventType.Member, state_key: owner, sender: owner, content: { membership: 'join', roles: [] } },
        { type: EventType.Role, state_key: EVERYONE_ROLE, sender: owner, content: { name: '@everyone', permissions: formatPermissions(DEFAULT_EVERYONE_PERMISSIONS), position: 0 } },
        { type: EventType.Settings, state_key: '', sender: owner, content: { name: input.name } },
        { type: EventType.Channel, state_key: newObjectKey(), sender: owner, content: { name: 'general', kind: ChannelKind.Text, position: 0 } },
      ]);
      return { roomId, events };
    },

    updateSettings(roomId: string, sender: string, patch: Partial<SettingsContent>) {
      return one(roomId, (state) => {
        const current = (getStateEvent(state, EventType.Settings, '')?.pdu.content ?? {}) as unknown as SettingsContent;
        return { type: EventType.Settings, state_key: '', sender, content: dropUndefined({ ...current, ...dropUndefined(patch) }) };
      });
    },

    setServerAcl(roomId: string, sender: string, acl: { allow: string[]; deny: string[] }) {
      return one(roomId, () => ({ type: EventType.ServerAcl, state_key: '', sender, content: { allow: acl.allow, deny: acl.deny } }));
    },

    createChannel(roomId: string, sender: string, content: ChannelContent) {
      return one(roomId, () => ({ type: EventType.Channel, state_key: newObjectKey(), sender, content: dropUndefined({ ...content }) }));
    },

    updateChannel(roomId: string, sender: string, channelKey: string, patch: Partial<ChannelContent>) {
      return one(roomId, (state) => {
        const current = getChannel(state, channelKey);
        if (!current) throw new NotFoundInState('channel');
        return { type: EventType.Channel, state_key: channelKey, sender, content: dropUndefined({ ...current, ...dropUndefined(patch) }) };
      });
    },

    deleteChannel(roomId: string, sender: string, channelKey: string) {
      return this.updateChannel(roomId, sender, channelKey, { deleted: true });
    },

    createRole(roomId: string, sender: string, content: Omit<RoleContent, 'position'> & { position?: number }) {
      return one(roomId, () => {
        // A new role goes just above @everyone, as on Discord; others shift up.
        const position = content.position ?? 1;
        return { type: EventType.Role, state_key: newObjectKey(), sender, content: dropUndefined({ ...content, position: Math.max(1, position) }) };
      });
    },

    updateRole(roomId: string, sender: string, roleKey: string, patch: Partial<RoleContent>) {
      return one(roomId, (state) => {
        const current = getRole(state, roleKey);
        if (!current) throw new NotFoundInState('role');
        return { type: EventType.Role, state_key: roleKey, sender, content: dropUndefined({ ...current, ...dropUndefined(patch) }) };
      });
    },

    deleteRole(roomId: string, sender: string, roleKey: string) {
      return writer.submit(roomId, (state) => {
        const current = getRole(state, roleKey);
        if (!current) throw new NotFoundInState('role');
        // Members lose the role first (while the sender may still manage it), then it goes.
        const holders = listMembersWithRole(state, roleKey);
        const drafts: EventDraft[] = holders.map(([user, member]) => memberDraft(sender, user, memberUpdate(member, { roles: (member.roles ?? []).filter((r) => r !== roleKey) })));
        drafts.push({ type: EventType.Role, state_key: roleKey, sender, content: { ...current, deleted: true } as unknown as Record<string, unknown> });
        return drafts;
      });
    },

    setMemberRoles(roomId: string, sender: string, user: string, change: (roles: string[]) => string[]) {
      return one(roomId, (state) => {
        const member = getMember(state, user);
        if (!member || member.membership !== 'join') throw new NotFoundInState('member');
        return memberDraft(sender, user, memberUpdate(member, { roles: [...new Set(change(member.roles ?? []))] }));
      });
    },

    setNick(roomId: string, sender: string, user: string, nick: string | null) {
      return one(roomId, (state) => {
        const member = getMember(state, user);
        if (!member || member.membership !== 'join') throw new NotFoundInState('member');
        return memberDraft(sender, user, memberUpdate(member, { nick }));
      });
    },

    /** Deletes a guild the way a log can: everyone is removed, the owner last. */
    dissolve(roomId: string, owner: string) {
      return writer.submit(roomId, (state) => {
        const others = joinedMembers(state).filter((u) => u !== owner);
        return [...others.map((u) => memberDraft(owner, u, { membership: 'leave', reason: 'guild deleted' })), memberDraft(owner, owner, { membership: 'leave' })];
      });
    },

    join(roomId: string, user: string, authorisedBy?: string) {
      return one(roomId, () => memberDraft(user, user, { membership: 'join', roles: [], ...(authorisedBy ? { authorised_by: authorisedBy } : {}) }));
    },

    leave(roomId: string, user: string) {
      return one(roomId, () => memberDraft(user, user, { membership: 'leave' }));
    },

    kick(roomId: string, sender: string, user: string, reason?: string) {
      return one(roomId, (state) => {
        if (getMember(state, user)?.membership !== 'join') throw new NotFoundInState('member');
        return memberDraft(sender, user, { membership: 'leave', ...(reason ? { reason } : {}) });
      });
    },

    ban(roomId: string, sender: string, user: string, reason?: string) {
      return one(roomId, () => memberDraft(sender, user, { membership: 'ban', ...(reason ? { reason } : {}) }));
    },

    unban(roomId: string, sender: string, user: string) {
      return one(roomId, (state) => {
        if (getMember(state, user)?.membership !== 'ban') throw new NotFoundInState('member');
        return memberDraft(sender, user, { membership: 'leave' });
      });
    },

    setOverwrite(roomId: string, sender: string, channelKey: string, target: string, kind: 'role' | 'member', allow: bigint, deny: bigint) {
      return one(roomId, (state) => {
        if (!getChannel(state, channelKey)) throw new NotFoundInState('channel');
        if (kind === 'role' && !getRole(state, target)) throw new NotFoundInState('role');
        return { type: EventType.Overwrite, state_key: overwriteKey(channelKey, target), sender, content: { channel: channelKey, target, kind, allow: allow.toString(), deny: deny.toString() } };
      });
    },

    deleteOverwrite(roomId: string, sender: string, channelKey: string, target: string, kind: 'role' | 'member') {
      return one(roomId, () => ({ type: EventType.Overwrite, state_key: overwriteKey(channelKey, target), sender, content: { channel: channelKey, target, kind, allow: '0', deny: '0', deleted: true } }));
    },

    sendMessage(roomId: string, sender: string, content: Record<string, unknown>) {
      return one(roomId, () => ({ type: EventType.Message, sender, content }));
    },

    editMessage(roomId: string, sender: string, content: Record<string, unknown>) {
      return one(roomId, () => ({ type: EventType.Edit, sender, content }));
    },

    redact(roomId: string, sender: string, target: string, channel?: string, reason?: string) {
      return one(roomId, () => ({ type: EventType.Redaction, sender, content: dropUndefined({ redacts: target, channel, reason }) }));
    },

    react(roomId: string, sender: string, channel: string, target: string, emoji: string) {
      return one(roomId, () => ({ type: EventType.Reaction, sender, content: { channel, target, emoji } }));
    },

    /** Records that `user` has read `channel` of guild `roomId` up to message `event`. */
    markRead(user: string, roomId: string, channel: string, event: string) {
      const account = accountRoomId(user, deps.serverName);
      const read: EventDraft = { type: EventType.ReadState, state_key: `${roomId}|${channel}`, sender: user, content: { room: roomId, channel, event } };
      return writer.submit(account, (state) => (getStateEvent(state, EventType.Create, '') ? [read] : [
        { type: EventType.Create, state_key: '', sender: user, content: { creator: user, room_version: '1', kind: 'account' } },
        { type: EventType.Member, state_key: user, sender: user, content: { membership: 'join' } },
        read,
      ]));
    },

    setPinned(roomId: string, sender: string, channel: string, target: string, pinned: boolean) {
      return one(roomId, () => ({ type: EventType.Pin, state_key: target, sender, content: { channel, pinned } }));
    },
  };
}

export type GuildService = ReturnType<typeof createGuildService>;

/**
 * A join → join update keeps the member's profile but not `authorised_by`: that vouched for
 * the join only, and kept it would demand the inviter's server's signature on every later
 * change (Synapse drops `join_authorised_via_users_server` the same way).
 */
function memberUpdate(member: MemberContent, patch: Partial<MemberContent>): MemberContent {
  const { authorised_by: _vouched, ...profile } = member;
  return { ...profile, ...patch };
}

function memberDraft(sender: string, user: string, content: MemberContent): EventDraft {
  return { type: EventType.Member, state_key: user, sender, content: dropUndefined({ ...content }) };
}

function listMembersWithRole(state: StateMap, roleKey: string): Array<[string, MemberContent]> {
  const out: Array<[string, MemberContent]> = [];
  for (const ev of state.values()) {
    if (ev.pdu.type !== EventType.Member) continue;
    const m = ev.pdu.content as unknown as MemberContent;
    if (m.membership === 'join' && m.roles?.includes(roleKey)) out.push([ev.pdu.state_key!, m]);
  }
  return out;
}

function dropUndefined<T extends object>(o: T): Record<string, unknown> {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
}

