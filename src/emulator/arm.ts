/**
 * Azure Resource Manager over a seed's `arm/` tree: resource GETs, folder collections with
 * `nextLink` paging, provider-wide listings across resource groups, subscriptions from
 * `estate.json`, the activity log with its `$filter`, and AKS `listClusterUserCredential`.
 * Everything else is refused with 405, as a read-only scanner must never write.
 */

import { stringify } from "yaml";
import type { EmulatorRequest, EmulatorResponse } from "./http-types.js";
import type { SeedFile, SeedState } from "./seed.js";

/** What the ARM handler needs besides the request. */
export interface ArmContext {
  state: SeedState;
  /** `https://127.0.0.1:P`, used for `nextLink` and kubeconfig servers. */
  origin: string;
  caPem: string;
  /** Names of the clusters with a `kubernetes/<cluster>/` folder. */
  clusters: string[];
}

/** AKS's Entra server application id (the `--server-id` of kubelogin), the same in every tenant. */
const AKS_SERVER_APP_ID = "6dae42f8-4368-4678-94ff-3960e28e3630";
/** The Azure CLI's public client id that kubelogin uses by default. */
const KUBELOGIN_CLIENT_ID = "80faf920-1908-4b52-b5ef-a8e7bedfc67a";

/** An ARM error response `{ error: { code, message } }`. */
export function armError(status: number, code: string, message: string): EmulatorResponse {
  return { status, body: { error: { code, message } } };
}

/** Finds a query parameter regardless of the case of its name (`$skipToken` vs `$skiptoken`). */
export function queryValue(query: URLSearchParams, name: string): string | undefined {
  const lower = name.toLowerCase();
  for (const [key, value] of query) if (key.toLowerCase() === lower) return value;
  return undefined;
}

/** Serialises a query keeping `$` readable, as ARM's own `nextLink`s do. */
export function formatQuery(query: URLSearchParams): string {
  const parts: string[] = [];
  for (const [key, value] of query) {
    parts.push(`${encodeURIComponent(key)}=${encodeURIComponent(value)}`.replace(/%24/g, "$"));
  }
  return parts.length === 0 ? "" : `?${parts.join("&")}`;
}

/** One page of `items` at the offset named by the request's `$skiptoken`, with the link to the next. */
export function pageOf<T>(
  items: T[],
  request: EmulatorRequest,
  pageSize: number | undefined,
  linkBase: string,
): { page: T[]; nextLink?: string } | { error: string } {
  const token = queryValue(request.query, "$skiptoken");
  const offset = token === undefined ? 0 : Number(token);
  if (!Number.isInteger(offset) || offset < 0) return { error: `Invalid $skiptoken '${token}'.` };
  if (pageSize === undefined) return { page: items.slice(offset) };
  const page = items.slice(offset, offset + pageSize);
  if (offset + pageSize >= items.length) return { page };
  const next = new URLSearchParams();
  for (const [key, value] of request.query)
    if (key.toLowerCase() !== "$skiptoken") next.append(key, value);
  next.append("$skiptoken", String(offset + pageSize));
  return { page, nextLink: `${linkBase}${formatQuery(next)}` };
}

function collection(
  items: unknown[],
  request: EmulatorRequest,
  context: ArmContext,
): EmulatorResponse {
  const result = pageOf(
    items,
    request,
    context.state.estate.pageSize,
    `${context.origin}${request.path}`,
  );
  if ("error" in result) return armError(400, "InvalidSkipToken", result.error);
  return {
    status: 200,
    body:
      result.nextLink === undefined
        ? { value: result.page }
        : { value: result.page, nextLink: result.nextLink },
  };
}

function subscriptionBody(context: ArmContext, subscriptionId: string, displayName: string) {
  return {
    id: `/subscriptions/${subscriptionId}`,
    subscriptionId,
    displayName,
    state: "Enabled",
    tenantId: context.state.estate.tenantId,
  };
}

function resourceGroupBody(context: ArmContext, subscriptionId: string, name: string): unknown {
  const path = `/subscriptions/${subscriptionId}/resourceGroups/${name}`;
  const seeded = context.state.arm.get(path);
  if (seeded !== undefined) return seeded.body;
  const location = firstLocation(context, path);
  return {
    id: path,
    name,
    type: "Microsoft.Resources/resourceGroups",
    ...(location === undefined ? {} : { location }),
    properties: { provisioningState: "Succeeded" },
  };
}

function firstLocation(context: ArmContext, folder: string): string | undefined {
  const prefix = `${folder.toLowerCase()}/`;
  for (const file of context.state.arm.all()) {
    if (!file.path.toLowerCase().startsWith(prefix)) continue;
    const location = (file.body as { location?: unknown } | null)?.location;
    if (typeof location === "string") return location;
  }
  return undefined;
}

