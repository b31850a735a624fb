/**
 * The `findings` table: current state, one row per (scope, control, resource). A run's findings
 * are merged by the core's `computeTransitions` and written back in atomic batches.
 */

import { createHash } from "node:crypto";
import { odata, type TableClient, type TransactionAction } from "@azure/data-tables";
import {
  computeTransitions,
  type Finding,
  SEVERITIES,
  type Severity,
  STATUSES,
  type StateRow,
  type Status,
  type Transition,
} from "../core/index.js";
import { StoreError } from "./errors.js";
import { toStoreError } from "./rest.js";

/** Options of {@link FindingStore.applyFindings}. */
export interface ApplyFindingsOptions {
  /** Resources the run knows to be gone; their rows are resolved (see `computeTransitions`). */
  deletedResourceIds?: string[];
  /** The target the findings come from, and what a complete collection of it saw (see `computeTransitions`). */
  target?: string;
  goneUnlessSeen?: ReadonlySet<string>;
  controlsInForce?: ReadonlySet<string>;
  /**
   * Called with the transitions after they are computed and before any row is written (the
   * notifications outbox): when it throws, nothing is written.
   */
  beforeWrite?: (transitions: readonly Transition[]) => Promise<void>;
  /**
   * The scope's rows as the caller has just read them (`listState`): used instead of reading the
   * scope again. A row written by someone else since is kept as it is unless this run changes it.
   */
  previous?: readonly StateRow[];
  abortSignal?: AbortSignal;
}

/** Options of the finding store's reads. */
export interface ListStateOptions {
  abortSignal?: AbortSignal;
}

/** The current-state table. */
export interface FindingStore {
  /** Creates the table if it is missing. */
  ensure(options?: ListStateOptions): Promise<void>;
  /**
   * Merges one run's findings for one scope into the table and returns the state changes.
   * Idempotent: the same run written twice leaves the same rows and returns no transitions the
   * second time (invariant 5).
   * @throws {StoreError} when the table cannot be read or written
   */
  applyFindings(
    scope: string,
    runId: string,
    observedAt: string,
    findings: readonly Finding[],
    options?: ApplyFindingsOptions,
  ): Promise<Transition[]>;
  /**
   * The rows of one scope.
   * @throws {StoreError} when the table cannot be read or holds a row the store did not write
   */
  listState(scope: string, options?: ListStateOptions): AsyncIterable<StateRow>;
}

/** Azure Tables' limit per entity group transaction. */
const MAX_BATCH = 100;
/** Longest key written as is: 1 KiB is the service's limit, counted here as UTF-16 (2 bytes/char). */
const MAX_KEY_CHARS = 512;

/** One table entity as the store writes it. */
interface StateEntity {
  partitionKey: string;
  rowKey: string;
  scope: string;
  controlId: string;
  resourceId: string;
  status: string;
  severity: string;
  firstSeen: string;
  lastChanged: string;
  lastSeen: string;
  lastRun: string;
  deletedAt?: string;
  target?: string;
  /** The finding as JSON; its trace is dropped when the whole would not fit a table property. */
  finding?: string;
}

/** Longest string property written: the service's limit is 64 KiB, counted as UTF-16. */
const MAX_PROPERTY_CHARS = 32_000;

/**
 * A finding store over `table` (DESIGN.md "Storage layout": table `findings`). PartitionKey is
 * the encoded scope, RowKey the encoded control id and resource id (see {@link encodeKey}).
 */
export function createFindingStore(table: TableClient): FindingStore {
  async function* listState(
    scope: string,
    options: ListStateOptions = {},
  ): AsyncIterable<StateRow> {
    const partitionKey = partitionKeyOf(scope);
    const pages = table.listEntities<StateEntity>({
      queryOptions: { filter: odata`PartitionKey eq ${partitionKey}` },
      ...(options.abortSignal ? { abortSignal: options.abortSignal } : {}),
    });
    try {
      for await (const entity of pages) yield fromEntity(entity);
    } catch (error) {
      throw toStoreError(error, `list findings of ${scope}`);
    }
  }

  return {
    async ensure(options = {}) {
      try {
        // createTable treats 409 TableAlreadyExists as success.
        await table.createTable(options.abortSignal ? { abortSignal: options.abortSignal } : {});
      } catch (error) {
        throw toStoreError(error, `create table ${table.tableName}`);
      }
    },

    async applyFindings(scope, runId, observedAt, findings, options = {}) {
      const previous: StateRow[] = [];
      if (options.previous !== undefined) previous.push(...options.previous);
      else for await (const row of listState(scope, options)) previous.push(row);
      const before = new Map(
        previous.map((row) => [rowKeyOf(row.controlId, row.resourceId), serialise(row)]),
      );

      const { rows, transitions } = computeTransitions(previous, findings, {
        runId,
        observedAt,
        scope,
        ...(options.deletedResourceIds ? { deletedResourceIds: options.deletedResourceIds } : {}),
        ...(options.target !== undefined ? { target: options.target } : {}),
        ...(options.goneUnlessSeen ? { goneUnlessSeen: options.goneUnlessSeen } : {}),
        ...(options.controlsInForce ? { controlsInForce: options.controlsInForce } : {}),
      });

      if (options.beforeWrite !== undefined) await options.beforeWrite(transitions);
      const changed = rows.filter(
        (row) => before.get(rowKeyOf(row.controlId, row.resourceId)) !== serialise(row),
      );
      for (let i = 0; i < changed.length; i += MAX_BATCH) {
        // Replace, not merge: a row that is no longer deleted must lose its deletedAt.
        const actions: TransactionAction[] = changed
          .slice(i, i + MAX_BATCH)
          .map((row) => ["upsert", { ...toEntity(row) }, "Replace"]);
        try {
          await table.submitTransaction(
            actions,
            options.abortSignal ? { abortSignal: options.abortSignal } : {},
          );
        } catch (error) {
          throw toStoreError(error, `upsert ${actions.length} findings of ${scope}`);
        }
      }
      return transitions;
    },

    listState,
  };
}

