/**
 * Blob data-plane reads with @azure/storage-blob: the newest blob of a container (backup
 * freshness) and the drill records the DR runbooks write (validated against the drill-record
 * schema). Requests go through the call policy; the API CA from settings is trusted besides the
 * system store.
 */

import { createSecureContext, rootCertificates } from "node:tls";
import type { TokenCredential } from "@azure/core-auth";
import type { PipelinePolicy, TlsSettings } from "@azure/core-rest-pipeline";
import { ContainerClient, type StoragePipelineOptions } from "@azure/storage-blob";
import { type CollectionFailure, InputErrors, type Observation } from "../../core/index.js";
import { runWithCallOptions } from "../call-policy.js";
import { CollectionError, isCollectionError } from "../errors.js";
import type { CollectorSettings } from "../types.js";
import { drillRecordValidator } from "./drill-record-schema.js";

/** The newest blob of a container, as `joined.newestBlob` carries it. */
export interface NewestBlob {
  name: string;
  /** ISO 8601, seconds precision. */
  lastModified: string;
}

/** Options of one blob read. */
export interface BlobReadOptions {
  /** Only blobs under this prefix. */
  prefix?: string;
  abortSignal?: AbortSignal;
  /** Epoch milliseconds after which no new call starts. */
  deadlineMs?: number;
}

/** Options of {@link BlobReader.listDrillRecords}. */
export interface ListDrillRecordsOptions {
  /** The evaluation time (not used for filtering: every record is evidence). */
  now?: string;
  abortSignal?: AbortSignal;
  deadlineMs?: number;
}

/** A drill record as `policies/schema/drill-record.schema.json` describes it. */
export interface DrillRecord {
  schemaVersion: 1;
  id: string;
  kind: "failover" | "restore";
  target: { resourceId: string; environment?: string };
  startedAt: string;
  completedAt: string;
  outcome: "succeeded" | "failed" | "aborted";
  operator: string;
  [key: string]: unknown;
}

/** Every drill record found: the valid ones, the rejected ones, and both as observations. */
export interface DrillRecordsResult {
  records: DrillRecord[];
  /** Blobs rejected: not JSON, not valid, a duplicate id, or not read (also in `readFailures`). */
  invalid: { name: string; errors: string[] }[];
  /**
   * Blobs that could not be read (the download failed, not the schema): the records are
   * incomplete, so no server's drills are known to be complete.
   */
  readFailures: { name: string; failure: CollectionFailure }[];
  /** `vigil/DrillRecord` observations: valid records, and an `error` one per rejected blob. */
  observations: Observation[];
}

/** What the blob reader offers the ARM collector and the app. */
export interface BlobReader {
  /**
   * The most recently modified blob of a container, or `null` when it holds none.
   * @throws CollectionError when the container cannot be listed.
   */
  getNewestBlob(
    account: string,
    container: string,
    options?: BlobReadOptions,
  ): Promise<NewestBlob | null>;
  /**
   * Read every JSON blob under `settings.drillRecords` and validate it.
   * @throws CollectionError when no location is configured or the container cannot be listed.
   */
  listDrillRecords(options?: ListDrillRecordsOptions): Promise<DrillRecordsResult>;
}

/** Options of {@link createBlobReader}. */
export interface BlobReaderOptions {
  /** Clock for `observedAt` (default: the system clock). */
  clock?: () => Date;
}

/** The observation type of drill records. */
export const DRILL_RECORD_TYPE = "vigil/DrillRecord";

/** Downloads of one blob whose body is cut off in transit (the call policy's default attempts). */
const BODY_ATTEMPTS = 5;

function seconds(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}

/**
 * A container client whose pipeline also runs vigil's policies (call policy, trusted CAs). The
 * pipeline's `storageClientContext` is protected, hence the subclass; blob clients it hands out
 * share its pipeline.
 */
class PolicedContainerClient extends ContainerClient {
  constructor(
    url: string,
    credential: TokenCredential,
    options: StoragePipelineOptions,
    policies: PipelinePolicy[],
  ) {
    super(url, credential, options);
    for (const policy of policies) this.storageClientContext.pipeline.addPolicy(policy);
  }
}

