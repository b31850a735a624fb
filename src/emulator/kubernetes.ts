/**
 * The emulator's Kubernetes API servers: one read-only API server per seeded cluster
 * (`<seed>/kubernetes/<cluster>/*.yaml`), with the discovery, list (paged) and get endpoints that
 * `kubectl` and `@kubernetes/client-node` use, answering errors as Kubernetes `Status` objects.
 */

import { createHash } from "node:crypto";
import { SeedError } from "./errors.js";
import type { EmulatorRequest, EmulatorResponse, ServiceOverride } from "./http-types.js";
import {
  isRecord,
  type Manifest,
  manifestProblem,
  readClusterManifests,
  type SeededManifest,
} from "./kubernetes-manifests.js";
import { parseApiVersion, ResourceTable, type ResourceType } from "./kubernetes-resources.js";
import {
  parseFieldSelector,
  parseLabelSelector,
  type Selector,
  SelectorSyntaxError,
} from "./kubernetes-selectors.js";

/** The Kubernetes clusters of one seed, served by path (what follows `/k8s/<cluster>`). */
export interface KubernetesEstate {
  /** Cluster names (the folders under `<seed>/kubernetes`), sorted. */
  clusters(): string[];
  /** request.path is what follows /k8s/<cluster> (e.g. "/api/v1/namespaces"). */
  handle(cluster: string, request: EmulatorRequest): EmulatorResponse;
  /**
   * Re-reads `<seed>/kubernetes`, replacing every cluster (objects added with `put` are dropped).
   *
   * @throws {SeedError} when a file is malformed; the previous state is kept.
   */
  reload(): void;
  /**
   * Adds or replaces one object in a cluster (the admin endpoint's resource PUT).
   *
   * @throws {RangeError} when the cluster is not seeded.
   * @throws {TypeError} when `manifest` lacks `apiVersion`, `kind` or `metadata.name`.
   */
  put(cluster: string, manifest: Record<string, unknown>): void;
  /** Removes one object; false when the cluster or the object does not exist. */
  delete(
    cluster: string,
    ref: { apiVersion: string; kind: string; namespace?: string; name: string },
  ): boolean;
  /**
   * For each overridden Service as now served: its load-balancer address and TLS port (the port
   * named `websecure`, else 443) as `"host:port"` → the override's `connect` address. A Service
   * that is not seeded or has no such port is left out.
   */
  connectTo(): Record<string, string>;
}

/** Options of {@link loadKubernetesEstate}. */
export interface LoadKubernetesEstateOptions {
  /** Default `limit` of list calls that send none (real API servers return everything). */
  pageSize?: number;
  /** Services fronting the emulator's TLS routers (a load-balancer address when they have none). */
  serviceOverrides?: ServiceOverride[];
}

interface Entry {
  manifest: Manifest;
  file: string;
  where: string;
  resourceVersion: number;
}

interface ClusterState {
  table: ResourceTable;
  /** Objects by identity (see `identity`). */
  objects: Map<string, Entry>;
}

// Seeds carry no creation times; a fixed one keeps responses identical between runs.
const CREATION_TIMESTAMP = "2025-01-01T00:00:00Z";
const JSON_HEADERS = { "content-type": "application/json" };
const READ_METHODS = new Set(["GET", "HEAD"]);

/**
 * Loads the clusters under `dir` (`<seed>/kubernetes`) and serves them.
 *
 * Namespaces are served only when a seed declares them with a `Namespace` manifest: a namespace
 * that appears only as some object's `metadata.namespace` is not invented (nor are `default`,
 * `kube-system`, …), so a seed states exactly which Namespace objects a collector will see.
 *
 * @throws {SeedError} when a manifest file is unreadable or malformed (names file and document).
 */
