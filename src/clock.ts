/** Time, injected so tests can use a fake one (the way Synapse injects its clock). */
export interface Clock {
  now(): number; // milliseconds since the Unix epoch
}

export const systemClock: Clock = { now: () => Date.now() };
