/** Notification sinks: the signed webhook and Teams Workflows, and the digest they deliver. */
export * from "./digest.js";
export * from "./errors.js";
export type { FetchFunction } from "./http-delivery.js";
export { DEFAULT_TIMEOUT_IN_MS, parseRetryAfter } from "./http-delivery.js";
export type { Clock } from "./sink-options.js";
export * from "./teams.js";
export * from "./teams-card.js";
export * from "./webhook.js";
export * from "./webhook-signature.js";