interface FilterClause {
  field: string;
  operator: string;
  value: string;
}

/** Parses the activity log's `$filter`: clauses `<field> <op> '<value>'` joined by `and`. */
function parseActivityFilter(filter: string): FilterClause[] | string {
  const clauses: FilterClause[] = [];
  for (const part of filter.trim().split(/\s+and\s+/i)) {
    const match = /^\s*(\w+)\s+(eq|ge|le|gt|lt)\s+'([^']*)'\s*$/i.exec(part);
    if (match === null) return `Unsupported $filter clause '${part}'.`;
    const field = (match[1] as string).toLowerCase();
    const operator = (match[2] as string).toLowerCase();
    if (field === "eventtimestamp") {
      if (operator === "eq") return "eventTimestamp supports ge, le, gt and lt.";
      if (Number.isNaN(Date.parse(match[3] as string)))
        return `Invalid date '${match[3]}' in $filter.`;
    } else if (field === "resourceuri" || field === "resourcegroupname" || field === "resourceid") {
      if (operator !== "eq") return `${match[1]} supports only eq.`;
    } else {
      return `The $filter field '${match[1]}' is not supported.`;
    }
    clauses.push({ field, operator, value: match[3] as string });
  }
  return clauses;
}

function eventMatches(event: unknown, clauses: FilterClause[]): boolean {
  const record = (event ?? {}) as Record<string, unknown>;
  for (const clause of clauses) {
    if (clause.field === "eventtimestamp") {
      const at = Date.parse(String(record.eventTimestamp));
      const bound = Date.parse(clause.value);
      if (Number.isNaN(at)) return false;
      if (clause.operator === "ge" && !(at >= bound)) return false;
      if (clause.operator === "le" && !(at <= bound)) return false;
      if (clause.operator === "gt" && !(at > bound)) return false;
      if (clause.operator === "lt" && !(at < bound)) return false;
    } else {
      const actual =
        clause.field === "resourcegroupname" ? record.resourceGroupName : record.resourceId;
      if (typeof actual !== "string" || actual.toLowerCase() !== clause.value.toLowerCase()) {
        return false;
      }
    }
  }
  return true;
}

function kubeconfig(context: ArmContext, cluster: string, resourceGroup: string): string {
  const user = `clusterUser_${resourceGroup}_${cluster}`;
  return stringify({
    apiVersion: "v1",
    clusters: [
      {
        cluster: {
          "certificate-authority-data": Buffer.from(context.caPem).toString("base64"),
          server: `${context.origin}/k8s/${cluster}`,
        },
        name: cluster,
      },
    ],
    contexts: [{ context: { cluster, user }, name: cluster }],
    "current-context": cluster,
    kind: "Config",
    preferences: {},
    users: [
      {
        name: user,
        user: {
          exec: {
            apiVersion: "client.authentication.k8s.io/v1beta1",
            args: [
              "get-token",
              "--environment",
              "AzurePublicCloud",
              "--server-id",
              AKS_SERVER_APP_ID,
              "--client-id",
              KUBELOGIN_CLIENT_ID,
              "--tenant-id",
              context.state.estate.tenantId,
              "--login",
              "devicecode",
            ],
            command: "kubelogin",
            env: null,
            installHint:
              "\nkubelogin is not installed which is required to connect to AAD enabled cluster.\n",
            interactiveMode: "IfAvailable",
            provideClusterInfo: false,
          },
        },
      },
    ],
  });
}

function listClusterUserCredential(context: ArmContext, segments: string[]): EmulatorResponse {
  const resourceGroup = segments[3] as string;
  const requested = segments[7] as string;
  const cluster = context.clusters.find((name) => name.toLowerCase() === requested.toLowerCase());
  if (cluster === undefined) {
    return armError(
      404,
      "ResourceNotFound",
      `The Resource 'Microsoft.ContainerService/managedClusters/${requested}' under resource group '${resourceGroup}' was not found.`,
    );
  }
  const value = Buffer.from(kubeconfig(context, cluster, resourceGroup)).toString("base64");
  return { status: 200, body: { kubeconfigs: [{ name: "clusterUser", value }] } };
}

/** The subscription id named by an ARM path, if any (for throttling and the request log). */
export function subscriptionOf(path: string): string | undefined {
  const match = /^\/subscriptions\/([^/]+)/i.exec(path);
  return match?.[1];
}

