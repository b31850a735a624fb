/**
 * The Kubernetes resource types the emulator serves: a fixed table for the core, networking, apps
 * and Traefik kinds, extended with every other kind a seed's manifests contain.
 */

/** One served resource type (what discovery lists under a group version). */
export interface ResourceType {
  /** API group; `""` for the core group (`/api/v1`). */
  group: string;
  kind: string;
  /** Lower-case plural used in URLs (`ingressroutes`). */
  plural: string;
  /** Lower-case kind (`ingressroute`). */
  singular: string;
  namespaced: boolean;
  /** Versions the type is served at; the first is the preferred one. */
  versions: string[];
  shortNames?: string[];
}

/** A group and the versions it serves (first = preferred), as `/apis` lists it. */
export interface ApiGroup {
  name: string;
  versions: string[];
}

interface KnownKind {
  kind: string;
  plural: string;
  namespaced: boolean;
  shortNames?: string[];
}

const CORE_KINDS: KnownKind[] = [
  { kind: "Namespace", plural: "namespaces", namespaced: false, shortNames: ["ns"] },
  { kind: "Node", plural: "nodes", namespaced: false, shortNames: ["no"] },
  { kind: "PersistentVolume", plural: "persistentvolumes", namespaced: false, shortNames: ["pv"] },
  { kind: "Service", plural: "services", namespaced: true, shortNames: ["svc"] },
  { kind: "Pod", plural: "pods", namespaced: true, shortNames: ["po"] },
  { kind: "ConfigMap", plural: "configmaps", namespaced: true, shortNames: ["cm"] },
  { kind: "Secret", plural: "secrets", namespaced: true },
  { kind: "ServiceAccount", plural: "serviceaccounts", namespaced: true, shortNames: ["sa"] },
  { kind: "Endpoints", plural: "endpoints", namespaced: true, shortNames: ["ep"] },
  { kind: "Event", plural: "events", namespaced: true, shortNames: ["ev"] },
  {
    kind: "PersistentVolumeClaim",
    plural: "persistentvolumeclaims",
    namespaced: true,
    shortNames: ["pvc"],
  },
  { kind: "ResourceQuota", plural: "resourcequotas", namespaced: true, shortNames: ["quota"] },
  { kind: "LimitRange", plural: "limitranges", namespaced: true, shortNames: ["limits"] },
];

const NETWORKING_KINDS: KnownKind[] = [
  { kind: "NetworkPolicy", plural: "networkpolicies", namespaced: true, shortNames: ["netpol"] },
  { kind: "Ingress", plural: "ingresses", namespaced: true, shortNames: ["ing"] },
  { kind: "IngressClass", plural: "ingressclasses", namespaced: false },
];

const APPS_KINDS: KnownKind[] = [
  { kind: "Deployment", plural: "deployments", namespaced: true, shortNames: ["deploy"] },
  { kind: "StatefulSet", plural: "statefulsets", namespaced: true, shortNames: ["sts"] },
  { kind: "DaemonSet", plural: "daemonsets", namespaced: true, shortNames: ["ds"] },
  { kind: "ReplicaSet", plural: "replicasets", namespaced: true, shortNames: ["rs"] },
  { kind: "ControllerRevision", plural: "controllerrevisions", namespaced: true },
];

// The CRDs Traefik v2 (traefik.containo.us) and v3 (traefik.io) install; plurals as in their CRD
// definitions (docs/content/reference/dynamic-configuration/*.yaml of the Traefik repository).
const TRAEFIK_KINDS: KnownKind[] = [
  { kind: "IngressRoute", plural: "ingressroutes", namespaced: true },
  { kind: "IngressRouteTCP", plural: "ingressroutetcps", namespaced: true },
  { kind: "IngressRouteUDP", plural: "ingressrouteudps", namespaced: true },
  { kind: "Middleware", plural: "middlewares", namespaced: true },
  { kind: "MiddlewareTCP", plural: "middlewaretcps", namespaced: true },
  { kind: "TLSOption", plural: "tlsoptions", namespaced: true },
  { kind: "TLSStore", plural: "tlsstores", namespaced: true },
  { kind: "ServersTransport", plural: "serverstransports", namespaced: true },
  { kind: "ServersTransportTCP", plural: "serverstransporttcps", namespaced: true },
  { kind: "TraefikService", plural: "traefikservices", namespaced: true },
];

