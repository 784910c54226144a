// Property 3 (spec/state-resolution.md, "Why power first"): a user who is banned or
// demoted cannot undo it with events written concurrently, whatever timestamps they put
// on them. An admin (the owner, or a member whose role outranks the victim's) bans or
// demotes the mod U on one branch; on a concurrent branch U does whatever the rules still
// let U do there (edit roles, hand roles to itself and an accomplice, ban and kick, edit
// channels and overwrites, leave and rejoin...), with timestamps before and after the
// admin's. After the merge, U's branch must have changed nothing, and the accomplice
// must not be able to lift the ban or hand the role back.

import fc from 'fast-check';
import { EventType as T, type StoredEvent } from '../../../src/events/event-types.js';
import { authorizeEvent } from '../../../src/events/auth-rules.js';
import { Permission as P } from '../../../src/events/permissions.js';
import { getMember, memberRoleKeys, membershipOf, type StateMap } from '../../../src/events/state-map.js';
import { isPowerEvent } from '../../../src/events/state-res/power-events.js';
import { ACTIONS, HELPER, MOD, OWNER, PLAIN_A, PLAIN_B, type Draft } from './sim-actions.js';
import { Dag, fingerprint } from './sim-dag.js';
import { BASE_TS, genesis, propertyRuns } from './sim-network.js';

const RUNS = propertyRuns(1200);
const U = MOD; // the mod (role "mod", position 5) who gets banned or demoted
const V = PLAIN_B; // U's accomplice on the same server
const ADMIN_ROLE_PERMS = P.BAN_MEMBERS | P.KICK_MEMBERS | P.MANAGE_ROLES;

type Sanction = 'ban' | 'demote';
type Admin = 'owner' | 'admin';

interface Attempt {
  action: string;
  c: number;
  /** Offset from the sanction's timestamp: negative is back-dated. */
  dt: number;
  byAccomplice: boolean;
}

// What needs more than @everyone's default rights: all U's mod role gives, which U may
// also pass on to the accomplice through roles or @everyone.
const PRIVILEGED = ['roleEdit', 'roleDelete', 'grant', 'ban', 'kickOrUnban', 'channel', 'overwrite', 'settings'];
const ATTACKS: Record<Sanction, string[]> = {
  // Once banned, U can do nothing at all, so everything U might try is fair game.
  ban: [...PRIVILEGED, 'nick', 'leave', 'join', 'invite'],
  // A demoted U keeps @everyone's rights (invite, leave). A nick change is fair: U's
  // member event lists the mod role, so writing it after the demotion re-grants it.
  demote: [...PRIVILEGED, 'nick'],
};

const attemptArb = (sanction: Sanction): fc.Arbitrary<Attempt> =>
  fc.boolean().chain((byAccomplice) =>
    fc.record({
      // The accomplice's own default rights are legitimate: it only tries what U must enable.
      action: fc.constantFrom(...(byAccomplice ? PRIVILEGED : ATTACKS[sanction])),
      c: fc.nat(1 << 20),
      dt: fc.integer({ min: -3_600_000, max: 3_600_000 }),
      byAccomplice: fc.constant(byAccomplice),
    }),
  );

const scenarioArb = fc
  .tuple(fc.constantFrom<Sanction>('ban', 'demote'), fc.constantFrom<Admin>('owner', 'admin'))
  .chain(([sanction, admin]) =>
    fc.record({
      sanction: fc.constant(sanction),
      admin: fc.constant(admin),
      attempts: fc.array(attemptArb(sanction), { minLength: 1, maxLength: 14 }),
      sanctionDelay: fc.integer({ min: 0, max: 600_000 }),
      adminNoise: fc.nat(3),
    }),
  );

/** Genesis, then (for 'admin') @h:c promoted to a role "admin" at position 7. */
function prologue(dag: Dag, admin: Admin): { tip: string; adminUser: string; ts: number } {
  let tip = genesis(dag);
  let ts = BASE_TS + 100;
  if (admin === 'owner') return { tip, adminUser: OWNER, ts };
  const add = (d: Draft): void => {
    tip = dag.add({ ...d, prevs: [tip], ts: ts++ }).event_id;
  };
  add({ type: T.Role, sender: OWNER, stateKey: 'admin', content: { name: 'admin', permissions: ADMIN_ROLE_PERMS.toString(), position: 7 } });
  add({ type: T.Member, sender: OWNER, stateKey: HELPER, content: { membership: 'join', roles: ['admin'] } });
  return { tip, adminUser: HELPER, ts };
}