export function loadKubernetesEstate(
  dir: string,
  options: LoadKubernetesEstateOptions = {},
): KubernetesEstate {
  const overrides = options.serviceOverrides ?? [];
  let resourceVersion = 0;
  let clusters = build(readClusterManifests(dir));

  function build(read: Map<string, SeededManifest[]>): Map<string, ClusterState> {
    const built = new Map<string, ClusterState>();
    let next = resourceVersion;
    for (const [cluster, manifests] of read) {
      const table = new ResourceTable(manifests.map((m) => seen(m.manifest)));
      const objects = new Map<string, Entry>();
      for (const m of manifests) {
        const key = identity(table, m.manifest);
        const earlier = objects.get(key);
        if (earlier !== undefined) {
          throw new SeedError(
            `${m.where} repeats ${m.manifest.kind} "${m.manifest.metadata.name}" of ${earlier.file} ${earlier.where}`,
            m.file,
          );
        }
        next += 1;
        objects.set(key, { ...m, resourceVersion: next });
      }
      built.set(cluster, { table, objects });
    }
    resourceVersion = next;
    return built;
  }

  function serve(cluster: string, request: EmulatorRequest): EmulatorResponse {
    const state = clusters.get(cluster);
    if (state === undefined) return notFound(`cluster "${cluster}" is not seeded`);
    if (!READ_METHODS.has(request.method.toUpperCase())) {
      return kubernetesStatus(
        405,
        "MethodNotAllowed",
        `the emulator's Kubernetes API is read-only`,
      );
    }
    const segments = request.path.split("/").filter((s) => s !== "");
    const [root, a, b] = segments;
    if (root === undefined) return ok({ paths: ["/api", "/api/v1", "/apis", "/version"] });
    if (root === "version" && segments.length === 1) return ok(VERSION);
    if (root === "api") {
      if (a === undefined) return ok(apiVersions(request));
      if (a !== "v1") return notFoundResource();
      if (segments.length === 2) return ok(resourceList(state.table, "", "v1"));
      return resource(cluster, state, "", "v1", segments.slice(2), request.query);
    }
    if (root === "apis") {
      if (a === undefined) return ok(groupList(state.table));
      const group = state.table.groups.find((g) => g.name === a);
      if (group === undefined) return notFoundResource();
      if (b === undefined)
        return ok({ kind: "APIGroup", apiVersion: "v1", ...groupInfo(a, group.versions) });
      if (!group.versions.includes(b)) return notFoundResource();
      if (segments.length === 3) return ok(resourceList(state.table, a, b));
      return resource(cluster, state, a, b, segments.slice(3), request.query);
    }
    return notFoundResource();
  }

  function resource(
    cluster: string,
    state: ClusterState,
    group: string,
    version: string,
    rest: string[],
    query: URLSearchParams,
  ): EmulatorResponse {
    // Paths: <plural>, <plural>/<name>, namespaces/<ns>/<plural>, namespaces/<ns>/<plural>/<name>.
    // `namespaces` and `namespaces/<name>` in the core group are the Namespace resource itself.
    let namespace: string | undefined;
    let plural: string;
    let name: string | undefined;
    if (rest[0] === "namespaces" && rest.length >= 3) {
      if (rest.length > 4) return notFoundResource();
      namespace = rest[1] as string;
      plural = rest[2] as string;
      name = rest[3];
    } else {
      if (rest.length > 2) return notFoundResource();
      plural = rest[0] as string;
      name = rest[1];
    }
    const type = state.table.byPlural(group, version, plural);
    if (type === undefined) return notFoundResource();
    if (namespace !== undefined && !type.namespaced) return notFoundResource();
    if (name !== undefined) {
      if (type.namespaced && namespace === undefined) return notFoundResource();
      const entry = state.objects.get(key(type, namespace, name));
      if (entry === undefined) return notFoundObject(type, name);
      return ok(served(cluster, entry, type));
    }
    if (query.get("watch") === "true" || query.get("watch") === "1") {
      return kubernetesStatus(405, "MethodNotAllowed", "watch is not served by the emulator");
    }
    return list(cluster, state, type, group, version, namespace, query);
  }

  function list(
    cluster: string,
    state: ClusterState,
    type: ResourceType,
    group: string,
    version: string,
    namespace: string | undefined,
    query: URLSearchParams,
  ): EmulatorResponse {
    let labels: Selector | undefined;
    let fields: Selector | undefined;
    try {
      const labelSelector = query.get("labelSelector");
      if (labelSelector) labels = parseLabelSelector(labelSelector);
      const fieldSelector = query.get("fieldSelector");
      if (fieldSelector) fields = parseFieldSelector(fieldSelector);
    } catch (error) {
      if (error instanceof SelectorSyntaxError)
        return kubernetesStatus(400, "BadRequest", error.message);
      throw error;
    }
    const limitText = query.get("limit");
    let limit = options.pageSize;
    if (limitText !== null && limitText !== "") {
      const parsed = Number(limitText);
      if (!Number.isInteger(parsed) || parsed < 0) {
        return kubernetesStatus(400, "BadRequest", `invalid limit: "${limitText}"`);
      }
      // limit=0 asks for everything, as on a real API server.
      limit = parsed === 0 ? undefined : parsed;
    }
    let after: string | undefined;
    const token = query.get("continue");
    if (token) {
      after = decodeContinue(token);
      if (after === undefined) {
        return kubernetesStatus(400, "BadRequest", "continue key is not valid: malformed token");
      }
    }

    const all: { sortKey: string; item: Record<string, unknown> }[] = [];
    for (const entry of state.objects.values()) {
      const { group: g } = parseApiVersion(entry.manifest.apiVersion);
      if (g !== type.group || entry.manifest.kind !== type.kind) continue;
      const item = served(cluster, entry, type);
      const metadata = item.metadata as Manifest["metadata"];
      if (namespace !== undefined && metadata.namespace !== namespace) continue;
      if (labels && !labels(stringMap(metadata.labels))) continue;
      const fieldMap: Record<string, string> = { "metadata.name": metadata.name };
      if (metadata.namespace !== undefined) fieldMap["metadata.namespace"] = metadata.namespace;
      if (fields && !fields(fieldMap)) continue;
      // etcd keys are /registry/<resource>/<namespace>/<name>: lists come sorted that way.
      all.push({ sortKey: `${metadata.namespace ?? ""}/${metadata.name}`, item });
    }
    all.sort((x, y) => (x.sortKey < y.sortKey ? -1 : x.sortKey > y.sortKey ? 1 : 0));
    const remaining = after === undefined ? all : all.filter((x) => x.sortKey > (after as string));
    const page = limit === undefined ? remaining : remaining.slice(0, limit);
    const metadata: Record<string, unknown> = { resourceVersion: String(resourceVersion) };
    const last = page.at(-1);
    if (page.length < remaining.length && last !== undefined) {
      metadata.continue = encodeContinue(last.sortKey);
      metadata.remainingItemCount = remaining.length - page.length;
    }
    return ok({
      kind: `${type.kind}List`,
      apiVersion: group === "" ? version : `${group}/${version}`,
      metadata,
      items: page.map((x) => x.item),
    });
  }

  /** The object as the API server returns it: defaults filled, overrides applied. */
  function served(cluster: string, entry: Entry, type: ResourceType): Record<string, unknown> {
    const item = structuredClone(entry.manifest);
    const metadata = item.metadata;
    if (type.namespaced) metadata.namespace ??= "default";
    // The API server drops metadata.namespace from cluster-scoped objects.
    else delete metadata.namespace;
    metadata.uid ??= uid(`${cluster}\n${identity(undefined, item, type)}`);
    metadata.resourceVersion = String(entry.resourceVersion);
    metadata.creationTimestamp ??= CREATION_TIMESTAMP;
    if (type.group === "" && type.kind === "Service") applyOverride(cluster, item);
    return item;
  }

  /**
   * The seeded Service keeps its ports and any load-balancer address it declares, so that what a
   * collector reads (and names endpoints by) is the same on every run; a Service without one gets
   * the override's stable documentation address. `connectTo` says where that address is served.
   */
  function applyOverride(cluster: string, service: Manifest): void {
    const override = overrides.find(
      (o) =>
        o.cluster === cluster &&
        o.namespace === service.metadata.namespace &&
        o.name === service.metadata.name,
    );
    if (override === undefined) return;
    const status = isRecord(service.status) ? service.status : {};
    const loadBalancer = isRecord(status.loadBalancer) ? status.loadBalancer : {};
    if (loadBalancerHost(loadBalancer) === undefined) {
      status.loadBalancer = { ...loadBalancer, ingress: [{ ip: override.ip }] };
    }
    service.status = status;
  }

  function connectTo(): Record<string, string> {
    const table: Record<string, string> = {};
    for (const override of overrides) {
      const state = clusters.get(override.cluster);
      const type = state?.table.byKind("", "Service");
      if (state === undefined || type === undefined) continue;
      const entry = state.objects.get(key(type, override.namespace, override.name));
      if (entry === undefined) continue;
      const service = served(override.cluster, entry, type);
      const status = isRecord(service.status) ? service.status : {};
      const host = loadBalancerHost(isRecord(status.loadBalancer) ? status.loadBalancer : {});
      const port = tlsPortOf(service);
      if (host === undefined || port === undefined) continue;
      table[hostPort(host, port)] ??= hostPort(override.connect.host, override.connect.port);
    }
    return table;
  }

  return {
    clusters: () => [...clusters.keys()].sort(),
    handle: serve,
    connectTo,
    reload() {
      clusters = build(readClusterManifests(dir));
    },
    put(cluster, manifest) {
      const state = clusters.get(cluster);
      if (state === undefined) throw new RangeError(`cluster "${cluster}" is not seeded`);
      const problem = manifestProblem(manifest);
      if (problem !== undefined) throw new TypeError(`manifest ${problem}`);
      const copy = structuredClone(manifest) as Manifest;
      const entries = [...state.objects.values()];
      const table = new ResourceTable([...entries.map((e) => seen(e.manifest)), seen(copy)]);
      const target = identity(table, copy);
      const objects = new Map<string, Entry>();
      // Rebuild the keys: a new kind may change how the table scopes an unknown kind.
      for (const entry of entries) {
        const k = identity(table, entry.manifest);
        if (k !== target) objects.set(k, entry);
      }
      resourceVersion += 1;
      objects.set(target, { manifest: copy, file: "(put)", where: "", resourceVersion });
      clusters.set(cluster, { table, objects });
    },
    delete(cluster, ref) {
      const state = clusters.get(cluster);
      if (state === undefined) return false;
      const { group } = parseApiVersion(ref.apiVersion);
      const type = state.table.byKind(group, ref.kind);
      if (type === undefined) return false;
      const removed = state.objects.delete(key(type, ref.namespace, ref.name));
      if (removed) resourceVersion += 1;
      return removed;
    },
  };
}

