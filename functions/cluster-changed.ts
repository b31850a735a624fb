/**
 * `cluster-changed` (Event Hub fed by the AKS `kube-audit-admin` diagnostic setting): each message
 * is a diagnostic-log batch `{ records: [...] }` whose `properties.log` holds a Kubernetes audit
 * event as a JSON string. Changes to Namespaces, NetworkPolicies, Ingresses, Services and the
 * Traefik CRDs re-evaluate their cluster. The Event Hub checkpoint moves on even when a handler
 * throws, so every record's problem is caught here, logged with its position and kept in the runs
 * table's `rejected` partition; only a store failure escapes, to be retried by the trigger's retry
 * policy.
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
      const reason = error instanceof Error ? error.message : String(error);
      context.error(`event ${i} rejected: ${reason}`);
      await app.recordRejections(rt, "kube-audit", message, [{ index: -1, reason }]);
      continue;
    }
    const outcome = await app.handleAuditRecords(rt, batch.records);
    const rejected = [...batch.rejected, ...outcome.rejected];
    for (const r of rejected) context.error(`event ${i} record ${r.index} rejected: ${r.reason}`);
    await app.recordRejections(rt, "kube-audit", message, rejected);
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
