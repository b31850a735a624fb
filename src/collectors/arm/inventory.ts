/**
 * Inventory of the top-level ARM resources of a subscription: through Azure Resource Graph when
 * enabled (falling back to each resource provider's list), filtered by resource group and tags.
 * Bodies stay in the ARM wire shape.
 */

import type { ResourceGraphClient } from "@azure/arm-resourcegraph";
import { runWithCallOptions } from "../call-policy.js";
import { CollectionError } from "../errors.js";
import type { CollectorSettings } from "../types.js";
import {
  API_VERSIONS,
  asCollectionError,
  captureList,
  clientsFor,
  resourceGraphClient,
} from "./clients.js";

/** The resource types the ARM collector lists at subscription level. */
export const TOP_LEVEL_TYPES = {
  managedClusters: "Microsoft.ContainerService/managedClusters",
  flexibleServers: "Microsoft.DBforPostgreSQL/flexibleServers",
  storageAccounts: "Microsoft.Storage/storageAccounts",
} as const;

/** One of {@link TOP_LEVEL_TYPES}. */
export type TopLevelType = (typeof TOP_LEVEL_TYPES)[keyof typeof TOP_LEVEL_TYPES];

/** An ARM resource body as the API returned it. */
export type ArmBody = Record<string, unknown>;

/** What one type's listing produced: the bodies and where they came from, or the failure. */
export type Listing =
  | { ok: true; bodies: ArmBody[]; api: "arm" | "resource-graph"; apiVersion: string }
  | { ok: false; error: CollectionError };

type ArgRequestOptions = Parameters<ResourceGraphClient["resources"]>[1];

/** ARG takes at most 300 subscriptions per query (PLATFORM.md §2). */
const ARG_SUBSCRIPTION_BATCH = 300;
// Columns ARG adds to every row of `resources` that a GET on the resource provider does not return.
const ARG_ONLY_COLUMNS = ["subscriptionId", "resourceGroup", "tenantId"];
// Columns ARG always projects, null (or "") when the resource has none.
const ARG_NULLABLE_COLUMNS = [
  "kind",
  "managedBy",
  "sku",
  "plan",
  "identity",
  "zones",
  "extendedLocation",
  "tags",
  "location",
];

/** The resource group of an ARM id, lower-cased (undefined when the id names none). */
export function resourceGroupOf(id: string): string | undefined {
  return /\/resourceGroups\/([^/]+)/i.exec(id)?.[1]?.toLowerCase();
}

/** Whether a body passes the settings' resource group and tag filters. */
export function passesFilters(settings: CollectorSettings, body: ArmBody): boolean {
  const id = typeof body.id === "string" ? body.id : "";
  if (settings.resourceGroups !== undefined && settings.resourceGroups.length > 0) {
    const group = resourceGroupOf(id);
    const wanted = settings.resourceGroups.map((g) => g.toLowerCase());
    if (group === undefined || !wanted.includes(group)) return false;
  }
  if (settings.tags !== undefined) {
    // Tag names are case-insensitive in ARM; values are compared as written.
    const tags = Object.entries((body.tags as Record<string, unknown> | undefined) ?? {});
    for (const [name, value] of Object.entries(settings.tags)) {
      const found = tags.find(([key]) => key.toLowerCase() === name.toLowerCase());
      if (found === undefined || found[1] !== value) return false;
    }
  }
  return true;
}

/** The resource-provider list of one type in one subscription (every page). */
export async function listByProvider(
  settings: CollectorSettings,
  subscriptionId: string,
  type: TopLevelType,
  abortSignal?: AbortSignal,
): Promise<Listing> {
  const clients = clientsFor(settings, subscriptionId);
  const options = abortSignal !== undefined ? { abortSignal } : {};
  try {
    switch (type) {
      case TOP_LEVEL_TYPES.managedClusters:
        return {
          ok: true,
          api: "arm",
          apiVersion: API_VERSIONS.containerService,
          bodies: await captureList("arm", () =>
            clients.containerService.managedClusters.list(options).byPage(),
          ),
        };
      case TOP_LEVEL_TYPES.flexibleServers:
        return {
          ok: true,
          api: "arm",
          apiVersion: API_VERSIONS.postgresql,
          bodies: await captureList("arm", () =>
            clients.postgresql.servers.listBySubscription(options).byPage(),
          ),
        };
      case TOP_LEVEL_TYPES.storageAccounts:
        return {
          ok: true,
          api: "arm",
          apiVersion: API_VERSIONS.storage,
          bodies: await captureList("arm", () =>
            clients.storage.storageAccounts.list(options).byPage(),
          ),
        };
    }
  } catch (error) {
    return { ok: false, error: asCollectionError("arm", error) };
  }
}