/** The first load-balancer ingress's `ip`, else its `hostname`, as clients read it. */
function loadBalancerHost(loadBalancer: Record<string, unknown>): string | undefined {
  const first = Array.isArray(loadBalancer.ingress) ? loadBalancer.ingress[0] : undefined;
  if (!isRecord(first)) return undefined;
  if (typeof first.ip === "string" && first.ip !== "") return first.ip;
  if (typeof first.hostname === "string" && first.hostname !== "") return first.hostname;
  return undefined;
}

/** The Service's TLS port number: the port named `websecure`, else port 443. */
function tlsPortOf(service: Record<string, unknown>): number | undefined {
  const spec = isRecord(service.spec) ? service.spec : undefined;
  const ports = Array.isArray(spec?.ports) ? (spec.ports as unknown[]).filter(isRecord) : [];
  const port = ports.find((p) => p.name === "websecure") ?? ports.find((p) => p.port === 443);
  return typeof port?.port === "number" ? port.port : undefined;
}

/** `host:port`, an IPv6 host in brackets. */
function hostPort(host: string, port: number): string {
  return `${host.includes(":") ? `[${host}]` : host}:${port}`;
}

function seen(manifest: Manifest): { apiVersion: string; kind: string; hasNamespace: boolean } {
  return {
    apiVersion: manifest.apiVersion,
    kind: manifest.kind,
    hasNamespace: manifest.metadata.namespace !== undefined,
  };
}

