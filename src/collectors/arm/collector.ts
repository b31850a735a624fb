/**
 * The ARM collector: a subscription target becomes observations of AKS managed clusters,
 * PostgreSQL flexible servers (with backups, configurations and activity log), storage accounts
 * (with blob service properties) and blob containers (with account and newest blob), all in ARM
 * wire shape; a resources target re-collects only the roots its ids affect, built the same way.
 * A failed call marks exactly the observations it feeds.
 */

import {
  type AffectedRoot,
  type ArmRootType,
  affectedRoot,
  type CollectionFailure,
  type CollectOptions,
  type Collector,
  type Gap,
  type Observation,
  type Target,
} from "../../core/index.js";
import { createBlobReader } from "../blob/index.js";
import { runWithCallOptions } from "../call-policy.js";
import type { CollectionError } from "../errors.js";
import type { CollectorSettings } from "../types.js";
import {
  API_VERSIONS,
  asCollectionError,
  captureChildList,
  captureGet,
  captureList,
  clientsFor,
  type SubscriptionClients,
} from "./clients.js";
import {
  type ArmBody,
  type Listing,
  listTopLevel,
  passesFilters,
  resourceGroupOf,
  TOP_LEVEL_TYPES,
} from "./inventory.js";

/** The type of blob container observations. */
export const CONTAINER_TYPE = "Microsoft.Storage/storageAccounts/blobServices/containers";

/** Server parameters the controls read (`joined.configurations.<name>`). */
export const POSTGRESQL_CONFIGURATIONS = ["require_secure_transport", "ssl_min_protocol_version"];

/** Reads the newest blob of a container (the blob collector's `createBlobReader(settings)`). */
export interface NewestBlobReader {
  getNewestBlob(
    account: string,
    container: string,
    options?: { abortSignal?: AbortSignal },
  ): Promise<{ name: string; lastModified: string } | null>;
}

/** Options of {@link createArmCollector}. */
export interface CreateArmCollectorOptions {
  /** Where `joined.newestBlob` comes from; default `createBlobReader(settings)` (blob data plane). */
  blobReader?: NewestBlobReader;
  /** The observation time (`source.observedAt`); default the system clock. */
  clock?: () => Date;
}

// Activity-log operations that bear on failover evidence (DESIGN.md "Failover evidence"): a
// user-started failover logs only as restart/action; platform failovers as Resource Health events.
const FAILOVER_OPERATIONS =
  /\/restart\/action$|failover|^microsoft\.resourcehealth\/healthevent\//i;

interface RunContext {
  settings: CollectorSettings;
  subscriptionId: string;
  observedAt: () => string;
  options: CollectOptions;
  blobReader: NewestBlobReader;
  /**
   * The failover-relevant events of the subscription's whole activity-log window, read once for
   * all its servers (a subscription collection); absent, each server queries its own.
   */
  subscriptionActivity?: () => Promise<ArmBody[]>;
}

/** Where an observation's document came from (`source` without its time). */
interface BodySource {
  api: string;
  apiVersion: string;
}

/**
 * The collector for `subscription` targets (the whole subscription, listed) and `resources`
 * targets (only the roots the ids affect, each read by one GET, with the same joins).
 */
export function createArmCollector(
  settings: CollectorSettings,
  collectorOptions: CreateArmCollectorOptions = {},
): Collector {
  const clock = collectorOptions.clock ?? (() => new Date());
  const blobReader = collectorOptions.blobReader ?? createBlobReader(settings);
  return {
    name: "arm",
    handles(target: Target): boolean {
      return target.kind === "subscription" || target.kind === "resources";
    },
    async collect(target: Target, options: CollectOptions): Promise<Observation[]> {
      if (target.kind !== "subscription" && target.kind !== "resources") {
        throw new TypeError(`the ARM collector does not handle ${target.kind} targets`);
      }
      // Checked before any call: an id outside the subscription is the planner's bug.
      const roots = target.kind === "resources" ? distinctRoots(target) : [];
      const context: RunContext = {
        settings,
        subscriptionId: target.subscriptionId,
        observedAt: () => clock().toISOString(),
        options,
        blobReader,
      };
      return runWithCallOptions(
        {
          ...(options.abortSignal !== undefined ? { abortSignal: options.abortSignal } : {}),
          ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
        },
        () =>
          target.kind === "subscription"
            ? collectSubscription(context)
            : collectRoots(context, roots),
      );
    },
  };
}

