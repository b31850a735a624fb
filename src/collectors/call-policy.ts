/**
 * The one call policy every collector uses: bounded concurrency per API and partition, the read
 * budget of ARM and Graph, retries with `Retry-After` or jittered backoff, and the target's
 * deadline. Azure SDK clients get it as a pipeline policy (their own retries switched off).
 */

import { AsyncLocalStorage } from "node:async_hooks";
import type {
  PipelinePolicy,
  PipelineRequest,
  PipelineResponse,
  SendRequest,
} from "@azure/core-rest-pipeline";
import { type CloudEndpoints, VigilError } from "../core/index.js";
import { type ApiName, CollectionError } from "./errors.js";

/** Which budget a call draws on: the API and its partition (subscription id, tenant, cluster, host). */
export interface CallKey {
  api: ApiName;
  partition: string;
}

/** Options of one policed call. */
export interface CallOptions {
  abortSignal?: AbortSignal;
  /** Epoch milliseconds after which no retry waits and no new attempt starts. */
  deadlineMs?: number;
}

/** Counters for progress, logs and benchmarks. */
export interface CallStats {
  calls: Record<string, number>;
  retries: Record<string, number>;
  throttled: Record<string, number>;
  failures: Record<string, number>;
}

/** The call policy's surface. */
export interface CallPolicy {
  /**
   * Run one call under the policy: wait for a concurrency slot and budget, retry what is
   * retryable, and give up at the deadline (also while waiting for a slot: `DeadlineExceeded`).
   * @throws CollectionError when the call finally fails.
   */
  call<T>(
    key: CallKey,
    operation: string,
    fn: (abortSignal: AbortSignal) => Promise<T>,
    options?: CallOptions,
  ): Promise<T>;
  /**
   * The same rules as a core-rest-pipeline policy for Azure SDK clients (position "perCall"),
   * except that only GET, HEAD and the POSTs that only read (Resource Graph queries,
   * `listClusterUserCredential`) are retried: any other request is sent once.
   */
  pipelinePolicy(key: CallKey, options?: CallOptions): PipelinePolicy;
  stats(): CallStats;
}

/** A client-side token bucket: `capacity` reads at once, refilled at `refillPerSecond`. */
export interface RateLimit {
  capacity: number;
  refillPerSecond: number;
}

/** How many calls may run at once: over the whole API, and within one partition. */
export interface ConcurrencyLimit {
  perApi: number;
  perPartition: number;
}

/** Time as the policy sees it; tests pass a fake one. */
export interface PolicyClock {
  /** Epoch milliseconds. */
  now(): number;
}

/** Options of {@link createCallPolicy}; every field has a default sized to the API's budget. */
export interface CreateCallPolicyOptions {
  /** The cloud: its `armReadBudget` sizes the ARM bucket (public cloud when absent). */
  cloud?: Pick<CloudEndpoints, "armReadBudget">;
  /** ARM read budget per subscription; overrides `cloud.armReadBudget`. */
  armReadBudget?: CloudEndpoints["armReadBudget"];
  /** Concurrency per API (merged over the defaults). */
  concurrency?: Partial<Record<ApiName, ConcurrencyLimit>>;
  /** Client-side pacing per API and partition; `false` turns pacing off for that API. */
  rateLimits?: Partial<Record<ApiName, RateLimit | false>>;
  /** Attempts per call including the first (default 5). */
  maxAttempts?: number;
  /** First backoff step when the server names no wait (default 500 ms), doubled per attempt. */
  initialBackoffInMs?: number;
  /** Largest backoff step (default 30 s). */
  maxBackoffInMs?: number;
  /** A server-requested wait longer than this fails the call instead (default 5 min). */
  maxRetryAfterInMs?: number;
  /** One attempt is abandoned (and retried as a timeout) after this long (default 60 s; 0 = never). */
  attemptTimeoutInMs?: number;
  clock?: PolicyClock;
  /** Waits `ms`; rejects when `abortSignal` fires. */
  sleep?: (ms: number, abortSignal?: AbortSignal) => Promise<void>;
  /** Uniform in [0, 1). */
  random?: () => number;
}

