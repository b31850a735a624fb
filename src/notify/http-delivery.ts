/**
 * One HTTP POST of a notification, shared by the sinks: a timeout, the caller's abort signal, no
 * redirects, and every outcome other than a 2xx turned into a NotificationError that says whether
 * to try again. Nothing here ever writes the URL's path or query into a message.
 */

import { InputError } from "../core/index.js";
import { NotificationError } from "./errors.js";

/** The `fetch` the sinks call: the global one (undici in Node) unless a test injects another. */
export type FetchFunction = (input: URL, init: RequestInit) => Promise<Response>;

/** What {@link postJson} sends, and where. */
export interface PostJsonRequest {
  /** Name of the sink, for the error. */
  sink: string;
  url: URL;
  headers: Record<string, string>;
  body: string;
  fetch: FetchFunction;
  timeoutInMs: number;
  abortSignal?: AbortSignal | undefined;
  /** Epoch milliseconds now: `Retry-After` may be an HTTP date. */
  nowInMs: () => number;
}

/** Default time a receiver has to answer. */
export const DEFAULT_TIMEOUT_IN_MS = 10_000;

/**
 * Parse and check a sink's URL: absolute, `http:` or `https:`, without user name or password.
 * @throws InputError naming the sink and field, never the URL (its query may hold a key)
 */
export function parseSinkUrl(sink: string, field: string, url: string): URL {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    // The WHATWG parser throws a TypeError whose `input` is the whole URL; it is not kept as the
    // cause, since the query of a Teams Workflows URL is its key.
    if (error instanceof TypeError) {
      throw new InputError(`sink ${sink}: ${field} is not an absolute URL`, {
        code: "InvalidSinkUrl",
      });
    }
    throw error;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new InputError(`sink ${sink}: ${field} must be an http or https URL`, {
      code: "InvalidSinkUrl",
    });
  }
  if (parsed.username !== "" || parsed.password !== "") {
    throw new InputError(`sink ${sink}: ${field} must not carry a user name or password`, {
      code: "InvalidSinkUrl",
    });
  }
  return parsed;
}

/** Check a timeout option. @throws RangeError when it is not a positive number of milliseconds */
export function checkTimeout(sink: string, timeoutInMs: number | undefined): number {
  const value = timeoutInMs ?? DEFAULT_TIMEOUT_IN_MS;
  if (!Number.isFinite(value) || value <= 0) {
    throw new RangeError(`sink ${sink}: timeoutInMs must be a positive number, got ${value}`);
  }
  return value;
}

/**
 * POST a JSON body and resolve when the receiver answers 2xx. Redirects are not followed: a
 * signed body must not be forwarded to a host nobody configured.
 * @throws NotificationError with `retryable` for any other answer, a network error or a timeout
 * @throws the abort signal's reason when the caller aborted
 */
export async function postJson(request: PostJsonRequest): Promise<void> {
  const { sink, url, abortSignal } = request;
  const origin = url.origin;
  const timeoutSignal = AbortSignal.timeout(request.timeoutInMs);
  const signal =
    abortSignal === undefined ? timeoutSignal : AbortSignal.any([abortSignal, timeoutSignal]);

  let response: Response;
  try {
    response = await request.fetch(url, {
      method: "POST",
      headers: request.headers,
      body: request.body,
      redirect: "manual",
      signal,
    });
  } catch (error) {
    if (abortSignal?.aborted) throw abortSignal.reason;
    if (timeoutSignal.aborted) {
      throw new NotificationError(
        `${sink}: no answer from ${origin} within ${request.timeoutInMs} ms`,
        { sink, code: "Timeout", retryable: true },
        { cause: error },
      );
    }
    // fetch rejects with a TypeError for every network failure (refused, reset, DNS, TLS).
    if (error instanceof TypeError) {
      const code = networkCode(error);
      throw new NotificationError(
        `${sink}: could not reach ${origin} (${code})`,
        { sink, code, retryable: true },
        { cause: error },
      );
    }
    throw error;
  }

  // The status decides the outcome; the body is not read, and failing to discard it changes
  // nothing about the delivery.
  response.body?.cancel().catch(() => undefined);

  const status = response.status;
  if (status >= 200 && status < 300) return;
  const retryable = status === 408 || status === 429 || status >= 500;
  const retryAfterInMs = retryable
    ? parseRetryAfter(response.headers.get("retry-after"), request.nowInMs())
    : undefined;
  let detail = "";
  if (status >= 300 && status < 400)
    detail = " (a redirect, not followed: configure the final URL)";
  else if (retryAfterInMs !== undefined)
    detail = `; it asked to retry after ${Math.ceil(retryAfterInMs / 1000)} s`;
  else if (retryable) detail = "; retryable";
  throw new NotificationError(`${sink}: ${origin} answered ${status}${detail}`, {
    sink,
    statusCode: status,
    retryable,
    ...(retryAfterInMs !== undefined ? { retryAfterInMs } : {}),
  });
}

/**
 * `Retry-After` (RFC 9110 §10.2.3) in milliseconds: delay-seconds or an HTTP date; `undefined`
 * when absent or unreadable.
 */
export function parseRetryAfter(value: string | null, nowInMs: number): number | undefined {
  if (value === null || value.trim() === "") return undefined;
  const text = value.trim();
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  // Every HTTP-date form (IMF-fixdate, RFC 850, asctime) starts with the day's name; anything
  // else, such as "-5", is not one, whatever Date.parse makes of it.
  if (!/^[A-Za-z]{3}/.test(text)) return undefined;
  const date = Date.parse(text);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowInMs);
}

/** The most specific code of a network error: undici puts the socket error in `cause`. */
function networkCode(error: TypeError): string {
  const cause = (error as { cause?: unknown }).cause;
  if (typeof cause === "object" && cause !== null) {
    const code = (cause as { code?: unknown }).code;
    if (typeof code === "string" && code !== "") return code;
  }
  return "NetworkError";
}
