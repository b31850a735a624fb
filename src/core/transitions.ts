/**
 * Current-state bookkeeping for findings: merges one run's findings into the state rows of a
 * scope and names what changed (new failure, regression, resolved, still failing, error started,
 * error cleared). Pure: the store reads and writes the rows, the notifications consume the
 * transitions.
 */

import type { Finding, Severity, Status } from "./types.js";

/** One row of the `findings` table: the current state of one control on one resource in a scope. */
export interface StateRow {
  scope: string;
  controlId: string;
  resourceId: string;
  status: Status;
  severity: Severity;
  /** When the row was created (the `observedAt` of the run that first saw the pair). */
  firstSeen: string;
  /** When `status` last changed (or the row was created). */
  lastChanged: string;
  /** When a run last produced a finding for the pair. A deletion does not move it. */
  lastSeen: string;
  /** Id of the last run that changed or confirmed the row. */
  lastRun: string;
  /**
   * Set when the resource was reported deleted; the row then has status `not_applicable`. Cleared
   * when a later run sees the resource again.
   */
  deletedAt?: string;
  /**
   * Label of the target whose collection last produced a finding for the pair (a sweep's target:
   * `subscription <id>`, `cluster <name>`, …). A complete collection of that target that no longer
   * sees the resource marks the row deleted (see `goneUnlessSeen`). Absent on rows written by a
   * partial re-evaluation that names no target.
   */
  target?: string;
  /**
   * The finding that last set the row, for the findings API (its reason, family, frameworks and
   * trace). A deleted resource's row keeps the finding it had.
   */
  finding?: Finding;
}

/** Kinds of state change, in DESIGN.md's words. */
export const TRANSITION_KINDS = [
  "new-failure",
  "regression",
  "resolved",
  "still-failing",
  "error-started",
  "error-cleared",
] as const;
export type TransitionKind = (typeof TRANSITION_KINDS)[number];

/** One state change of one (control, resource) pair in one run. */
export interface Transition {
  kind: TransitionKind;
  scope: string;
  controlId: string;
  resourceId: string;
  /** Status before the run; `null` when there was no row. */
  from: Status | null;
  /** Status after the run (`not_applicable` when the resource was deleted). */
  to: Status;
  severity: Severity;
  runId: string;
  /** The run's `observedAt`. */
  at: string;
  /** The resource was reported deleted by this run. */
  resourceDeleted?: true;
}

/** Options of {@link computeTransitions}. */
export interface ComputeTransitionsOptions {
  runId: string;
  /** The run's observation time (ISO 8601): stamps the rows and orders runs. */
  observedAt: string;
  /** The partition the rows belong to; rows of other scopes in `previous` are ignored. */
  scope: string;
  /**
   * Resources the run knows to be gone (from a delete event or a re-read answering 404): their
   * rows and the rows of everything under them (`<id>/…`), compared without case.
   */
  deletedResourceIds?: string[];
  /** Label of the target this run's findings come from: stamped on the rows they write. */
  target?: string;
  /**
   * The target named by `target` was collected completely (every list answered) and these are all
   * the resources the run observed: a row last produced by that target whose resource is not in
   * the set is gone, as if listed in `deletedResourceIds`. Only the target that saw a resource can
   * declare it deleted, so a target that failed, or another target sharing the scope, never does.
   */
  goneUnlessSeen?: ReadonlySet<string>;
  /**
   * The controls the run evaluates (the catalogue's, less those the config disables). A row of
   * another control (disabled, or removed from the catalogue) no longer holds anything: it becomes
   * `not_applicable`, so that a disabled control stops failing the gate.
   */
  controlsInForce?: ReadonlySet<string>;
}

/** What {@link computeTransitions} returns. */
export interface ComputeTransitionsResult {
  /** The complete new state of the scope, sorted by control id, then resource id. */
  rows: StateRow[];
  /** The state changes of this run, in the same order. */
  transitions: Transition[];
}

/**
 * Precedence when one run holds several findings for the same pair: the most alarming wins,
 * so that a duplicate can never hide an error or a failure (fail closed), whatever the order.
 */
const PRECEDENCE: Record<Status, number> = {
  error: 4,
  fail: 3,
  waived: 2,
  pass: 1,
  not_applicable: 0,
};

/**
 * Merges one run's findings into the state rows of a scope.
 *
 * Rules (DESIGN.md "deliver"; the notifications consume the transitions):
 * - `fail` after no row or `not_applicable` (the control did not apply, or the resource was
 *   deleted) is a **new-failure**; after `pass` or `waived` a **regression** (a waiver that
 *   expires and leaves a failure behind is a regression); after `fail` **still-failing**.
 * - `fail` → `pass`, `waived` or `not_applicable` is **resolved**: the failure is no longer open
 *   (closed by a fix, by an approved exception, or by leaving the control's scope). A deleted
 *   resource whose row was `fail` is **resolved** with `resourceDeleted`.
 * - Any status → `error` is **error-started** (including a first finding that is `error`);
 *   `error` → any other status is **error-cleared** (its `to` says what the pair is now), and a
 *   deleted resource whose row was `error` is error-cleared too.
 * - `waived` and `not_applicable` otherwise emit nothing: a pair that passes, is waived or does
 *   not apply needs no one's attention, and `error` → `error` is not repeated.
 * - Rows of pairs the run has no finding for are left as they are (a run may cover part of a
 *   scope), unless the resource is in `deletedResourceIds`; then the row becomes
 *   `not_applicable` with `deletedAt`. A finding for a resource in the same run wins over its
 *   deletion.
 *
 * Idempotent: a row whose `lastRun` is `runId` already holds this run and is left unchanged, so
 * applying a run twice yields the same rows and no transitions the second time. The check is per
 * pair, so two targets of one run that share a scope both land. A run older than a row's
 * `lastSeen` or `deletedAt` (a late, redelivered message) does not move the row back either.
 * @throws {RangeError} when `observedAt` is not a time
 */