/** What kind of failure an error is, and whether trying again can help. */
export interface ErrorClassification {
  kind:
    | "throttled"
    | "server"
    | "timeout"
    | "network"
    | "truncated"
    | "client"
    | "aborted"
    | "unknown";
  retryable: boolean;
  statusCode?: number;
  /** The API's error code (`AuthorizationFailed`, `ResourceNotFound`, a Kubernetes reason), else a node code or `Http<status>`. */
  code: string;
  message: string;
  requestId?: string;
  /** The wait the server asked for (`retry-after-ms`, `x-ms-retry-after-ms`, `Retry-After`). */
  retryAfterInMs?: number;
}

// ARM public cloud: 250 reads, 25/s per subscription and principal (PLATFORM.md §2). ARG: 15
// queries per 5 s per principal. Graph Conditional Access: about 1 request/s per tenant.
const PUBLIC_ARM_BUDGET: RateLimit = { capacity: 250, refillPerSecond: 25 };
const DEFAULT_RATE_LIMITS: Record<ApiName, RateLimit | false> = {
  arm: PUBLIC_ARM_BUDGET,
  "resource-graph": { capacity: 15, refillPerSecond: 3 },
  graph: { capacity: 1, refillPerSecond: 1 },
  kubernetes: false,
  blob: false,
  tls: false,
};
const DEFAULT_CONCURRENCY: Record<ApiName, ConcurrencyLimit> = {
  arm: { perApi: 32, perPartition: 8 },
  "resource-graph": { perApi: 4, perPartition: 2 },
  graph: { perApi: 4, perPartition: 1 },
  kubernetes: { perApi: 16, perPartition: 6 },
  blob: { perApi: 16, perPartition: 4 },
  tls: { perApi: 16, perPartition: 4 },
};

const RETRYABLE_NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "ETIMEDOUT",
  "EPIPE",
  "EAI_AGAIN",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENETDOWN",
  "UND_ERR_SOCKET",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ERR_STREAM_PREMATURE_CLOSE",
  "REQUEST_SEND_ERROR",
]);
const RETRYABLE_MESSAGES = /socket hang up|premature close|aborted|other side closed|terminated/i;
const TRUNCATED_CODES = new Set(["PARSE_ERROR", "TruncatedBody"]);
// Reads sent as POST: the only POSTs retried (a retried write could be applied twice).
const RETRYABLE_POST_PATHS = [
  /\/providers\/Microsoft\.ResourceGraph\/resources$/i,
  /\/listClusterUserCredential$/i,
];

const callContext = new AsyncLocalStorage<CallOptions>();

/**
 * Run `fn` with call options (deadline, abort signal) that the pipeline policies of Azure SDK
 * clients pick up for every request made inside it: a client is built once per process, while
 * each target has its own deadline.
 */
export function runWithCallOptions<T>(options: CallOptions, fn: () => Promise<T>): Promise<T> {
  return callContext.run(options, fn);
}

/**
 * Build the call policy. One per process: every collector shares its slots and budgets.
 */