function sanctionDraft(sanction: Sanction, admin: string, state: StateMap): Draft {
  if (sanction === 'ban') return { type: T.Member, sender: admin, stateKey: U, content: { membership: 'ban' } };
  const roles = memberRoleKeys(getMember(state, U)).filter((r) => r !== 'mod');
  const content: Record<string, unknown> = { membership: 'join' };
  if (roles.length > 0) content.roles = roles;
  return { type: T.Member, sender: admin, stateKey: U, content };
}

describe('a ban or a demotion cannot be undone by concurrent (or back-dated) events', () => {
  const seen = { runs: 0, withAttackerPowerEvents: 0, backdated: 0, postdated: 0 };

  test(`given ${RUNS} random attacks on a concurrent branch, when the branches merge, then the attacker's branch changes nothing`, () => {
    fc.assert(
      fc.property(scenarioArb, ({ sanction, admin, attempts, sanctionDelay, adminNoise }) => {
        const dag = new Dag();
        const { tip: fork, adminUser, ts } = prologue(dag, admin);
        const sanctionTs = ts + sanctionDelay;

        // Branch 1: the sanction, then a little chatter.
        let tipA = dag.add({ ...sanctionDraft(sanction, adminUser, dag.after.get(fork) as StateMap), prevs: [fork], ts: sanctionTs }).event_id;
        for (let i = 0; i < adminNoise; i++) {
          tipA = dag.add({ type: T.Message, sender: PLAIN_A, content: { channel: 'general', body: `hi ${i}` }, prevs: [tipA], ts: sanctionTs + i + 1 }).event_id;
        }

        // Branch 2: U (and the accomplice, with whatever U hands it) try everything.
        let tipU = fork;
        const branch: StoredEvent[] = [];
        for (const a of attempts) {
          const actor = a.byAccomplice ? V : U;
          const draft = ACTIONS[a.action](actor, dag.after.get(tipU) as StateMap, a.c);
          const ev = draft && dag.tryAdd({ ...draft, prevs: [tipU], ts: Math.max(0, sanctionTs + a.dt) });
          if (!ev) continue;
          tipU = ev.event_id;
          branch.push(ev);
        }

        // The merge, as any server would compute it.
        const merge = dag.add({ type: T.Message, sender: PLAIN_A, content: { channel: 'general', body: 'merged' }, prevs: [tipA, tipU], ts: sanctionTs + 5_000_000 });
        const resolved = dag.stateBefore(merge.pdu.prev_events);

        expect(fingerprint(resolved)).toBe(fingerprint(dag.after.get(tipA) as StateMap));
        if (sanction === 'ban') expect(membershipOf(resolved, U)).toBe('ban');
        else expect(memberRoleKeys(getMember(resolved, U))).not.toContain('mod');

        // Nor can the accomplice, or U, reverse it after the merge.
        const undo: Draft =
          sanction === 'ban'
            ? { type: T.Member, sender: V, stateKey: U, content: { membership: 'leave' } }
            : { type: T.Member, sender: V, stateKey: U, content: { membership: 'join', roles: ['mod'] } };
        expect(dag.tryAdd({ ...undo, prevs: [merge.event_id], ts: sanctionTs + 6_000_000 })).toBeUndefined();
        if (sanction === 'ban') {
          const rejoin = ACTIONS.join(U, resolved, 0) as Draft | undefined;
          if (rejoin) expect(authorizeEvent({ ...placeholder(rejoin), prev_events: [merge.event_id] }, resolved).ok).toBe(false);
        }

        seen.runs++;
        if (branch.some((ev) => isPowerEvent(ev, dag.lookup))) seen.withAttackerPowerEvents++;
        if (branch.some((ev) => ev.pdu.origin_server_ts < sanctionTs)) seen.backdated++;
        if (branch.some((ev) => ev.pdu.origin_server_ts > sanctionTs)) seen.postdated++;
      }),
      { numRuns: RUNS },
    );
  });

  test('and the attacks were real: most branches held accepted power events, back-dated and post-dated', () => {
    expect(seen.runs).toBe(RUNS);
    expect(seen.withAttackerPowerEvents).toBeGreaterThan(RUNS / 2);
    expect(seen.backdated).toBeGreaterThan(RUNS / 4);
    expect(seen.postdated).toBeGreaterThan(RUNS / 4);
  });
});

function placeholder(d: Draft) {
  const origin = d.sender.slice(d.sender.indexOf(':') + 1);
  return {
    room_id: '!guild:a',
    type: d.type,
    state_key: d.stateKey,
    sender: d.sender,
    origin,
    origin_server_ts: 0,
    depth: 100,
    prev_events: [] as string[],
    auth_events: [] as string[],
    content: d.content,
    hashes: { sha256: 'x' },
    signatures: Object.fromEntries([origin, ...(d.cosign ?? [])].map((s) => [s, { 'ed25519:k1': 'x' }])),
  };
}