/** The key of an object in a cluster: group, kind, effective namespace, name. */
function identity(
  table: ResourceTable | undefined,
  manifest: Manifest,
  known?: ResourceType,
): string {
  const { group } = parseApiVersion(manifest.apiVersion);
  const type = known ?? table?.byKind(group, manifest.kind);
  if (type === undefined) throw new RangeError(`no resource type for ${manifest.kind}`);
  return key(type, manifest.metadata.namespace, manifest.metadata.name);
}

function key(type: ResourceType, namespace: string | undefined, name: string): string {
  const ns = type.namespaced ? (namespace ?? "default") : "";
  return `${type.group}\n${type.kind}\n${ns}\n${name}`;
}

/** A stable UUID-shaped id derived from the object's identity (same seed → same uid). */
function uid(identityKey: string): string {
  const hex = createHash("sha256").update(identityKey).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

function stringMap(value: unknown): Record<string, string> {
  const result: Record<string, string> = {};
  if (!isRecord(value)) return result;
  for (const [k, v] of Object.entries(value)) result[k] = String(v);
  return result;
}

function encodeContinue(after: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after })).toString("base64url");
}

function decodeContinue(token: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(Buffer.from(token, "base64url").toString("utf8"));
    if (isRecord(parsed) && parsed.v === 1 && typeof parsed.after === "string") return parsed.after;
  } catch (error) {
    if (error instanceof SyntaxError) return undefined;
    throw error;
  }
  return undefined;
}

