import { Router } from 'express';
import { isSnowflake } from '../../snowflake.js';
import { apiError, type ErrorName } from '../errors.js';

/** The "unknown X" error for each id in a route path. */
const ID_PARAMS: Record<string, ErrorName> = {
  guildId: 'unknownGuild',
  channelId: 'unknownChannel',
  messageId: 'unknownMessage',
  roleId: 'unknownRole',
  userId: 'unknownUser',
  memberId: 'unknownMember',
  overwriteId: 'unknownOverwrite',
};

/**
 * A Router whose path ids are checked before any handler runs: an id that is not a
 * snowflake can name nothing, so it is "unknown" (404) without touching the database.
 * `@me` is allowed where Discord allows it.
 */
export function apiRouter(): Router {
  const r = Router();
  for (const [name, error] of Object.entries(ID_PARAMS)) {
    r.param(name, (_req, _res, next, value: string) => {
      next(isSnowflake(value) || (value === '@me' && (name === 'userId' || name === 'memberId')) ? undefined : apiError(error));
    });
  }
  return r;
}
