/**
 * `cluster-changed` (Event Hub fed by the AKS `kube-audit-admin` diagnostic setting): each message
 * is a diagnostic-log batch `{ records: [...] }` whose `properties.log` holds a Kubernetes audit
 * event as a JSON string. Changes to Namespaces, NetworkPolicies, Ingresses, Services and the
 * Traefik CRDs re-evaluate their cluster. The Event Hub checkpoint moves on even when a handler
 * throws, so every record's problem is caught here and logged with its position; only a store
 * failure (nothing recorded) escapes, to be retried by the trigger's retry policy.
 */

import func, { type InvocationContext } from "@azure/functions";
import type { UseCases } from "./host.js";
import { functionsHost } from "./host.js";

export async function clusterChangedHandler(
  messages: unknown[],
  context: InvocationContext,
): Promise<void> {
  const { rt, app } = await functionsHost();
  for (const [i, message] of messages.entries()) {
    let batch: ReturnType<UseCases["parseAuditEnvelope"]>;
    try {
      batch = app.parseAuditEnvelope(message);
    } catch (error) {
      context.error(
        `event ${i} rejected: ${error instanceof Error ? error.message : String(error)}`,
      );
      continue;
    }
    for (const r of batch.rejected)
      context.error(`event ${i} record ${r.index} rejected: ${r.reason}`);
    const outcome = await app.handleAuditRecords(rt, batch.records);
    for (const r of outcome.rejected)
      context.error(`event ${i} record ${r.index} rejected: ${r.reason}`);
    for (const run of outcome.runs)
      context.log(
        `event ${i}: cluster ${run.cluster} re-evaluated in run ${run.runId}, ${run.result.transitions.length} change(s)`,
      );
  }
}

export const clusterChangedFunction = {
  name: "cluster-changed",
  options: {
    connection: "VIGIL_EVENTHUB",
    eventHubName: "%VIGIL_AUDIT_EVENTHUB_NAME%",
    consumerGroup: "%VIGIL_AUDIT_CONSUMER_GROUP%",
    cardinality: "many" as const,
    retry: {
      strategy: "exponentialBackoff" as const,
      maxRetryCount: 5,
      minimumInterval: { seconds: 5 },
      maximumInterval: { minutes: 5 },
    },
    handler: clusterChangedHandler,
  },
};

func.app.eventHub(clusterChangedFunction.name, clusterChangedFunction.options);
