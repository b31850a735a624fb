/**
 * The Azure Storage clients of vigil's own store: from a connection string (Azurite, or an account
 * key), or from a blob account URL and a token credential (managed identity in Azure).
 */

import type { TokenCredential } from "@azure/core-auth";
import { TableClient, TableServiceClient } from "@azure/data-tables";
import { BlobServiceClient, type ContainerClient } from "@azure/storage-blob";
import { type QueueClient, QueueServiceClient } from "@azure/storage-queue";
import { InputError } from "../core/index.js";

/** Container, tables and queues of DESIGN.md "Storage layout". */
export const STORE_NAMES = {
  evidenceContainer: "evidence",
  outboxContainer: "outbox",
  findingsTable: "findings",
  runsTable: "runs",
  scanTargetsQueue: "scan-targets",
  notificationsQueue: "notifications",
} as const;

/**
 * Retries of every storage call: an outage of the account (a restarted Azurite, a failover, a
 * network blip) of up to about a minute is ridden out inside the call, so that a write in
 * progress lands once the account answers again instead of failing the whole target. Backoff
 * doubles from 0.5 s to at most 8 s: 0.5 + 1 + 2 + 4 + 8 × 6 ≈ 55 s over 10 retries. Every store
 * write is a conditional create or an idempotent upsert, so a retry whose first try did land is
 * harmless (a create then answers 409, which the store reads as "already there").
 */
export const STORE_RETRY = {
  retries: 10,
  retryDelayInMs: 500,
  maxRetryDelayInMs: 8_000,
  /** One try is abandoned (and retried) after this long. */
  tryTimeoutInMs: 60_000,
} as const;

/** The storage SDKs' (blob, queue) retry options for {@link STORE_RETRY}. */
const storageRetryOptions = {
  retryOptions: {
    maxTries: STORE_RETRY.retries + 1,
    retryDelayInMs: STORE_RETRY.retryDelayInMs,
    maxRetryDelayInMs: STORE_RETRY.maxRetryDelayInMs,
    tryTimeoutInMs: STORE_RETRY.tryTimeoutInMs,
  },
};

/** The tables SDK's (core-rest-pipeline) retry options for {@link STORE_RETRY}. */
const tableRetryOptions = {
  retryOptions: {
    maxRetries: STORE_RETRY.retries,
    retryDelayInMs: STORE_RETRY.retryDelayInMs,
    maxRetryDelayInMs: STORE_RETRY.maxRetryDelayInMs,
  },
};

/** How to reach the store. */
export type ConnectStoreOptions =
  | { connectionString: string }
  | {
      /** Blob endpoint of the account: `https://<account>.blob.core.windows.net`. */
      accountUrl: string;
      credential: TokenCredential;
      /** Table endpoint, when it cannot be derived from `accountUrl` (custom domains, Azurite). */
      tableUrl?: string;
      /** Queue endpoint, when it cannot be derived from `accountUrl`. */
      queueUrl?: string;
    };

/** The service clients of one storage account, with factories for its containers, tables, queues. */
export interface StoreClients {
  blobService: BlobServiceClient;
  tableService: TableServiceClient;
  queueService: QueueServiceClient;
  containerClient(name: string): ContainerClient;
  tableClient(name: string): TableClient;
  queueClient(name: string): QueueClient;
}

/**
 * Builds the clients of the store's storage account (once per process: STYLE §1). With an account
 * URL, the table and queue endpoints are the blob endpoint with `.blob.` replaced, which holds in
 * every Azure cloud (`<account>.table.core.windows.net`, `…core.usgovcloudapi.net`, …).
 * @throws {InputError} when the account URL is not a blob endpoint and no table or queue URL is given
 */
export function connectStore(options: ConnectStoreOptions): StoreClients {
  if ("connectionString" in options) {
    const { connectionString } = options;
    // Azurite speaks plain http; the tables SDK refuses it unless told (TOOLCHAIN.md).
    const allowInsecureConnection = /DefaultEndpointsProtocol=http;|Endpoint=http:\/\//i.test(
      connectionString,
    );
    const tableOptions = { allowInsecureConnection, ...tableRetryOptions };
    const blobService = BlobServiceClient.fromConnectionString(
      connectionString,
      storageRetryOptions,
    );
    const queueService = QueueServiceClient.fromConnectionString(
      connectionString,
      storageRetryOptions,
    );
    return {
      blobService,
      tableService: TableServiceClient.fromConnectionString(connectionString, tableOptions),
      queueService,
      containerClient: (name) => blobService.getContainerClient(name),
      tableClient: (name) => TableClient.fromConnectionString(connectionString, name, tableOptions),
      queueClient: (name) => queueService.getQueueClient(name),
    };
  }
  const { accountUrl, credential } = options;
  const tableUrl = options.tableUrl ?? siblingEndpoint(accountUrl, "table");
  const queueUrl = options.queueUrl ?? siblingEndpoint(accountUrl, "queue");
  const tableService = new TableServiceClient(tableUrl, credential, tableRetryOptions);
  const blobService = new BlobServiceClient(accountUrl, credential, storageRetryOptions);
  const queueService = new QueueServiceClient(queueUrl, credential, storageRetryOptions);
  return {
    blobService,
    tableService,
    queueService,
    containerClient: (name) => blobService.getContainerClient(name),
    tableClient: (name) => new TableClient(tableUrl, name, credential, tableRetryOptions),
    queueClient: (name) => queueService.getQueueClient(name),
  };
}

/** `https://acct.blob.core.windows.net/` → `https://acct.table.core.windows.net`. */
function siblingEndpoint(accountUrl: string, service: "table" | "queue"): string {
  let url: URL;
  try {
    url = new URL(accountUrl);
  } catch (error) {
    throw new InputError(
      `store account URL is not a URL: ${JSON.stringify(accountUrl)}`,
      {
        pointer: "/accountUrl",
      },
      { cause: error },
    );
  }
  const labels = url.hostname.split(".");
  if (labels.length < 3 || labels[1] !== "blob") {
    throw new InputError(
      `store account URL ${url.origin} is not a blob endpoint (https://<account>.blob.<suffix>); give the ${service} URL too`,
      { pointer: "/accountUrl" },
    );
  }
  labels[1] = service;
  url.hostname = labels.join(".");
  return url.origin;
}