async function collectSubscription(context: RunContext): Promise<Observation[]> {
  const { settings, subscriptionId, options } = context;
  const listings = await listTopLevel(settings, subscriptionId, {
    ...(options.abortSignal !== undefined ? { abortSignal: options.abortSignal } : {}),
    ...(options.deadlineMs !== undefined ? { deadlineMs: options.deadlineMs } : {}),
  });
  const progress = (type: string, listing: Listing) =>
    options.onProgress?.({
      target: `subscription:${subscriptionId}`,
      message: listing.ok
        ? `listed ${listing.bodies.length} ${type}`
        : `could not list ${type}: ${listing.error.code}`,
    });
  for (const [type, listing] of listings) progress(type, listing);

  const clusters = listings.get(TOP_LEVEL_TYPES.managedClusters);
  const servers = listings.get(TOP_LEVEL_TYPES.flexibleServers);
  if (servers?.ok === true && servers.bodies.length > 1) {
    // One query of the window for the whole subscription instead of one per server: the events
    // are few next to the servers, and each query is a read of the subscription's budget.
    let pending: Promise<ArmBody[]> | undefined;
    context.subscriptionActivity = () => {
      pending ??= readActivityLog(context, undefined);
      return pending;
    };
  }
  const accounts = listings.get(TOP_LEVEL_TYPES.storageAccounts);
  const [clusterObservations, serverObservations, accountObservations] = await Promise.all([
    clusters === undefined ? [] : observeClusters(context, clusters),
    servers === undefined ? [] : observeServers(context, servers),
    accounts === undefined ? [] : observeAccounts(context, accounts),
  ]);
  return [...clusterObservations, ...serverObservations, ...accountObservations];
}

/**
 * The distinct observation roots a `resources` target's ids affect, in the order first named.
 * @throws RangeError when an id lies outside the target's subscription
 */
function distinctRoots(target: Extract<Target, { kind: "resources" }>): AffectedRoot[] {
  const roots = new Map<string, AffectedRoot>();
  for (const resourceId of target.resourceIds) {
    const root = affectedRoot(resourceId);
    if (root === undefined) continue;
    const subscriptionId = root.rootId.split("/")[2] ?? "";
    if (subscriptionId.toLowerCase() !== target.subscriptionId.toLowerCase()) {
      throw new RangeError(`${resourceId} is not in subscription ${target.subscriptionId}`);
    }
    const key = root.rootId.toLowerCase();
    if (!roots.has(key)) roots.set(key, root);
  }
  return [...roots.values()];
}

/** How each root type is read by one GET (the same api-version as the type's list). */
const ROOT_GETS: Record<
  ArmRootType,
  {
    apiVersion: string;
    get(
      clients: SubscriptionClients,
      resourceGroup: string,
      name: string,
      options: { abortSignal?: AbortSignal },
    ): Promise<unknown>;
  }
> = {
  [TOP_LEVEL_TYPES.managedClusters]: {
    apiVersion: API_VERSIONS.containerService,
    get: (clients, resourceGroup, name, options) =>
      clients.containerService.managedClusters.get(resourceGroup, name, options),
  },
  [TOP_LEVEL_TYPES.flexibleServers]: {
    apiVersion: API_VERSIONS.postgresql,
    get: (clients, resourceGroup, name, options) =>
      clients.postgresql.servers.get(resourceGroup, name, options),
  },
  [TOP_LEVEL_TYPES.storageAccounts]: {
    apiVersion: API_VERSIONS.storage,
    get: (clients, resourceGroup, name, options) =>
      clients.storage.storageAccounts.getProperties(resourceGroup, name, options),
  },
};

/** One root's observations: its own, then (for a storage account) its containers'. */
interface RootObservations {
  root: Observation;
  containers: Observation[];
}

/**
 * Re-collect the given roots: one GET each instead of the subscription's lists (no Resource
 * Graph), then the same per-resource building as a subscription collection, so the observations
 * equal the ones that collection gives these resources. A root outside the resource group or tag
 * filters yields nothing, as it would there.
 */
async function collectRoots(context: RunContext, roots: AffectedRoot[]): Promise<Observation[]> {
  const progress = (message: string) =>
    context.options.onProgress?.({ target: `resources:${context.subscriptionId}`, message });
  if (roots.length === 0) {
    progress("none of the resources is one vigil observes");
    return [];
  }
  const collected = await Promise.all(roots.map((root) => collectRoot(context, root, progress)));
  // The order of a subscription collection: clusters, servers, accounts, each by id, then containers.
  const order: readonly string[] = Object.values(TOP_LEVEL_TYPES);
  const kept = collected
    .filter((each): each is RootObservations => each !== undefined)
    .sort(
      (a, b) =>
        order.indexOf(a.root.type) - order.indexOf(b.root.type) ||
        a.root.id.localeCompare(b.root.id),
    );
  return [...kept.map((each) => each.root), ...kept.flatMap((each) => each.containers)];
}

