/** Typed errors of the notification sinks: a delivery that was refused or never arrived. */

import { VigilError } from "../core/index.js";

/**
 * A sink could not deliver a digest. `retryable` says whether sending the same digest again may
 * succeed (network errors, timeouts, 408, 429, 5xx) or not (any other answer, such as 400 or 404:
 * the receiver will refuse it again). The message names the sink and the receiver's origin only:
 * never the secret, the path or the query string, since Teams Workflows URLs carry their `sig=`
 * key in the query.
 */
export class NotificationError extends VigilError {
  /** Name of the sink, e.g. `webhook:secops`. */
  readonly sink: string;
  /** The receiver's HTTP status; `undefined` when no answer came (network error, timeout). */
  readonly statusCode: number | undefined;
  /** `Http<status>`, a Node or undici error code (`ECONNREFUSED`), or `Timeout`. */
  readonly code: string;
  readonly retryable: boolean;
  /** The wait the receiver asked for with `Retry-After`, when it sent one. */
  readonly retryAfterInMs: number | undefined;
  constructor(
    message: string,
    fields: {
      sink: string;
      statusCode?: number;
      code?: string;
      retryable: boolean;
      retryAfterInMs?: number;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "NotificationError";
    this.sink = fields.sink;
    this.statusCode = fields.statusCode;
    this.code =
      fields.code ??
      (fields.statusCode !== undefined ? `Http${fields.statusCode}` : "DeliveryFailed");
    this.retryable = fields.retryable;
    this.retryAfterInMs = fields.retryAfterInMs;
  }
}

/** Whether a value is a NotificationError. */
export function isNotificationError(error: unknown): error is NotificationError {
  return error instanceof NotificationError;
}
