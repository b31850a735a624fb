/**
 * Runs and their targets' progress in the `runs` table (DESIGN.md "Storage layout"), the
 * freshness of each scope for the gate, and the per-sink delivery marks of the notifications.
 *
 * Partitions (the ledger's index lives in the same table under `evidence-ledger`):
 * - `run`: one row per run (RowKey: run id): trigger, times, how many targets it planned, status.
 * - `target!<run id>`: one row per target of the run (RowKey: encoded target label): its outcome.
 * - `scope`: one row per scope (RowKey: encoded scope): the last run that evaluated it, and when.
 * - `delivery!<run id>`: one row per sink that a run's digest reached (RowKey: encoded sink name).
 *
 * Every write is an upsert keyed by run, target, scope or sink, so a repeated message or event
 * writes the same rows again (DESIGN.md invariant 5).
 */

import { odata, type TableClient } from "@azure/data-tables";
import { InputError } from "../core/index.js";
import { StoreError } from "./errors.js";
import { encodeKey } from "./findings.js";
import { isConflict, isNotFound, toStoreError } from "./rest.js";

/** What a run is. */
export interface RunRow {
  runId: string;
  /** `timer`, `http`, `event-grid`, `kube-audit`, `cli`. */
  trigger: string;
  /** ISO 8601: when the run was planned. */
  startedAt: string;
  /** ISO 8601: the evaluation time of the run. */
  now: string;
  /** Targets the run put on the queue. */
  targetsPlanned: number;
  /** Scopes that could not be planned (discovery failed), with the reason. */
  planFailures: { label: string; message: string }[];
  status: "running" | "completed";
  /** ISO 8601: when the last target finished (when it started, for a run that planned none). */
  completedAt?: string;
}

/** How one target of a run ended. */
export type TargetOutcome = "done" | "failed";

/** One target of a run. */
export interface RunTargetRow {
  runId: string;
  target: string;
  outcome: TargetOutcome;
  /** ISO 8601. */
  finishedAt: string;
  /** Ledger record seq of the target's evidence, when it was recorded. */
  recordSeq?: number;
  /** Why the target failed (`failed` only). */
  message?: string;
}

/** The freshness of one scope: what the gate reads. */
export interface ScopeRow {
  scope: string;
  lastRunId: string;
  /** ISO 8601: evaluation time of the last run that evaluated the scope. */
  lastEvaluatedAt: string;
  /** Label of the target that evaluated it. */
  lastTarget: string;
}

/** An input vigil could not use. */
export interface Rejection {
  /** Where it came from: `kube-audit`, `event-grid`, … */
  source: string;
  /** What identifies it (a hash of the input and its position). */
  key: string;
  reason: string;
  /** ISO 8601. */
  at: string;
}

/** The runs table. */
export interface RunStore {
  /** Create the table if it is missing. */
  ensure(): Promise<void>;
  /**
   * Record a planned run. Idempotent: an existing row of the same run is left as it is (a sweep
   * message replayed after the run completed does not reopen it). A run that planned no target
   * has nothing to wait for and is recorded completed at once.
   * @throws InputError when the run has no id; StoreError when the table cannot be written
   */
  startRun(run: Omit<RunRow, "status" | "completedAt">): Promise<void>;
  getRun(runId: string): Promise<RunRow | undefined>;
  /**
   * Record how a target ended, then mark the run completed when every planned target has
   * ended. Resolves to true for every call that finds all planned targets ended: of concurrent
   * last finishers at least one, possibly several, and again on a replay after completion;
   * callers make what follows idempotent.
   * @throws StoreError when the run was never started or the table cannot be read or written
   */
  finishTarget(row: RunTargetRow): Promise<{ runCompleted: boolean }>;
  listTargets(runId: string): AsyncIterable<RunTargetRow>;
  /** Record that a run evaluated these scopes (only moves forward in time). */
  touchScopes(rows: readonly ScopeRow[]): Promise<void>;
  getScope(scope: string): Promise<ScopeRow | undefined>;
  listScopes(): AsyncIterable<ScopeRow>;
  /** Whether a run's digest already reached a sink. */
  isDelivered(runId: string, sink: string): Promise<boolean>;
  markDelivered(runId: string, sink: string, at: string): Promise<void>;
  /**
   * Keep an input vigil could not use (an audit record that does not parse), so that a dropped
   * input is on record, not only in a log: partition `rejected!<day>`, one row per input (`key`
   * identifies it, so a redelivered input writes the same row).
   */
  recordRejected(rejection: Rejection): Promise<void>;
  /** The inputs rejected on one day (`YYYY-MM-DD`). */
  listRejected(day: string): AsyncIterable<Rejection>;
}