export function createCallPolicy(options: CreateCallPolicyOptions = {}): CallPolicy {
  const clock = options.clock ?? { now: () => Date.now() };
  const sleep = options.sleep ?? defaultSleep;
  const random = options.random ?? Math.random;
  const maxAttempts = Math.max(1, options.maxAttempts ?? 5);
  const initialBackoff = options.initialBackoffInMs ?? 500;
  const maxBackoff = options.maxBackoffInMs ?? 30_000;
  const maxRetryAfter = options.maxRetryAfterInMs ?? 300_000;
  const attemptTimeout = options.attemptTimeoutInMs ?? 60_000;
  const rateLimits: Record<ApiName, RateLimit | false> = {
    ...DEFAULT_RATE_LIMITS,
    arm: armRateLimit(options.armReadBudget ?? options.cloud?.armReadBudget),
    ...options.rateLimits,
  };
  const concurrency: Record<ApiName, ConcurrencyLimit> = {
    ...DEFAULT_CONCURRENCY,
    ...options.concurrency,
  };

  const apiSlots = new Map<ApiName, Semaphore>();
  const partitionSlots = new Map<string, Semaphore>();
  const buckets = new Map<string, TokenBucket>();
  const counters: CallStats = { calls: {}, retries: {}, throttled: {}, failures: {} };
  const count = (table: Record<string, number>, api: ApiName) => {
    table[api] = (table[api] ?? 0) + 1;
  };

  function slotsFor(key: CallKey): [Semaphore, Semaphore] {
    const limit = concurrency[key.api];
    let api = apiSlots.get(key.api);
    if (api === undefined) {
      api = new Semaphore(limit.perApi);
      apiSlots.set(key.api, api);
    }
    const partitionKey = `${key.api}\u0000${key.partition.toLowerCase()}`;
    let partition = partitionSlots.get(partitionKey);
    if (partition === undefined) {
      partition = new Semaphore(limit.perPartition);
      partitionSlots.set(partitionKey, partition);
    }
    return [api, partition];
  }

  function bucketFor(key: CallKey): TokenBucket | undefined {
    const limit = rateLimits[key.api];
    if (limit === false) return undefined;
    const bucketKey = `${key.api}\u0000${key.partition.toLowerCase()}`;
    let bucket = buckets.get(bucketKey);
    if (bucket === undefined) {
      bucket = new TokenBucket(limit, clock.now());
      buckets.set(bucketKey, bucket);
    }
    return bucket;
  }

  function deadlineError(key: CallKey, operation: string, last: ErrorClassification | undefined) {
    return new CollectionError(
      `${operation}: deadline reached${last ? ` after ${last.code}: ${last.message}` : ""}`,
      {
        source: key.api,
        ...(last?.statusCode !== undefined ? { statusCode: last.statusCode } : {}),
        code: last?.code ?? "DeadlineExceeded",
        ...(last?.requestId !== undefined ? { requestId: last.requestId } : {}),
        retryable: true,
      },
      { cause: last },
    );
  }

  /**
   * Take an API slot and a partition slot, or neither: false when the deadline passes first (the
   * wait is timed with `sleep`, the policy's clock); an abort rejects with its reason.
   */
  async function acquireBoth(
    apiSlot: Semaphore,
    partitionSlot: Semaphore,
    abortSignal: AbortSignal | undefined,
    deadline: number,
  ): Promise<boolean> {
    abortSignal?.throwIfAborted();
    if (apiSlot.tryAcquire()) {
      if (partitionSlot.tryAcquire()) return true;
      apiSlot.release();
    }
    if (clock.now() >= deadline) return false;
    const waiting = new AbortController();
    const signal =
      abortSignal !== undefined ? AbortSignal.any([abortSignal, waiting.signal]) : waiting.signal;
    if (Number.isFinite(deadline)) {
      // The timer is stopped (its sleep aborted) once both slots are taken.
      sleep(deadline - clock.now(), waiting.signal).then(
        () => waiting.abort(SLOT_DEADLINE),
        () => undefined,
      );
    }
    try {
      await apiSlot.acquire(signal);
      try {
        await partitionSlot.acquire(signal);
      } catch (error) {
        apiSlot.release();
        throw error;
      }
      return true;
    } catch (error) {
      if (waiting.signal.reason === SLOT_DEADLINE && abortSignal?.aborted !== true) return false;
      throw error;
    } finally {
      if (!waiting.signal.aborted) waiting.abort(SLOT_ACQUIRED);
    }
  }

  async function run<T>(
    key: CallKey,
    operation: string,
    fn: (abortSignal: AbortSignal) => Promise<T>,
    callOptions: CallOptions,
    attemptLimit = maxAttempts,
  ): Promise<T> {
    const { abortSignal, deadlineMs } = callOptions;
    const deadline = deadlineMs ?? Number.POSITIVE_INFINITY;
    count(counters.calls, key.api);
    let last: ErrorClassification | undefined;
    for (let attempt = 1; ; attempt++) {
      abortSignal?.throwIfAborted();
      const bucket = bucketFor(key);
      if (bucket !== undefined) {
        const waitInMs = bucket.reserve(clock.now());
        if (clock.now() + waitInMs > deadline) {
          bucket.refund();
          count(counters.failures, key.api);
          throw deadlineError(key, operation, last);
        }
        if (waitInMs > 0) {
          try {
            await sleep(waitInMs, abortSignal);
          } catch (error) {
            // No request was sent: the reserved read goes back to the budget.
            bucket.refund();
            throw error;
          }
        }
      }
      const [apiSlot, partitionSlot] = slotsFor(key);
      let acquired: boolean;
      try {
        acquired = await acquireBoth(apiSlot, partitionSlot, abortSignal, deadline);
      } catch (error) {
        bucket?.refund();
        throw error;
      }
      if (!acquired) {
        // No request was sent: the reserved read goes back to the budget.
        bucket?.refund();
        count(counters.failures, key.api);
        throw new CollectionError(
          `${operation}: deadline reached while waiting for a ${key.api} call slot`,
          { source: key.api, code: "DeadlineExceeded", retryable: false },
        );
      }
      let outcome: { ok: true; value: T } | { ok: false; error: unknown; timedOut: boolean };
      try {
        if (clock.now() >= deadline) {
          count(counters.failures, key.api);
          throw deadlineError(key, operation, last);
        }
        const remaining = deadline - clock.now();
        const timeoutInMs = attemptTimeout > 0 ? Math.min(attemptTimeout, remaining) : remaining;
        outcome = await attemptOnce(fn, abortSignal, timeoutInMs);
      } finally {
        partitionSlot.release();
        apiSlot.release();
      }
      if (outcome.ok) return outcome.value;
      if (abortSignal?.aborted) throw abortSignal.reason ?? outcome.error;
      const classified: ErrorClassification = outcome.timedOut
        ? {
            kind: "timeout",
            retryable: true,
            code: "Timeout",
            message: `attempt timed out`,
          }
        : classifyError(outcome.error, clock.now());
      last = classified;
      if (classified.kind === "throttled") count(counters.throttled, key.api);
      if (classified.kind === "aborted") throw outcome.error;
      const giveUp =
        !classified.retryable ||
        attempt >= attemptLimit ||
        (classified.retryAfterInMs ?? 0) > maxRetryAfter;
      if (giveUp) {
        count(counters.failures, key.api);
        throw toCollectionError(key.api, operation, classified, attempt, outcome.error);
      }
      const delay =
        classified.retryAfterInMs ?? backoffInMs(attempt, initialBackoff, maxBackoff, random);
      if (clock.now() + delay > deadline) {
        count(counters.failures, key.api);
        throw deadlineError(key, operation, classified);
      }
      count(counters.retries, key.api);
      if (delay > 0) await sleep(delay, abortSignal);
    }
  }

  return {
    call(key, operation, fn, callOptions = {}) {
      return run(key, operation, fn, { ...callContext.getStore(), ...callOptions });
    },
    pipelinePolicy(key, policyOptions = {}) {
      return {
        name: "vigilCallPolicy",
        sendRequest(request: PipelineRequest, next: SendRequest): Promise<PipelineResponse> {
          const scoped = { ...policyOptions, ...callContext.getStore() };
          const original = request.abortSignal;
          const signals = [original, scoped.abortSignal].filter(
            (signal): signal is AbortSignal => signal !== undefined,
          );
          const abortSignal = signals.length > 1 ? AbortSignal.any(signals) : signals[0];
          const path = new URL(request.url).pathname;
          const operation = `${request.method} ${path}`;
          return run(
            key,
            operation,
            async (attemptSignal) => {
              request.abortSignal = attemptSignal;
              try {
                return checkResponse(await next(request));
              } finally {
                request.abortSignal = original;
              }
            },
            {
              ...(abortSignal !== undefined ? { abortSignal } : {}),
              ...(scoped.deadlineMs !== undefined ? { deadlineMs: scoped.deadlineMs } : {}),
            },
            // A write, or a POST not known to only read, is sent once: a retry could repeat it.
            isRetryableRequest(request.method, path) ? maxAttempts : 1,
          );
        },
      };
    },
    stats() {
      return {
        calls: { ...counters.calls },
        retries: { ...counters.retries },
        throttled: { ...counters.throttled },
        failures: { ...counters.failures },
      };
    },
  };
}

