/**
 * Plan and collect: turn a config into targets (subscriptions, clusters, TLS endpoint sets, the
 * tenant) and each target into observations, joining what spans sources (drill records onto
 * PostgreSQL servers, TLS probes of the hosts a cluster's Traefik serves). Every observation is
 * redacted before it leaves this module.
 */

import {
  type ClusterTarget,
  type CollectionFailure,
  type CollectProgress,
  InputError,
  type Observation,
  redactObservation,
  type Target,
  type TlsTargetConfig,
  type VigilConfig,
} from "../core/index.js";
import type { DrillRead, EstateDeps } from "./deps.js";

/** A short, stable label of a target for progress lines and logs. */
export function targetLabel(target: Target): string {
  switch (target.kind) {
    case "subscription":
      return `subscription ${target.subscriptionId}`;
    case "resources":
      return `resources ${target.subscriptionId} (${target.resourceIds.length})`;
    case "cluster":
      return `cluster ${target.cluster.name}`;
    case "tls":
      return `tls ${target.set}`;
    case "tenant":
      return `tenant ${target.tenantId}`;
    case "drills":
      return `drill records ${target.account}/${target.container}`;
  }
}

/** The scope a target's observations belong to (the state table's partition), when it has one. */
export function targetScopes(target: Target): string[] {
  switch (target.kind) {
    case "subscription":
    case "resources":
      return [target.subscriptionId];
    case "cluster":
      return [target.cluster.name];
    case "tls":
      return [target.set];
    case "tenant":
      return [target.tenantId];
    case "drills":
      // Drill records are scoped by the resource they prove, which only their content says.
      return [];
  }
}

/** Options of planning and collecting. */
export interface CollectEstateOptions {
  /** The evaluation time, ISO 8601. */
  now: string;
  abortSignal?: AbortSignal;
  onProgress?: (progress: CollectProgress) => void;
  /** How many cluster, TLS, tenant and drill targets are collected at once (default 8). */
  concurrency?: number;
  /** How many subscription targets are collected at once (default 64: in practice all). */
  armConcurrency?: number;
  /**
   * Longest time one target may take, in milliseconds (default 10 minutes): no call starts and no
   * retry waits past it, so a throttled API cannot hold a worker for longer.
   */
  targetTimeoutInMs?: number;
  /** The clock for deadlines (default `Date.now`). */
  clock?: () => number;
  /**
   * Called with each collected target's (redacted) observations as soon as it completes, with the
   * target's index in the plan: a scan evaluates them while the other targets are still read.
   */
  onTargetCollected?: (index: number, observations: readonly Observation[]) => void;
  /**
   * Keep each target's observations in the result (default true). False: the result's
   * `observations` and each `byTarget[i].observations` are empty (`complete` is still computed):
   * for a caller that takes each target's observations from `onTargetCollected` and so need not
   * hold the whole estate in memory.
   */
  retainObservations?: boolean;
}

/** Default number of non-ARM targets collected at once. */
export const DEFAULT_TARGET_CONCURRENCY = 8;
/** Default number of subscription targets collected at once. */
export const DEFAULT_ARM_TARGET_CONCURRENCY = 64;

/** Default time budget of one target. */
export const DEFAULT_TARGET_TIMEOUT_IN_MS = 10 * 60 * 1000;

/**
 * A target that could not be collected at all (a bug, not an API failure), or a scope whose
 * targets could not be planned.
 */
export interface FailedTarget {
  target?: Target;
  label: string;
  message: string;
}

/** The outcome of collecting an estate. */
export interface CollectedEstate {
  targets: Target[];
  observations: Observation[];
  /**
   * The observations of each collected target, in plan order (one evidence record each).
   * `complete` holds when the target was collected and no observation of it is an `error` (so
   * every list answered): only then may its missing resources be taken as deleted.
   */
  byTarget: { label: string; observations: Observation[]; complete: boolean; scopes: string[] }[];
  failedTargets: FailedTarget[];
}

/** Whether the config asks for any Azure Resource Manager reading. */
function armInScope(config: VigilConfig): boolean {
  return config.subscriptions !== undefined;
}

/** What planning found: the targets, and the scopes that could not be planned. */
export interface Plan {
  targets: Target[];
  /** Scopes whose targets could not be listed (discovery failed, or found nothing). */
  failures: FailedTarget[];
}