/** Answers one ARM request (the path is the full request path). */
export function handleArm(request: EmulatorRequest, context: ArmContext): EmulatorResponse {
  const segments = request.path.split("/").filter(Boolean).map(decodeURIComponent);
  const lower = segments.map((segment) => segment.toLowerCase());
  const isCredentialPost =
    request.method === "POST" &&
    lower.length === 9 &&
    lower[0] === "subscriptions" &&
    lower[2] === "resourcegroups" &&
    lower[4] === "providers" &&
    lower[5] === "microsoft.containerservice" &&
    lower[6] === "managedclusters" &&
    lower[8] === "listclusterusercredential";
  if (request.method !== "GET" && !isCredentialPost) {
    return armError(
      405,
      "MethodNotAllowed",
      `The emulator is read-only: ${request.method} ${request.path} is not allowed.`,
    );
  }
  if (queryValue(request.query, "api-version") === undefined) {
    return armError(
      400,
      "MissingApiVersionParameter",
      "The api-version query parameter (?api-version=) is required for all requests.",
    );
  }
  const { estate, arm } = context.state;
  if (lower.length === 1 && lower[0] === "subscriptions") {
    const items = estate.subscriptions.map((s) =>
      subscriptionBody(context, s.subscriptionId, s.displayName),
    );
    return collection(items, request, context);
  }
  if (lower[0] === "subscriptions" && lower.length >= 2) {
    const subscription = estate.subscriptions.find(
      (s) => s.subscriptionId.toLowerCase() === lower[1],
    );
    if (subscription === undefined) {
      return armError(
        404,
        "SubscriptionNotFound",
        `The subscription '${segments[1]}' could not be found.`,
      );
    }
    const sub = subscription.subscriptionId;
    if (lower.length === 2) {
      return { status: 200, body: subscriptionBody(context, sub, subscription.displayName) };
    }
    if (lower[2] === "resourcegroups") {
      if (lower.length === 3) {
        const groups = arm.subfolders(`/subscriptions/${sub}/resourceGroups`);
        const seeded = (arm.list(`/subscriptions/${sub}/resourceGroups`) ?? []).map((f) => f.name);
        const names = [...new Set([...groups, ...seeded])].sort();
        return collection(
          names.map((name) => resourceGroupBody(context, sub, name)),
          request,
          context,
        );
      }
      const group = `/subscriptions/${sub}/resourceGroups/${segments[3]}`;
      if (!arm.hasFolder(group) && arm.get(group) === undefined) {
        return armError(
          404,
          "ResourceGroupNotFound",
          `Resource group '${segments[3]}' could not be found.`,
        );
      }
      if (lower.length === 4) {
        return { status: 200, body: resourceGroupBody(context, sub, segments[3] as string) };
      }
      if (isCredentialPost) return listClusterUserCredential(context, segments);
      if (lower.length === 7 && lower[4] === "providers") {
        return collection(
          (arm.list(request.path) ?? []).map((f) => f.body),
          request,
          context,
        );
      }
    }
    if (
      lower.length === 7 &&
      lower[2] === "providers" &&
      lower[3] === "microsoft.insights" &&
      lower[4] === "eventtypes" &&
      lower[5] === "management" &&
      lower[6] === "values"
    ) {
      return activityLog(request, context);
    }
    if (lower.length === 5 && lower[2] === "providers") {
      return collection(
        typeAcrossGroups(context, sub, segments[3] as string, segments[4] as string),
        request,
        context,
      );
    }
  }
  if (isCredentialPost) return listClusterUserCredential(context, segments);
  const file = arm.get(request.path);
  if (file !== undefined) return { status: 200, body: file.body };
  const folder = arm.list(request.path);
  if (folder !== undefined)
    return collection(
      folder.map((f) => f.body),
      request,
      context,
    );
  return armError(404, "ResourceNotFound", `The resource '${request.path}' was not found.`);
}

function typeAcrossGroups(
  context: ArmContext,
  sub: string,
  namespace: string,
  type: string,
): unknown[] {
  const { arm } = context.state;
  const files: SeedFile[] = [
    ...(arm.list(`/subscriptions/${sub}/providers/${namespace}/${type}`) ?? []),
  ];
  for (const group of arm.subfolders(`/subscriptions/${sub}/resourceGroups`)) {
    files.push(
      ...(arm.list(
        `/subscriptions/${sub}/resourceGroups/${group}/providers/${namespace}/${type}`,
      ) ?? []),
    );
  }
  return files.map((f) => f.body);
}

function activityLog(request: EmulatorRequest, context: ArmContext): EmulatorResponse {
  const events = (context.state.arm.list(request.path) ?? []).map((f) => f.body);
  const filter = queryValue(request.query, "$filter");
  if (filter === undefined || filter.trim() === "") return collection(events, request, context);
  const clauses = parseActivityFilter(filter);
  if (typeof clauses === "string") return armError(400, "BadRequest", clauses);
  return collection(
    events.filter((event) => eventMatches(event, clauses)),
    request,
    context,
  );
}