/**
 * Query Resource Graph for resources of `types` in `subscriptionIds` (batches of 300, every page
 * via `$skipToken`, ordered by id so pages neither repeat nor miss rows). Rows come back in ARM
 * wire shape: ARG's extra columns removed and the type's casing restored.
 * @throws CollectionError when a query finally fails
 */
export async function queryResourceGraph(
  settings: CollectorSettings,
  subscriptionIds: string[],
  types: readonly TopLevelType[],
  options: { abortSignal?: AbortSignal; deadlineMs?: number } = {},
): Promise<ArmBody[]> {
  const client = resourceGraphClient(settings);
  const canonical = new Map(types.map((type) => [type.toLowerCase(), type]));
  const query = `resources | where ${types.map((t) => `type =~ '${t}'`).join(" or ")} | order by id asc`;
  const rows: ArmBody[] = [];
  for (let start = 0; start < subscriptionIds.length; start += ARG_SUBSCRIPTION_BATCH) {
    const subscriptions = subscriptionIds.slice(start, start + ARG_SUBSCRIPTION_BATCH);
    let skipToken: string | undefined;
    let received = 0;
    do {
      const token = skipToken;
      const page = await settings.callPolicy.call(
        { api: "resource-graph", partition: "principal" },
        "query resources",
        async (abortSignal) => {
          const result = await client.resources(
            {
              subscriptions,
              query,
              options: {
                resultFormat: "objectArray",
                top: 1000,
                ...(token !== undefined ? { skipToken: token } : {}),
              },
            },
            // ms-rest-js declares its own AbortSignalLike; a DOM AbortSignal satisfies it at runtime.
            { abortSignal: abortSignal as unknown as ArgRequestOptions["abortSignal"] },
          );
          return JSON.parse(result._response.bodyAsText) as unknown;
        },
        options,
      );
      const { data, skipToken: next } = resourceGraphPage(page, received);
      received += data.length;
      for (const row of data) rows.push(toArmShape(row, canonical));
      skipToken = next;
    } while (skipToken !== undefined);
  }
  return rows;
}

/** One Resource Graph page, checked: its rows and the token of the next page. */
export interface ResourceGraphPage {
  data: ArmBody[];
  skipToken: string | undefined;
}

/**
 * Check one Resource Graph response body (`resultFormat: objectArray`) and return its rows. A
 * page that says it left rows out (`resultTruncated: "true"`), or a last page (no `$skipToken`)
 * that leaves the query short of its `totalRecords`, does not complete the list.
 * @param rowsBefore rows the earlier pages of the same query returned
 * @throws CollectionError `UnexpectedResponse` without a data array, `Truncated` when rows are missing
 */
export function resourceGraphPage(body: unknown, rowsBefore = 0): ResourceGraphPage {
  const page = (typeof body === "object" && body !== null ? body : {}) as Record<string, unknown>;
  if (!Array.isArray(page.data)) {
    throw new CollectionError("Resource Graph answered without a data array", {
      source: "resource-graph",
      code: "UnexpectedResponse",
    });
  }
  const skipToken =
    typeof page.$skipToken === "string" && page.$skipToken !== "" ? page.$skipToken : undefined;
  const received = rowsBefore + page.data.length;
  const total = typeof page.totalRecords === "number" ? page.totalRecords : undefined;
  const truncated = page.resultTruncated === true || page.resultTruncated === "true";
  if (truncated || (skipToken === undefined && total !== undefined && received < total)) {
    throw new CollectionError(
      `Resource Graph returned ${received} of ${total ?? "more"} rows with no page to fetch the rest`,
      { source: "resource-graph", code: "Truncated", retryable: false },
    );
  }
  return { data: page.data as ArmBody[], skipToken };
}

function toArmShape(row: ArmBody, canonical: Map<string, TopLevelType>): ArmBody {
  const body: ArmBody = { ...row };
  for (const column of ARG_ONLY_COLUMNS) delete body[column];
  for (const column of ARG_NULLABLE_COLUMNS) {
    if (body[column] === null || body[column] === "") delete body[column];
  }
  if (typeof body.type === "string") {
    body.type = canonical.get(body.type.toLowerCase()) ?? body.type;
  }
  return body;
}

/** One subscription's wait for a batched Resource Graph query. */
interface BatchWaiter {
  subscriptionId: string;
  deadlineMs: number | undefined;
  resolve(rows: ArmBody[]): void;
  reject(error: unknown): void;
}

const pendingBatches = new WeakMap<CollectorSettings, Map<string, BatchWaiter[]>>();

