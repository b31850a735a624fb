/**
 * `resource-changed` (Event Grid; the subscription system topic's ResourceWriteSuccess,
 * ResourceDeleteSuccess and ResourceActionSuccess): re-evaluate what the changed resource touches.
 * The Event Grid trigger completes the subscription validation handshake itself.
 */

import func, { type EventGridEvent, type InvocationContext } from "@azure/functions";
import { functionsHost } from "./host.js";

export async function resourceChangedHandler(
  event: EventGridEvent,
  context: InvocationContext,
): Promise<void> {
  const { rt, app } = await functionsHost();
  const parsed = app.parseResourceEvent(event);
  const outcome = await app.handleResourceEvent(rt, parsed);
  if ("ignored" in outcome) context.log(`event ${outcome.eventId} ignored: ${outcome.ignored}`);
  else
    context.log(
      `event ${outcome.eventId}: run ${outcome.runId} re-evaluated ${outcome.result.findings} finding(s), ${outcome.result.transitions.length} change(s)`,
    );
}

export const resourceChangedFunction = {
  name: "resource-changed",
  options: { handler: resourceChangedHandler },
};

func.app.eventGrid(resourceChangedFunction.name, resourceChangedFunction.options);