/** Whether a request may be sent again: GET, HEAD, and the POSTs that only read. */
function isRetryableRequest(method: string, path: string): boolean {
  const verb = method.toUpperCase();
  if (verb === "GET" || verb === "HEAD") return true;
  return verb === "POST" && RETRYABLE_POST_PATHS.some((pattern) => pattern.test(path));
}

/** Why a slot wait's timer was stopped: the deadline passed, or the slots were taken. */
const SLOT_DEADLINE = Symbol("slot deadline");
const SLOT_ACQUIRED = Symbol("slot acquired");

/** The client-side bucket for an ARM read budget (the hourly model becomes a slow refill). */
function armRateLimit(budget: CloudEndpoints["armReadBudget"] | undefined): RateLimit {
  if (budget === undefined) return PUBLIC_ARM_BUDGET;
  if (budget.model === "token-bucket") {
    return { capacity: budget.capacity, refillPerSecond: budget.refillPerSecond };
  }
  return { capacity: budget.readsPerHour, refillPerSecond: budget.readsPerHour / 3600 };
}

/** Exponential backoff with "equal jitter": half the step fixed, half random, so waits grow. */
function backoffInMs(
  attempt: number,
  initialInMs: number,
  maxInMs: number,
  random: () => number,
): number {
  const step = Math.min(maxInMs, initialInMs * 2 ** (attempt - 1));
  return Math.round(step / 2 + random() * (step / 2));
}

