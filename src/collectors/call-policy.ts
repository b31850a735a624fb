/**
 * The one call policy every collector uses: bounded concurrency per API and partition, the read
 * budget of ARM and Graph, retries with `Retry-After` or jittered backoff, and the target's
 * deadline. (Interface fixed here; the implementation follows.)
 */

import type { PipelinePolicy } from "@azure/core-rest-pipeline";
import type { ApiName } from "./errors.js";

/** Which budget a call draws on: the API and its partition (subscription id, tenant, cluster, host). */
export interface CallKey {
  api: ApiName;
  partition: string;
}

/** Options of one policed call. */
export interface CallOptions {
  abortSignal?: AbortSignal;
  /** Epoch milliseconds after which no retry waits and no new attempt starts. */
  deadlineMs?: number;
}

/** Counters for progress, logs and benchmarks. */
export interface CallStats {
  calls: Record<string, number>;
  retries: Record<string, number>;
  throttled: Record<string, number>;
  failures: Record<string, number>;
}

/** The call policy's surface. */
export interface CallPolicy {
  /**
   * Run one call under the policy: wait for a concurrency slot and budget, retry what is
   * retryable, and give up at the deadline.
   * @throws CollectionError when the call finally fails.
   */
  call<T>(
    key: CallKey,
    operation: string,
    fn: (abortSignal: AbortSignal) => Promise<T>,
    options?: CallOptions,
  ): Promise<T>;
  /** The same rules as a core-rest-pipeline policy for Azure SDK clients (position "perCall"). */
  pipelinePolicy(key: CallKey, options?: CallOptions): PipelinePolicy;
  stats(): CallStats;
}
