/**
 * The sweep (DESIGN.md "The flow"): plan the estate's targets and put one message per target on
 * the `scan-targets` queue; each message is then collected, evaluated and recorded on its own
 * (`scanTarget`), in parallel across workers. A message that keeps failing ends in the poison
 * queue, and `failTarget` turns its target's controls into `error` findings so that the gate
 * fails closed. The run completes when its last target does; its transitions then go out as one
 * digest per sink (`notify.ts`).
 */

import { randomUUID } from "node:crypto";
import {
  affectedRoot,
  type Catalogue,
  type Finding,
  formatInstant,
  InputError,
  isObservationOfRoot,
  type Observation,
  parseInstant,
  type StateRow,
  type Target,
  type Transition,
} from "../core/index.js";
import { collectTarget, planTargets, targetLabel, targetScopes } from "./collect.js";
import { describeValue, isObject, parseMessageJson } from "./message-json.js";
import { type RecordedScan, recordScan } from "./record.js";
import type { AppRuntime } from "./runtime.js";
import { scanObservations } from "./scan.js";

/** A message of the `scan-targets` queue: one target of one run. */
export interface ScanTargetMessage {
  v: 1;
  runId: string;
  trigger: string;
  /** ISO 8601 evaluation time of the run (every target of a run is evaluated at the same `now`). */
  now: string;
  target: Target;
  /**
   * Resources known to be deleted (a delete event): their rows, and those of everything under
   * them, resolve. A `resources` target whose re-read answers 404 adds that resource too.
   */
  deleted?: string[];
}

/** A message of the `notifications` queue: a run whose transitions are ready to deliver. */
export interface NotifyMessage {
  v: 1;
  runId: string;
  /** 1 for the first delivery; a retry after a refusal carries the next number. */
  attempt?: number;
}

/** What a sweep planned. */
export interface SweepResult {
  runId: string;
  now: string;
  targets: number;
  planFailures: { label: string; message: string }[];
}

/**
 * Plan the config's targets, record the run and queue one message per target.
 * @throws InputError when the config asks for what vigil cannot plan; StoreError when the store
 *   cannot be written (nothing is queued before the run row exists).
 */
export async function startSweep(
  rt: AppRuntime,
  options: { trigger: string; runId?: string },
): Promise<SweepResult> {
  const runId = options.runId ?? `sweep-${randomUUID()}`;
  const now = formatInstant(rt.evaluationTime());
  const plan = await planTargets(rt.config, rt.estate, { now });
  const planFailures = plan.failures.map((f) => ({ label: f.label, message: f.message }));
  await rt.store.runs.startRun({
    runId,
    trigger: options.trigger,
    startedAt: formatInstant(rt.clock()),
    now,
    targetsPlanned: plan.targets.length,
    planFailures,
  });
  for (const target of plan.targets) {
    const message: ScanTargetMessage = { v: 1, runId, trigger: options.trigger, now, target };
    await rt.store.queues.scanTargets.send(message);
  }
  return { runId, now, targets: plan.targets.length, planFailures };
}

/** What one target's scan left behind. */
export interface ScanTargetResult {
  runId: string;
  target: string;
  recordSeq: number | undefined;
  /** The state changes worth telling (not still-failing). */
  transitions: Transition[];
  findings: number;
  runCompleted: boolean;
}

/**
 * Collect, evaluate and record one target of a run: its evidence record, its state rows (after
 * their transitions are in the outbox), the freshness of its scopes, and the run's progress. When
 * this was the run's last target, the run's digest is queued. Safe to repeat: a replayed message
 * appends no second record, moves no row twice and queues a digest the notifier has already
 * delivered at most once more (the notifier skips it).
 * @throws StoreError when the store cannot be written; the message is then retried.
 */
