/**
 * The signed webhook sink: each digest is POSTed as JSON, signed with HMAC-SHA256 so that the
 * receiver can tell it came from vigil and was not replayed, and labelled with the digest id so
 * that a redelivery can be dropped.
 */

import type { Digest, NotificationSink } from "../core/index.js";
import { InputError } from "../core/index.js";
import { checkTimeout, type FetchFunction, parseSinkUrl, postJson } from "./http-delivery.js";
import { type Clock, SYSTEM_CLOCK, sinkName } from "./sink-options.js";
import {
  DELIVERY_HEADER,
  SIGNATURE_HEADER,
  signWebhook,
  TIMESTAMP_HEADER,
} from "./webhook-signature.js";

/** Version of the webhook body; a change that breaks receivers raises it. */
export const WEBHOOK_SCHEMA_VERSION = 1;

/**
 * The JSON body of a webhook request: the digest's own fields after `schemaVersion`.
 *
 * ```json
 * { "schemaVersion": 1,
 *   "id": "<64 hex; the same for the same run and changes>",
 *   "runId": "…", "trigger": "timer", "evaluatedAt": "2026-11-23T06:00:00Z",
 *   "transitions": [
 *     { "kind": "new-failure", "scope": "…", "controlId": "…", "title": "…",
 *       "resourceId": "…", "severity": "high", "from": null, "to": "fail",
 *       "reason": "…", "resourceDeleted": true } ],
 *   "counts": { "new-failure": 1 } }
 * ```
 *
 * `kind` is `new-failure`, `regression`, `resolved`, `error-started` or `error-cleared`;
 * `reason` is absent for a deleted resource, `resourceDeleted` is present only when true, and
 * `counts` names only the kinds present. Transitions are sorted by severity (critical first),
 * control id, then resource id.
 */
export type WebhookBody = { schemaVersion: typeof WEBHOOK_SCHEMA_VERSION } & Digest;

/** Options of {@link createWebhookSink}. */
export interface CreateWebhookSinkOptions {
  /** Short name; the sink is called `webhook:<name>`. */
  name: string;
  /** Where to POST (http or https). Only its origin ever appears in errors. */
  url: string;
  /** The HMAC key shared with the receiver. */
  secret: string;
  /** Defaults to the global `fetch`. */
  fetch?: FetchFunction;
  /** Time the receiver has to answer; default 10 000. */
  timeoutInMs?: number;
  /** Source of the signing time; defaults to the system clock. */
  clock?: Clock;
}

/** Serialise a digest as the webhook body: exactly the bytes that are signed and sent. */
export function webhookBody(digest: Digest): string {
  const body: WebhookBody = { schemaVersion: WEBHOOK_SCHEMA_VERSION, ...digest };
  return JSON.stringify(body);
}

/**
 * A sink that POSTs each digest to `url` with these headers:
 *
 * - `content-type: application/json`
 * - `x-vigil-timestamp`: Unix seconds at signing
 * - `x-vigil-signature`: `sha256=` + hex HMAC-SHA256 of `<timestamp>.<raw body>` under `secret`
 *   (check it with {@link verifyWebhookSignature})
 * - `x-vigil-delivery`: the digest id, the same on every redelivery of that digest
 *
 * Any 2xx is delivered. Redirects are not followed.
 * @throws InputError (at creation) for a bad name or URL, or an empty secret
 * @throws NotificationError (from `deliver`) with `retryable` for network errors, timeouts, 408,
 * 429 (with `retryAfterInMs` when `Retry-After` came) and 5xx; not retryable for other answers
 */
export function createWebhookSink(options: CreateWebhookSinkOptions): NotificationSink {
  const name = sinkName("webhook", options.name);
  const url = parseSinkUrl(name, "url", options.url);
  if (options.secret === "") {
    throw new InputError(`sink ${name}: the secret is empty`, { code: "InvalidSinkSecret" });
  }
  const { secret } = options;
  const timeoutInMs = checkTimeout(name, options.timeoutInMs);
  const fetchFn: FetchFunction = options.fetch ?? ((input, init) => fetch(input, init));
  const clock = options.clock ?? SYSTEM_CLOCK;

  return {
    name,
    async deliver(digest, deliverOptions) {
      const body = webhookBody(digest);
      const nowInMs = clock.now();
      const timestamp = Math.floor(nowInMs / 1000);
      await postJson({
        sink: name,
        url,
        headers: {
          "content-type": "application/json",
          "user-agent": "vigil",
          [TIMESTAMP_HEADER]: String(timestamp),
          [SIGNATURE_HEADER]: signWebhook(secret, timestamp, body),
          [DELIVERY_HEADER]: digest.id,
        },
        body,
        fetch: fetchFn,
        timeoutInMs,
        abortSignal: deliverOptions?.abortSignal,
        nowInMs: () => clock.now(),
      });
    },
  };
}
