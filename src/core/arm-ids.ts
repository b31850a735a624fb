/**
 * ARM resource ids as Event Grid names them: which observation root vigil re-collects when one
 * resource changes, and which observations that re-collection stands for. Pure string work.
 */

/**
 * The ARM types vigil collects as observation roots, in ARM's canonical casing: each root's
 * observation, and the observations that join it, are built from one GET of the root.
 */
export const ARM_ROOT_TYPES = [
  "Microsoft.ContainerService/managedClusters",
  "Microsoft.DBforPostgreSQL/flexibleServers",
  "Microsoft.Storage/storageAccounts",
] as const;

/** One of {@link ARM_ROOT_TYPES}. */
export type ArmRootType = (typeof ARM_ROOT_TYPES)[number];

/** The observation root a changed resource affects. */
export interface AffectedRoot {
  /**
   * `/subscriptions/<sub>/resourceGroups/<rg>/providers/<Namespace>/<type>/<name>`: the fixed
   * segments and the provider and type in ARM's casing, the subscription, group and name as given.
   */
  rootId: string;
  rootType: ArmRootType;
}

/**
 * Which child types of a root can change one of the root's observations; `"*"` for every child.
 * - An AKS cluster's GET embeds its agent pools (`agentPoolProfiles`), and re-reading it is one
 *   call, so any child (agent pool, maintenance configuration) re-collects it.
 * - A PostgreSQL server joins its configurations and backups; firewall rules, administrators and
 *   databases are changed through children too, so any child re-collects it.
 * - A storage account's observations are the account (its GET embeds private endpoint
 *   connections), the blob service and the containers: only the `blobServices` subtree and
 *   `privateEndpointConnections` feed them. File, queue and table services, management policies
 *   and the like feed nothing vigil observes, and re-collecting an account costs a call per
 *   container, so they map to no root.
 */
const ROOT_CHILDREN: ReadonlyMap<string, { type: ArmRootType; children: "*" | string[] }> = new Map(
  [
    [
      "microsoft.containerservice/managedclusters",
      { type: "Microsoft.ContainerService/managedClusters", children: "*" },
    ],
    [
      "microsoft.dbforpostgresql/flexibleservers",
      { type: "Microsoft.DBforPostgreSQL/flexibleServers", children: "*" },
    ],
    [
      "microsoft.storage/storageaccounts",
      {
        type: "Microsoft.Storage/storageAccounts",
        children: ["blobservices", "privateendpointconnections"],
      },
    ],
  ],
);

/**
 * The observation root vigil collects for an ARM resource id (an Event Grid event's `subject` or
 * `data.resourceUri`): the resource itself when it is a root, else the root it is a child of when
 * a change to that child can change the root's observations (a container or the blob service →
 * its storage account; any child of a PostgreSQL server or AKS cluster → the server or cluster).
 * Segment names, providers and types match case-insensitively (ARM ids are case-insensitive);
 * names keep the casing given.
 * @returns undefined for a type vigil does not observe, an extension resource
 *   (`…/providers/Microsoft.Authorization/locks/…` under a root), a resource group or
 *   subscription, or a string that is not a resource id
 */
export function affectedRoot(resourceId: string): AffectedRoot | undefined {
  // Event Grid subjects carry no trailing slash, but a hand-written id may.
  const segments = resourceId.replace(/\/+$/, "").split("/");
  // "", subscriptions, <sub>, resourceGroups, <rg>, providers, <Namespace>, <type>, <name>, …
  if (segments.length < 9 || segments[0] !== "") return undefined;
  const [, subscriptions, subscriptionId, groups, group, providers, namespace, type, name] =
    segments as [string, string, string, string, string, string, string, string, string];
  if (
    subscriptions.toLowerCase() !== "subscriptions" ||
    groups.toLowerCase() !== "resourcegroups" ||
    providers.toLowerCase() !== "providers"
  )
    return undefined;
  const children = segments.slice(9);
  if ([subscriptionId, group, namespace, type, name, ...children].some((s) => s === ""))
    return undefined;
  const root = ROOT_CHILDREN.get(`${namespace}/${type}`.toLowerCase());
  if (root === undefined) return undefined;
  // Children alternate type and name; a `providers` type segment starts an extension resource
  // of another provider (a lock, a diagnostic setting), which does not change the root's GET.
  const childTypes = children.filter((_, index) => index % 2 === 0).map((s) => s.toLowerCase());
  if (childTypes.includes("providers")) return undefined;
  const first = childTypes[0];
  if (first !== undefined && root.children !== "*" && !root.children.includes(first))
    return undefined;
  return {
    rootId: `/subscriptions/${subscriptionId}/resourceGroups/${group}/providers/${root.type}/${name}`,
    rootType: root.type,
  };
}

/**
 * Whether an observation is one that re-collecting `rootId` produces: the root's own, or one
 * under it (a storage account's containers, and `<account>/blobServices/default/containers`, the
 * stand-in when its container list fails). Compared case-insensitively. A caller replacing a
 * root's observations takes those of them the re-collection did not return as gone.
 */
export function isObservationOfRoot(rootId: string, observationId: string): boolean {
  const root = rootId.toLowerCase();
  const id = observationId.toLowerCase();
  return id === root || id.startsWith(`${root}/`);
}