async function collectRoot(
  context: RunContext,
  root: AffectedRoot,
  progress: (message: string) => void,
): Promise<RootObservations | undefined> {
  const { settings } = context;
  const segments = root.rootId.split("/");
  const resourceGroup = segments[4] ?? "";
  const name = segments.at(-1) ?? "";
  // The resource group filter needs no call; the tag filter is applied to the body below.
  const wanted = settings.resourceGroups?.map((group) => group.toLowerCase()) ?? [];
  if (wanted.length > 0 && !wanted.includes(resourceGroupOf(root.rootId) ?? "")) return undefined;
  const reader = ROOT_GETS[root.rootType];
  const source: BodySource = { api: "arm", apiVersion: reader.apiVersion };
  let body: ArmBody;
  try {
    body = await captureGet("arm", () =>
      reader.get(
        clientsFor(settings, context.subscriptionId),
        resourceGroup,
        name,
        signal(context),
      ),
    );
  } catch (error) {
    // A 404 keeps its status and code: the caller takes the root as deleted.
    const failure = asCollectionError("arm", error);
    progress(`could not get ${root.rootType} ${name}: ${failure.code}`);
    return {
      root: {
        id: root.rootId,
        type: root.rootType,
        scope: context.subscriptionId,
        source: { ...source, observedAt: context.observedAt() },
        error: failure.toFailure(),
      },
      containers: [],
    };
  }
  progress(`got ${root.rootType} ${name}`);
  if (!passesFilters(settings, body)) return undefined;
  switch (root.rootType) {
    case TOP_LEVEL_TYPES.managedClusters:
      return { root: observeCluster(context, body, source), containers: [] };
    case TOP_LEVEL_TYPES.flexibleServers:
      return { root: await observeServer(context, body, source), containers: [] };
    case TOP_LEVEL_TYPES.storageAccounts: {
      const { account, containers } = await observeAccount(context, body, source);
      return { root: account, containers };
    }
  }
}

function listFailure(
  context: RunContext,
  type: string,
  error: CollectionError,
  apiVersion: string,
): Observation {
  return {
    id: `/subscriptions/${context.subscriptionId}/providers/${type}`,
    type,
    scope: context.subscriptionId,
    source: { api: "arm", apiVersion, observedAt: context.observedAt() },
    error: error.toFailure(),
  };
}

function observation(
  context: RunContext,
  type: string,
  body: ArmBody,
  source: { api: string; apiVersion: string },
  joined?: Record<string, unknown>,
  gaps: Gap[] = [],
): Observation {
  return {
    id: String(body.id),
    type,
    scope: context.subscriptionId,
    document: joined === undefined ? body : { ...body, joined },
    source: { ...source, observedAt: context.observedAt() },
    ...(gaps.length > 0 ? { gaps } : {}),
  };
}

function gap(path: string, error: CollectionError): Gap {
  return { path, ...error.toFailure() };
}

/** `resourceGroups/<rg>` and the name of an ARM id. */
function parts(body: ArmBody): { resourceGroup: string; name: string } {
  const id = String(body.id);
  const resourceGroup = /\/resourceGroups\/([^/]+)/i.exec(id)?.[1] ?? "";
  return {
    resourceGroup,
    name: typeof body.name === "string" ? body.name : (id.split("/").at(-1) ?? ""),
  };
}

function signal(context: RunContext): { abortSignal?: AbortSignal } {
  return context.options.abortSignal !== undefined
    ? { abortSignal: context.options.abortSignal }
    : {};
}

async function observeClusters(context: RunContext, listing: Listing): Promise<Observation[]> {
  const type = TOP_LEVEL_TYPES.managedClusters;
  if (!listing.ok)
    return [listFailure(context, type, listing.error, API_VERSIONS.containerService)];
  return listing.bodies.map((body) =>
    observeCluster(context, body, { api: listing.api, apiVersion: listing.apiVersion }),
  );
}

/** A managed cluster's observation: its body as read, nothing joined. */
function observeCluster(context: RunContext, body: ArmBody, source: BodySource): Observation {
  return observation(context, TOP_LEVEL_TYPES.managedClusters, body, source);
}

async function observeServers(context: RunContext, listing: Listing): Promise<Observation[]> {
  const type = TOP_LEVEL_TYPES.flexibleServers;
  if (!listing.ok) return [listFailure(context, type, listing.error, API_VERSIONS.postgresql)];
  return mapWithLimit(listing.bodies, RESOURCES_IN_FLIGHT, (body) =>
    observeServer(context, body, { api: listing.api, apiVersion: listing.apiVersion }),
  );
}

