// All sessions of one gateway, by id and by user, and the presence edges Discord derives
// from them: a user comes online with their first session and goes offline when the last
// one is gone for good (closed with 1000/1001, or its resume window ran out).
import type { Logger } from 'pino';
import type { GatewayBackend } from './gateway-types.js';
import type { Presence, Session } from './session.js';

const OFFLINE: Presence = { status: 'offline', activities: [] };

export class SessionRegistry {
  private readonly byId = new Map<string, Session>();
  readonly byUser = new Map<string, Set<Session>>();

  constructor(
    private readonly backend: GatewayBackend,
    private readonly log: Logger,
  ) {}

  get size(): number {
    return this.byId.size;
  }

  get(id: string): Session | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<Session> {
    return this.byId.values();
  }

  /** Register a new session; `explicitPresence` is what identify asked for, if anything. */
  add(session: Session, explicitPresence: boolean): void {
    this.byId.set(session.id, session);
    let set = this.byUser.get(session.userId);
    if (!set) {
      set = new Set();
      this.byUser.set(session.userId, set);
    }
    const first = set.size === 0;
    set.add(session);
    if (first || explicitPresence) this.presence(session.userId, session.presence);
  }

  /** Drop a session for good (idempotent). */
  remove(session: Session): void {
    if (session.dropped) return;
    session.dropped = true;
    session.conn = null;
    this.byId.delete(session.id);
    const set = this.byUser.get(session.userId);
    if (!set) return;
    set.delete(session);
    if (set.size === 0) {
      this.byUser.delete(session.userId);
      this.presence(session.userId, OFFLINE);
    }
  }

  presence(userId: string, presence: Presence): void {
    if (!this.backend.presenceChanged) return;
    try {
      this.backend.presenceChanged(userId, { status: presence.status, activities: presence.activities });
    } catch (err) {
      this.log.warn({ err, userId }, 'gateway: presenceChanged threw');
    }
  }
}