/** The scope of a drill record: the subscription or cluster of its target, else its environment. */
export function drillRecordScope(record: DrillRecord): string {
  const resourceId = record.target.resourceId;
  const subscription = /^\/subscriptions\/([^/]+)/i.exec(resourceId);
  if (subscription?.[1] !== undefined) return subscription[1];
  const cluster = /^k8s:\/\/([^/]+)/.exec(resourceId);
  if (cluster?.[1] !== undefined) return cluster[1];
  return record.target.environment ?? "drills";
}

/** Container clients kept for reuse at once (the most recently used). */
const MAX_CACHED_CLIENTS = 256;

/**
 * The blob reader. Clients are built once per container and reused; the storage SDK's own
 * retries are off (the call policy retries).
 */
export function createBlobReader(
  settings: CollectorSettings,
  options: BlobReaderOptions = {},
): BlobReader {
  const clock = options.clock ?? (() => new Date());
  // One settings object for the process: the HTTP client caches its agents by it. The CAs go in
  // as a prepared secure context, not `ca`: an https.Agent folds `ca` (here every root
  // certificate, ~200 kB) into the pool key it computes several times per request.
  const tlsSettings: TlsSettings | undefined =
    settings.apiCaPem !== undefined && settings.apiCaPem.length > 0
      ? ({
          secureContext: createSecureContext({ ca: [...rootCertificates, ...settings.apiCaPem] }),
        } as TlsSettings)
      : undefined;
  // Least recently used first; bounded, since a large estate has tens of thousands of containers
  // and each client holds its own pipeline.
  const clients = new Map<string, ContainerClient>();

  function containerClient(account: string, container: string): ContainerClient {
    const key = `${account}/${container}`;
    let client = clients.get(key);
    if (client !== undefined) {
      clients.delete(key);
      clients.set(key, client);
    } else {
      const base = settings.cloud.blobEndpointTemplate.replace("{account}", account);
      const policies: PipelinePolicy[] = [
        settings.callPolicy.pipelinePolicy({ api: "blob", partition: account }),
      ];
      if (tlsSettings !== undefined)
        policies.push({
          name: "vigilApiCa",
          sendRequest: (request, next) => {
            request.tlsSettings = tlsSettings;
            return next(request);
          },
        });
      client = new PolicedContainerClient(
        `${base}/${encodeURIComponent(container)}`,
        settings.credential,
        { retryOptions: { maxTries: 1 }, audience: settings.cloud.storageScope },
        policies,
      );
      clients.set(key, client);
      if (clients.size > MAX_CACHED_CLIENTS) {
        const oldest = clients.keys().next().value;
        if (oldest !== undefined) clients.delete(oldest);
      }
    }
    return client;
  }

  function policed<T>(options: BlobReadOptions | ListDrillRecordsOptions, fn: () => Promise<T>) {
    return runWithCallOptions(
      {
        ...(options.abortSignal !== undefined ? { abortSignal: options.abortSignal } : {}),
        ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
      },
      fn,
    );
  }

  async function listNames(
    client: ContainerClient,
    prefix: string | undefined,
    abortSignal: AbortSignal | undefined,
  ): Promise<{ name: string; lastModified: Date }[]> {
    const out: { name: string; lastModified: Date }[] = [];
    for await (const blob of client.listBlobsFlat({
      ...(prefix !== undefined && prefix !== "" ? { prefix } : {}),
      ...(abortSignal !== undefined ? { abortSignal } : {}),
    }))
      out.push({ name: blob.name, lastModified: blob.properties.lastModified });
    return out;
  }

  function asCollectionError(error: unknown, what: string): CollectionError {
    if (isCollectionError(error)) return error;
    return new CollectionError(
      `${what}: ${error instanceof Error ? error.message : String(error)}`,
      {
        source: "blob",
        ...(typeof (error as { statusCode?: unknown }).statusCode === "number"
          ? { statusCode: (error as { statusCode: number }).statusCode }
          : {}),
      },
      { cause: error },
    );
  }

  /**
   * The blob's text. The call policy retries a download until its headers arrive; a body cut off
   * after them surfaces from the SDK's stream as an `AbortError` (or a "Data corruption" error),
   * which nothing retried: the download is tried again here, within the same attempt budget.
   */
  async function readText(
    client: ContainerClient,
    name: string,
    options: BlobReadOptions | ListDrillRecordsOptions,
  ) {
    const { abortSignal, deadlineMs } = options;
    for (let attempt = 1; ; attempt++) {
      try {
        const buffer = await client
          .getBlobClient(name)
          .downloadToBuffer(0, undefined, abortSignal !== undefined ? { abortSignal } : {});
        return buffer.toString("utf8");
      } catch (error) {
        const cutOff =
          error instanceof Error &&
          (error.name === "AbortError" || error.message.startsWith("Data corruption failure"));
        if (
          !cutOff ||
          abortSignal?.aborted === true ||
          attempt >= BODY_ATTEMPTS ||
          (deadlineMs !== undefined && Date.now() >= deadlineMs)
        )
          throw error;
      }
    }
  }

  return {
    async getNewestBlob(account, container, readOptions = {}) {
      const client = containerClient(account, container);
      try {
        const blobs = await policed(readOptions, () =>
          listNames(client, readOptions.prefix, readOptions.abortSignal),
        );
        let newest: { name: string; lastModified: Date } | undefined;
        for (const blob of blobs)
          if (newest === undefined || blob.lastModified > newest.lastModified) newest = blob;
        return newest === undefined
          ? null
          : { name: newest.name, lastModified: seconds(newest.lastModified) };
      } catch (error) {
        if (readOptions.abortSignal?.aborted === true) throw error;
        throw asCollectionError(error, `list blobs of ${account}/${container}`);
      }
    },

    async listDrillRecords(listOptions = {}) {
      const location = settings.drillRecords;
      if (location === undefined)
        throw new CollectionError("no drill-record location is configured (config drillRecords)", {
          source: "blob",
          code: "NotConfigured",
        });
      const client = containerClient(location.account, location.container);
      let names: string[];
      try {
        names = (
          await policed(listOptions, () =>
            listNames(client, location.prefix, listOptions.abortSignal),
          )
        )
          .map((b) => b.name)
          .filter((n) => n.toLowerCase().endsWith(".json"))
          .sort();
      } catch (error) {
        if (listOptions.abortSignal?.aborted === true) throw error;
        throw asCollectionError(
          error,
          `list drill records in ${location.account}/${location.container}`,
        );
      }
      const validate = drillRecordValidator();
      const result: DrillRecordsResult = {
        records: [],
        invalid: [],
        readFailures: [],
        observations: [],
      };
      const seen = new Set<string>();
      const source = () => ({ api: "drills", apiVersion: "1", observedAt: seconds(clock()) });
      const reject = (name: string, errors: string[], failure?: CollectionError) => {
        result.invalid.push({ name, errors });
        result.observations.push({
          id: `drill://${location.account}/${location.container}/${name}`,
          type: DRILL_RECORD_TYPE,
          scope: "drills",
          source: source(),
          error: failure?.toFailure() ?? {
            code: "InvalidDrillRecord",
            message: `drill record blob ${name} is not valid: ${errors.join("; ")}`,
          },
        });
      };
      for (const name of names) {
        let text: string;
        try {
          text = await policed(listOptions, () => readText(client, name, listOptions));
        } catch (error) {
          if (listOptions.abortSignal?.aborted === true) throw error;
          const failure = asCollectionError(error, `read drill record blob ${name}`);
          reject(name, [failure.message], failure);
          result.readFailures.push({ name, failure: failure.toFailure() });
          continue;
        }
        let record: unknown;
        try {
          record = JSON.parse(text) as unknown;
        } catch (error) {
          reject(name, [`not JSON: ${error instanceof Error ? error.message : String(error)}`]);
          continue;
        }
        try {
          validate(record, name);
        } catch (error) {
          if (!(error instanceof InputErrors)) throw error;
          // Each error names the JSON pointer; the file (blob) is named once, by the observation.
          reject(
            name,
            error.errors.map((e) => e.message),
          );
          continue;
        }
        const valid = record as DrillRecord;
        if (seen.has(valid.id)) {
          reject(name, [`duplicate drill record id ${valid.id}`]);
          continue;
        }
        seen.add(valid.id);
        result.records.push(valid);
        result.observations.push({
          id: `drill://${valid.id}`,
          type: DRILL_RECORD_TYPE,
          scope: drillRecordScope(valid),
          document: valid,
          source: source(),
        });
      }
      return result;
    },
  };
}
