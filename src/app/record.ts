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
  type Observation,
  sha256Hex,
  type Transition,
  type VigilConfig,
} from "../core/index.js";
import type { EvidenceStore } from "./deps.js";

/**
 * The observation as its snapshot stores it: without the collection time, which the record
 * carries, so that an unchanged resource hashes the same on every run and costs no new blob.
 */
function withoutObservedAt(observation: Observation): Observation {
  if (observation.source?.observedAt === undefined) return observation;
  const { observedAt: _, ...source } = observation.source;
  return { ...observation, source };
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
  const seen = new Set(byTarget.flatMap((t) => t.observations.map((o) => o.id)));
  for (const { label, observations, complete, scopes } of byTarget) {
    const mine = findingsOf.get(label) ?? [];
    const snapshots = await store.putSnapshots(observations.map(withoutObservedAt));
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
      snapshots: snapshots.refs,
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
    if (complete === true) for (const scope of scopes ?? []) byScope.set(scope, []);
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
          target: label,
          ...(complete === true ? { goneUnlessSeen: seen } : {}),
        })),
      );
  }
  return result;
}
