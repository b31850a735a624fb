/** Narrow guards over the Azure SDKs' `RestError`: the one status a caller expects, and wrapping. */

import { isRestError } from "@azure/core-rest-pipeline";
import { StoreError } from "./errors.js";

/** The HTTP status of an SDK error, if it has one. */
export function statusOf(error: unknown): number | undefined {
  return isRestError(error) ? error.statusCode : undefined;
}

/** True for 409 Conflict: a conditional create found the blob already there. */
export function isConflict(error: unknown): boolean {
  return statusOf(error) === 409;
}

/** True for 404 Not Found. */
export function isNotFound(error: unknown): boolean {
  return statusOf(error) === 404;
}

/**
 * Wraps an SDK failure in a {@link StoreError} naming the operation; a `StoreError` or an abort
 * passes through unchanged.
 */
export function toStoreError(error: unknown, operation: string): unknown {
  if (error instanceof StoreError) return error;
  if (error instanceof Error && error.name === "AbortError") return error;
  if (isRestError(error)) {
    const details: { operation: string; statusCode?: number; code?: string } = { operation };
    if (error.statusCode !== undefined) details.statusCode = error.statusCode;
    if (error.code !== undefined) details.code = error.code;
    return new StoreError(
      `${operation} failed: ${error.statusCode ?? "no response"} ${error.code ?? ""}`.trim(),
      details,
      { cause: error },
    );
  }
  return new StoreError(`${operation} failed`, { operation }, { cause: error });
}