/**
 * The targets a config describes. Subscriptions `"all"` are listed through ARM; AKS clusters are
 * discovered in every scanned subscription unless `clusters.aksDiscovery` is false. A config that
 * names only TLS targets plans only those, and needs no Azure credential. Discovery that fails, or
 * `"all"` that finds no subscription, is a plan failure (the scan is incomplete, never clean).
 * @throws InputError when the config asks for something vigil cannot plan (a management group).
 */
export async function planTargets(
  config: VigilConfig,
  deps: EstateDeps,
  options: CollectEstateOptions,
): Promise<Plan> {
  if (config.managementGroup !== undefined && config.subscriptions === undefined)
    throw new InputError(
      'managementGroup is not supported yet: list the subscriptions, or use "all"',
      { pointer: "/managementGroup", code: "NotSupported" },
    );
  const targets: Target[] = [];
  const failures: FailedTarget[] = [];
  const failed = (label: string, error: unknown) => {
    if (options.abortSignal?.aborted === true || !isCollectionFailure(error)) throw error;
    failures.push({ label, message: error.message });
  };
  let subscriptionIds: string[] = [];
  if (armInScope(config)) {
    if (config.subscriptions === "all") {
      try {
        subscriptionIds = (
          await deps.discovery.listSubscriptions(withSignal(options.abortSignal))
        ).map((s) => s.subscriptionId);
        options.onProgress?.({
          target: "plan",
          message: `found ${subscriptionIds.length} subscription(s)`,
        });
        // An identity that sees nothing has most likely lost its role assignments: an empty
        // estate must not read as a compliant one.
        if (subscriptionIds.length === 0)
          failures.push({
            label: "subscriptions (all)",
            message: "no subscription is visible to this identity",
          });
      } catch (error) {
        failed("subscriptions (all)", error);
      }
    } else subscriptionIds = [...(config.subscriptions ?? [])];
    for (const subscriptionId of subscriptionIds)
      targets.push({ kind: "subscription", subscriptionId });
  }
  if (config.tenantId !== undefined) targets.push({ kind: "tenant", tenantId: config.tenantId });
  if (armInScope(config) && config.clusters?.aksDiscovery !== false) {
    // Every subscription at once (the collectors may answer them with one query), kept in order.
    const listed = await Promise.allSettled(
      subscriptionIds.map((subscriptionId) =>
        deps.discovery.listAksClusters(subscriptionId, withSignal(options.abortSignal)),
      ),
    );
    listed.forEach((result, index) => {
      if (result.status === "fulfilled")
        for (const cluster of result.value) targets.push({ kind: "cluster", cluster });
      else failed(`AKS clusters of subscription ${subscriptionIds[index]}`, result.reason);
    });
  }
  for (const entry of config.clusters?.kubeconfig ?? []) {
    const cluster: ClusterTarget = {
      kind: "kubeconfig",
      name: entry.name,
      context: entry.context,
      ...(entry.path !== undefined ? { kubeconfigPath: entry.path } : {}),
    };
    targets.push({ kind: "cluster", cluster });
  }
  const sets = new Map<string, TlsTargetConfig[]>();
  for (const endpoint of config.tls?.targets ?? []) {
    const set = endpoint.set ?? "tls";
    const list = sets.get(set) ?? [];
    list.push({ ...endpoint, set });
    sets.set(set, list);
  }
  for (const [set, endpoints] of sets) targets.push({ kind: "tls", set, endpoints });
  if (config.drillRecords !== undefined)
    targets.push({
      kind: "drills",
      account: config.drillRecords.account,
      container: config.drillRecords.container,
    });
  return { targets, failures };
}

/** A typed failure of an API call (the collectors' CollectionError), told by its fields. */
function isCollectionFailure(error: unknown): error is Error & CollectionFailure {
  return error instanceof Error && error.name === "CollectionError";
}

function withSignal(abortSignal: AbortSignal | undefined): { abortSignal?: AbortSignal } {
  return abortSignal !== undefined ? { abortSignal } : {};
}

/**
 * Collect one target. API failures become `error` observations or gaps inside the collectors;
 * this throws only when the target cannot be collected at all.
 */
