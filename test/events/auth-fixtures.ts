// A tiny builder of guild state for the pure auth/permission tests: StoredEvents built by
// hand with fake ids and placeholder hashes/signatures (the rules don't verify crypto).

import { ChannelKind, EventType, EVERYONE_ROLE, serverOf, type Pdu, type StoredEvent } from '../../src/events/event-types.js';
import { authorizeEvent } from '../../src/events/auth-rules.js';
import { DEFAULT_EVERYONE_PERMISSIONS, Permission as P } from '../../src/events/permissions.js';
import { applyInPlace, type StateMap } from '../../src/events/state-map.js';

export const ROOM = '!guild:a.test';
export const OWNER = '@owner:a.test';

let seq = 0;

/** A PDU as a client of `sender`'s server would build it (origin = sender's server). */
export function pdu(type: string, sender: string, content: Record<string, unknown>, stateKey?: string): Pdu {
  const origin = serverOf(sender);
  const p: Pdu = {
    room_id: ROOM,
    type,
    sender,
    origin,
    origin_server_ts: 1_700_000_000_000,
    depth: 10,
    prev_events: ['$prev'],
    auth_events: [],
    content,
    hashes: { sha256: 'x' },
    signatures: { [origin]: { 'ed25519:1': 'sig' } },
  };
  if (stateKey !== undefined) p.state_key = stateKey;
  return p;
}

export function stored(p: Pdu): StoredEvent {
  seq += 1;
  return { event_id: `$ev${seq}`, pdu: p };
}

export class GuildBuilder {
  readonly state = new Map<string, StoredEvent>();

  constructor(readonly owner = OWNER) {}

  put(p: Pdu): StoredEvent {
    const ev = stored(p);
    applyInPlace(this.state, ev);
    return ev;
  }

  create(kind: 'guild' | 'dm' = 'guild'): this {
    const p = pdu(EventType.Create, this.owner, { creator: this.owner, room_version: '1', kind }, '');
    p.depth = 1;
    p.prev_events = [];
    this.put(p);
    return this;
  }

  member(user: string, membership = 'join', roles: string[] = [], extra: Record<string, unknown> = {}): this {
    const content: Record<string, unknown> = { membership, ...extra };
    if (roles.length > 0) content.roles = roles;
    this.put(pdu(EventType.Member, user, content, user));
    return this;
  }

  role(key: string, permissions: bigint, position: number, extra: Record<string, unknown> = {}): this {
    this.put(pdu(EventType.Role, this.owner, { name: key, permissions: permissions.toString(), position, ...extra }, key));
    return this;
  }

  channel(key: string, kind: number = ChannelKind.Text, extra: Record<string, unknown> = {}): this {
    this.put(pdu(EventType.Channel, this.owner, { name: key, kind, position: 0, ...extra }, key));
    return this;
  }

  overwrite(channel: string, target: string, allow: bigint, deny: bigint, extra: Record<string, unknown> = {}): this {
    const kind = target.startsWith('@') ? 'member' : 'role';
    const content = { channel, target, kind, allow: allow.toString(), deny: deny.toString(), ...extra };
    this.put(pdu(EventType.Overwrite, this.owner, content, `${channel}|${target}`));
    return this;
  }

  get view(): StateMap {
    return this.state;
  }
}

/** create + owner joined + @everyone with Discord's defaults + a text channel "general". */
export function basicGuild(everyone: bigint = DEFAULT_EVERYONE_PERMISSIONS): GuildBuilder {
  return new GuildBuilder().create().member(OWNER).role(EVERYONE_ROLE, everyone, 0).channel('general');
}

// ---- a populated guild and assertions shared by the auth rule tests -------------------

export const MOD = '@mod:a.test';
export const ADMIN = '@admin:a.test';
export const ALICE = '@alice:b.test';
export const BOB = '@bob:b.test';
export const EVE = '@eve:c.test';
export const MOD_PERMS =
  P.MANAGE_ROLES | P.KICK_MEMBERS | P.BAN_MEMBERS | P.MANAGE_MESSAGES | P.MANAGE_CHANNELS | P.MANAGE_NICKNAMES | P.MANAGE_GUILD;

/** Owner; admin (ADMINISTRATOR, position 4); mod (position 5); alice and bob (role low, 2); a high role at 8. */
export function guild(everyone = DEFAULT_EVERYONE_PERMISSIONS): GuildBuilder {
  return basicGuild(everyone)
    .role('admin', P.ADMINISTRATOR, 4)
    .role('mod', MOD_PERMS, 5)
    .role('low', 0n, 2)
    .role('high', 0n, 8)
    .member(MOD, 'join', ['mod'])
    .member(ADMIN, 'join', ['admin'])
    .member(ALICE, 'join', ['low'])
    .member(BOB, 'join', ['low']);
}

export function allowed(ev: Pdu | StoredEvent, state: StateMap): void {
  expect(authorizeEvent(ev, state)).toEqual({ ok: true });
}

export function denied(ev: Pdu | StoredEvent, state: StateMap, reason?: string | RegExp): void {
  const r = authorizeEvent(ev, state);
  expect(r.ok).toBe(false);
  if (reason !== undefined && !r.ok) expect(r.reason).toMatch(reason);
}