async function attemptOnce<T>(
  fn: (abortSignal: AbortSignal) => Promise<T>,
  abortSignal: AbortSignal | undefined,
  timeoutInMs: number,
): Promise<{ ok: true; value: T } | { ok: false; error: unknown; timedOut: boolean }> {
  const controller = new AbortController();
  const onAbort = () => controller.abort(abortSignal?.reason);
  abortSignal?.addEventListener("abort", onAbort, { once: true });
  let timedOut = false;
  const timer =
    Number.isFinite(timeoutInMs) && timeoutInMs < 2 ** 31
      ? setTimeout(() => {
          timedOut = true;
          controller.abort(new DOMException("attempt timed out", "TimeoutError"));
        }, timeoutInMs)
      : undefined;
  timer?.unref?.();
  try {
    return { ok: true, value: await fn(controller.signal) };
  } catch (error) {
    return { ok: false, error, timedOut: timedOut && !abortSignal?.aborted };
  } finally {
    if (timer !== undefined) clearTimeout(timer);
    abortSignal?.removeEventListener("abort", onAbort);
  }
}

/** An HTTP error response seen by the pipeline policy, before any SDK turns it into its error. */
class HttpResponseError extends VigilError {
  readonly statusCode: number;
  readonly response: PipelineResponse;
  constructor(response: PipelineResponse) {
    super(`HTTP ${response.status}`);
    this.name = "HttpResponseError";
    this.statusCode = response.status;
    this.response = response;
  }
}

/** A 2xx response whose JSON body does not parse: cut off in transit. */
class TruncatedBodyError extends VigilError {
  readonly code = "TruncatedBody";
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "TruncatedBodyError";
  }
}

function checkResponse(response: PipelineResponse): PipelineResponse {
  if (response.status >= 400) throw new HttpResponseError(response);
  const type = response.headers.get("content-type") ?? "";
  const text = response.bodyAsText;
  if (/json/i.test(type) && typeof text === "string" && text.length > 0) {
    try {
      JSON.parse(text);
    } catch (cause) {
      throw new TruncatedBodyError(`response body of ${response.status} is not valid JSON`, {
        cause,
      });
    }
  }
  return response;
}

function toCollectionError(
  source: ApiName,
  operation: string,
  classified: ErrorClassification,
  attempts: number,
  cause: unknown,
): CollectionError {
  const after = attempts > 1 ? ` after ${attempts} attempts` : "";
  return new CollectionError(
    `${operation}: ${classified.code}${classified.statusCode !== undefined ? ` (${classified.statusCode})` : ""}${after}: ${classified.message}`,
    {
      source,
      ...(classified.statusCode !== undefined ? { statusCode: classified.statusCode } : {}),
      code: classified.code,
      ...(classified.requestId !== undefined ? { requestId: classified.requestId } : {}),
      retryable: classified.retryable,
    },
    { cause },
  );
}

type HeaderBag = { get(name: string): string | undefined | null } | Record<string, unknown>;

function header(headers: HeaderBag | undefined, name: string): string | undefined {
  if (headers === undefined || headers === null) return undefined;
  if (typeof (headers as { get?: unknown }).get === "function") {
    const value = (headers as { get(name: string): string | undefined | null }).get(name);
    return value ?? undefined;
  }
  const record = headers as Record<string, unknown>;
  for (const [key, value] of Object.entries(record)) {
    if (key.toLowerCase() === name) {
      if (Array.isArray(value)) return value[0] === undefined ? undefined : String(value[0]);
      return value === undefined || value === null ? undefined : String(value);
    }
  }
  return undefined;
}

