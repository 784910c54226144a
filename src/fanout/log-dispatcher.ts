import { isStateEvent } from '../events/event-types.js';
import type { Logger } from 'pino';
import type { LoggedEvent } from '../store/event-log.js';
import type { FanoutContext } from './fanout-context.js';
import { dispatchStateEvent } from './guild-dispatches.js';
import { dispatchMessageEvent } from './message-dispatches.js';
import { dispatchDmStateEvent } from './dm-dispatches.js';

/**
 * Turns events read from the log into gateway dispatches, in log order. Every process runs
 * one, reading the shared log, so a client connected to any process sees every event.
 */
export function createLogDispatcher(ctx: FanoutContext, log: Logger) {
  return async function deliver(events: LoggedEvent[]): Promise<void> {
    ctx.writer.observe(events);
    for (const ev of events) {
      // One event that cannot be rendered must not cost its neighbours their delivery.
      try {
        const guild = await ctx.guild(ev.pdu.room_id);
        if (!guild) continue;
        if (ev.outlier) {
          // State and history a peer vouched for (a join, a gap) are not news: the joiner
          // gets them in one GUILD_CREATE when their join is dispatched. A state outlier
          // may have moved the views, so the room's state is reread from them.
          if (isStateEvent(ev.pdu)) ctx.forgetState(ev.pdu.room_id);
          continue;
        }
        const state = await ctx.stateFor(ev);
        if (isStateEvent(ev.pdu)) await (guild.kind === 'dm' ? dispatchDmStateEvent : dispatchStateEvent)(ctx, ev, guild, state);
        else await dispatchMessageEvent(ctx, ev, guild, state);
      } catch (err) {
        log.error({ err, event_id: ev.event_id, type: ev.pdu.type }, 'could not dispatch an event to the gateway');
      }
    }
  };
}
