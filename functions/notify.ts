/**
 * `notify` (queue `notifications`): deliver a completed run's digest to every sink that does not
 * have it yet. A refusal throws, so the queue retries (sinks already served are skipped) and after
 * the last attempt the message waits in `notifications-poison`.
 */

import func, { type InvocationContext } from "@azure/functions";
import { functionsHost } from "./host.js";

export async function notifyHandler(message: unknown, context: InvocationContext): Promise<void> {
  const { rt, app } = await functionsHost();
  const parsed = app.parseNotifyMessage(message);
  const result = await app.deliverRun(rt, parsed);
  if (result.digest === undefined) context.log(`run ${parsed.runId}: nothing to tell`);
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