/**
 * A PostgreSQL server's observation: its body with backups, configurations and the failover
 * events of the activity-log window joined; a failed join is a gap on its path.
 */
async function observeServer(
  context: RunContext,
  body: ArmBody,
  source: BodySource,
): Promise<Observation> {
  const { postgresql } = clientsFor(context.settings, context.subscriptionId);
  const { resourceGroup, name } = parts(body);
  const gaps: Gap[] = [];
  const joined: Record<string, unknown> = {};

  const backups = captureChildList("arm", () =>
    postgresql.backupsAutomaticAndOnDemand
      .listByServer(resourceGroup, name, signal(context))
      .byPage(),
  );
  const configurations = Promise.all(
    POSTGRESQL_CONFIGURATIONS.map(async (parameter) => {
      try {
        return [
          parameter,
          await captureGet("arm", () =>
            postgresql.configurations.get(resourceGroup, name, parameter, signal(context)),
          ),
        ] as const;
      } catch (error) {
        const failure = asCollectionError("arm", error);
        // A parameter the server does not have is absent, not unknown.
        if (failure.statusCode === 404) return [parameter, undefined] as const;
        return [parameter, failure] as const;
      }
    }),
  );
  const serverId = String(body.id).toLowerCase();
  const activity =
    context.subscriptionActivity !== undefined
      ? context
          .subscriptionActivity()
          .then((events) =>
            events.filter((event) => String(event.resourceId ?? "").toLowerCase() === serverId),
          )
      : readActivityLog(context, String(body.id));

  const [backupResult, configurationResults, activityResult] = await Promise.allSettled([
    backups,
    configurations,
    activity,
  ]);
  if (backupResult.status === "fulfilled") joined.backups = backupResult.value;
  else gaps.push(gap("joined.backups", asCollectionError("arm", backupResult.reason)));

  const configurationsJoined: Record<string, unknown> = {};
  if (configurationResults.status === "fulfilled") {
    for (const [parameter, value] of configurationResults.value) {
      if (value === undefined) continue;
      if (isCollectionFailure(value)) gaps.push(gap(`joined.configurations.${parameter}`, value));
      else configurationsJoined[parameter] = value;
    }
  } else {
    gaps.push(gap("joined.configurations", asCollectionError("arm", configurationResults.reason)));
  }
  joined.configurations = configurationsJoined;

  if (activityResult.status === "fulfilled") {
    joined.activityLog = activityResult.value;
  } else {
    gaps.push(gap("joined.activityLog", asCollectionError("arm", activityResult.reason)));
  }
  return observation(context, TOP_LEVEL_TYPES.flexibleServers, body, source, joined, gaps);
}

/**
 * The failover-relevant events of the activity-log window (`activityLogDays` before `now`), of
 * one resource, or of the whole subscription when `resourceId` is undefined (every page).
 * @throws CollectionError when the query finally fails
 */
async function readActivityLog(
  context: RunContext,
  resourceId: string | undefined,
): Promise<ArmBody[]> {
  const { monitor } = clientsFor(context.settings, context.subscriptionId);
  const now = Date.parse(context.options.now);
  const from = new Date(now - context.settings.activityLogDays * 86_400_000).toISOString();
  const to = new Date(now).toISOString();
  const filter = `eventTimestamp ge '${from}' and eventTimestamp le '${to}'${resourceId !== undefined ? ` and resourceUri eq '${resourceId}'` : ""}`;
  const events = await captureList("arm", () =>
    monitor.activityLogs.list(filter, signal(context)).byPage(),
  );
  return events.filter((event) => {
    const operation = (event.operationName as { value?: unknown } | undefined)?.value;
    return typeof operation === "string" && FAILOVER_OPERATIONS.test(operation);
  });
}

/**
 * Resources of one type and subscription whose reads are under way at once. The call policy paces
 * the calls anyway; starting every resource's reads at once would only queue thousands of
 * prepared requests in memory (a subscription may hold thousands of resources), while this many
 * keep the subscription's slots and read budget busy.
 */
const RESOURCES_IN_FLIGHT = 24;