export async function scanTarget(
  rt: AppRuntime,
  message: ScanTargetMessage,
): Promise<ScanTargetResult> {
  const label = targetLabel(message.target);
  const nowMs = parseInstant(message.now) as number;
  const collected = await collectTarget(message.target, rt.estate, { now: message.now });
  // Re-reading a changed resource that is gone answers 404: that is a deletion, not an error.
  const gone =
    message.target.kind === "resources"
      ? collected.filter((o) => o.error?.statusCode === 404).map((o) => o.id)
      : [];
  const observations = collected.filter((o) => !gone.includes(o.id));
  const deleted = [
    ...(message.deleted ?? []),
    ...gone,
    ...(await vanishedInStore(rt, message.target, observations)),
  ];
  // A `resources` target re-reads a few resources of a scope: it never vouches that what it did not
  // see is gone (every such target of a subscription has the same label, so "complete" would
  // delete the rows another event re-evaluated). Its deletions are the 404s and delete events.
  const complete =
    message.target.kind !== "resources" && !observations.some((o) => o.error !== undefined);
  const scan = scanObservations(rt.catalogue, observations, {
    nowMs,
    loaded: rt.loaded,
    runId: message.runId,
    vigilVersion: rt.vigilVersion,
    clock: rt.clock,
  });
  const recorded = await record(rt, message, label, observations, scan.findings, complete, deleted);
  return finish(rt, message, label, recorded, scan.findings.length, observations);
}

/**
 * What a `resources` re-read no longer finds under a root it read completely: a container that
 * left its account. `rows` are the subscription's rows as stored before the scan; a root whose read
 * had an error vouches for nothing. `scanTarget` reads them from the store; a change event's run
 * passes the rows it has already read.
 */
export function vanishedUnderRoots(
  target: Target,
  observations: readonly Observation[],
  rows: Iterable<StateRow>,
): string[] {
  if (target.kind !== "resources") return [];
  const roots = new Set<string>();
  for (const id of target.resourceIds) {
    const root = affectedRoot(id)?.rootId;
    if (root !== undefined) roots.add(root);
  }
  const seen = new Set(observations.map((o) => o.id.toLowerCase()));
  const complete = [...roots].filter(
    (root) =>
      seen.has(root.toLowerCase()) &&
      !observations.some((o) => o.error !== undefined && isObservationOfRoot(root, o.id)),
  );
  if (complete.length === 0) return [];
  const vanished = new Set<string>();
  for (const row of rows) {
    if (row.deletedAt !== undefined || seen.has(row.resourceId.toLowerCase())) continue;
    if (complete.some((root) => isObservationOfRoot(root, row.resourceId)))
      vanished.add(row.resourceId);
  }
  return [...vanished];
}

/** {@link vanishedUnderRoots} over the subscription's rows as the store holds them now. */
async function vanishedInStore(
  rt: AppRuntime,
  target: Target,
  observations: readonly Observation[],
): Promise<string[]> {
  if (target.kind !== "resources") return [];
  const rows: StateRow[] = [];
  for await (const row of rt.store.listState(target.subscriptionId)) rows.push(row);
  return vanishedUnderRoots(target, observations, rows);
}

/**
 * A target whose message exhausted its attempts (the poison path): every control-resource pair the
 * target last reported becomes `error` with the reason, recorded like any evaluation, and the target
 * counts as ended so that the run can complete. A target that never reported anything leaves its
 * scopes unscanned, which the gate also answers with `unknown`.
 */
export async function failTarget(
  rt: AppRuntime,
  message: ScanTargetMessage,
  reason: string,
): Promise<ScanTargetResult> {
  const label = targetLabel(message.target);
  const standIns: Observation[] = [];
  const seen = new Set<string>();
  for (const scope of targetScopes(message.target)) {
    for await (const row of rt.store.listState(scope)) {
      if (row.target !== label || row.deletedAt !== undefined || seen.has(row.resourceId)) continue;
      seen.add(row.resourceId);
      standIns.push({
        id: row.resourceId,
        type: row.finding?.resourceType ?? "vigil/Unknown",
        scope,
        error: {
          code: "TargetFailed",
          message: `the target ${label} could not be scanned: ${reason}`,
        },
      });
    }
  }
  const scan = scanObservations(rt.catalogue, standIns, {
    nowMs: parseInstant(message.now) as number,
    loaded: rt.loaded,
    runId: message.runId,
    vigilVersion: rt.vigilVersion,
    clock: rt.clock,
  });
  const recorded = await record(rt, message, label, standIns, scan.findings, false);
  return finish(rt, message, label, recorded, scan.findings.length, standIns, reason);
}

