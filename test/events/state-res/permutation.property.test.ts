// Property 2 (spec/state-resolution.md): resolveState is a function of the *set* of
// input states: permuting (or repeating) the inputs never changes the result, and a state
// resolved with itself is itself.

import fc from 'fast-check';
import type { StateMap } from '../../../src/events/state-map.js';
import { resolveState } from '../../../src/events/state-res/resolve-state.js';
import { fingerprint } from './sim-dag.js';
import { Network, propertyRuns, stepArb } from './sim-network.js';

const RUNS = propertyRuns(1500);

function permutations<X>(xs: X[]): X[][] {
  if (xs.length <= 1) return [xs];
  return xs.flatMap((x, i) => permutations([...xs.slice(0, i), ...xs.slice(i + 1)]).map((p) => [x, ...p]));
}

describe('resolveState does not depend on the order of its inputs', () => {
  test(`given states after 2 to 4 random events of ${RUNS} random histories, when resolved in every order, then the results are equal`, () => {
    let nonTrivial = 0;
    fc.assert(
      fc.property(
        fc.array(stepArb, { minLength: 15, maxLength: 50 }),
        fc.uniqueArray(fc.nat(), { minLength: 2, maxLength: 4 }),
        (steps, picks) => {
          const net = new Network().run(steps);
          const ids = net.dag.order;
          // Bias towards recent events: that is where branches differ.
          const chosen = [...new Set(picks.map((p) => ids[ids.length - 1 - (p % Math.min(ids.length, 16))]))];
          const sets = chosen.map((id) => net.dag.after.get(id) as StateMap);
          const results = permutations(sets).map((p) => fingerprint(resolveState(p, net.dag.lookup)));
          expect(new Set(results).size).toBe(1);
          if (new Set(sets.map(fingerprint)).size > 1) nonTrivial++;
        },
      ),
      { numRuns: RUNS },
    );
    expect(nonTrivial).toBeGreaterThan(RUNS / 2);
  });

  test('given any reachable state, when resolved alone or with copies of itself, then it comes back unchanged', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 5, maxLength: 40 }), fc.nat(), (steps, pick) => {
        const net = new Network().run(steps);
        const s = net.dag.after.get(net.dag.order[pick % net.dag.order.length]) as StateMap;
        const f = fingerprint(s);
        expect(fingerprint(resolveState([s], net.dag.lookup))).toBe(f);
        expect(fingerprint(resolveState([s, new Map(s), s], net.dag.lookup))).toBe(f);
      }),
      { numRuns: 300 },
    );
  });

  test('given the same inputs with one state repeated, then the result is the same as without the repeat', () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 15, maxLength: 50 }), fc.nat(), fc.nat(), (steps, p, q) => {
        const net = new Network().run(steps);
        const ids = net.dag.order;
        const a = net.dag.after.get(ids[ids.length - 1 - (p % Math.min(ids.length, 12))]) as StateMap;
        const b = net.dag.after.get(ids[ids.length - 1 - (q % Math.min(ids.length, 12))]) as StateMap;
        expect(fingerprint(resolveState([a, b, a], net.dag.lookup))).toBe(fingerprint(resolveState([a, b], net.dag.lookup)));
      }),
      { numRuns: 300 },
    );
  });
});
