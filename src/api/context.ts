import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import type { Accounts } from '../accounts/accounts.js';
import type { Clock } from '../clock.js';
import type { Config } from '../config.js';
import type { DirectoryPage } from '../federation/directory.js';
import type { RemoteInvite } from '../federation/joins/remote-join.js';
import type { Typing } from '../fanout/typing.js';
import type { GuildService } from '../guilds/guild-service.js';
import type { DmService } from '../guilds/dm-service.js';
import type { RoomWriter } from '../guilds/room-writer.js';
import type { Db } from '../store/database.js';
import type { UserRow } from '../store/views/users.js';
import { apiError } from './errors.js';

/** What every route handler may use; built once per homeserver in homeserver.ts. */
export interface ApiContext {
  db: Db;
  clock: Clock;
  config: Config;
  log: Logger;
  accounts: Accounts;
  guilds: GuildService;
  writer: RoomWriter;
  /** Typing: ephemeral, straight to the gateway here and as an EDU to the room's other servers. */
  typing: Typing;
  /** The gateway URL clients are told to connect to. */
  gatewayUrl(): string;
  /** Direct messages, with users of this server or (with federation) of others. */
  dms: DmService;
  /** Joins a guild on another server through a `CODE@server` invite (absent without federation). */
  joinRemote?(code: string, server: string, userId: string): Promise<{ roomId: string; channelKey: string }>;
  /** What another server says of one of its invite codes, for GET /invites/CODE@server (absent without federation). */
  remoteInvite?(code: string, server: string): Promise<RemoteInvite>;
  /**
   * Fetches a page of older history of a guild joined from another server (absent when
   * federation is off). See BackfillOutcome in federation/history-backfill.ts.
   */
  olderHistory?(roomId: string): Promise<'more' | 'last' | 'done' | 'failed'>;
  /** Another server's public directory, over federation (absent when federation is off). */
  remoteDirectory?(server: string, query: { q?: string; limit?: number; after?: string }): Promise<DirectoryPage>;
}

/** The authenticated user of a request (set by the auth middleware). */
export function me(res: Response): UserRow {
  const user = res.locals.user as UserRow | undefined;
  if (!user) throw apiError('unauthorized');
  return user;
}

export function param(req: Request, name: string): string {
  const v = req.params[name];
  return typeof v === 'string' ? v : '';
}