// A recent AKS version; clients only check that the answer parses.
const VERSION = {
  major: "1",
  minor: "31",
  gitVersion: "v1.31.2",
  gitCommit: "0000000000000000000000000000000000000000",
  gitTreeState: "clean",
  buildDate: "2024-10-22T20:00:00Z",
  goVersion: "go1.22.8",
  compiler: "gc",
  platform: "linux/amd64",
};

function apiVersions(request: EmulatorRequest): Record<string, unknown> {
  const host = request.headers.host ?? "127.0.0.1:443";
  return {
    kind: "APIVersions",
    versions: ["v1"],
    serverAddressByClientCIDRs: [{ clientCIDR: "0.0.0.0/0", serverAddress: host }],
  };
}

function groupInfo(name: string, versions: string[]): Record<string, unknown> {
  const entries = versions.map((version) => ({ groupVersion: `${name}/${version}`, version }));
  return { name, versions: entries, preferredVersion: entries[0] };
}

function groupList(table: ResourceTable): Record<string, unknown> {
  return {
    kind: "APIGroupList",
    apiVersion: "v1",
    groups: table.groups.map((g) => groupInfo(g.name, g.versions)),
  };
}

function resourceList(
  table: ResourceTable,
  group: string,
  version: string,
): Record<string, unknown> {
  return {
    kind: "APIResourceList",
    apiVersion: "v1",
    groupVersion: group === "" ? version : `${group}/${version}`,
    resources: table.served(group, version).map((t) => ({
      name: t.plural,
      singularName: t.singular,
      namespaced: t.namespaced,
      kind: t.kind,
      verbs: ["get", "list"],
      ...(t.shortNames ? { shortNames: t.shortNames } : {}),
    })),
  };
}

function ok(body: unknown): EmulatorResponse {
  return { status: 200, headers: { ...JSON_HEADERS }, body };
}

/** A Kubernetes `Status` failure (meta/v1), the body every API server error carries. */
export function kubernetesStatus(
  code: number,
  reason: string,
  message: string,
  details?: Record<string, unknown>,
): EmulatorResponse {
  return {
    status: code,
    headers: { ...JSON_HEADERS },
    body: {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      ...(details ? { details } : {}),
      code,
    },
  };
}

function notFound(message: string): EmulatorResponse {
  return kubernetesStatus(404, "NotFound", message);
}

function notFoundResource(): EmulatorResponse {
  return kubernetesStatus(404, "NotFound", "the server could not find the requested resource", {});
}

function notFoundObject(type: ResourceType, name: string): EmulatorResponse {
  const resource = type.group === "" ? type.plural : `${type.plural}.${type.group}`;
  return kubernetesStatus(404, "NotFound", `${resource} "${name}" not found`, {
    name,
    group: type.group,
    kind: type.plural,
  });
}
