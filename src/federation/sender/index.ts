// The outbound federation sender: what the rest of the server (homeserver.ts, cli.ts) uses.
export { createFederationSender, type FederationSender, type FederationSenderDeps } from './sender.js';
export { federationStatus, type DestinationStatus } from './status.js';
export type { Edu, SendTransactionBody, SendTransactionResponse } from './transaction.js';