/**
 * The Resource Graph rows of `types` in one subscription. Calls made in the same turn of the
 * event loop for the same types (a sweep starts every subscription at once, and the planner
 * lists every subscription's clusters at once) are answered by one query over all their
 * subscriptions, so a sweep spends a few queries of ARG's small per-principal quota (15 per 5 s)
 * instead of one per subscription. The shared query runs until the latest of the callers'
 * deadlines; each caller still stops at its own abort.
 * @throws CollectionError when the shared query finally fails (every caller of the batch gets it)
 */
function batchedResourceGraph(
  settings: CollectorSettings,
  subscriptionId: string,
  types: readonly TopLevelType[],
  options: { abortSignal?: AbortSignal; deadlineMs?: number },
): Promise<ArmBody[]> {
  options.abortSignal?.throwIfAborted();
  let bySettings = pendingBatches.get(settings);
  if (bySettings === undefined) {
    bySettings = new Map();
    pendingBatches.set(settings, bySettings);
  }
  const key = [...types].sort().join(",");
  let waiters = bySettings.get(key);
  if (waiters === undefined) {
    const batch: BatchWaiter[] = [];
    waiters = batch;
    bySettings.set(key, batch);
    setImmediate(() => {
      bySettings.delete(key);
      void runBatch(settings, types, batch);
    });
  }
  return new Promise<ArmBody[]>((resolve, reject) => {
    const signal = options.abortSignal;
    const onAbort = () => reject(signal?.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    waiters.push({
      subscriptionId,
      deadlineMs: options.deadlineMs,
      resolve: (rows) => {
        signal?.removeEventListener("abort", onAbort);
        resolve(rows);
      },
      reject: (error) => {
        signal?.removeEventListener("abort", onAbort);
        reject(error);
      },
    });
  });
}

async function runBatch(
  settings: CollectorSettings,
  types: readonly TopLevelType[],
  waiters: BatchWaiter[],
): Promise<void> {
  const subscriptions = [...new Set(waiters.map((w) => w.subscriptionId.toLowerCase()))].sort();
  const deadlines = waiters.map((w) => w.deadlineMs);
  const deadlineMs = deadlines.some((d) => d === undefined)
    ? undefined
    : Math.max(...(deadlines as number[]));
  try {
    // A fresh call context: the query belongs to no single caller's abort signal.
    const rows = await runWithCallOptions({}, () =>
      queryResourceGraph(
        settings,
        subscriptions,
        types,
        deadlineMs !== undefined ? { deadlineMs } : {},
      ),
    );
    const bySubscription = new Map<string, ArmBody[]>();
    for (const row of rows) {
      const subscription = /^\/subscriptions\/([^/]+)/i.exec(String(row.id))?.[1]?.toLowerCase();
      if (subscription === undefined) continue;
      const list = bySubscription.get(subscription) ?? [];
      list.push(row);
      bySubscription.set(subscription, list);
    }
    for (const waiter of waiters)
      waiter.resolve(bySubscription.get(waiter.subscriptionId.toLowerCase()) ?? []);
  } catch (error) {
    for (const waiter of waiters) waiter.reject(error);
  }
}

/**
 * List every top-level type of one subscription: Resource Graph first when enabled, each
 * provider's own list for the types ARG did not answer. Bodies are filtered.
 */
export async function listTopLevel(
  settings: CollectorSettings,
  subscriptionId: string,
  options: { abortSignal?: AbortSignal; deadlineMs?: number },
  types: readonly TopLevelType[] = Object.values(TOP_LEVEL_TYPES),
): Promise<Map<TopLevelType, Listing>> {
  const listings = new Map<TopLevelType, Listing>();
  if (settings.useResourceGraph) {
    try {
      const rows = await batchedResourceGraph(settings, subscriptionId, types, options);
      for (const type of types) {
        listings.set(type, {
          ok: true,
          api: "resource-graph",
          apiVersion: API_VERSIONS.resourceGraph,
          bodies: rows.filter((row) => row.type === type),
        });
      }
    } catch (error) {
      // Fall back to the providers' lists: ARG may be throttled, unavailable or not allowed.
      // (asCollectionError rethrows an abort: that must not fall back.)
      asCollectionError("resource-graph", error);
    }
  }
  await Promise.all(
    types
      .filter((type) => !listings.has(type))
      .map(async (type) => {
        listings.set(
          type,
          await listByProvider(settings, subscriptionId, type, options.abortSignal),
        );
      }),
  );
  for (const [type, listing] of listings) {
    if (listing.ok) {
      listings.set(type, {
        ...listing,
        bodies: listing.bodies
          .filter((body) => passesFilters(settings, body))
          .sort((a, b) => String(a.id).localeCompare(String(b.id))),
      });
    }
  }
  return listings;
}
