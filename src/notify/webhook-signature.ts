/**
 * The signature of vigil's webhooks: HMAC-SHA256 over `<timestamp>.<raw body>` with a shared
 * secret, sent as `x-vigil-signature: sha256=<hex>` next to `x-vigil-timestamp`. Receivers (and
 * the tests) check it with {@link verifyWebhookSignature}, which also refuses stale timestamps so
 * that a captured request cannot be replayed later.
 */

import { createHmac, timingSafeEqual } from "node:crypto";

/** Header with the Unix time, in seconds, at which the request was signed. */
export const TIMESTAMP_HEADER = "x-vigil-timestamp";
/** Header with `sha256=<hex HMAC-SHA256 of "<timestamp>.<raw body>">`. */
export const SIGNATURE_HEADER = "x-vigil-signature";
/** Header with the digest id: the same digest delivered twice carries the same value. */
export const DELIVERY_HEADER = "x-vigil-delivery";

/** Default window, in seconds, within which a timestamp is accepted (either side of now). */
export const DEFAULT_TOLERANCE_IN_SECONDS = 300;

const SIGNATURE_PATTERN = /^sha256=([0-9a-f]{64})$/i;
const TIMESTAMP_PATTERN = /^\d{1,15}$/;

/**
 * The `x-vigil-signature` value of a body signed at `timestamp`: `sha256=` and the lowercase hex
 * HMAC-SHA256, keyed with `secret`, of the ASCII timestamp, a dot and the raw body bytes (a
 * string body is taken as UTF-8).
 * @param timestamp Unix time in whole seconds
 * @throws RangeError when the secret is empty or the timestamp is not a whole, non-negative number
 */
export function signWebhook(secret: string, timestamp: number, body: string | Uint8Array): string {
  if (secret === "") throw new RangeError("signWebhook: the secret is empty");
  if (!Number.isSafeInteger(timestamp) || timestamp < 0) {
    throw new RangeError(`signWebhook: timestamp must be whole Unix seconds, got ${timestamp}`);
  }
  return `sha256=${hmacHex(secret, timestamp, body)}`;
}

/** Request headers as `fetch` (`Headers`) or `node:http` (`IncomingHttpHeaders`) hold them. */
export type WebhookHeaders =
  | Headers
  | Readonly<Record<string, string | readonly string[] | undefined>>;

/** Options of {@link verifyWebhookSignature}. */
export interface VerifyWebhookSignatureOptions {
  /** How far, in seconds, the timestamp may be from now, either way. Default 300. */
  toleranceInSeconds?: number;
  /** Unix time now, in seconds; defaults to the system clock. */
  nowInSeconds?: number;
}

/** Why a request was refused. */
export type WebhookRejection =
  | "missing-timestamp"
  | "missing-signature"
  | "malformed-timestamp"
  | "malformed-signature"
  | "signature-mismatch"
  | "stale-timestamp";

/** The outcome of {@link verifyWebhookSignature}. */
export type WebhookVerification =
  | { valid: true; timestamp: number }
  | { valid: false; reason: WebhookRejection };

/**
 * Check a received request: the signature must be the HMAC of its timestamp and raw body under
 * one of `secrets` (several while a secret is rotated), compared in constant time, and the
 * timestamp must be within the tolerance of now. Verify the bytes as received: JSON parsed and
 * serialised again may differ from what was signed.
 * @throws RangeError when no secret (or an empty one) is given, or the tolerance is negative
 */
export function verifyWebhookSignature(
  secrets: string | readonly string[],
  headers: WebhookHeaders,
  body: string | Uint8Array,
  options: VerifyWebhookSignatureOptions = {},
): WebhookVerification {
  const keys = typeof secrets === "string" ? [secrets] : secrets;
  if (keys.length === 0 || keys.some((key) => key === "")) {
    throw new RangeError("verifyWebhookSignature: no secret, or an empty one");
  }
  const tolerance = options.toleranceInSeconds ?? DEFAULT_TOLERANCE_IN_SECONDS;
  if (!Number.isFinite(tolerance) || tolerance < 0) {
    throw new RangeError(`verifyWebhookSignature: toleranceInSeconds is ${tolerance}`);
  }

  const timestampText = headerValue(headers, TIMESTAMP_HEADER);
  if (timestampText === undefined) return { valid: false, reason: "missing-timestamp" };
  const signatureText = headerValue(headers, SIGNATURE_HEADER);
  if (signatureText === undefined) return { valid: false, reason: "missing-signature" };
  if (!TIMESTAMP_PATTERN.test(timestampText.trim())) {
    return { valid: false, reason: "malformed-timestamp" };
  }
  const timestamp = Number(timestampText.trim());
  const hex = SIGNATURE_PATTERN.exec(signatureText.trim())?.[1];
  if (hex === undefined) return { valid: false, reason: "malformed-signature" };

  const received = Buffer.from(hex.toLowerCase(), "hex");
  let matched = false;
  // Every key is tried, so the time taken does not tell which one matched.
  for (const key of keys) {
    const expected = Buffer.from(hmacHex(key, timestamp, body), "hex");
    if (timingSafeEqual(expected, received)) matched = true;
  }
  if (!matched) return { valid: false, reason: "signature-mismatch" };

  const now = options.nowInSeconds ?? Math.floor(Date.now() / 1000);
  if (Math.abs(now - timestamp) > tolerance) return { valid: false, reason: "stale-timestamp" };
  return { valid: true, timestamp };
}

function hmacHex(secret: string, timestamp: number, body: string | Uint8Array): string {
  return createHmac("sha256", secret).update(`${timestamp}.`).update(body).digest("hex");
}

/** One header's value, or `undefined` when it was not sent. */
function headerValue(headers: WebhookHeaders, name: string): string | undefined {
  if (headers instanceof Headers) return headers.get(name) ?? undefined;
  // node:http lowercases header names; a hand-built record may not.
  const key = Object.keys(headers).find((candidate) => candidate.toLowerCase() === name);
  const value = key === undefined ? undefined : headers[key];
  if (value === undefined) return undefined;
  // Joined as fetch's Headers joins repeated headers, so a repeated header is malformed too.
  return typeof value === "string" ? value : value.join(", ");
}
