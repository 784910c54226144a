// Hand-built forks for the unit tests of each step: the genesis guild of sim-network
// (owner @o:a; @m:b with "mod" at 5; @h:c with "helper" at 3; @p:a, @q:b, @r:c plain;
// @x:c outside), then events placed on explicit prev_events with explicit timestamps.

import { EventType as T, type StoredEvent } from '../../../src/events/event-types.js';
import type { StateMap } from '../../../src/events/state-map.js';
import type { Draft } from './sim-actions.js';
import { Dag } from './sim-dag.js';
import { BASE_TS, genesis } from './sim-network.js';

export const d = {
  settings: (sender: string, name: string): Draft => ({ type: T.Settings, sender, stateKey: '', content: { name } }),
  role: (sender: string, key: string, permissions: bigint, position: number): Draft => ({
    type: T.Role,
    sender,
    stateKey: key,
    content: { name: key, permissions: permissions.toString(), position },
  }),
  member: (sender: string, target: string, content: Record<string, unknown>): Draft => ({
    type: T.Member,
    sender,
    stateKey: target,
    content,
  }),
  grant: (sender: string, target: string, roles: string[]): Draft =>
    d.member(sender, target, roles.length > 0 ? { membership: 'join', roles } : { membership: 'join' }),
  ban: (sender: string, target: string): Draft => d.member(sender, target, { membership: 'ban' }),
  leave: (sender: string, target: string): Draft => d.member(sender, target, { membership: 'leave' }),
  channel: (sender: string, key: string, name: string): Draft => ({
    type: T.Channel,
    sender,
    stateKey: key,
    content: { name, kind: 0, position: 0 },
  }),
  overwrite: (sender: string, channel: string, target: string, allow: bigint, deny = 0n): Draft => ({
    type: T.Overwrite,
    sender,
    stateKey: `${channel}|${target}`,
    content: { channel, target, kind: target.startsWith('@') ? 'member' : 'role', allow: allow.toString(), deny: deny.toString() },
  }),
  message: (sender: string): Draft => ({ type: T.Message, sender, content: { channel: 'general', body: 'hi' } }),
};

export class HandDag {
  readonly dag = new Dag();
  /** The last genesis event: the fork point of most tests. */
  readonly g: string;
  private ts = BASE_TS + 10_000;

  constructor() {
    this.g = genesis(this.dag);
  }

  /** Adds `draft` on `prevs` (an id or ids); throws if the auth rules refuse it there. */
  on(prevs: string | string[], draft: Draft, ts?: number): StoredEvent {
    return this.dag.add({ ...draft, prevs: typeof prevs === 'string' ? [prevs] : prevs, ts: ts ?? this.ts++ });
  }

  /** Adds a chain of drafts, each on the previous one; returns the events. */
  chain(from: string, ...drafts: Draft[]): StoredEvent[] {
    const out: StoredEvent[] = [];
    let tip = from;
    for (const dr of drafts) {
      const ev = this.on(tip, dr);
      out.push(ev);
      tip = ev.event_id;
    }
    return out;
  }

  after(id: string | StoredEvent): StateMap {
    return this.dag.after.get(typeof id === 'string' ? id : id.event_id) as StateMap;
  }

  /** The genesis event holding a slot at the fork point. */
  at(type: string, stateKey: string, id: string = this.g): StoredEvent {
    const ev = this.after(id).get(`${type}\u0000${stateKey}`);
    if (!ev) throw new Error(`no ${type} ${stateKey}`);
    return ev;
  }

  get lookup() {
    return this.dag.lookup;
  }
}

export const ids = (evs: Iterable<StoredEvent>): string[] => [...evs].map((e) => e.event_id);
