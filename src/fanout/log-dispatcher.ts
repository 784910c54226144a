import { isStateEvent } from '../events/event-types.js';
import { stateMapKey } from '../events/state-map.js';
import type { Logger } from 'pino';
import { getLoggedEvent, type LoggedEvent } from '../store/event-log.js';
import type { GuildRow } from '../store/views/guilds.js';
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
        if (ev.resolved) {
          await dispatchResolution(ctx, ev, guild);
          continue;
        }
        // Soft-failed (e.g. a message by a user banned on another branch) or kept redacted:
        // in the DAG, not in the views, so not on the gateway either.
        if (ev.hidden) continue;
        const state = await ctx.stateFor(ev);
        if (isStateEvent(ev.pdu)) await (guild.kind === 'dm' ? dispatchDmStateEvent : dispatchStateEvent)(ctx, ev, guild, state);
        else await dispatchMessageEvent(ctx, ev, guild, state);
      } catch (err) {
        log.error({ err, event_id: ev.event_id, type: ev.pdu.type }, 'could not dispatch an event to the gateway');
      }
    }
  };
}

/**
 * A state event after which the room's current state is a resolution's (a fork merged):
 * the views moved slot by slot, and the event itself may have lost. The state is reread
 * from the views, so audiences follow the resolved permissions, and each slot whose
 * winner changed is dispatched as that winner, judged against what was shown before.
 */
async function dispatchResolution(ctx: FanoutContext, ev: LoggedEvent, guild: GuildRow): Promise<void> {
  const { before, after } = await ctx.reloadState(ev.pdu.room_id);
  const changed = before
    ? [...after].filter(([key, winner]) => before.get(key)?.event_id !== winner.event_id).map(([key, winner]) => ({ winner, previous: before.get(key) }))
    // Nothing held to compare with (a fresh process): the event itself, if it won its slot.
    : after.get(stateMapKey(ev.pdu.type, ev.pdu.state_key!))?.event_id === ev.event_id ? [{ winner: ev, previous: undefined }] : [];
  for (const { winner, previous } of changed) {
    const logged = winner.event_id === ev.event_id ? ev : await getLoggedEvent(ctx.db, winner.event_id);
    if (!logged) continue;
    if (guild.kind === 'dm') await dispatchDmStateEvent(ctx, logged, guild, after);
    else await dispatchStateEvent(ctx, logged, guild, after, { previous: before ? previous ?? null : undefined });
  }
}
