// Property 1 (spec/state-resolution.md, "Convergence"): servers that receive the same
// events in different orders reach the same state. Random guild histories are written by
// three servers that fork and merge; the finished DAG is then delivered to fresh servers
// in many topological orders (each server's own arrival order, plus random ones), and
// each computes every event's state from its prev_events' states as events arrive.

import fc from 'fast-check';
import { fingerprint } from './sim-dag.js';
import { Network, propertyRuns, randomTopologicalOrder, replay, stepArb } from './sim-network.js';

const RUNS = propertyRuns(1000);
const RANDOM_ORDERS = 2;

describe('state resolution converges whatever the delivery order', () => {
  const totals = { events: 0, merges: 0, conflicted: 0, dropped: 0, orders: 0 };

  test(`given ${RUNS} random three-server histories, when each is delivered in ${3 + RANDOM_ORDERS} orders, then every receiver ends in the same state`, () => {
    fc.assert(
      fc.property(fc.array(stepArb, { minLength: 20, maxLength: 70 }), fc.array(fc.nat(), { minLength: RANDOM_ORDERS, maxLength: RANDOM_ORDERS }), (steps, seeds) => {
        const net = new Network().run(steps);
        const expected = fingerprint(net.finalState());
        const orders = [...net.views.map((v) => v.order), ...seeds.map((s) => randomTopologicalOrder(net.dag, s))];
        for (const order of orders) {
          expect(order).toHaveLength(net.dag.order.length);
          const r = replay(net.dag, order);
          // Every event was allowed where it was written, so every receiver accepts it too.
          expect(r.rejected).toEqual([]);
          expect(r.final).toBe(expected);
        }
        totals.events += net.dag.order.length;
        totals.merges += net.dag.stats.merges;
        totals.conflicted += net.dag.stats.conflicted;
        totals.dropped += net.dag.stats.dropped;
        totals.orders += orders.length;
      }),
      { numRuns: RUNS },
    );
  });

  test('and the histories exercise real conflicts (resolutions that drop events)', () => {
    // Guards the generator: a property over histories without conflicts proves nothing.
    expect(totals.orders).toBeGreaterThanOrEqual(RUNS * (3 + RANDOM_ORDERS));
    expect(totals.merges).toBeGreaterThan(RUNS * 2);
    expect(totals.dropped).toBeGreaterThan(RUNS / 2);
  });
});
