import { isStateEvent } from '../events/event-types.js';
import type { LoggedEvent } from '../store/event-log.js';
import type { FanoutContext } from './fanout-context.js';
import { dispatchStateEvent } from './guild-dispatches.js';
import { dispatchMessageEvent } from './message-dispatches.js';

/**
 * Turns events read from the log into gateway dispatches, in log order. Every process runs
 * one, reading the shared log, so a client connected to any process sees every event.
 */
export function createLogDispatcher(ctx: FanoutContext) {
  return async function deliver(events: LoggedEvent[]): Promise<void> {
    ctx.writer.observe(events);
    for (const ev of events) {
      const guild = await ctx.guild(ev.pdu.room_id);
      if (!guild) continue;
      const state = await ctx.writer.stateOf(ev.pdu.room_id);
      if (isStateEvent(ev.pdu)) await dispatchStateEvent(ctx, ev, guild, state);
      else await dispatchMessageEvent(ctx, ev, guild, state);
    }
  };
}
