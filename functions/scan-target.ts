/**
 * `scan-target` (queue `scan-targets`): collect, evaluate and record one target of a run. A
 * message that fails is retried by the queue; on its last attempt the target's controls become
 * `error` findings (the gate fails closed) and the message still goes to `scan-targets-poison`,
 * where operators see it.
 */

import func, { type InvocationContext } from "@azure/functions";
import { functionsHost, type UseCases } from "./host.js";

export async function scanTargetHandler(
  message: unknown,
  context: InvocationContext,
): Promise<void> {
  const { rt, app } = await functionsHost();
  let parsed: ReturnType<UseCases["parseScanTargetMessage"]>;
  try {
    parsed = app.parseScanTargetMessage(message);
  } catch (error) {
    // A malformed message can never succeed: say so and let it go to the poison queue.
    context.error(`scan-targets message rejected: ${(error as Error).message}`);
    throw error;
  }
  const attempt = Number(context.triggerMetadata?.dequeueCount ?? 1);
  try {
    const result = await app.scanTarget(rt, parsed);
    context.log(
      `run ${result.runId}: ${result.target} recorded as #${result.recordSeq}, ${result.findings} finding(s), ${result.transitions.length} change(s)${result.runCompleted ? "; run completed" : ""}`,
    );
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    if (attempt >= rt.maxDequeueCount && !(error instanceof app.InputError)) {
      context.error(
        `run ${parsed.runId}: ${parsed.target.kind} failed on its last attempt: ${reason}`,
      );
      await app.failTarget(rt, parsed, `failed ${attempt} time(s); last: ${reason}`);
    } else context.warn(`run ${parsed.runId}: attempt ${attempt} failed: ${reason}`);
    throw error;
  }
}

export const scanTargetFunction = {
  name: "scan-target",
  options: { queueName: "scan-targets", connection: "VIGIL_STORAGE", handler: scanTargetHandler },
};

func.app.storageQueue(scanTargetFunction.name, scanTargetFunction.options);
