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

/** Some sinks did not take the digest; the others have it and are skipped on the retry. */
export class DeliveryError extends VigilError {
  readonly failures: readonly { sink: string; message: string }[];
  constructor(runId: string, failures: readonly { sink: string; message: string }[]) {
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
  const failures: { sink: string; message: string }[] = [];
  for (const sink of rt.sinks) {
    if (await rt.store.runs.isDelivered(run.runId, sink.name)) {
      result.skipped.push(sink.name);
      continue;
    }
    try {
      await sink.deliver(digest);
    } catch (error) {
      failures.push({
        sink: sink.name,
        message: error instanceof Error ? error.message : String(error),
      });
      continue;
    }
    await rt.store.runs.markDelivered(run.runId, sink.name, new Date(rt.clock()).toISOString());
    result.delivered.push(sink.name);
  }
  if (failures.length > 0) throw new DeliveryError(run.runId, failures);
  return result;
}
