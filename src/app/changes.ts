/**
 * Change-driven re-evaluation: an Event Grid resource event (ARM control plane) or a batch of AKS
 * audit records (the cluster's data plane, which Event Grid does not see) becomes a small run of
 * one target that re-collects only what the change touched, evaluates, records and notifies like
 * any sweep target. Run ids derive from the event ids, so a duplicated or replayed event repeats
 * a run that is already recorded: no second ledger record, no second notification. Events carry no
 * resource body (PLATFORM.md §3): the resource is always re-read, so out-of-order delivery
 * converges on the current state.
 */

import { createHash } from "node:crypto";
import {
  formatInstant,
  InputError,
  parseInstant,
  type StateRow,
  type Target,
} from "../core/index.js";
import { collectTarget, targetLabel, targetScopes } from "./collect.js";
import type { EvidenceStore } from "./deps.js";
import { describeValue, isObject, parseMessageJson } from "./message-json.js";
import { recordScan } from "./record.js";
import type { AppRuntime } from "./runtime.js";
import { scanObservations } from "./scan.js";
import {
  type NotifyMessage,
  type ScanTargetMessage,
  type ScanTargetResult,
  scanTarget,
  vanishedUnderRoots,
} from "./sweep.js";

/** One Event Grid event (Event Grid schema) as vigil reads it. */
export interface ResourceEvent {
  id: string;
  topic?: string;
  subject: string;
  eventType: string;
  eventTime: string;
  data: { resourceUri?: string; subscriptionId?: string; operationName?: string; status?: string };
}

/** The event types vigil acts on (the subscription system topic's successes). */
export const RESOURCE_EVENT_TYPES = [
  "Microsoft.Resources.ResourceWriteSuccess",
  "Microsoft.Resources.ResourceDeleteSuccess",
  "Microsoft.Resources.ResourceActionSuccess",
] as const;

/** The Event Grid subscription validation event's type. */
export const VALIDATION_EVENT_TYPE = "Microsoft.EventGrid.SubscriptionValidationEvent";

/** What one event did. */
export type ResourceEventOutcome =
  | { eventId: string; ignored: string }
  | { eventId: string; runId: string; result: ScanTargetResult };

/**
 * Parse an Event Grid event (one element of the delivered array).
 * @throws InputError naming the event and field that is wrong
 */
export function parseResourceEvent(value: unknown, index = 0): ResourceEvent {
  const at = `/${index}`;
  if (!isObject(value)) throw new InputError("an event must be a JSON object", { pointer: at });
  for (const field of ["id", "subject", "eventType", "eventTime"] as const)
    if (typeof value[field] !== "string" || value[field] === "")
      throw new InputError(`the event has no ${field}`, { pointer: `${at}/${field}` });
  if (value.data !== undefined && !isObject(value.data))
    throw new InputError("the event's data is not an object", { pointer: `${at}/data` });
  return value as unknown as ResourceEvent;
}

/**
 * Re-evaluate what one resource event touched. Event types other than the three successes, and
 * resources outside the config's subscriptions, are ignored (with the reason).
 * @throws StoreError when the store cannot be written. The Event Grid trigger acknowledges the
 *   delivery even then (it does not retry a function that threw), so the next sweep is what
 *   catches such a change; the failure is logged by the handler.
 */
export async function handleResourceEvent(
  rt: AppRuntime,
  event: ResourceEvent,
): Promise<ResourceEventOutcome> {
  if (!(RESOURCE_EVENT_TYPES as readonly string[]).includes(event.eventType))
    return { eventId: event.id, ignored: `event type ${event.eventType} is not acted on` };
  const resourceId = event.data?.resourceUri ?? event.subject;
  const match = /^\/subscriptions\/([^/]+)\//i.exec(resourceId);
  if (match?.[1] === undefined)
    return { eventId: event.id, ignored: "the event names no resource in a subscription" };
  const subscriptionId = match[1];
  const wanted = rt.config.subscriptions;
  if (
    Array.isArray(wanted) &&
    !wanted.some((s) => s.toLowerCase() === subscriptionId.toLowerCase())
  )
    return { eventId: event.id, ignored: `subscription ${subscriptionId} is not in scope` };
  const target: Target = { kind: "resources", subscriptionId, resourceIds: [resourceId] };
  const message: ScanTargetMessage = {
    v: 1,
    runId: `event-${event.id}`,
    trigger: "event-grid",
    now: formatInstant(rt.evaluationTime()),
    target,
    ...(event.eventType === "Microsoft.Resources.ResourceDeleteSuccess"
      ? { deleted: [resourceId] }
      : {}),
  };
  return { eventId: event.id, runId: message.runId, result: await runOneTarget(rt, message) };
}

