/**
 * What every collector is built with: the cloud's endpoints, a credential, trust anchors, scope
 * filters and the shared call policy. `src/app/deps.ts` builds one per process.
 */

import type { TokenCredential } from "@azure/core-auth";
import type { CloudEndpoints, EntryPointConfig, HostPort } from "../core/index.js";
import type { CallPolicy } from "./call-policy.js";

/** Where the DR runbooks write drill records (JSON documents, one per drill). */
export interface DrillRecordLocation {
  /** Storage account name; the URL comes from the cloud's blob endpoint template. */
  account: string;
  container: string;
  /** Only blobs under this prefix are read. */
  prefix?: string;
}

/** Settings shared by all collectors. */
export interface CollectorSettings {
  cloud: CloudEndpoints;
  /** Entra credential for ARM, Graph, blob data and the AKS server application. */
  credential: TokenCredential;
  /** Extra PEM CA certificates trusted for HTTPS to the APIs (the emulator's CA). */
  apiCaPem?: string[];
  /** Extra PEM CA certificates the TLS probe trusts besides the system store. */
  probeCaPem?: string[];
  /**
   * Where the TLS probe connects instead, by probed address (`formatHostPort(host, port)`), like
   * curl's `--connect-to`: the config's `tls.connectTo`, parsed.
   */
  tlsConnectTo?: ReadonlyMap<string, HostPort>;
  /** Only these resource groups (case-insensitive); all when absent. */
  resourceGroups?: string[];
  /** Only resources carrying all these tags; all when absent. */
  tags?: Record<string, string>;
  /** Look-back of the activity log for failover evidence, in days. */
  activityLogDays: number;
  drillRecords?: DrillRecordLocation;
  /** Traefik static configuration per cluster name (`*` for every cluster). */
  traefik: {
    entryPoints: Record<string, Record<string, EntryPointConfig>>;
    /** Traefik's `allowCrossNamespace` provider option, per cluster name (`*` default). */
    allowCrossNamespace: Record<string, boolean>;
  };
  /** Use Azure Resource Graph for inventory (falls back to per-subscription listing). */
  useResourceGraph: boolean;
  /** The one call policy: concurrency, retries, backoff and deadlines for every API. */
  callPolicy: CallPolicy;
}
