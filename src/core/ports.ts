/**
 * The interfaces adapters implement for the core and the use cases: what a collector is asked to
 * collect, and what it hands back. Types only; no I/O.
 */

import type { Observation, Severity } from "./types.js";

/** The Azure clouds vigil knows the endpoints of (PLATFORM.md "Sovereign clouds"). */
export const CLOUDS = ["AzurePublicCloud", "AzureUSGovernment", "AzureChinaCloud"] as const;
export type CloudName = (typeof CLOUDS)[number];

/** Endpoints and token scopes of one cloud; every client gets endpoint and scope from here. */
export interface CloudEndpoints {
  name: CloudName;
  /** `https://management.azure.com` (no trailing slash). */
  armEndpoint: string;
  /** `https://management.azure.com/.default`. */
  armScope: string;
  /** `https://login.microsoftonline.com`. */
  authorityHost: string;
  /** `https://graph.microsoft.com` (no version segment, no trailing slash). */
  graphEndpoint: string;
  /** `https://graph.microsoft.com/.default`. */
  graphScope: string;
  /** Blob data-plane URL of an account: `{account}` is replaced (`https://{account}.blob.core.windows.net`). */
  blobEndpointTemplate: string;
  /** `https://storage.azure.com/.default`. */
  storageScope: string;
  /** Token scope of the AKS Entra server application (the same id in every cloud). */
  aksScope: string;
  /** ARM read budget: token bucket per subscription and principal, or the legacy hourly limit. */
  armReadBudget:
    | { model: "token-bucket"; capacity: number; refillPerSecond: number }
    | { model: "hourly"; readsPerHour: number };
}

/** A Traefik entry point as its static configuration defines it (the Kubernetes API cannot show it). */
export interface EntryPointConfig {
  tls: boolean;
  redirectsToHttps?: boolean;
}

/** One explicit TLS endpoint to probe. */
export interface TlsTargetConfig {
  host: string;
  port: number;
  /** Server name to send; defaults to `host` when it is a name, none when it is an address. */
  sni?: string;
  /** Name of the set this endpoint belongs to; becomes the observation's scope. */
  set?: string;
}

/** One Kubernetes cluster to read, from AKS discovery or from an explicit kubeconfig context. */
export type ClusterTarget =
  | {
      kind: "aks";
      /** The AKS managed cluster's name; also the observation scope and the `k8s://` host part. */
      name: string;
      /** ARM id of the managed cluster. */
      resourceId: string;
      subscriptionId: string;
    }
  | {
      kind: "kubeconfig";
      name: string;
      /** Path of the kubeconfig file (the default loading rules when absent). */
      kubeconfigPath?: string;
      context: string;
    };

/** One unit of collection: what the sweep puts on the `scan-targets` queue (DESIGN.md "plan"). */
export type Target =
  | { kind: "subscription"; subscriptionId: string }
  /**
   * Re-collect only the observations these ARM resource ids affect (Event Grid subjects of one
   * subscription): each id's observation root (`affectedRoot`: a container → its storage account,
   * a server child → the server, an agent pool → the cluster) is read again with the joins a
   * subscription collection gives it. Ids of types vigil does not observe are ignored. Every id
   * must lie in `subscriptionId`.
   */
  | { kind: "resources"; subscriptionId: string; resourceIds: string[] }
  | { kind: "cluster"; cluster: ClusterTarget }
  | { kind: "tls"; set: string; endpoints: TlsTargetConfig[] }
  | { kind: "tenant"; tenantId: string }
  /** The drill-record container the DR runbooks write to. */
  | { kind: "drills"; account: string; container: string };

/** Progress a collector reports while it works, for the CLI's progress line and logs. */
export interface CollectProgress {
  target: string;
  /** What happened: `listed 12 Microsoft.Storage/storageAccounts`, `probed tls://…`. */
  message: string;
  /** Observations produced so far for this target. */
  observations?: number;
}

/** Options every collect call takes. */
export interface CollectOptions {
  /** The evaluation time (ISO 8601); look-back windows (activity log) are measured from it. */
  now: string;
  abortSignal?: AbortSignal;
  /** Epoch milliseconds after which no new call starts and no retry waits (the target's deadline). */
  deadlineMs?: number;
  onProgress?: (progress: CollectProgress) => void;
}

/**
 * A collector turns one target into observations. It never throws for a failed API call: the
 * observations that call feeds carry `error` or `gaps` instead (fail closed). It throws only for
 * a programming error or when aborted.
 */
export interface Collector {
  readonly name: string;
  /** Whether this collector has anything to read for the target. */
  handles(target: Target): boolean;
  collect(target: Target, options: CollectOptions): Promise<Observation[]>;
}

/**
 * One notification: the state changes of one run that someone should hear about (new failures,
 * regressions, resolutions, errors), batched per run so that a sink gets one message, never one
 * per finding. `id` is stable for the run and its content, so a redelivered digest can be told
 * from a new one.
 */
export interface Digest {
  id: string;
  runId: string;
  /** What started the run: `timer`, `event-grid`, `kube-audit`, `cli`, … */
  trigger: string;
  /** ISO 8601: when the run evaluated the estate. */
  evaluatedAt: string;
  /** The changes, sorted by severity (critical first), then control id, then resource id. */
  transitions: DigestEntry[];
  /** Counts by transition kind. */
  counts: Partial<Record<DigestKind, number>>;
}

/** The transition kinds a digest carries (still-failing is not news). */
export type DigestKind =
  | "new-failure"
  | "regression"
  | "resolved"
  | "error-started"
  | "error-cleared";

/** One state change in a digest. */
export interface DigestEntry {
  kind: DigestKind;
  scope: string;
  controlId: string;
  /** The control's title, for people. */
  title: string;
  resourceId: string;
  severity: Severity;
  from: string | null;
  to: string;
  /** The finding's reason after the change (absent for a deleted resource). */
  reason?: string;
  resourceDeleted?: true;
}

/** Where digests go: a signed webhook, a Teams Workflows webhook. */
export interface NotificationSink {
  /** A name for logs and errors, e.g. `webhook:secops`. */
  readonly name: string;
  /**
   * Deliver one digest. Resolves when the receiver accepted it (2xx).
   * @throws NotificationError (src/notify) with `retryable` when it was refused or unreachable.
   */
  deliver(digest: Digest, options?: { abortSignal?: AbortSignal }): Promise<void>;
}