/** One record of an AKS diagnostic log batch (`{ "records": [...] }`). */
export interface AuditRecord {
  /** The AKS cluster's ARM id. */
  resourceId: string;
  category?: string;
  /** `properties.log`: a Kubernetes audit event as a JSON string. */
  log: string;
}

/** The audit event fields vigil reads. */
export interface AuditEvent {
  auditID: string;
  verb: string;
  stage?: string;
  objectRef?: { resource?: string; apiGroup?: string; namespace?: string; name?: string };
  responseStatus?: { code?: number };
}

/** Resources (by API group) whose changes re-evaluate a cluster (PLATFORM.md §4). */
const WATCHED: Record<string, readonly string[]> = {
  "": ["namespaces", "services"],
  "networking.k8s.io": ["networkpolicies", "ingresses", "ingressclasses"],
  "traefik.io": [
    "ingressroutes",
    "ingressroutetcps",
    "ingressrouteudps",
    "middlewares",
    "middlewaretcps",
    "tlsoptions",
    "tlsstores",
    "serverstransports",
    "traefikservices",
  ],
};
WATCHED["traefik.containo.us"] = WATCHED["traefik.io"] as readonly string[];
const WRITE_VERBS = new Set(["create", "update", "patch", "delete", "deletecollection"]);

/** What an audit batch did: the clusters re-evaluated, and the records that could not be used. */
export interface AuditBatchOutcome {
  runs: { cluster: string; runId: string; result: ScanTargetResult }[];
  /** Records that matter to no control (reads, other resources, failed requests). */
  ignored: number;
  /** Records that could not be read, each with why; they are also logged by the caller. */
  rejected: { index: number; reason: string }[];
}

/**
 * Parse the diagnostic-log envelope (`{ "records": [...] }`, an Event Hub message body) into
 * records; a record that is not usable is rejected with its reason instead of failing the batch.
 * @throws InputError when the body is not an envelope at all
 */
export function parseAuditEnvelope(value: unknown): {
  records: { index: number; record: AuditRecord }[];
  rejected: { index: number; reason: string }[];
} {
  const envelope = typeof value === "string" ? parseMessageJson(value, "text") : value;
  if (!isObject(envelope) || !Array.isArray(envelope.records))
    throw new InputError('a diagnostic log batch must be an object with a "records" array', {
      pointer: "/records",
    });
  const records: { index: number; record: AuditRecord }[] = [];
  const rejected: { index: number; reason: string }[] = [];
  for (const [index, item] of envelope.records.entries()) {
    const properties = isObject(item) && isObject(item.properties) ? item.properties : undefined;
    if (!isObject(item)) rejected.push({ index, reason: "the record is not an object" });
    else if (typeof item.resourceId !== "string" || item.resourceId === "")
      rejected.push({ index, reason: "the record has no resourceId" });
    else if (typeof properties?.log !== "string")
      rejected.push({ index, reason: "the record has no properties.log string" });
    else
      records.push({
        index,
        record: {
          resourceId: item.resourceId,
          log: properties.log,
          ...(typeof item.category === "string" ? { category: item.category } : {}),
        },
      });
  }
  return { records, rejected };
}

/**
 * Re-evaluate the clusters whose watched objects a batch of audit records changed: one run per
 * cluster, with an id derived from the audit ids, so a redelivered batch repeats the same runs.
 * Each record's problem is caught and returned, never thrown: the Event Hub checkpoint moves on
 * whatever the handler does (PLATFORM.md gotcha 6), so nothing may escape unrecorded.
 * @throws StoreError when the store cannot be written
 */