/**
 * Encodes a string for PartitionKey or RowKey: letters, digits and `-_.:~@` stay, every other
 * UTF-8 byte becomes `!XX`. Azure Tables forbid `/ \ # ?` and control characters in keys, resource
 * ids are full of `/`, and `%` and `+` misbehave in key URLs, so keys are kept to this safe set.
 * Injective, so two different ids never share a key.
 */
export function encodeKey(value: string): string {
  let out = "";
  for (const byte of Buffer.from(value, "utf8")) {
    const char = String.fromCharCode(byte);
    out += /[A-Za-z0-9\-_.:~@]/.test(char)
      ? char
      : `!${byte.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

/** The PartitionKey of a scope; a scope too long for a key is hashed (`||` marks the hash). */
export function partitionKeyOf(scope: string): string {
  const encoded = encodeKey(scope);
  return encoded.length <= MAX_KEY_CHARS ? encoded : `||${sha256(scope)}`;
}

/**
 * The RowKey of a (control, resource) pair: `<control>|<resource>`, both encoded (so `|` appears
 * exactly once); a resource id too long for a key is hashed: `<control>||<sha256>`.
 */
export function rowKeyOf(controlId: string, resourceId: string): string {
  const control = encodeKey(controlId);
  const key = `${control}|${encodeKey(resourceId)}`;
  return key.length <= MAX_KEY_CHARS ? key : `${control}||${sha256(resourceId)}`;
}

function sha256(value: string): string {
  return createHash("sha256").update(value, "utf8").digest("hex");
}

function toEntity(row: StateRow): StateEntity {
  const entity: StateEntity = {
    partitionKey: partitionKeyOf(row.scope),
    rowKey: rowKeyOf(row.controlId, row.resourceId),
    scope: row.scope,
    controlId: row.controlId,
    resourceId: row.resourceId,
    status: row.status,
    severity: row.severity,
    firstSeen: row.firstSeen,
    lastChanged: row.lastChanged,
    lastSeen: row.lastSeen,
    lastRun: row.lastRun,
  };
  if (row.deletedAt !== undefined) entity.deletedAt = row.deletedAt;
  if (row.target !== undefined) entity.target = row.target;
  if (row.finding !== undefined) {
    let json = JSON.stringify(row.finding);
    if (json.length > MAX_PROPERTY_CHARS)
      json = JSON.stringify({ ...row.finding, trace: [], traceOmitted: true });
    if (json.length <= MAX_PROPERTY_CHARS) entity.finding = json;
  }
  return entity;
}

function fromEntity(entity: Partial<StateEntity>): StateRow {
  const text = (key: keyof StateEntity): string => {
    const value = entity[key];
    if (typeof value !== "string") {
      throw new StoreError(
        `findings row ${entity.partitionKey}/${entity.rowKey} has no string ${key}: not written by vigil`,
        { operation: "list findings" },
      );
    }
    return value;
  };
  const status = text("status");
  const severity = text("severity");
  if (!(STATUSES as readonly string[]).includes(status)) {
    throw new StoreError(`findings row ${entity.rowKey} has unknown status ${status}`, {
      operation: "list findings",
    });
  }
  if (!(SEVERITIES as readonly string[]).includes(severity)) {
    throw new StoreError(`findings row ${entity.rowKey} has unknown severity ${severity}`, {
      operation: "list findings",
    });
  }
  const row: StateRow = {
    scope: text("scope"),
    controlId: text("controlId"),
    resourceId: text("resourceId"),
    status: status as Status,
    severity: severity as Severity,
    firstSeen: text("firstSeen"),
    lastChanged: text("lastChanged"),
    lastSeen: text("lastSeen"),
    lastRun: text("lastRun"),
  };
  if (typeof entity.deletedAt === "string") row.deletedAt = entity.deletedAt;
  if (typeof entity.target === "string") row.target = entity.target;
  if (typeof entity.finding === "string") {
    try {
      row.finding = JSON.parse(entity.finding) as Finding;
    } catch (error) {
      throw new StoreError(
        `findings row ${entity.rowKey} holds a finding that is not JSON`,
        { operation: "list findings" },
        { cause: error },
      );
    }
  }
  return row;
}

/** A row as a string with a fixed key order, to tell changed rows from unchanged ones. */
function serialise(row: StateRow): string {
  return JSON.stringify(toEntity(row));
}
