// Coalesces socket writes: the first frame queued on a connection in an event-loop turn
// registers it here, and one setImmediate flushes every registered connection, so a burst
// of dispatches reaches each client in one write instead of one syscall per frame.

export interface Flushable {
  flush(): void;
}

export class FlushScheduler {
  private queued: Flushable[] = [];
  private immediate: NodeJS.Immediate | null = null;

  /** Register a target with queued bytes; it is flushed at the end of this turn. */
  add(target: Flushable): void {
    this.queued.push(target);
    if (this.immediate === null) this.immediate = setImmediate(this.flush);
  }

  readonly flush = (): void => {
    if (this.immediate !== null) clearImmediate(this.immediate);
    this.immediate = null;
    const list = this.queued;
    this.queued = [];
    for (const target of list) target.flush();
  };
}
