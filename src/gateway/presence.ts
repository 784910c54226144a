// op 3 PRESENCE_UPDATE and op 4 VOICE_STATE_UPDATE: the gateway validates the shape and
// hands them to the backend; presence state and voice live elsewhere.
import { CloseCode } from './close-codes.js';
import type { Connection } from './connection.js';
import type { GatewayContext } from './gateway-context.js';
import type { Presence, Session } from './session.js';
import { isRecord } from './validate.js';

const STATUSES: ReadonlySet<string> = new Set(['online', 'dnd', 'idle', 'invisible', 'offline']);

export const ONLINE: Presence = { status: 'online', activities: [] };

/** Discord's presence update object `{since, activities, status, afk}` → Presence, or null if malformed. */
export function parsePresence(d: unknown): Presence | null {
  if (!isRecord(d)) return null;
  const status = d.status ?? 'online';
  const activities = d.activities ?? [];
  if (typeof status !== 'string' || !STATUSES.has(status) || !Array.isArray(activities)) return null;
  return { status, activities };
}

export function handlePresenceUpdate(ctx: GatewayContext, conn: Connection, session: Session, d: unknown): void {
  const presence = parsePresence(d);
  if (!presence) return conn.close(CloseCode.DecodeError, 'Invalid presence update');
  ctx.registry.presence(session.userId, presence);
}

export function handleVoiceStateUpdate(ctx: GatewayContext, conn: Connection, session: Session, d: unknown): void {
  if (!isRecord(d)) return conn.close(CloseCode.DecodeError, 'Invalid voice state update');
  if (!ctx.backend.voiceStateUpdate) return;
  try {
    ctx.backend.voiceStateUpdate(session.userId, d);
  } catch (err) {
    ctx.log.warn({ err, userId: session.userId }, 'gateway: voiceStateUpdate threw');
  }
}