/** The wait a response asks for, in milliseconds (ms headers first, then `Retry-After`). */
function retryAfterInMs(headers: HeaderBag | undefined, nowMs: number): number | undefined {
  for (const name of ["retry-after-ms", "x-ms-retry-after-ms"]) {
    const value = header(headers, name);
    if (value !== undefined && value.trim() !== "") {
      const ms = Number(value);
      if (Number.isFinite(ms) && ms >= 0) return ms;
    }
  }
  const value = header(headers, "retry-after");
  if (value === undefined || value.trim() === "") return undefined;
  const seconds = Number(value);
  if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
  const date = Date.parse(value);
  return Number.isNaN(date) ? undefined : Math.max(0, date - nowMs);
}

function parseBody(body: unknown): unknown {
  if (typeof body !== "string") return body;
  try {
    return JSON.parse(body);
  } catch {
    // Not JSON (an HTML error page, a truncated body): no API code to read.
    return undefined;
  }
}

/** The API's own error code and message from an ARM, Graph or Kubernetes error body. */
function apiError(body: unknown): { code?: string; message?: string } {
  const parsed = parseBody(body);
  if (typeof parsed !== "object" || parsed === null) return {};
  const record = parsed as Record<string, unknown>;
  const inner = record.error;
  if (typeof inner === "object" && inner !== null) {
    const { code, message } = inner as Record<string, unknown>;
    return {
      ...(typeof code === "string" ? { code } : {}),
      ...(typeof message === "string" ? { message } : {}),
    };
  }
  // Kubernetes Status: { kind: "Status", reason, message, code }.
  if (record.kind === "Status") {
    return {
      ...(typeof record.reason === "string" ? { code: record.reason } : {}),
      ...(typeof record.message === "string" ? { message: record.message } : {}),
    };
  }
  return {};
}

function nodeCode(error: unknown, depth = 0): string | undefined {
  if (typeof error !== "object" || error === null || depth > 3) return undefined;
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (RETRYABLE_NETWORK_CODES.has(code) || /^E[A-Z]+$/.test(code))) {
    return code;
  }
  return nodeCode((error as { cause?: unknown }).cause, depth + 1);
}

function isRetryableStatus(status: number): boolean {
  return status === 408 || status === 429 || (status >= 500 && status !== 501 && status !== 505);
}

/**
 * Classify any error a call can end in: `RestError` of `@azure/core-rest-pipeline` or
 * `@azure/ms-rest-js` (statusCode, response headers, `x-ms-request-id`), a Kubernetes
 * `ApiException` (`code`, `headers`, `body`), Node network errors, unparsable bodies and aborts.
 * `nowMs` turns an HTTP-date `Retry-After` into a wait.
 */
export function classifyError(error: unknown, nowMs: number = Date.now()): ErrorClassification {
  if (error instanceof CollectionError) {
    return {
      kind: error.retryable ? "server" : "client",
      retryable: error.retryable,
      ...(error.statusCode !== undefined ? { statusCode: error.statusCode } : {}),
      code: error.code,
      message: error.message,
      ...(error.requestId !== undefined ? { requestId: error.requestId } : {}),
    };
  }
  if (typeof error !== "object" || error === null) {
    return { kind: "unknown", retryable: false, code: "CollectionFailed", message: String(error) };
  }
  const record = error as Record<string, unknown> & {
    response?: { headers?: HeaderBag; bodyAsText?: unknown; body?: unknown; status?: number };
  };
  const name = typeof record.name === "string" ? record.name : "";
  const message = typeof record.message === "string" ? record.message : String(error);
  if (name === "AbortError") {
    return { kind: "aborted", retryable: false, code: "Aborted", message };
  }
  if (name === "TimeoutError") {
    return { kind: "timeout", retryable: true, code: "Timeout", message };
  }

  // Status: RestError.statusCode; Kubernetes ApiException.code (a number); our HttpResponseError.
  // A 2xx status is no HTTP failure: a RestError PARSE_ERROR carries the 200 whose body was cut.
  const anyStatus =
    typeof record.statusCode === "number"
      ? record.statusCode
      : typeof record.code === "number"
        ? record.code
        : typeof record.response?.status === "number"
          ? record.response.status
          : undefined;
  const status = anyStatus !== undefined && anyStatus >= 400 ? anyStatus : undefined;
  const headers = (record.response?.headers ?? record.headers) as HeaderBag | undefined;
  const requestId =
    header(headers, "x-ms-request-id") ??
    header(headers, "request-id") ??
    header(headers, "x-ms-correlation-request-id") ??
    header(headers, "audit-id");
  const withId = requestId !== undefined ? { requestId } : {};

  if (status !== undefined) {
    const body = record.response?.bodyAsText ?? record.body ?? record.response?.body;
    const fromBody = apiError(body);
    const code =
      fromBody.code ??
      (typeof record.code === "string" && !/^[A-Z_]+$/.test(record.code)
        ? record.code
        : `Http${status}`);
    const retryAfter = retryAfterInMs(headers, nowMs);
    const throttled = status === 429;
    return {
      kind: throttled ? "throttled" : status >= 500 || status === 408 ? "server" : "client",
      retryable: isRetryableStatus(status),
      statusCode: status,
      code,
      message: fromBody.message ?? message,
      ...withId,
      // Only a throttle or an unavailable service asks for a wait that means something.
      ...(retryAfter !== undefined && (throttled || status === 503)
        ? { retryAfterInMs: retryAfter }
        : {}),
    };
  }

  const stringCode = typeof record.code === "string" ? record.code : undefined;
  if (
    name === "SyntaxError" ||
    name === "TruncatedBodyError" ||
    (stringCode !== undefined && TRUNCATED_CODES.has(stringCode))
  ) {
    return { kind: "truncated", retryable: true, code: "TruncatedBody", message, ...withId };
  }
  const network = nodeCode(error);
  if (network !== undefined) {
    const retryable = RETRYABLE_NETWORK_CODES.has(network);
    return {
      kind: network === "ETIMEDOUT" ? "timeout" : "network",
      retryable,
      code: network,
      message,
      ...withId,
    };
  }
  if (RETRYABLE_MESSAGES.test(message)) {
    return { kind: "network", retryable: true, code: "ECONNRESET", message, ...withId };
  }
  return {
    kind: "unknown",
    retryable: false,
    code: stringCode ?? "CollectionFailed",
    message,
    ...withId,
  };
}

