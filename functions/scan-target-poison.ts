/**
 * `scan-target-poison` (queue `scan-targets-poison`): account for a target whose message the host
 * gave up on. A handler that fails on its last attempt records the target's `error` findings itself
 * (`scan-target`), but a worker that dies while holding the message (killed, out of memory, a
 * timeout, a scale-in) never gets to: the host counts the delivery and, once `maxDequeueCount`
 * deliveries are used up, moves the message to the poison queue without running the handler again.
 * Without this function that target would never end, its run would never complete, and its rows
 * would keep their last status. Here the target is failed as on a last attempt, unless it already
 * ended (the handler's own last-attempt path, or a slow worker that finished after all).
 */

import func, { type InvocationContext } from "@azure/functions";
import { functionsHost } from "./host.js";

export async function scanTargetPoisonHandler(
  message: unknown,
  context: InvocationContext,
): Promise<void> {
  const { rt, app } = await functionsHost();
  let parsed: ReturnType<typeof app.parseScanTargetMessage>;
  try {
    parsed = app.parseScanTargetMessage(message);
  } catch (error) {
    if (!(error instanceof app.InputError)) throw error;
    // It never named a target: nothing to account for (scan-target logged it when it refused it).
    context.error(`scan-targets-poison message names no target: ${error.message}`);
    return;
  }
  const label = app.targetLabel(parsed.target);
  for await (const row of rt.store.runs.listTargets(parsed.runId))
    if (row.target === label) {
      context.log(
        `run ${parsed.runId}: ${label} had already ended (${row.outcome}) (message ${JSON.stringify(parsed)})`,
      );
      return;
    }
  await app.failTarget(
    rt,
    parsed,
    `its message was given up after ${rt.maxDequeueCount} deliveries without an outcome (the worker stopped while scanning it)`,
  );
  // The message names run and target ids only (no secret): logged whole, so that it can be replayed.
  context.error(
    `run ${parsed.runId}: ${label} was abandoned by its workers; recorded as error (message ${JSON.stringify(parsed)})`,
  );
}

export const scanTargetPoisonFunction = {
  name: "scan-target-poison",
  options: {
    queueName: "scan-targets-poison",
    connection: "VIGIL_STORAGE",
    handler: scanTargetPoisonHandler,
  },
};

func.app.storageQueue(scanTargetPoisonFunction.name, scanTargetPoisonFunction.options);
