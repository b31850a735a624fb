/** Typed errors of the store: what failed against Azure Storage, with status and code kept. */

import { VigilError } from "../core/index.js";

/** A storage call failed in a way the store does not handle (not a conflict it expects). */
export class StoreError extends VigilError {
  /** What the store was doing: `append ledger/000000000003.json`, `upsert findings`. */
  readonly operation: string;
  readonly statusCode: number | undefined;
  readonly code: string | undefined;
  constructor(
    message: string,
    details: { operation: string; statusCode?: number; code?: string },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "StoreError";
    this.operation = details.operation;
    this.statusCode = details.statusCode;
    this.code = details.code;
  }
}

/**
 * An append lost the race for the next sequence number more often than its retry budget allows
 * (many concurrent appenders). Nothing was written; the caller may retry the whole append.
 */
export class LedgerContentionError extends StoreError {
  readonly attempts: number;
  constructor(attempts: number, options?: { cause?: unknown }) {
    super(
      `ledger append gave up after ${attempts} attempts: other writers kept taking the next sequence number`,
      { operation: "append", statusCode: 409, code: "BlobAlreadyExists" },
      options,
    );
    this.name = "LedgerContentionError";
    this.attempts = attempts;
  }
}

/** The local Azurite process could not be started (missing package, early exit, no ports in time). */
export class LocalStoreError extends VigilError {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = "LocalStoreError";
  }
}