function defaultSleep(ms: number, abortSignal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (abortSignal?.aborted) {
      reject(abortSignal.reason);
      return;
    }
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortSignal?.reason);
    };
    const timer = setTimeout(() => {
      abortSignal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    abortSignal?.addEventListener("abort", onAbort, { once: true });
  });
}

/** Reservations against a refilling budget: a caller takes a token now and waits its turn. */
class TokenBucket {
  private tokens: number;
  private last: number;
  constructor(
    private readonly limit: RateLimit,
    nowMs: number,
  ) {
    this.tokens = limit.capacity;
    this.last = nowMs;
  }

  /** Take one token; the wait (ms) until it is really available. */
  reserve(nowMs: number): number {
    const elapsed = Math.max(0, nowMs - this.last);
    this.last = Math.max(this.last, nowMs);
    this.tokens = Math.min(
      this.limit.capacity,
      this.tokens + (elapsed / 1000) * this.limit.refillPerSecond,
    );
    this.tokens -= 1;
    if (this.tokens >= 0) return 0;
    return Math.ceil((-this.tokens / this.limit.refillPerSecond) * 1000);
  }

  refund(): void {
    this.tokens = Math.min(this.limit.capacity, this.tokens + 1);
  }
}

/** A FIFO counting semaphore whose waiters can be aborted. */
class Semaphore {
  private active = 0;
  private readonly waiters: { resolve: () => void; reject: (reason: unknown) => void }[] = [];
  constructor(private readonly limit: number) {}

  /** Take a slot if one is free now (and nobody is queued for it). */
  tryAcquire(): boolean {
    if (this.active >= this.limit || this.waiters.length > 0) return false;
    this.active++;
    return true;
  }

  acquire(abortSignal?: AbortSignal): Promise<void> {
    if (abortSignal?.aborted) return Promise.reject(abortSignal.reason);
    if (this.active < this.limit) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = {
        resolve: () => {
          abortSignal?.removeEventListener("abort", onAbort);
          resolve();
        },
        reject,
      };
      const onAbort = () => {
        const index = this.waiters.indexOf(waiter);
        if (index >= 0) this.waiters.splice(index, 1);
        reject(abortSignal?.reason);
      };
      abortSignal?.addEventListener("abort", onAbort, { once: true });
      this.waiters.push(waiter);
    });
  }

  release(): void {
    const next = this.waiters.shift();
    // The slot passes straight to the next waiter, so `active` stays the same.
    if (next !== undefined) next.resolve();
    else this.active--;
  }
}
