/**
 * `notify` (queue `notifications`): deliver a completed run's digest to every sink that does not
 * have it yet. A refusal queues the message again with an exponential delay (sinks already served
 * are skipped then); after the last attempt, or a refusal no retry can fix, the message waits in
 * `notifications-poison`. A store failure throws, so the queue retries the message as it is.
 */

import func, { type InvocationContext } from "@azure/functions";
import { functionsHost } from "./host.js";

export async function notifyHandler(message: unknown, context: InvocationContext): Promise<void> {
  const { rt, app } = await functionsHost();
  const parsed = app.parseNotifyMessage(message);
  const result = await app.deliverRunWithRetry(rt, parsed);
  if (result.outcome === "retry-scheduled")
    context.warn(
      `run ${parsed.runId}: delivery attempt ${result.attempt} failed (${result.error.message}); next in ${result.delayInSeconds} s`,
    );
  else if (result.outcome === "poisoned")
    context.error(
      `run ${parsed.runId}: digest given up after ${result.attempt} attempt(s), moved to notifications-poison: ${result.error.message}`,
    );
  else if (result.digest === undefined) context.log(`run ${parsed.runId}: nothing to tell`);
  else
    context.log(
      `run ${parsed.runId}: digest ${result.digest.id} (${result.digest.transitions.length} change(s)) delivered to ${result.delivered.join(", ") || "no new sink"}${result.skipped.length > 0 ? `; ${result.skipped.join(", ")} had it` : ""}`,
    );
}

export const notifyFunction = {
  name: "notify",
  options: { queueName: "notifications", connection: "VIGIL_STORAGE", handler: notifyHandler },
};

func.app.storageQueue(notifyFunction.name, notifyFunction.options);
