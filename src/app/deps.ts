/**
 * Builds the adapters a scan needs from config: the credential, the call policy, the collectors.
 * SDK clients and credentials are made once per process here, never per invocation (STYLE §1).
 */

import { readFileSync } from "node:fs";
import { dirname, isAbsolute, join, resolve } from "node:path";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { DefaultAzureCredential, ManagedIdentityCredential } from "@azure/identity";
import {
  type CollectorSettings,
  createArmCollector,
  createBlobReader,
  createCallPolicy,
  createGraphCollector,
  createKubernetesCollector,
  createTlsCollector,
  getAksCluster,
  getAksConnection,
  isCollectionError,
  listAksClusters,
  listSubscriptions,
  tlsTargetsOf,
} from "../collectors/index.js";
import {
  type Catalogue,
  type ClusterTarget,
  type CollectionFailure,
  type Collector,
  cloudEndpoints,
  type EndpointOverrides,
  type Finding,
  InputError,
  type LedgerVerification,
  type NotificationSink,
  type Observation,
  parseConnectTo,
  type RecordInput,
  SNAPSHOT_PREFIX,
  type SnapshotRef,
  type StateRow,
  type TlsTargetConfig,
  type Transition,
  type VigilConfig,
} from "../core/index.js";
import { createTeamsSink, createWebhookSink } from "../notify/index.js";
import {
  type EvidenceReportModel,
  renderCsv,
  renderEvidenceCsv,
  renderEvidenceHtml,
  renderEvidenceJson,
  renderOcsf,
  renderOscalAssessmentResults,
  renderPdf,
  renderSarif,
} from "../reports/index.js";
import {
  type ApplyFindingsOptions,
  connectStore,
  createEvidenceLedger,
  createFindingStore,
  createMessageQueue,
  createOutbox,
  createRunStore,
  type MessageQueue,
  type Outbox,
  type RunStore,
  STORE_NAMES,
  startLocalStore,
} from "../store/index.js";
import { FileAccessError } from "./errors.js";
import { displayPath, vigilVersion } from "./files.js";
import { loadCatalogue } from "./policies.js";
import { type AppRuntime, DEFAULT_MAX_DEQUEUE_COUNT } from "./runtime.js";
import { loadConfig } from "./scan.js";

/** Default look-back for failover evidence: the activity log keeps 90 days. */
export const DEFAULT_ACTIVITY_LOG_DAYS = 90;

/** The drill records of a run, or why they could not be read. */
export interface DrillRead {
  observations: Observation[];
  failure?: CollectionFailure;
}

/** Everything a collection run uses: the collectors and the discovery calls the planner makes. */
export interface EstateDeps {
  settings: CollectorSettings;
  arm: Collector;
  kubernetes: Collector;
  graph: Collector;
  tls: Collector;
  discovery: {
    listSubscriptions(options: {
      abortSignal?: AbortSignal;
    }): Promise<{ subscriptionId: string }[]>;
    listAksClusters(
      subscriptionId: string,
      options: { abortSignal?: AbortSignal },
    ): Promise<ClusterTarget[]>;
  };
  /** The TLS endpoints the Traefik routes among a cluster's observations serve. */
  tlsTargetsOf(observations: readonly Observation[]): TlsTargetConfig[];
  /** Every drill record as an observation; a source that cannot be read is a failure, not a throw. */
  readDrillRecords(options: { now: string; abortSignal?: AbortSignal }): Promise<DrillRead>;
}

/** What is not in the config: how to authenticate and which extra endpoints and CAs to use. */
export interface CreateEstateDepsOptions {
  /** The credential (default: managed identity in Azure, else DefaultAzureCredential). */
  credential?: TokenCredential;
  /** Endpoint overrides laid over the config's (the emulator's addresses). */
  endpoints?: EndpointOverrides;
  /** Extra CA certificates for HTTPS to the APIs (the emulator's CA). */
  apiCaPem?: string[];
  /** Extra CA certificates the TLS probe trusts, besides the config's `tls.caFile`. */
  probeCaPem?: string[];
  /** The config file's path: relative paths in it are resolved from its folder. */
  configPath?: string;
  /** Environment variables, to tell whether vigil runs in Azure with a managed identity. */
  env?: Readonly<Record<string, string | undefined>>;
}

/**
 * A credential that hands out one fixed token, for the estate emulator (it accepts only its own
 * static token). Never used against Azure.
 */
