/**
 * `sweep` (timer; schedule from the app setting VIGIL_SWEEP_SCHEDULE, default every 30 minutes,
 * in UTC): plan the estate's targets and queue one `scan-targets` message per target.
 */

import func, { type InvocationContext, type Timer } from "@azure/functions";
import { functionsHost } from "./host.js";

/** Every 30 minutes (NCRONTAB, six fields, UTC). */
export const DEFAULT_SWEEP_SCHEDULE = "0 */30 * * * *";

export async function sweepHandler(timer: Timer, context: InvocationContext): Promise<void> {
  const { rt, app } = await functionsHost();
  const result = await app.startSweep(rt, { trigger: "timer" });
  if (timer.isPastDue) context.warn("the sweep ran late (the previous schedule was missed)");
  context.log(
    `sweep ${result.runId}: ${result.targets} target(s) queued, ${result.planFailures.length} scope(s) could not be planned`,
  );
  for (const failure of result.planFailures)
    context.error(
      `sweep ${result.runId}: ${failure.label} could not be planned: ${failure.message}`,
    );
}

export const sweepFunction = {
  name: "sweep",
  options: {
    // The app setting is resolved by the Functions host (%NAME% syntax); infra sets it.
    schedule: "%VIGIL_SWEEP_SCHEDULE%",
    runOnStartup: false,
    handler: sweepHandler,
  },
};

func.app.timer(sweepFunction.name, sweepFunction.options);