export async function collectTarget(
  target: Target,
  deps: EstateDeps,
  options: CollectEstateOptions,
): Promise<Observation[]> {
  const clock = options.clock ?? Date.now;
  const collectOptions = {
    now: options.now,
    deadlineMs: clock() + (options.targetTimeoutInMs ?? DEFAULT_TARGET_TIMEOUT_IN_MS),
    ...withSignal(options.abortSignal),
    ...(options.onProgress !== undefined ? { onProgress: options.onProgress } : {}),
  };
  let observations: Observation[];
  switch (target.kind) {
    case "subscription":
    case "resources": {
      observations = await joinDrills(
        await deps.arm.collect(target, collectOptions),
        deps,
        options,
      );
      break;
    }
    case "cluster": {
      observations = await deps.kubernetes.collect(target, collectOptions);
      const endpoints = deps.tlsTargetsOf(observations);
      if (endpoints.length > 0) {
        const probes = await deps.tls.collect(
          { kind: "tls", set: target.cluster.name, endpoints },
          collectOptions,
        );
        observations = [...observations, ...probes];
      }
      const unlisted = observations.find(
        (o) => o.error !== undefined && ROUTE_TYPES.has(o.type.toLowerCase()),
      );
      if (unlisted?.error !== undefined) {
        // Without the routes, the hosts this cluster serves are unknown: the probe controls must
        // report error for the cluster rather than silently have nothing to evaluate.
        observations = [
          ...observations,
          {
            id: `tls://${target.cluster.name}/*`,
            type: "vigil/TlsProbe",
            scope: target.cluster.name,
            error: {
              ...unlisted.error,
              message: `the TLS endpoints of cluster ${target.cluster.name} are unknown: ${unlisted.error.message}`,
            },
          },
        ];
      }
      break;
    }
    case "tls":
      observations = await deps.tls.collect(target, collectOptions);
      break;
    case "tenant":
      observations = await deps.graph.collect(target, collectOptions);
      break;
    case "drills":
      observations = await collectDrills(target, deps, options);
      break;
  }
  return observations.map(redactObservation);
}

const POSTGRES_TYPE = "microsoft.dbforpostgresql/flexibleservers";

/** Observation types whose listing tells which hosts a cluster's Traefik serves, and where. */
const ROUTE_TYPES = new Set([
  "traefik.io/ingressroute",
  "traefik.containo.us/ingressroute",
  "traefik.io/ingressroutetcp",
  "traefik.containo.us/ingressroutetcp",
  "networking.k8s.io/ingress",
  // Without the Services, the address the routes are reached at is unknown.
  "service",
]);

/**
 * Join drill records onto the subscription's PostgreSQL servers (`joined.drills`: the valid
 * records whose target is that server). Without a configured drill-record location, or when it
 * cannot be read, each server gets a gap: no evidence source is not the same as no drill.
 */
async function joinDrills(
  observations: Observation[],
  deps: EstateDeps,
  options: CollectEstateOptions,
): Promise<Observation[]> {
  const isServer = (o: Observation) =>
    o.type.toLowerCase() === POSTGRES_TYPE && o.error === undefined;
  if (!observations.some(isServer)) return observations;
  if (deps.settings.drillRecords === undefined) {
    return observations.map((o) =>
      isServer(o)
        ? withGap(o, "joined.drills", {
            message: "no drill-record location is configured (config drillRecords)",
            code: "NotConfigured",
          })
        : o,
    );
  }
  const drills = await readDrills(deps, options);
  const byTarget = new Map<string, unknown[]>();
  for (const drill of drills.observations) {
    if (drill.error !== undefined) continue;
    const target = (drill.document as { target?: { resourceId?: unknown } } | undefined)?.target;
    if (typeof target?.resourceId !== "string") continue;
    const key = target.resourceId.toLowerCase();
    byTarget.set(key, [...(byTarget.get(key) ?? []), drill.document]);
  }
  return observations.map((o) => {
    if (!isServer(o)) return o;
    if (drills.failure !== undefined) return withGap(o, "joined.drills", drills.failure);
    const document = (o.document ?? {}) as Record<string, unknown>;
    const previous = (document.joined ?? {}) as Record<string, unknown>;
    return {
      ...o,
      document: {
        ...document,
        joined: { ...previous, drills: byTarget.get(o.id.toLowerCase()) ?? [] },
      },
    };
  });
}