export function computeTransitions(
  previous: readonly StateRow[],
  findings: readonly Finding[],
  options: ComputeTransitionsOptions,
): ComputeTransitionsResult {
  const { runId, observedAt, scope } = options;
  const observedAtMs = Date.parse(observedAt);
  if (Number.isNaN(observedAtMs)) {
    throw new RangeError(`observedAt is not an ISO 8601 time: ${JSON.stringify(observedAt)}`);
  }

  const state = new Map<string, StateRow>();
  for (const row of previous) {
    if (row.scope === scope) state.set(pairKey(row.controlId, row.resourceId), row);
  }

  const latest = new Map<string, Finding>();
  for (const finding of findings) {
    const key = pairKey(finding.controlId, finding.resourceId);
    const seen = latest.get(key);
    if (seen === undefined || PRECEDENCE[finding.status] > PRECEDENCE[seen.status]) {
      latest.set(key, finding);
    }
  }

  const transitions: Transition[] = [];
  // A row already holds this run, or a later one (by its last sighting or deletion).
  const isCurrent = (row: StateRow): boolean =>
    row.lastRun === runId ||
    Date.parse(row.lastSeen) > observedAtMs ||
    (row.deletedAt !== undefined && Date.parse(row.deletedAt) > observedAtMs);

  for (const [key, finding] of latest) {
    const row = state.get(key);
    if (row !== undefined && isCurrent(row)) continue;
    const from: Status | null = row === undefined ? null : row.status;
    const to = finding.status;
    const changed = from !== to;
    const next: StateRow = {
      scope,
      controlId: finding.controlId,
      resourceId: finding.resourceId,
      status: to,
      severity: finding.severity,
      firstSeen: row?.firstSeen ?? observedAt,
      lastChanged: changed || row === undefined ? observedAt : row.lastChanged,
      lastSeen: observedAt,
      lastRun: runId,
      finding,
    };
    const target = options.target ?? row?.target;
    if (target !== undefined) next.target = target;
    state.set(key, next);
    const kind = classifyTransition(from, to);
    if (kind !== undefined) {
      transitions.push({
        kind,
        scope,
        controlId: next.controlId,
        resourceId: next.resourceId,
        from,
        to,
        severity: next.severity,
        runId,
        at: observedAt,
      });
    }
  }

  // A deleted resource takes everything under it along (an account's containers); ARM ids
  // compare without case.
  const gone = (options.deletedResourceIds ?? []).map((id) => id.toLowerCase());
  const deleted = new Set<string>();
  for (const row of state.values()) {
    const id = row.resourceId.toLowerCase();
    if (gone.some((d) => id === d || id.startsWith(`${d}/`))) deleted.add(row.resourceId);
  }
  const { goneUnlessSeen, target } = options;
  if (goneUnlessSeen !== undefined && target !== undefined) {
    for (const row of state.values())
      if (row.target === target && !goneUnlessSeen.has(row.resourceId)) deleted.add(row.resourceId);
  }
  /** Retire a row that no longer holds anything: its resource is gone, or its control is. */
  const retire = (key: string, row: StateRow, deletedAt?: string) => {
    state.set(key, {
      ...row,
      status: "not_applicable",
      lastChanged: row.status === "not_applicable" ? row.lastChanged : observedAt,
      lastRun: runId,
      ...(deletedAt !== undefined ? { deletedAt } : {}),
    });
    const kind =
      row.status === "fail" ? "resolved" : row.status === "error" ? "error-cleared" : undefined;
    if (kind !== undefined)
      transitions.push({
        kind,
        scope,
        controlId: row.controlId,
        resourceId: row.resourceId,
        from: row.status,
        to: "not_applicable",
        severity: row.severity,
        runId,
        at: observedAt,
        ...(deletedAt !== undefined ? { resourceDeleted: true as const } : {}),
      });
  };

  for (const [key, row] of state) {
    if (!deleted.has(row.resourceId) || latest.has(key) || isCurrent(row)) continue;
    if (row.deletedAt === undefined) retire(key, row, observedAt);
  }

  // A row of a control the run does not evaluate (disabled, or gone from the catalogue).
  const inForce = options.controlsInForce;
  if (inForce !== undefined)
    for (const [key, row] of state)
      if (!inForce.has(row.controlId) && row.status !== "not_applicable" && !isCurrent(row))
        retire(key, row);

  const rows = [...state.values()].sort(compareRows);
  transitions.sort(compareRows);
  return { rows, transitions };
}

/** The transition kind of a status change, or `undefined` when it is not worth telling. */
export function classifyTransition(from: Status | null, to: Status): TransitionKind | undefined {
  if (to === "error") return from === "error" ? undefined : "error-started";
  if (from === "error") return "error-cleared";
  if (to === "fail") {
    if (from === "fail") return "still-failing";
    if (from === "pass" || from === "waived") return "regression";
    return "new-failure";
  }
  return from === "fail" ? "resolved" : undefined;
}

function pairKey(controlId: string, resourceId: string): string {
  return `${controlId}\u0000${resourceId}`;
}

function compareRows(
  a: { controlId: string; resourceId: string },
  b: { controlId: string; resourceId: string },
): number {
  return compareStrings(a.controlId, b.controlId) || compareStrings(a.resourceId, b.resourceId);
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
