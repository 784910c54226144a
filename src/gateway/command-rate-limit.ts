// Client → gateway command budget (Discord: 120 commands per 60 s per connection, then 4008).
// A fixed window anchored at the first command of each window; time from the injected clock.
import type { Clock } from '../clock.js';

export class CommandRateLimit {
  private windowStart = -Infinity;
  private used = 0;

  constructor(
    private readonly clock: Clock,
    private readonly limit: number,
    private readonly windowMs: number,
  ) {}

  /** Count one command; false when it exceeds the budget. */
  take(): boolean {
    const now = this.clock.now();
    if (now - this.windowStart >= this.windowMs) {
      this.windowStart = now;
      this.used = 0;
    }
    this.used++;
    return this.used <= this.limit;
  }
}