const drillCache = new WeakMap<EstateDeps, Map<string, Promise<DrillRead>>>();

/** The drill records, read once per run (per deps and evaluation time). */
function readDrills(deps: EstateDeps, options: CollectEstateOptions): Promise<DrillRead> {
  let cache = drillCache.get(deps);
  if (cache === undefined) {
    cache = new Map();
    drillCache.set(deps, cache);
  }
  let pending = cache.get(options.now);
  if (pending === undefined) {
    pending = deps.readDrillRecords({ now: options.now, ...withSignal(options.abortSignal) });
    cache.set(options.now, pending);
  }
  return pending;
}

/** The drills target: every record as a `vigil/DrillRecord` observation, valid or not. */
async function collectDrills(
  target: Extract<Target, { kind: "drills" }>,
  deps: EstateDeps,
  options: CollectEstateOptions,
): Promise<Observation[]> {
  const drills = await readDrills(deps, options);
  if (drills.failure === undefined || drills.observations.length > 0) return drills.observations;
  return [
    {
      id: `drill://${target.account}/${target.container}`,
      type: "vigil/DrillRecord",
      scope: "drills",
      error: drills.failure,
    },
  ];
}

function withGap(
  observation: Observation,
  path: string,
  failure: { message: string; code?: string; statusCode?: number; requestId?: string },
): Observation {
  return { ...observation, gaps: [...(observation.gaps ?? []), { path, ...failure }] };
}

/**
 * Plan and collect a whole estate, a few targets at a time, reporting progress. A target that
 * fails outright is listed in `failedTargets`; the others complete.
 */
export async function collectEstate(
  config: VigilConfig,
  deps: EstateDeps,
  options: CollectEstateOptions,
): Promise<CollectedEstate> {
  const { targets, failures } = await planTargets(config, deps, options);
  options.onProgress?.({ target: "plan", message: `${targets.length} target(s) to collect` });
  const results: Observation[][] = new Array(targets.length);
  const collected: boolean[] = new Array(targets.length).fill(false);
  const hadErrors: boolean[] = new Array(targets.length).fill(false);
  const failedTargets: FailedTarget[] = [...failures];
  let done = 0;
  const worker = async (queue: number[]) => {
    for (let index = queue.shift(); index !== undefined; index = queue.shift()) {
      const target = targets[index] as Target;
      const label = targetLabel(target);
      try {
        const observations = await collectTarget(target, deps, options);
        results[index] = options.retainObservations === false ? [] : observations;
        hadErrors[index] = observations.some((o) => o.error !== undefined);
        collected[index] = true;
        options.onTargetCollected?.(index, observations);
        done++;
        options.onProgress?.({
          target: label,
          message: `done (${done}/${targets.length})`,
          observations: observations.length,
        });
      } catch (error) {
        if (options.abortSignal?.aborted === true) throw error;
        results[index] = [];
        done++;
        failedTargets.push({
          target,
          label,
          message: error instanceof Error ? error.message : String(error),
        });
        options.onProgress?.({ target: label, message: `failed (${done}/${targets.length})` });
      }
    }
  };
  // ARM reads are budgeted per subscription (a token bucket each): every subscription target
  // starts at once so that each bucket is drawn from the start, rather than subscriptions waiting
  // behind each other for a few workers. The call policy still bounds the calls in flight.
  const isArm = (target: Target) => target.kind === "subscription" || target.kind === "resources";
  const armQueue = targets.flatMap((target, index) => (isArm(target) ? [index] : []));
  const otherQueue = targets.flatMap((target, index) => (isArm(target) ? [] : [index]));
  const pool = (queue: number[], size: number) =>
    Array.from({ length: Math.min(size, queue.length) }, () => worker(queue));
  await Promise.all([
    ...pool(armQueue, options.armConcurrency ?? DEFAULT_ARM_TARGET_CONCURRENCY),
    ...pool(otherQueue, options.concurrency ?? DEFAULT_TARGET_CONCURRENCY),
  ]);
  return {
    targets,
    observations: results.flat(),
    byTarget: targets.map((target, index) => ({
      label: targetLabel(target),
      observations: results[index] ?? [],
      scopes: targetScopes(target),
      complete: collected[index] === true && hadErrors[index] !== true,
    })),
    failedTargets,
  };
}