const RUN_PARTITION = "run";
const SCOPE_PARTITION = "scope";
const targetPartition = (runId: string) => `target!${encodeKey(runId)}`;
const deliveryPartition = (runId: string) => `delivery!${encodeKey(runId)}`;

/** A run store over the `runs` table. */
export function createRunStore(table: TableClient): RunStore {
  async function get<T extends object>(
    partitionKey: string,
    rowKey: string,
    what: string,
  ): Promise<T | undefined> {
    try {
      return (await table.getEntity<T>(partitionKey, rowKey)) as T;
    } catch (error) {
      if (isNotFound(error)) return undefined;
      throw toStoreError(error, `read ${what}`);
    }
  }
  async function upsert(entity: Record<string, unknown>, what: string): Promise<void> {
    try {
      await table.upsertEntity(entity as { partitionKey: string; rowKey: string }, "Merge");
    } catch (error) {
      throw toStoreError(error, `write ${what}`);
    }
  }
  async function* list<T>(partitionKey: string, what: string): AsyncIterable<T> {
    try {
      for await (const entity of table.listEntities<Record<string, unknown>>({
        queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` },
      }))
        yield entity as T;
    } catch (error) {
      throw toStoreError(error, `list ${what}`);
    }
  }

  const store: RunStore = {
    async ensure() {
      try {
        await table.createTable();
      } catch (error) {
        throw toStoreError(error, `create table ${table.tableName}`);
      }
    },

    async startRun(run) {
      if (run.runId === "") throw new InputError("a run needs an id", { pointer: "/runId" });
      // No target will ever call finishTarget for a run that planned none: it is complete now.
      const empty = run.targetsPlanned === 0;
      try {
        // Create, never upsert: a read-then-write would let a replay that read "no row" overwrite
        // a run that completed in between, reopening it.
        await table.createEntity({
          partitionKey: RUN_PARTITION,
          rowKey: encodeKey(run.runId),
          runId: run.runId,
          trigger: run.trigger,
          startedAt: run.startedAt,
          now: run.now,
          targetsPlanned: run.targetsPlanned,
          planFailures: JSON.stringify(run.planFailures),
          status: empty ? "completed" : "running",
          ...(empty ? { completedAt: run.startedAt } : {}),
        });
      } catch (error) {
        if (isConflict(error)) return;
        throw toStoreError(error, `write run ${run.runId}`);
      }
    },

    async getRun(runId) {
      const row = await get<Record<string, unknown>>(RUN_PARTITION, encodeKey(runId), "run");
      return row === undefined ? undefined : runFromEntity(row);
    },

    async finishTarget(row) {
      await upsert(
        {
          partitionKey: targetPartition(row.runId),
          rowKey: encodeKey(row.target),
          runId: row.runId,
          target: row.target,
          outcome: row.outcome,
          finishedAt: row.finishedAt,
          ...(row.recordSeq !== undefined ? { recordSeq: row.recordSeq } : {}),
          ...(row.message !== undefined ? { message: row.message } : {}),
        },
        `target ${row.target} of run ${row.runId}`,
      );
      const run = await store.getRun(row.runId);
      if (run === undefined) {
        throw new StoreError(`run ${row.runId} has no row: it was never started`, {
          operation: "finish target",
        });
      }
      let finished = 0;
      let last = row.finishedAt;
      for await (const target of store.listTargets(row.runId)) {
        finished += 1;
        if (target.finishedAt > last) last = target.finishedAt;
      }
      if (finished < run.targetsPlanned) return { runCompleted: false };
      if (run.status !== "completed")
        await upsert(
          {
            partitionKey: RUN_PARTITION,
            rowKey: encodeKey(row.runId),
            status: "completed",
            completedAt: last,
          },
          `run ${row.runId}`,
        );
      return { runCompleted: true };
    },

    async *listTargets(runId) {
      for await (const entity of list<Record<string, unknown>>(
        targetPartition(runId),
        `targets of run ${runId}`,
      ))
        yield {
          runId: String(entity.runId),
          target: String(entity.target),
          outcome: entity.outcome === "failed" ? "failed" : "done",
          finishedAt: String(entity.finishedAt),
          ...(typeof entity.recordSeq === "number" ? { recordSeq: entity.recordSeq } : {}),
          ...(typeof entity.message === "string" ? { message: entity.message } : {}),
        };
    },

    async touchScopes(rows) {
      for (const row of rows) {
        const existing = await store.getScope(row.scope);
        if (existing !== undefined && existing.lastEvaluatedAt > row.lastEvaluatedAt) continue;
        await upsert(
          { partitionKey: SCOPE_PARTITION, rowKey: encodeKey(row.scope), ...row },
          `scope ${row.scope}`,
        );
      }
    },

    async getScope(scope) {
      const row = await get<Record<string, unknown>>(SCOPE_PARTITION, encodeKey(scope), "scope");
      return row === undefined ? undefined : scopeFromEntity(row);
    },

    async *listScopes() {
      for await (const entity of list<Record<string, unknown>>(SCOPE_PARTITION, "scopes"))
        yield scopeFromEntity(entity);
    },

    async isDelivered(runId, sink) {
      return (
        (await get(deliveryPartition(runId), encodeKey(sink), `delivery of ${runId}`)) !== undefined
      );
    },

    async markDelivered(runId, sink, at) {
      await upsert(
        {
          partitionKey: deliveryPartition(runId),
          rowKey: encodeKey(sink),
          runId,
          sink,
          deliveredAt: at,
        },
        `delivery of ${runId} to ${sink}`,
      );
    },

    async recordRejected(rejection) {
      await upsert(
        {
          partitionKey: `rejected!${rejection.at.slice(0, 10)}`,
          rowKey: encodeKey(`${rejection.source}!${rejection.key}`),
          ...rejection,
        },
        `rejected ${rejection.source} input`,
      );
    },

    async *listRejected(day) {
      for await (const entity of list<Record<string, unknown>>(
        `rejected!${day}`,
        "rejected inputs",
      ))
        yield {
          source: String(entity.source),
          key: String(entity.key),
          reason: String(entity.reason),
          at: String(entity.at),
        };
    },
  };
  return store;
}

function runFromEntity(entity: Record<string, unknown>): RunRow {
  let planFailures: RunRow["planFailures"] = [];
  if (typeof entity.planFailures === "string") {
    try {
      planFailures = JSON.parse(entity.planFailures) as RunRow["planFailures"];
    } catch {
      throw new StoreError(`run ${String(entity.runId)} has unreadable planFailures`, {
        operation: "read run",
      });
    }
  }
  return {
    runId: String(entity.runId),
    trigger: String(entity.trigger),
    startedAt: String(entity.startedAt),
    now: String(entity.now),
    targetsPlanned: Number(entity.targetsPlanned),
    planFailures,
    status: entity.status === "completed" ? "completed" : "running",
    ...(typeof entity.completedAt === "string" ? { completedAt: entity.completedAt } : {}),
  };
}

function scopeFromEntity(entity: Record<string, unknown>): ScopeRow {
  return {
    scope: String(entity.scope),
    lastRunId: String(entity.lastRunId),
    lastEvaluatedAt: String(entity.lastEvaluatedAt),
    lastTarget: String(entity.lastTarget),
  };
}