export async function handleAuditRecords(
  rt: AppRuntime,
  records: readonly { index: number; record: AuditRecord }[],
): Promise<AuditBatchOutcome> {
  const outcome: AuditBatchOutcome = { runs: [], ignored: 0, rejected: [] };
  const clusters = new Map<string, { resourceId: string; auditIds: string[] }>();
  for (const { index, record } of records) {
    let event: AuditEvent;
    try {
      event = parseAuditEvent(record.log);
    } catch (error) {
      outcome.rejected.push({
        index,
        reason: error instanceof Error ? error.message : String(error),
      });
      continue;
    }
    const ref = event.objectRef ?? {};
    const watched = WATCHED[ref.apiGroup ?? ""]?.includes(ref.resource ?? "") ?? false;
    const succeeded = (event.responseStatus?.code ?? 200) < 400;
    const complete = event.stage === undefined || event.stage === "ResponseComplete";
    if (!WRITE_VERBS.has(event.verb) || !watched || !succeeded || !complete) {
      outcome.ignored += 1;
      continue;
    }
    const cluster = /\/managedClusters\/([^/]+)$/i.exec(record.resourceId)?.[1];
    if (cluster === undefined) {
      outcome.rejected.push({ index, reason: "resourceId is not an AKS managed cluster id" });
      continue;
    }
    const key = cluster.toLowerCase();
    const entry = clusters.get(key) ?? { resourceId: record.resourceId, auditIds: [] };
    entry.auditIds.push(event.auditID);
    clusters.set(key, entry);
  }
  // Diagnostic records carry the cluster's id in upper case: take the name as the sweep knows it.
  const known = new Map<string, string>();
  if (clusters.size > 0)
    for await (const row of rt.store.runs.listScopes())
      known.set(row.scope.toLowerCase(), row.scope);
  for (const [recorded, { resourceId, auditIds }] of clusters) {
    const name = known.get(recorded.toLowerCase()) ?? recorded;
    const subscriptionId = /^\/subscriptions\/([^/]+)\//i.exec(resourceId)?.[1] ?? "";
    const digest = createHash("sha256")
      .update([...new Set(auditIds)].sort().join("\n"))
      .digest("hex")
      .slice(0, 32);
    const message: ScanTargetMessage = {
      v: 1,
      runId: `audit-${name}-${digest}`,
      trigger: "kube-audit",
      now: formatInstant(rt.evaluationTime()),
      target: { kind: "cluster", cluster: { kind: "aks", name, resourceId, subscriptionId } },
    };
    outcome.runs.push({
      cluster: name,
      runId: message.runId,
      result: await runOneTarget(rt, message),
    });
  }
  return outcome;
}

/**
 * Record a one-target run and scan it at once (no queue hop: the change is already one target).
 * The same steps and writes as a sweep's `scanTarget`, with the independent ones overlapped, since
 * a change's latency is what the security team waits on (docs/functions.md): the run row, the
 * collection and the read of the target's current state go at once; the state read serves both
 * the deletion check and the state write (no second read); the scopes' freshness and the target's
 * end are written together. The order that matters is kept: evidence before state, transitions in
 * the outbox before the state rows, the notification after everything. A replay of a run that
 * already ran is handed to `scanTarget` with the run's first evaluation time, so that it writes
 * the same.
 */
async function runOneTarget(rt: AppRuntime, message: ScanTargetMessage): Promise<ScanTargetResult> {
  const started = (async () => {
    await rt.store.runs.startRun({
      runId: message.runId,
      trigger: message.trigger,
      startedAt: formatInstant(rt.clock()),
      now: message.now,
      targetsPlanned: 1,
      planFailures: [],
    });
    return rt.store.runs.getRun(message.runId);
  })();
  const scopes = targetScopes(message.target);
  const collected = collectTarget(message.target, rt.estate, { now: message.now });
  const states = Promise.all(scopes.map((scope) => readRows(rt, scope)));
  // Whatever fails first fails the run; the others are awaited so that nothing runs on unobserved.
  const [run, observed, rows] = await settleAll(started, collected, states);
  const now = run?.now ?? message.now;
  if (now !== message.now) return scanTarget(rt, { ...message, now });
  const previous = new Map(scopes.map((scope, i) => [scope, rows[i] as StateRow[]]));

  const label = targetLabel(message.target);
  const nowMs = parseInstant(now) as number;
  // Re-reading a changed resource that is gone answers 404: that is a deletion, not an error.
  const gone =
    message.target.kind === "resources"
      ? observed.filter((o) => o.error?.statusCode === 404).map((o) => o.id)
      : [];
  const observations = observed.filter((o) => !gone.includes(o.id));
  const deleted = [
    ...(message.deleted ?? []),
    ...gone,
    ...vanishedUnderRoots(
      message.target,
      observations,
      message.target.kind === "resources"
        ? (previous.get(message.target.subscriptionId) ?? [])
        : [],
    ),
  ];
  const complete =
    message.target.kind !== "resources" && !observations.some((o) => o.error !== undefined);
  const scan = scanObservations(rt.catalogue, observations, {
    nowMs,
    loaded: rt.loaded,
    runId: message.runId,
    vigilVersion: rt.vigilVersion,
    clock: rt.clock,
  });
  // The state write starts from the rows read above instead of reading them again.
  const store: EvidenceStore = {
    ...rt.store,
    applyFindings: (scope, runId, observedAt, findings, options) => {
      const known = previous.get(scope);
      return rt.store.applyFindings(scope, runId, observedAt, findings, {
        ...options,
        ...(known !== undefined ? { previous: known } : {}),
      });
    },
  };
  const owner =
    message.target.kind === "resources"
      ? targetLabel({ kind: "subscription", subscriptionId: message.target.subscriptionId })
      : undefined;
  const recorded = await recordScan(
    store,
    rt.catalogue,
    [
      {
        label,
        observations,
        complete,
        scopes,
        deleted,
        ...(owner !== undefined ? { owner } : {}),
      },
    ],
    scan.findings,
    {
      runId: message.runId,
      trigger: message.trigger,
      recordedAt: formatInstant(rt.clock()),
      now,
      vigilVersion: rt.vigilVersion,
      config: rt.loaded.config,
      beforeStateWrite: async (target, scope, transitions) => {
        const news = transitions.filter((t) => t.kind !== "still-failing");
        if (news.length > 0) await rt.store.outbox.put(message.runId, target, scope, news);
      },
    },
  );
  const touched = new Set(scopes);
  for (const o of observations) if (o.scope !== undefined) touched.add(o.scope);
  const recordSeq = recorded.records[0]?.seq;
  const [, finished] = await settleAll(
    rt.store.runs.touchScopes(
      [...touched].map((scope) => ({
        scope,
        lastRunId: message.runId,
        lastEvaluatedAt: now,
        lastTarget: label,
      })),
    ),
    rt.store.runs.finishTarget({
      runId: message.runId,
      target: label,
      outcome: "done",
      finishedAt: formatInstant(rt.clock()),
      ...(recordSeq !== undefined ? { recordSeq } : {}),
    }),
  );
  if (finished.runCompleted) {
    const notify: NotifyMessage = { v: 1, runId: message.runId };
    await rt.store.queues.notifications.send(notify);
  }
  return {
    runId: message.runId,
    target: label,
    recordSeq,
    transitions: recorded.transitions.filter((t) => t.kind !== "still-failing"),
    findings: scan.findings.length,
    runCompleted: finished.runCompleted,
  };
}

