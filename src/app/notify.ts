/**
 * Deliver a completed run's state changes: the transitions its targets left in the outbox become
 * one digest, sent once to each sink. A sink that already has the run's digest is skipped, so a
 * replayed message or a retry after a partial failure notifies nobody twice; a sink that refuses
 * makes the whole delivery throw, so the queue retries it and finally moves it to the poison queue
 * (nothing is dropped silently).
 */

import { type Digest, InputError, VigilError } from "../core/index.js";
import { buildDigest } from "./deps.js";
import type { AppRuntime } from "./runtime.js";
import { controlTitle, type NotifyMessage } from "./sweep.js";

/** One sink's refusal. */
export interface SinkFailure {
  sink: string;
  message: string;
  /** Whether sending again may succeed (unreachable, timeout, 408, 429, 5xx). */
  retryable: boolean;
  /** What the receiver asked for (Retry-After), when it did. */
  retryAfterInMs?: number;
}

/** Some sinks did not take the digest; the others have it and are skipped on the retry. */
export class DeliveryError extends VigilError {
  readonly failures: readonly SinkFailure[];
  constructor(runId: string, failures: readonly SinkFailure[]) {
    super(
      `the digest of run ${runId} was not delivered to ${failures.map((f) => `${f.sink} (${f.message})`).join(", ")}`,
    );
    this.name = "DeliveryError";
    this.failures = failures;
  }
}

/** What a delivery did. */
export interface DeliveryResult {
  runId: string;
  /** The digest, or undefined when the run changed nothing worth telling. */
  digest: Digest | undefined;
  delivered: string[];
  /** Sinks that had the digest already. */
  skipped: string[];
}

/**
 * Deliver the digest of a completed run to every sink that does not have it yet.
 * @throws InputError when the run is unknown or not completed; DeliveryError when a sink refused
 *   (retry: the sinks that took it are skipped); StoreError when the store cannot be read.
 */
export async function deliverRun(rt: AppRuntime, message: NotifyMessage): Promise<DeliveryResult> {
  const run = await rt.store.runs.getRun(message.runId);
  if (run === undefined)
    throw new InputError(`run ${message.runId} is not in the runs table`, {
      pointer: "/runId",
      code: "UnknownRun",
    });
  const transitions = await rt.store.outbox.list(message.runId);
  const digest = buildDigest(transitions, {
    runId: run.runId,
    trigger: run.trigger,
    evaluatedAt: run.now,
    titleOf: (controlId) => controlTitle(rt.catalogue, controlId),
  });
  const result: DeliveryResult = { runId: run.runId, digest, delivered: [], skipped: [] };
  if (digest === undefined) return result;
  const failures: SinkFailure[] = [];
  for (const sink of rt.sinks) {
    if (await rt.store.runs.isDelivered(run.runId, sink.name)) {
      result.skipped.push(sink.name);
      continue;
    }
    try {
      await sink.deliver(digest);
    } catch (error) {
      const fields = error as { retryable?: unknown; retryAfterInMs?: unknown };
      failures.push({
        sink: sink.name,
        message: error instanceof Error ? error.message : String(error),
        retryable: fields.retryable !== false,
        ...(typeof fields.retryAfterInMs === "number"
          ? { retryAfterInMs: fields.retryAfterInMs }
          : {}),
      });
      continue;
    }
    await rt.store.runs.markDelivered(run.runId, sink.name, new Date(rt.clock()).toISOString());
    result.delivered.push(sink.name);
  }
  if (failures.length > 0) throw new DeliveryError(run.runId, failures);
  return result;
}

/** Deliveries of one digest before it is given up to the poison queue. */
export const MAX_DELIVERY_ATTEMPTS = 8;
/** First retry delay; each further one doubles, up to an hour. */
const FIRST_RETRY_IN_SECONDS = 30;
const LAST_RETRY_IN_SECONDS = 3600;

/** What {@link deliverRunWithRetry} did. */
export type DeliveryOutcome =
  | ({ outcome: "delivered" } & DeliveryResult)
  | { outcome: "retry-scheduled"; attempt: number; delayInSeconds: number; error: DeliveryError }
  | { outcome: "poisoned"; attempt: number; error: DeliveryError };

/**
 * Deliver a run's digest; when a sink refuses, queue the message again with an exponential delay
 * (30 s, 1 min, 2 min … up to an hour, or the receiver's Retry-After when longer) instead of
 * failing the queue trigger, whose own retries have no backoff. After {@link MAX_DELIVERY_ATTEMPTS}
 * attempts, or a refusal no retry can fix (another 4xx), the message goes to
 * `notifications-poison`: nothing is dropped silently.
 * @throws InputError for an unknown run; StoreError when the store cannot be used (the queue
 *   then retries the message as it is)
 */
export async function deliverRunWithRetry(
  rt: AppRuntime,
  message: NotifyMessage,
): Promise<DeliveryOutcome> {
  try {
    return { outcome: "delivered", ...(await deliverRun(rt, message)) };
  } catch (error) {
    if (!(error instanceof DeliveryError)) throw error;
    const attempt = message.attempt ?? 1;
    const fixable = error.failures.every((f) => f.retryable);
    if (!fixable || attempt >= MAX_DELIVERY_ATTEMPTS) {
      await rt.store.queues.notificationsPoison.send({ ...message, attempt, error: error.message });
      return { outcome: "poisoned", attempt, error };
    }
    const backoff = Math.min(LAST_RETRY_IN_SECONDS, FIRST_RETRY_IN_SECONDS * 2 ** (attempt - 1));
    const asked = Math.max(
      0,
      ...error.failures.map((f) => Math.ceil((f.retryAfterInMs ?? 0) / 1000)),
    );
    const delayInSeconds = Math.min(LAST_RETRY_IN_SECONDS, Math.max(backoff, asked));
    const next: NotifyMessage = { v: 1, runId: message.runId, attempt: attempt + 1 };
    await rt.store.queues.notifications.send(next, { visibilityTimeoutInSeconds: delayInSeconds });
    return { outcome: "retry-scheduled", attempt, delayInSeconds, error };
  }
}
