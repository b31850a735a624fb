/**
 * Record a scan in vigil's store: per target, its observations as content-addressed snapshots and
 * one evidence record (findings with traces, control and config hashes) appended to the hash
 * chain; per scope, the current state of each (control, resource) and the transitions.
 */

import {
  type Catalogue,
  canonicalJson,
  controlHash,
  type Finding,
  isControlEnabled,
  type Observation,
  type SnapshotRef,
  sha256Hex,
  type Transition,
  type VigilConfig,
} from "../core/index.js";
import type { EvidenceStore } from "./deps.js";

/**
 * The observation as its snapshot stores it, and what the record keeps beside the snapshot: the
 * collection time and the request ids of failed calls differ on every run, so the snapshot leaves
 * them out and an unchanged resource (or an unchanged failure) hashes the same on every run and
 * costs no new blob.
 */
function splitVolatile(observation: Observation): {
  stable: Observation;
  volatile: Pick<SnapshotRef, "observedAt" | "requestIds">;
} {
  const stable: Observation = { ...observation };
  const volatile: Pick<SnapshotRef, "observedAt" | "requestIds"> = {};
  const requestIds: { path: string | null; requestId: string }[] = [];
  if (observation.source?.observedAt !== undefined) {
    const { observedAt, ...source } = observation.source;
    stable.source = source;
    volatile.observedAt = observedAt;
  }
  if (observation.error?.requestId !== undefined) {
    const { requestId, ...error } = observation.error;
    stable.error = error;
    requestIds.push({ path: null, requestId });
  }
  if (observation.gaps?.some((gap) => gap.requestId !== undefined) === true) {
    stable.gaps = observation.gaps.map((gap) => {
      if (gap.requestId === undefined) return gap;
      const { requestId, ...rest } = gap;
      requestIds.push({ path: gap.path, requestId });
      return rest;
    });
  }
  if (requestIds.length > 0) volatile.requestIds = requestIds;
  return { stable, volatile };
}

/** What a recorded run left in the store. */
export interface RecordedScan {
  records: { target: string; seq: number; hash: string; created: boolean }[];
  /** Snapshot blobs this run created (unchanged observations cost none). */
  snapshotsCreated: number;
  transitions: Transition[];
}

/** Options of `recordScan`. */
export interface RecordScanOptions {
  runId: string;
  trigger: string;
  /** ISO 8601 time of recording. */
  recordedAt: string;
  /** ISO 8601 evaluation time. */
  now: string;
  vigilVersion: string;
  config: VigilConfig | undefined;
  /**
   * Called with each target's and scope's transitions before the state rows change (the
   * notifications outbox); when it throws, that scope's state is not written.
   */
  beforeStateWrite?: (
    target: string,
    scope: string,
    transitions: readonly Transition[],
  ) => Promise<void>;
}

/**
 * Record each target's observations and findings. A finding belongs to the target whose
 * observation it was evaluated on. Targets are recorded in order, so the chain is the plan's order.
 * @throws StoreError, LedgerContentionError when the store cannot be written (nothing is lost:
 *   every write is a create or an idempotent upsert, so the run can be recorded again).
 */
export async function recordScan(
  store: EvidenceStore,
  catalogue: Catalogue,
  byTarget: readonly {
    label: string;
    observations: readonly Observation[];
    /** The target's lists all answered: resources it saw before and not now are deleted. */
    complete?: boolean;
    /** Scopes the target covers even when it observed nothing in them (its own scope). */
    scopes?: readonly string[];
    /**
     * Resources known to be gone (a delete event, or a re-read answering 404), with everything
     * under them: their rows in the target's scopes resolve as deleted.
     */
    deleted?: readonly string[];
    /**
     * The sweep target whose rows these are, when it is not `label` itself: an event's re-read of
     * a few resources of a subscription stamps the rows with the subscription's label, so that the
     * next sweep still recognises them as its own (to resolve them when they vanish, or to turn
     * them `error` when the subscription cannot be read).
     */
    owner?: string;
  }[],
  findings: readonly Finding[],
  options: RecordScanOptions,
): Promise<RecordedScan> {
  const controls = catalogue.controls
    .map((c) => ({ id: c.control.id, version: c.control.version, hash: controlHash(c.control) }))
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const configHash = options.config === undefined ? null : sha256Hex(canonicalJson(options.config));
  const targetOf = new Map<string, string>();
  for (const { label, observations } of byTarget)
    for (const observation of observations) targetOf.set(observation.id, label);
  const findingsOf = new Map<string, Finding[]>();
  for (const finding of findings) {
    const label = targetOf.get(finding.resourceId);
    if (label === undefined) continue;
    findingsOf.set(label, [...(findingsOf.get(label) ?? []), finding]);
  }
  const result: RecordedScan = { records: [], snapshotsCreated: 0, transitions: [] };
  const controlsInForce = new Set(
    catalogue.controls.filter((c) => isControlEnabled(c, options.config)).map((c) => c.control.id),
  );
  const seen = new Set(byTarget.flatMap((t) => t.observations.map((o) => o.id)));
  for (const { label, observations, complete, scopes, deleted, owner } of byTarget) {
    const mine = findingsOf.get(label) ?? [];
    const split = observations.map(splitVolatile);
    const snapshots = await store.putSnapshots(split.map((x) => x.stable));
    result.snapshotsCreated += snapshots.created;
    const appended = await store.append({
      runId: options.runId,
      target: label,
      trigger: options.trigger,
      recordedAt: options.recordedAt,
      now: options.now,
      vigilVersion: options.vigilVersion,
      configHash,
      controls,
      snapshots: snapshots.refs.map((ref, i) => ({ ...ref, ...split[i]?.volatile })),
      findings: mine,
    });
    result.records.push({
      target: label,
      seq: appended.seq,
      hash: appended.hash,
      created: appended.created,
    });
    const byScope = new Map<string, Finding[]>();
    // A complete target also visits the scopes it used to cover, so their vanished rows resolve.
    if (complete === true || (deleted?.length ?? 0) > 0)
      for (const scope of scopes ?? []) byScope.set(scope, []);
    for (const observation of complete === true ? observations : [])
      if (observation.scope !== undefined && !byScope.has(observation.scope))
        byScope.set(observation.scope, []);
    for (const finding of mine) {
      const scope = finding.scope ?? label;
      byScope.set(scope, [...(byScope.get(scope) ?? []), finding]);
    }
    for (const [scope, list] of byScope)
      result.transitions.push(
        ...(await store.applyFindings(scope, options.runId, options.now, list, {
          target: owner ?? label,
          controlsInForce,
          ...(complete === true ? { goneUnlessSeen: seen } : {}),
          ...(deleted !== undefined && deleted.length > 0
            ? { deletedResourceIds: [...deleted] }
            : {}),
          ...(options.beforeStateWrite !== undefined
            ? {
                beforeWrite: (transitions: readonly Transition[]) =>
                  (options.beforeStateWrite as NonNullable<RecordScanOptions["beforeStateWrite"]>)(
                    label,
                    scope,
                    transitions,
                  ),
              }
            : {}),
        })),
      );
  }
  return result;
}