/**
 * Parse a `scan-targets` message (the Functions runtime hands it over parsed; `vigil serve`
 * hands over the decoded text).
 * @throws InputError naming the field that is wrong
 */
export function parseScanTargetMessage(value: unknown): ScanTargetMessage {
  const message =
    typeof value === "string" ? parseMessageJson(value, "scan-targets message") : value;
  if (!isObject(message))
    throw new InputError("a scan-targets message must be a JSON object", { pointer: "" });
  if (message.v !== 1)
    throw new InputError(`scan-targets message version ${describeValue(message.v)} is not 1`, {
      pointer: "/v",
    });
  for (const field of ["runId", "trigger", "now"] as const)
    if (typeof message[field] !== "string" || message[field] === "")
      throw new InputError(`scan-targets message has no ${field}`, { pointer: `/${field}` });
  if (parseInstant(message.now as string) === undefined)
    throw new InputError(`scan-targets message now is not an ISO 8601 time`, { pointer: "/now" });
  let deleted: string[] | undefined;
  if (message.deleted !== undefined) {
    if (
      !Array.isArray(message.deleted) ||
      message.deleted.some((d) => typeof d !== "string" || d === "")
    )
      throw new InputError("scan-targets message deleted must be a list of resource ids", {
        pointer: "/deleted",
      });
    deleted = message.deleted as string[];
  }
  return {
    v: 1,
    runId: message.runId as string,
    trigger: message.trigger as string,
    now: message.now as string,
    target: parseTarget(message.target),
    ...(deleted !== undefined ? { deleted } : {}),
  };
}

/** Parse a `notifications` message. @throws InputError naming the field that is wrong */
export function parseNotifyMessage(value: unknown): NotifyMessage {
  const message =
    typeof value === "string" ? parseMessageJson(value, "notifications message") : value;
  if (!isObject(message))
    throw new InputError("a notifications message must be a JSON object", { pointer: "" });
  if (message.v !== 1)
    throw new InputError(`notifications message version ${describeValue(message.v)} is not 1`, {
      pointer: "/v",
    });
  if (typeof message.runId !== "string" || message.runId === "")
    throw new InputError("notifications message has no runId", { pointer: "/runId" });
  if (
    message.attempt !== undefined &&
    (!Number.isSafeInteger(message.attempt) || (message.attempt as number) < 1)
  )
    throw new InputError("notifications message attempt must be a whole number from 1", {
      pointer: "/attempt",
    });
  return {
    v: 1,
    runId: message.runId,
    ...(message.attempt !== undefined ? { attempt: message.attempt as number } : {}),
  };
}

async function record(
  rt: AppRuntime,
  message: ScanTargetMessage,
  label: string,
  observations: Observation[],
  findings: Finding[],
  complete: boolean,
  deleted: readonly string[] = [],
): Promise<RecordedScan> {
  return recordScan(
    rt.store,
    rt.catalogue,
    [
      {
        label,
        observations,
        complete,
        scopes: targetScopes(message.target),
        deleted,
        ...(message.target.kind === "resources"
          ? {
              owner: targetLabel({
                kind: "subscription",
                subscriptionId: message.target.subscriptionId,
              }),
            }
          : {}),
      },
    ],
    findings,
    {
      runId: message.runId,
      trigger: message.trigger,
      recordedAt: formatInstant(rt.clock()),
      now: message.now,
      vigilVersion: rt.vigilVersion,
      config: rt.loaded.config,
      beforeStateWrite: async (target, scope, transitions) => {
        const news = transitions.filter((t) => t.kind !== "still-failing");
        if (news.length > 0) await rt.store.outbox.put(message.runId, target, scope, news);
      },
    },
  );
}

