import { FederationRequestError, type FailureKind } from '../../src/federation/errors.js';
import { createRemoteProfiles, type RemoteProfilesDeps } from '../../src/federation/remote-profiles.js';
import { silentLogger } from '../../src/log.js';
import { FakeClock } from './federation-harness.js';

// The background resolver of remote users' profiles, with the network faked at its seam
// (`fetch`: one query/profiles exchange) and a fake clock for the backoff.

interface Call {
  server: string;
  ids: string[];
  answer(): void;
  fail(kind: FailureKind): void;
}

function setup(overrides: Partial<RemoteProfilesDeps> = {}) {
  const clock = new FakeClock();
  const calls: Call[] = [];
  const stored: Array<{ profiles: Map<string, string | null>; askedTs: number }> = [];
  const resolver = createRemoteProfiles({
    clock,
    log: silentLogger(),
    allowServer: (server) => server !== 'refused.test',
    fetch: (server, ids) => new Promise((resolve, reject) => {
      calls.push({
        server,
        ids,
        answer: () => resolve(new Map(ids.map((id) => [id, `name of ${id}`]))),
        fail: (kind) => reject(new FederationRequestError({ kind, destination: server, method: 'POST', path: '/_nexus/federation/v1/query/profiles' })),
      });
    }),
    store: async (profiles, askedTs) => {
      stored.push({ profiles, askedTs });
    },
    random: () => 0.5, // the backoff is then exactly 1 s, 2 s, 4 s, …
    ...overrides,
  });
  return { clock, calls, stored, resolver };
}

const flush = () => new Promise((resolve) => setImmediate(resolve));
const users = (server: string, n: number, from = 0) => Array.from({ length: n }, (_, i) => `@u${from + i}:${server}`);

describe('remote profiles', () => {
  it('asks each server about its own users, at most 1000 per query, one query per server and a few servers at a time', async () => {
    const { calls, stored, resolver } = setup({ concurrency: 2 });
    try {
      resolver.want([...users('one.test', 2500), ...users('two.test', 10), ...users('three.test', 10)]);
      expect(calls.map((c) => [c.server, c.ids.length])).toEqual([['one.test', 1000], ['two.test', 10]]);
      // Wanting the same users again (pending or being asked) changes nothing.
      resolver.want([...users('one.test', 2500), ...users('two.test', 10)]);
      expect(calls).toHaveLength(2);

      calls[1].answer();
      await flush();
      expect(calls.map((c) => c.server)).toEqual(['one.test', 'two.test', 'three.test']);
      calls[0].answer();
      await flush();
      expect(calls.map((c) => [c.server, c.ids.length])).toEqual([['one.test', 1000], ['two.test', 10], ['three.test', 10], ['one.test', 1000]]);
      calls[2].answer();
      await flush();
      calls[3].answer();
      await flush();
      expect(calls[4]).toMatchObject({ server: 'one.test', ids: users('one.test', 500, 2000) });
      calls[4].answer();
      await resolver.idle();

      const learnt = stored.flatMap((s) => [...s.profiles.keys()]);
      expect(learnt).toHaveLength(2520);
      expect(new Set(learnt).size).toBe(2520);
      expect(stored[0].profiles.get('@u0:two.test')).toBe('name of @u0:two.test');
    } finally {
      await resolver.close();
    }
  });

  it('never asks a server the trust policy refuses', async () => {
    const { calls, resolver } = setup();
    resolver.want(['@mallory:refused.test', 'not-a-user-id']);
    await resolver.idle();
    expect(calls).toHaveLength(0);
    await resolver.close();
  });

  it('stores the answer as of when it was asked', async () => {
    const { clock, calls, stored, resolver } = setup();
    resolver.want(['@a:one.test']);
    const askedAt = clock.now();
    clock.advance(5000);
    calls[0].answer();
    await resolver.idle();
    expect(stored).toEqual([{ profiles: new Map([['@a:one.test', 'name of @a:one.test']]), askedTs: askedAt }]);
    await resolver.close();
  });

  it('backs off a server that cannot be reached, and asks again when the backoff ends', async () => {
    const { clock, calls, stored, resolver } = setup();
    try {
      resolver.want(['@a:down.test', '@b:down.test']);
      calls[0].fail('unreachable');
      await resolver.idle();
      expect(stored).toHaveLength(0);
      // During the backoff, seeing the users again asks nothing.
      resolver.want(['@a:down.test']);
      await resolver.idle();
      expect(calls).toHaveLength(1);

      clock.advance(1000);
      resolver.want([]);
      expect(calls).toHaveLength(2);
      expect(calls[1].ids.sort()).toEqual(['@a:down.test', '@b:down.test']);
      calls[1].fail('timeout');
      await resolver.idle();
      clock.advance(1999); // the second failure waits 2 s
      resolver.want([]);
      expect(calls).toHaveLength(2);
      clock.advance(1);
      resolver.want([]);
      calls[2].answer();
      await resolver.idle();
      expect([...stored[0].profiles.keys()].sort()).toEqual(['@a:down.test', '@b:down.test']);

      // Success ends the backoff: the next user of that server is asked at once.
      resolver.want(['@c:down.test']);
      expect(calls[3].ids).toEqual(['@c:down.test']);
      calls[3].answer();
      await resolver.idle();
    } finally {
      await resolver.close();
    }
  });

  it('drops users a server refused to answer about until they are seen again', async () => {
    const { clock, calls, resolver } = setup();
    try {
      resolver.want(['@a:old.test']);
      calls[0].fail('rejected'); // e.g. a server without query/profiles: 404
      await resolver.idle();
      clock.advance(60_000);
      resolver.want([]);
      expect(calls).toHaveLength(1);
      resolver.want(['@a:old.test']);
      expect(calls).toHaveLength(2);
      calls[1].answer();
      await resolver.idle();
    } finally {
      await resolver.close();
    }
  });

  it('keeps going when storing fails', async () => {
    let failStore = true;
    const { calls, resolver } = setup({
      store: async () => {
        if (failStore) throw new Error('database gone');
      },
    });
    try {
      resolver.want(['@a:one.test']);
      calls[0].answer();
      await resolver.idle();
      failStore = false;
      resolver.want(['@a:one.test']); // no backoff: the server did nothing wrong
      expect(calls).toHaveLength(2);
      calls[1].answer();
      await resolver.idle();
    } finally {
      await resolver.close();
    }
  });
});