export function staticTokenCredential(token: string): TokenCredential {
  return {
    getToken: async (): Promise<AccessToken> => ({
      token,
      expiresOnTimestamp: Date.now() + 3_600_000,
    }),
  };
}

/**
 * The credential for a live scan: the Function App's managed identity when one is present
 * (IDENTITY_ENDPOINT is set by App Service and Functions), otherwise DefaultAzureCredential
 * (environment, workload identity, Azure CLI, …). Construction makes no network call.
 */
export function defaultCredential(
  authorityHost: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
): TokenCredential {
  if (env.IDENTITY_ENDPOINT !== undefined) {
    const clientId = env.AZURE_CLIENT_ID;
    return clientId !== undefined
      ? new ManagedIdentityCredential({ clientId })
      : new ManagedIdentityCredential();
  }
  return new DefaultAzureCredential({ authorityHost });
}

/**
 * Build settings and collectors for a config.
 * @throws FileAccessError when `tls.caFile` cannot be read.
 * @throws InputErrors when a `tls.connectTo` key or value is not `host:port`.
 */
export function createEstateDeps(
  config: VigilConfig,
  options: CreateEstateDepsOptions = {},
): EstateDeps {
  const cloud = cloudEndpoints(config.cloud ?? "AzurePublicCloud", {
    ...(config.endpoints ?? {}),
    ...(options.endpoints ?? {}),
  });
  const baseDir = options.configPath !== undefined ? dirname(options.configPath) : process.cwd();
  const probeCaPem = [...(options.probeCaPem ?? [])];
  if (config.tls?.caFile !== undefined) {
    const path = isAbsolute(config.tls.caFile)
      ? config.tls.caFile
      : resolve(baseDir, config.tls.caFile);
    try {
      probeCaPem.push(readFileSync(path, "utf8"));
    } catch (error) {
      throw new FileAccessError(
        `cannot read tls.caFile ${config.tls.caFile}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
        config.tls.caFile,
        { cause: error },
      );
    }
  }
  const tlsConnectTo =
    config.tls?.connectTo !== undefined
      ? parseConnectTo(
          config.tls.connectTo,
          options.configPath !== undefined ? displayPath(options.configPath) : "config",
        )
      : undefined;
  const entryPoints: CollectorSettings["traefik"]["entryPoints"] = {
    "*": config.traefik?.entryPoints ?? {},
  };
  const allowCrossNamespace: CollectorSettings["traefik"]["allowCrossNamespace"] = {
    "*": config.traefik?.allowCrossNamespace ?? false,
  };
  for (const [name, cluster] of Object.entries(config.traefik?.clusters ?? {})) {
    if (cluster.entryPoints !== undefined) entryPoints[name] = cluster.entryPoints;
    if (cluster.allowCrossNamespace !== undefined)
      allowCrossNamespace[name] = cluster.allowCrossNamespace;
  }
  const settings: CollectorSettings = {
    cloud,
    credential: options.credential ?? defaultCredential(cloud.authorityHost, options.env),
    ...(options.apiCaPem !== undefined ? { apiCaPem: options.apiCaPem } : {}),
    ...(probeCaPem.length > 0 ? { probeCaPem } : {}),
    ...(tlsConnectTo !== undefined && tlsConnectTo.size > 0 ? { tlsConnectTo } : {}),
    ...(config.resourceGroups !== undefined ? { resourceGroups: config.resourceGroups } : {}),
    ...(config.tags !== undefined ? { tags: config.tags } : {}),
    activityLogDays: config.activityLogDays ?? DEFAULT_ACTIVITY_LOG_DAYS,
    ...(config.drillRecords !== undefined ? { drillRecords: config.drillRecords } : {}),
    traefik: { entryPoints, allowCrossNamespace },
    useResourceGraph: config.resourceGraph ?? true,
    callPolicy: createCallPolicy({ cloud }),
  };
  const blob = createBlobReader(settings);
  const kubeconfigs = new Map(
    (config.clusters?.kubeconfig ?? []).map((entry) => [
      entry.name,
      entry.path === undefined || isAbsolute(entry.path)
        ? entry.path
        : resolve(baseDir, entry.path),
    ]),
  );
  return {
    settings,
    arm: createArmCollector(settings),
    kubernetes: createKubernetesCollector(settings, {
      connect: async (cluster: ClusterTarget, connectOptions?: { abortSignal?: AbortSignal }) => {
        if (cluster.kind === "aks")
          return getAksConnection(settings, cluster, connectOptions ?? {});
        const path = kubeconfigs.get(cluster.name) ?? cluster.kubeconfigPath;
        return { kubeconfigPath: path, context: cluster.context };
      },
      clusterResource: (cluster, clusterOptions) =>
        getAksCluster(settings, cluster, clusterOptions),
    }),
    graph: createGraphCollector(settings),
    tls: createTlsCollector(settings),
    discovery: {
      listSubscriptions: (discoveryOptions) => listSubscriptions(settings, discoveryOptions),
      listAksClusters: (subscriptionId, discoveryOptions) =>
        listAksClusters(settings, subscriptionId, discoveryOptions),
    },
    tlsTargetsOf: (observations) => tlsTargetsOf(observations),
    readDrillRecords: (readOptions) =>
      blob.listDrillRecords(readOptions).then(
        (result): DrillRead => {
          // A record that could not be read might be the one about any server: its drills are
          // unknown, not absent.
          const unread = result.readFailures[0];
          return unread === undefined
            ? { observations: result.observations }
            : {
                observations: result.observations,
                failure: {
                  ...unread.failure,
                  message: `drill record ${unread.name} could not be read: ${unread.failure.message}`,
                },
              };
        },
        (error: unknown): DrillRead => {
          if (!isCollectionError(error)) throw error;
          return { observations: [], failure: error.toFailure() };
        },
      ),
  };
}

/** vigil's own store as the use cases see it: the evidence ledger and the findings state. */
export interface EvidenceStore {
  /** Store observations content-addressed (an unchanged one costs no new blob). */
  putSnapshots(
    observations: readonly Observation[],
  ): Promise<{ refs: SnapshotRef[]; created: number }>;
  /** Append one record to the hash chain; idempotent per (runId, target). */
  append(
    input: RecordInput,
  ): Promise<{ seq: number; hash: string; name: string; created: boolean }>;
  /** Update the current state of one scope; returns what changed. */
  applyFindings(
    scope: string,
    runId: string,
    observedAt: string,
    findings: readonly Finding[],
    options?: ApplyFindingsOptions,
  ): Promise<Transition[]>;
  /** Recompute every hash and the chain. */
  verify(): Promise<LedgerVerification>;
  /** Every evidence record as stored (name and exact content), in no particular order. */
  listRecords(): AsyncIterable<{ name: string; content: string }>;
  /** A snapshot's stored content, or undefined when it is not stored. */
  getSnapshot(hash: string): Promise<string | undefined>;
  /** Every stored snapshot's blob name (`snapshots/<sha256>.json`). */
  listSnapshotNames(): AsyncIterable<string>;
  close(): Promise<void>;
}

/**
 * The whole store as the Functions app and `vigil serve` use it: the evidence store plus the runs
 * table, the notifications outbox, the queues and the current-state reads.
 */
export interface AppStore extends EvidenceStore {
  runs: RunStore;
  outbox: Outbox;
  queues: {
    scanTargets: MessageQueue;
    scanTargetsPoison: MessageQueue;
    notifications: MessageQueue;
    notificationsPoison: MessageQueue;
  };
  /** The current-state rows of one scope. */
  listState(scope: string): AsyncIterable<StateRow>;
  /** The ledger's newest record (seq and SHA-256), `null` when it is empty. */
  head(): Promise<{ seq: number; hash: string } | null>;
}

/** Where vigil's own store is. */
export type OpenEvidenceStoreOptions =
  /** A local store under a folder (Azurite, persisted), started and stopped with the store. */
  | { localDir: string }
  | { connectionString: string }
  | { accountUrl: string; credential: TokenCredential };

/**
 * Open vigil's store: a local Azurite persisted under a folder (`.vigil/` by default in the CLI),
 * or an Azure Storage account by connection string or by account URL with a credential. Creates
 * the evidence container and the tables when missing; never deletes or overwrites anything.
 * @throws LocalStoreError when the local Azurite cannot start; StoreError when the account cannot
 *   be reached.
 */
export async function openEvidenceStore(options: OpenEvidenceStoreOptions): Promise<AppStore> {
  const local =
    "localDir" in options
      ? await startLocalStore({ location: join(options.localDir, "azurite"), silent: true })
      : undefined;
  try {
    const clients = connectStore(
      "localDir" in options
        ? { connectionString: (local as { connectionString: string }).connectionString }
        : options,
    );
    const runs = clients.tableClient(STORE_NAMES.runsTable);
    await runs.createTable();
    const ledger = createEvidenceLedger(clients.containerClient(STORE_NAMES.evidenceContainer), {
      index: runs,
    });
    await ledger.ensure();
    const findings = createFindingStore(clients.tableClient(STORE_NAMES.findingsTable));
    await findings.ensure();
    const runStore = createRunStore(runs);
    const outbox = createOutbox(clients.containerClient(STORE_NAMES.outboxContainer));
    await outbox.ensure();
    // The queues of the Functions app (sweep fan-out, notifications outbox) and their poison queues.
    const queue = (name: string) => createMessageQueue(clients.queueClient(name));
    const queues = {
      scanTargets: queue(STORE_NAMES.scanTargetsQueue),
      scanTargetsPoison: queue(`${STORE_NAMES.scanTargetsQueue}-poison`),
      notifications: queue(STORE_NAMES.notificationsQueue),
      notificationsPoison: queue(`${STORE_NAMES.notificationsQueue}-poison`),
    };
    for (const q of Object.values(queues)) await q.ensure();
    return {
      runs: runStore,
      outbox,
      queues,
      listState: (scope) => findings.listState(scope),
      head: () => ledger.head(),
      putSnapshots: async (observations) => {
        const stored = await ledger.putSnapshots(observations);
        return { refs: [...stored], created: stored.created };
      },
      append: (input) => ledger.append(input),
      applyFindings: (scope, runId, observedAt, list, options) =>
        findings.applyFindings(scope, runId, observedAt, list, options),
      verify: () => ledger.verify(),
      listRecords: () => ledger.listRecords(),
      getSnapshot: (hash) => ledger.getSnapshot(hash),
      listSnapshotNames: async function* () {
        const container = clients.containerClient(STORE_NAMES.evidenceContainer);
        for await (const blob of container.listBlobsFlat({ prefix: SNAPSHOT_PREFIX }))
          yield blob.name;
      },
      close: async () => {
        await local?.close();
      },
    };
  } catch (error) {
    await local?.close();
    throw error;
  }
}

// ------------------------------------------------------------------------------------------------
// The Functions app's wiring: renderers and sinks the use cases reach only through here.

export { buildDigest } from "../notify/index.js";

/** A findings rendering for the findings API. */
export function renderFindings(
  rt: AppRuntime,
  findings: readonly Finding[],
  format: "csv" | "sarif" | "ocsf",
): { body: string; contentType: string } {
  const controls = rt.catalogue.controls.map((c) => c.control);
  if (format === "csv")
    return { body: renderCsv(findings), contentType: "text/csv; charset=utf-8" };
  if (format === "sarif")
    return {
      body: renderSarif(findings, {
        vigilVersion: rt.vigilVersion,
        controls,
        completedAt: new Date(rt.clock()).toISOString(),
      }),
      contentType: "application/sarif+json",
    };
  return {
    body: renderOcsf(findings, { vigilVersion: rt.vigilVersion, controls }),
    contentType: "application/json; charset=utf-8",
  };
}

/** The evidence report formats. */
export const EVIDENCE_FORMATS = ["html", "pdf", "csv", "json", "oscal"] as const;
export type EvidenceFormat = (typeof EVIDENCE_FORMATS)[number];

/** Content types of the evidence formats. */
export const EVIDENCE_CONTENT_TYPES: Record<EvidenceFormat, string> = {
  html: "text/html; charset=utf-8",
  pdf: "application/pdf",
  csv: "text/csv; charset=utf-8",
  json: "application/json; charset=utf-8",
  oscal: "application/json; charset=utf-8",
};

/**
 * One rendering of an evidence report; a PDF needs `chromium` (its executable path).
 * @throws Error when Chromium cannot print the PDF
 */
export async function renderEvidence(
  model: EvidenceReportModel,
  format: EvidenceFormat,
  options: { vigilVersion: string; chromium?: string },
): Promise<string | Uint8Array> {
  switch (format) {
    case "csv":
      return renderEvidenceCsv(model);
    case "json":
      return renderEvidenceJson(model);
    case "oscal":
      return renderOscalAssessmentResults(model, { vigilVersion: options.vigilVersion });
    case "pdf":
      if (options.chromium === undefined) throw new Error("no Chromium to print the PDF with");
      return renderPdf(renderEvidenceHtml(model), { executablePath: options.chromium });
    case "html":
      return renderEvidenceHtml(model);
  }
}

/** Options of {@link openAppRuntime}. */
export interface OpenAppRuntimeOptions {
  /** App settings (process.env in Azure). */
  env: Readonly<Record<string, string | undefined>>;
  /** The config file (default: VIGIL_CONFIG_PATH, else none: the VIGIL_* settings alone). */
  configPath?: string;
  /** vigil's store (default: VIGIL_STORAGE_CONNECTION_STRING or VIGIL_STORAGE_ACCOUNT_URL). */
  store?: OpenEvidenceStoreOptions;
  /** An estate to read instead of the live one the config names (the emulator). */
  estate?: { config: VigilConfig; deps: EstateDeps };
  /** Sinks instead of the ones the app settings name. */
  sinks?: readonly NotificationSink[];
  clock?: () => number;
  evaluationTime?: () => number;
  catalogue?: Catalogue;
}

/**
 * Build the Functions app's runtime from its app settings: the catalogue, the config (file named
 * by VIGIL_CONFIG_PATH and the VIGIL_* settings), the live estate's collectors with the managed
 * identity, vigil's store, and the notification sinks (VIGIL_WEBHOOK_URL with
 * VIGIL_WEBHOOK_SECRET; VIGIL_TEAMS_WEBHOOK_URL). Built once per process.
 * @throws InputError naming the setting that is wrong; StoreError when the store cannot be reached
 */
export async function openAppRuntime(options: OpenAppRuntimeOptions): Promise<AppRuntime> {
  const { env } = options;
  const catalogue = options.catalogue ?? loadCatalogue();
  const configPath = options.configPath ?? nonEmpty(env.VIGIL_CONFIG_PATH);
  const loaded = loadConfig(catalogue, configPath, undefined, { env });
  const config = options.estate?.config ?? loaded.config ?? {};
  const estate =
    options.estate?.deps ??
    createEstateDeps(config, { ...(configPath !== undefined ? { configPath } : {}), env });
  const storeOptions = options.store ?? storeFromEnvironment(env);
  if (options.store === undefined) checkBindingAccount(env);
  const sinks = options.sinks ?? sinksFromEnvironment(env);
  const maxDequeue = nonEmpty(env.VIGIL_MAX_DEQUEUE_COUNT);
  if (maxDequeue !== undefined && !/^[1-9]\d?$/.test(maxDequeue))
    throw new InputError("VIGIL_MAX_DEQUEUE_COUNT must be a whole number from 1 to 99", {
      pointer: "VIGIL_MAX_DEQUEUE_COUNT",
    });
  const store = await openEvidenceStore(storeOptions);
  const clock = options.clock ?? Date.now;
  return {
    catalogue,
    loaded: { ...loaded, config },
    config,
    estate,
    store,
    sinks,
    vigilVersion: vigilVersion(),
    clock,
    evaluationTime: options.evaluationTime ?? clock,
    maxDequeueCount: maxDequeue !== undefined ? Number(maxDequeue) : DEFAULT_MAX_DEQUEUE_COUNT,
  };
}

/**
 * The queue triggers read the account of the `VIGIL_STORAGE` binding connection; vigil writes to
 * the one VIGIL_STORAGE_ACCOUNT_URL or VIGIL_STORAGE_CONNECTION_STRING names. When both name an
 * account and the names differ, the queued targets would never be picked up: refuse to start.
 * @throws InputError naming both settings
 */
export function checkBindingAccount(env: Readonly<Record<string, string | undefined>>): void {
  const binding =
    accountOf(env.VIGIL_STORAGE__queueServiceUri) ??
    accountOf(env.VIGIL_STORAGE__accountName) ??
    accountOf(env.VIGIL_STORAGE);
  const store =
    accountOf(env.VIGIL_STORAGE_ACCOUNT_URL) ?? accountOf(env.VIGIL_STORAGE_CONNECTION_STRING);
  if (binding === undefined || store === undefined || binding === store) return;
  throw new InputError(
    `the queue triggers read storage account ${binding} (VIGIL_STORAGE…) but vigil writes to ${store} (VIGIL_STORAGE_ACCOUNT_URL or VIGIL_STORAGE_CONNECTION_STRING): make them the same account`,
    { pointer: "VIGIL_STORAGE" },
  );
}

/** The account a storage setting names: a service URL, a connection string or a bare name. */
function accountOf(value: string | undefined): string | undefined {
  const text = nonEmpty(value);
  if (text === undefined) return undefined;
  if (/UseDevelopmentStorage=true/i.test(text)) return "devstoreaccount1";
  const named = /(?:^|;)\s*AccountName=([^;]+)/i.exec(text);
  if (named?.[1] !== undefined) return named[1].trim().toLowerCase();
  try {
    const url = new URL(text);
    // Azurite and emulators put the account in the path: http://127.0.0.1:10000/devstoreaccount1
    const host = url.hostname.split(".")[0] ?? "";
    if (/^[a-z0-9]{3,24}$/.test(host) && url.hostname.includes(".")) return host;
    return url.pathname.split("/")[1]?.toLowerCase() || undefined;
  } catch {
    return /^[a-z0-9]{3,24}$/.test(text) ? text : undefined;
  }
}

/**
 * vigil's store from the app settings: VIGIL_STORAGE_CONNECTION_STRING, or
 * VIGIL_STORAGE_ACCOUNT_URL with the managed identity (DefaultAzureCredential outside Azure).
 * @throws InputError when neither is set
 */
export function storeFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): OpenEvidenceStoreOptions {
  const connectionString = nonEmpty(env.VIGIL_STORAGE_CONNECTION_STRING);
  if (connectionString !== undefined) return { connectionString };
  const accountUrl = nonEmpty(env.VIGIL_STORAGE_ACCOUNT_URL);
  if (accountUrl !== undefined)
    return {
      accountUrl,
      credential: defaultCredential(cloudEndpoints("AzurePublicCloud").authorityHost, env),
    };
  throw new InputError(
    "vigil's store is not configured: set VIGIL_STORAGE_ACCOUNT_URL (managed identity) or VIGIL_STORAGE_CONNECTION_STRING",
    { pointer: "VIGIL_STORAGE_ACCOUNT_URL" },
  );
}

/**
 * The notification sinks the app settings name: a signed webhook (VIGIL_WEBHOOK_URL and
 * VIGIL_WEBHOOK_SECRET, both or neither) and a Teams Workflows webhook (VIGIL_TEAMS_WEBHOOK_URL).
 * @throws InputError naming the setting that is missing or malformed
 */
export function sinksFromEnvironment(
  env: Readonly<Record<string, string | undefined>>,
): NotificationSink[] {
  const sinks: NotificationSink[] = [];
  // An app setting that still reads @Microsoft.KeyVault(...) is a reference the platform could not
  // resolve (no access to the vault, a wrong name): never sign with it or post to it.
  for (const name of ["VIGIL_WEBHOOK_URL", "VIGIL_WEBHOOK_SECRET", "VIGIL_TEAMS_WEBHOOK_URL"])
    if (/^\s*@Microsoft\.KeyVault\(/i.test(env[name] ?? ""))
      throw new InputError(
        `${name} is an unresolved Key Vault reference: give the app's identity the Key Vault Secrets User role on the vault and check the secret's name`,
        { pointer: name },
      );
  const url = nonEmpty(env.VIGIL_WEBHOOK_URL);
  const secret = nonEmpty(env.VIGIL_WEBHOOK_SECRET);
  if ((url === undefined) !== (secret === undefined))
    throw new InputError(
      "VIGIL_WEBHOOK_URL and VIGIL_WEBHOOK_SECRET go together: set both or neither",
      {
        pointer: url === undefined ? "VIGIL_WEBHOOK_URL" : "VIGIL_WEBHOOK_SECRET",
      },
    );
  if (url !== undefined && secret !== undefined)
    sinks.push(
      createWebhookSink({ name: "default", url: httpsUrl(url, "VIGIL_WEBHOOK_URL"), secret }),
    );
  const teams = nonEmpty(env.VIGIL_TEAMS_WEBHOOK_URL);
  if (teams !== undefined)
    sinks.push(
      createTeamsSink({ name: "default", url: httpsUrl(teams, "VIGIL_TEAMS_WEBHOOK_URL") }),
    );
  return sinks;
}

/** A sink URL: https, or http only to loopback (local receivers and tests). */
function httpsUrl(value: string, setting: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`${setting} is not a URL`, { pointer: setting });
  }
  const loopback = ["127.0.0.1", "localhost", "[::1]"].includes(url.hostname);
  if (url.protocol !== "https:" && !(url.protocol === "http:" && loopback))
    throw new InputError(`${setting} must be an https URL (http only to localhost)`, {
      pointer: setting,
    });
  return value;
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === "" ? undefined : value.trim();
}