/** `items.map(fn)` with at most `limit` calls pending at once; results in input order. */
async function mapWithLimit<T, R>(
  items: readonly T[],
  limit: number,
  fn: (item: T) => Promise<R>,
): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await fn(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function isCollectionFailure(value: unknown): value is CollectionError {
  return typeof value === "object" && value !== null && (value as Error).name === "CollectionError";
}

async function observeAccounts(context: RunContext, listing: Listing): Promise<Observation[]> {
  const type = TOP_LEVEL_TYPES.storageAccounts;
  if (!listing.ok) {
    return [
      listFailure(context, type, listing.error, API_VERSIONS.storage),
      // Containers are listed per account: without the accounts none can be known.
      listFailure(context, CONTAINER_TYPE, listing.error, API_VERSIONS.storage),
    ];
  }
  const perAccount = await mapWithLimit(listing.bodies, RESOURCES_IN_FLIGHT, (body) =>
    observeAccount(context, body, { api: listing.api, apiVersion: listing.apiVersion }),
  );
  return [
    ...perAccount.map((each) => each.account),
    ...perAccount.flatMap((each) => each.containers),
  ];
}

/**
 * A storage account's observation (its body with the blob service joined) and the observations
 * of its containers.
 */
async function observeAccount(
  context: RunContext,
  body: ArmBody,
  source: BodySource,
): Promise<{ account: Observation; containers: Observation[] }> {
  const { storage } = clientsFor(context.settings, context.subscriptionId);
  const { resourceGroup, name } = parts(body);
  const gaps: Gap[] = [];
  const joined: Record<string, unknown> = {};
  const [blobService, containers] = await Promise.allSettled([
    captureGet("arm", () =>
      storage.blobServices.getServiceProperties(resourceGroup, name, signal(context)),
    ),
    observeContainers(context, body, resourceGroup, name),
  ]);
  if (blobService.status === "fulfilled") joined.blobService = blobService.value;
  else gaps.push(gap("joined.blobService", asCollectionError("arm", blobService.reason)));
  if (containers.status === "rejected") throw containers.reason;
  return {
    account: observation(context, TOP_LEVEL_TYPES.storageAccounts, body, source, joined, gaps),
    containers: containers.value,
  };
}

async function observeContainers(
  context: RunContext,
  account: ArmBody,
  resourceGroup: string,
  accountName: string,
): Promise<Observation[]> {
  const { storage } = clientsFor(context.settings, context.subscriptionId);
  const source = { api: "arm", apiVersion: API_VERSIONS.storage };
  let listed: ArmBody[];
  try {
    listed = await captureChildList("arm", () =>
      storage.blobContainers.list(resourceGroup, accountName, signal(context)).byPage(),
    );
  } catch (error) {
    const failure: CollectionFailure = asCollectionError("arm", error).toFailure();
    return [
      {
        id: `${String(account.id)}/blobServices/default/containers`,
        type: CONTAINER_TYPE,
        scope: context.subscriptionId,
        source: { ...source, observedAt: context.observedAt() },
        error: failure,
      },
    ];
  }
  const accountJoin: Record<string, unknown> = {
    id: account.id,
    name: account.name,
    ...(account.tags !== undefined ? { tags: account.tags } : {}),
    properties: {
      immutableStorageWithVersioning: (account.properties as Record<string, unknown> | undefined)
        ?.immutableStorageWithVersioning,
    },
  };
  const containers = await Promise.all(
    listed
      .sort((a, b) => String(a.id).localeCompare(String(b.id)))
      .map(async (item): Promise<Observation> => {
        const containerName = String(item.name);
        const id = String(item.id);
        // The list omits the immutability policy's details: GET each container.
        const [container, newest] = await Promise.allSettled([
          captureGet("arm", () =>
            storage.blobContainers.get(resourceGroup, accountName, containerName, signal(context)),
          ),
          newestBlob(context, accountName, containerName),
        ]);
        if (container.status === "rejected") {
          return {
            id,
            type: CONTAINER_TYPE,
            scope: context.subscriptionId,
            source: { ...source, observedAt: context.observedAt() },
            error: asCollectionError("arm", container.reason).toFailure(),
          };
        }
        const gaps: Gap[] = [];
        const joined: Record<string, unknown> = { account: accountJoin };
        if (newest.status === "fulfilled") joined.newestBlob = newest.value;
        else gaps.push(gap("joined.newestBlob", asCollectionError("blob", newest.reason)));
        return observation(context, CONTAINER_TYPE, container.value, source, joined, gaps);
      }),
  );
  return containers;
}

async function newestBlob(
  context: RunContext,
  account: string,
  container: string,
): Promise<{ name: string; lastModified: string } | null> {
  try {
    return (await context.blobReader.getNewestBlob(account, container, signal(context))) ?? null;
  } catch (error) {
    throw asCollectionError("blob", error);
  }
}
