import type { ErrorRequestHandler } from 'express';
import { InvalidLogin, UsernameTaken } from '../accounts/accounts.js';
import { NotFoundInState } from '../guilds/guild-service.js';
import { AuthRejection } from '../guilds/room-writer.js';
import { apiError, invalidLogin, usernameTaken, type ApiError } from './errors.js';

/**
 * Turns the errors the services speak (the auth rules said no, a thing is gone from the
 * state, a username is taken) into the API's coded errors. Only this file knows both.
 */
export function toApiError(err: unknown): ApiError | undefined {
  if (err instanceof AuthRejection) return apiError('missingPermissions');
  if (err instanceof NotFoundInState) {
    return apiError(({ channel: 'unknownChannel', role: 'unknownRole', member: 'unknownMember', message: 'unknownMessage' } as const)[err.what]);
  }
  if (err instanceof UsernameTaken) return usernameTaken();
  if (err instanceof InvalidLogin) return invalidLogin();
  return undefined;
}

export const domainErrorTranslator: ErrorRequestHandler = (err, _req, _res, next) => {
  next(toApiError(err) ?? err);
};