async function finish(
  rt: AppRuntime,
  message: ScanTargetMessage,
  label: string,
  recorded: RecordedScan,
  findings: number,
  observations: readonly Observation[],
  failure?: string,
): Promise<ScanTargetResult> {
  // A failed target vouches only for the scopes its error findings landed in: a scope it never
  // reported stays unscanned, so the gate cannot mistake it for a clean one.
  const scopes = new Set(failure === undefined ? targetScopes(message.target) : []);
  for (const o of observations) if (o.scope !== undefined) scopes.add(o.scope);
  await rt.store.runs.touchScopes(
    [...scopes].map((scope) => ({
      scope,
      lastRunId: message.runId,
      lastEvaluatedAt: message.now,
      lastTarget: label,
    })),
  );
  const recordSeq = recorded.records[0]?.seq;
  const { runCompleted } = await rt.store.runs.finishTarget({
    runId: message.runId,
    target: label,
    outcome: failure === undefined ? "done" : "failed",
    finishedAt: formatInstant(rt.clock()),
    ...(recordSeq !== undefined ? { recordSeq } : {}),
    ...(failure !== undefined ? { message: failure } : {}),
  });
  if (runCompleted) {
    const notify: NotifyMessage = { v: 1, runId: message.runId };
    await rt.store.queues.notifications.send(notify);
  }
  return {
    runId: message.runId,
    target: label,
    recordSeq,
    transitions: recorded.transitions.filter((t) => t.kind !== "still-failing"),
    findings,
    runCompleted,
  };
}

function parseTarget(value: unknown): Target {
  if (!isObject(value))
    throw new InputError("scan-targets message has no target object", { pointer: "/target" });
  const text = (field: string, from: Record<string, unknown> = value, at = "/target") => {
    const v = from[field];
    if (typeof v !== "string" || v === "")
      throw new InputError(`scan-targets message target has no ${field}`, {
        pointer: `${at}/${field}`,
      });
    return v;
  };
  switch (value.kind) {
    case "subscription":
      return { kind: "subscription", subscriptionId: text("subscriptionId") };
    case "tenant":
      return { kind: "tenant", tenantId: text("tenantId") };
    case "drills":
      return { kind: "drills", account: text("account"), container: text("container") };
    case "resources": {
      const ids = value.resourceIds;
      if (
        !Array.isArray(ids) ||
        ids.length === 0 ||
        ids.some((id) => typeof id !== "string" || id === "")
      )
        throw new InputError("a resources target needs resourceIds, a list of ARM ids", {
          pointer: "/target/resourceIds",
        });
      return {
        kind: "resources",
        subscriptionId: text("subscriptionId"),
        resourceIds: ids as string[],
      };
    }
    case "tls": {
      if (!Array.isArray(value.endpoints))
        throw new InputError("a tls target needs endpoints", { pointer: "/target/endpoints" });
      const endpoints = value.endpoints.map((e, i) => {
        if (!isObject(e) || typeof e.host !== "string" || !Number.isInteger(e.port))
          throw new InputError("a tls endpoint needs host and port", {
            pointer: `/target/endpoints/${i}`,
          });
        return e as unknown as Extract<Target, { kind: "tls" }>["endpoints"][number];
      });
      return { kind: "tls", set: text("set"), endpoints };
    }
    case "cluster": {
      const cluster = value.cluster;
      if (!isObject(cluster))
        throw new InputError("a cluster target needs cluster", { pointer: "/target/cluster" });
      const at = "/target/cluster";
      if (cluster.kind === "aks")
        return {
          kind: "cluster",
          cluster: {
            kind: "aks",
            name: text("name", cluster, at),
            resourceId: text("resourceId", cluster, at),
            subscriptionId: text("subscriptionId", cluster, at),
          },
        };
      if (cluster.kind === "kubeconfig")
        return {
          kind: "cluster",
          cluster: {
            kind: "kubeconfig",
            name: text("name", cluster, at),
            context: text("context", cluster, at),
            ...(typeof cluster.kubeconfigPath === "string"
              ? { kubeconfigPath: cluster.kubeconfigPath }
              : {}),
          },
        };
      throw new InputError(`unknown cluster kind ${describeValue(cluster.kind)}`, {
        pointer: `${at}/kind`,
      });
    }
    default:
      throw new InputError(`unknown target kind ${describeValue(value.kind)}`, {
        pointer: "/target/kind",
      });
  }
}

/** The catalogue's title of a control, for digests (the id when the control is unknown). */
export function controlTitle(catalogue: Catalogue, controlId: string): string {
  return catalogue.controls.find((c) => c.control.id === controlId)?.control.title ?? controlId;
}
