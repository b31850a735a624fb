/** Errors of the collectors: an API call that finally failed, with what is known about it. */

import { type CollectionFailure, VigilError } from "../core/index.js";

/** Which API a call went to. */
export type ApiName = "arm" | "resource-graph" | "graph" | "kubernetes" | "blob" | "tls";

/**
 * An API call that failed after the call policy's retries. Collectors turn it into an
 * observation's `error` or a `gap` (fail closed); it carries no token or secret.
 */
export class CollectionError extends VigilError {
  readonly source: ApiName;
  readonly statusCode: number | undefined;
  readonly code: string;
  readonly requestId: string | undefined;
  readonly retryable: boolean;
  constructor(
    message: string,
    fields: {
      source: ApiName;
      statusCode?: number;
      code?: string;
      requestId?: string;
      retryable?: boolean;
    },
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = "CollectionError";
    this.source = fields.source;
    this.statusCode = fields.statusCode;
    this.code =
      fields.code ??
      (fields.statusCode !== undefined ? `Http${fields.statusCode}` : "CollectionFailed");
    this.requestId = fields.requestId;
    this.retryable = fields.retryable ?? false;
  }

  /** The failure as observations carry it (`error` or a gap). */
  toFailure(): CollectionFailure {
    return {
      message: this.message,
      code: this.code,
      ...(this.statusCode !== undefined ? { statusCode: this.statusCode } : {}),
      ...(this.requestId !== undefined ? { requestId: this.requestId } : {}),
    };
  }
}

/** Whether a value is a CollectionError. */
export function isCollectionError(error: unknown): error is CollectionError {
  return error instanceof CollectionError;
}