const KNOWN: { group: string; version: string; kinds: KnownKind[] }[] = [
  { group: "", version: "v1", kinds: CORE_KINDS },
  { group: "networking.k8s.io", version: "v1", kinds: NETWORKING_KINDS },
  { group: "apps", version: "v1", kinds: APPS_KINDS },
  { group: "traefik.io", version: "v1alpha1", kinds: TRAEFIK_KINDS },
  { group: "traefik.containo.us", version: "v1alpha1", kinds: TRAEFIK_KINDS },
];

/** Splits an `apiVersion` into group and version (`v1` → core group). */
export function parseApiVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf("/");
  if (slash < 0) return { group: "", version: apiVersion };
  return { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

/**
 * The plural of a kind the table does not know: lower-case, `s` → `ses`, consonant + `y` → `ies`,
 * else `+s`. Like apimachinery's `meta.UnsafeGuessKindToResource`, except that a vowel before the
 * `y` keeps it (`Gateway` → `gateways`, as CRD authors write it, not `gatewaies`).
 */
export function guessPlural(kind: string): string {
  const singular = kind.toLowerCase();
  if (singular.endsWith("s")) return `${singular}es`;
  if (/[^aeiou]y$/.test(singular)) return `${singular.slice(0, -1)}ies`;
  return `${singular}s`;
}

/** What the table needs to know about one seeded object to serve its type. */
export interface SeenObject {
  apiVersion: string;
  kind: string;
  /** Whether the manifest set `metadata.namespace`. */
  hasNamespace: boolean;
}

/**
 * The resource types of one cluster: the known table plus every kind its objects use. A kind not in
 * the table is namespaced unless none of its objects names a namespace (there is no CRD to ask).
 */
export class ResourceTable {
  readonly types: ResourceType[] = [];
  readonly groups: ApiGroup[] = [];

  constructor(objects: Iterable<SeenObject>) {
    for (const known of KNOWN) {
      for (const k of known.kinds) {
        this.types.push({
          group: known.group,
          kind: k.kind,
          plural: k.plural,
          singular: k.kind.toLowerCase(),
          namespaced: k.namespaced,
          versions: [known.version],
          ...(k.shortNames ? { shortNames: k.shortNames } : {}),
        });
      }
    }
    const unknownScoped = new Map<ResourceType, boolean>();
    for (const object of objects) {
      const { group, version } = parseApiVersion(object.apiVersion);
      let type = this.byKind(group, object.kind);
      if (type === undefined) {
        type = {
          group,
          kind: object.kind,
          plural: guessPlural(object.kind),
          singular: object.kind.toLowerCase(),
          namespaced: false,
          versions: [],
        };
        this.types.push(type);
        unknownScoped.set(type, false);
      }
      if (!type.versions.includes(version)) type.versions.push(version);
      if (unknownScoped.has(type) && object.hasNamespace) unknownScoped.set(type, true);
    }
    for (const [type, namespaced] of unknownScoped) type.namespaced = namespaced;
    for (const type of this.types) {
      if (type.group === "") continue;
      let group = this.groups.find((g) => g.name === type.group);
      if (group === undefined) {
        group = { name: type.group, versions: [] };
        this.groups.push(group);
      }
      for (const v of type.versions) if (!group.versions.includes(v)) group.versions.push(v);
    }
  }

  /** The type of `kind` in `group`, whatever the version. */
  byKind(group: string, kind: string): ResourceType | undefined {
    return this.types.find((t) => t.group === group && t.kind === kind);
  }

  /** The type served at `group`/`version` under `plural`. */
  byPlural(group: string, version: string, plural: string): ResourceType | undefined {
    return this.types.find(
      (t) => t.group === group && t.plural === plural && t.versions.includes(version),
    );
  }

  /** Every type served at `group`/`version`. */
  served(group: string, version: string): ResourceType[] {
    return this.types.filter((t) => t.group === group && t.versions.includes(version));
  }
}