/** Every row of a scope, as stored now. */
async function readRows(rt: AppRuntime, scope: string): Promise<StateRow[]> {
  const rows: StateRow[] = [];
  for await (const row of rt.store.listState(scope)) rows.push(row);
  return rows;
}

/**
 * Await every promise; reject with the first failure (in argument order) once all have settled,
 * so that no write is still running, unobserved, when the caller gives up.
 */
async function settleAll<T extends unknown[]>(
  ...promises: { [K in keyof T]: Promise<T[K]> }
): Promise<T> {
  const settled = await Promise.allSettled(promises);
  for (const outcome of settled) if (outcome.status === "rejected") throw outcome.reason;
  return settled.map((outcome) => (outcome as PromiseFulfilledResult<unknown>).value) as T;
}

/**
 * Read the Kubernetes audit event a record carries in `properties.log`.
 * @throws InputError naming the field of the audit event that is wrong
 */
export function parseAuditEvent(log: string): AuditEvent {
  const event = parseMessageJson(log, "text");
  if (!isObject(event))
    throw new InputError("properties.log is not a JSON object", { pointer: "/properties/log" });
  if (event.kind !== undefined && event.kind !== "Event")
    throw new InputError(`properties.log is a ${describeValue(event.kind)}, not an audit Event`, {
      pointer: "/properties/log/kind",
    });
  if (typeof event.auditID !== "string" || event.auditID === "")
    throw new InputError("the audit event has no auditID", {
      pointer: "/properties/log/auditID",
    });
  if (typeof event.verb !== "string")
    throw new InputError("the audit event has no verb", { pointer: "/properties/log/verb" });
  if (event.objectRef !== undefined && !isObject(event.objectRef))
    throw new InputError("the audit event's objectRef is not an object", {
      pointer: "/properties/log/objectRef",
    });
  return event as unknown as AuditEvent;
}

/**
 * Put the inputs of one message that could not be used on record (the runs table's `rejected`
 * partition), each keyed by a hash of the message and its position, so that a redelivered message
 * writes the same rows.
 * @throws StoreError when the store cannot be written
 */
export async function recordRejections(
  rt: AppRuntime,
  source: string,
  message: unknown,
  rejected: readonly { index: number; reason: string }[],
): Promise<void> {
  if (rejected.length === 0) return;
  const text = typeof message === "string" ? message : (JSON.stringify(message) ?? String(message));
  const digest = createHash("sha256").update(text).digest("hex").slice(0, 32);
  const at = formatInstant(rt.clock());
  for (const { index, reason } of rejected)
    await rt.store.runs.recordRejected({ source, key: `${digest}#${index}`, reason, at });
}
