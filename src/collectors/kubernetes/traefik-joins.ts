/**
 * How Traefik's Kubernetes providers resolve what a route refers to: the TLSOption of an
 * IngressRoute, the Middlewares of its routes and of an Ingress's annotation, and the entry
 * points from Traefik's static configuration. Pure functions over already-listed objects; they
 * model Traefik's own rules (DESIGN.md "Traefik TLS options"), because those decide what the
 * live probe finds.
 */

import type { CollectionFailure, EntryPointConfig } from "../../core/index.js";
import type { KubeObject } from "./types.js";

/** Traefik's built-in default TLS options (TLS 1.2 minimum), used when no usable `default` exists. */
export const BUILTIN_DEFAULT_TLS_SPEC = { minVersion: "VersionTLS12" } as const;

/** The provider suffix of references to objects of Traefik's Kubernetes CRD provider. */
const CRD_PROVIDER = "kubernetescrd";

/** The Ingress annotations Traefik's Kubernetes Ingress provider reads. */
export const INGRESS_MIDDLEWARES_ANNOTATION = "traefik.ingress.kubernetes.io/router.middlewares";
export const INGRESS_ENTRYPOINTS_ANNOTATION = "traefik.ingress.kubernetes.io/router.entrypoints";

/** Objects of one kind from every Traefik API group that answered, and the failure of any that did not. */
export interface ResolvableObjects {
  items: KubeObject[];
  /** Set when some group's list failed: an object not found among `items` may be in it. */
  failure?: CollectionFailure;
}

/** A part of a join that could not be resolved; the caller turns it into a gap at its path. */
export type JoinProblem = CollectionFailure;

/** `joined.tlsOption` of an IngressRoute (docs/observations.md). */
export interface TlsOptionResolution {
  resolution: "explicit" | "default" | "builtin-default" | "missing" | "cross-namespace-denied";
  name: string | null;
  namespace: string | null;
  spec: unknown;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function text(value: unknown): string | undefined {
  return typeof value === "string" && value !== "" ? value : undefined;
}

function nameOf(object: KubeObject): string {
  return object.metadata?.name ?? "";
}

function namespaceOf(object: KubeObject): string {
  return object.metadata?.namespace ?? "";
}

/** Split `name@provider` at the last `@`; `undefined` when the reference names no provider. */
function splitProvider(reference: string): { id: string; provider: string } | undefined {
  const at = reference.lastIndexOf("@");
  if (at < 0) return undefined;
  return { id: reference.slice(0, at), provider: reference.slice(at + 1) };
}

/** The object a CRD-provider id (`<namespace>-<name>`, as Traefik names them) denotes. */
function findByProviderId(items: readonly KubeObject[], id: string): KubeObject | undefined {
  return items.find((o) => `${namespaceOf(o)}-${nameOf(o)}` === id);
}

function find(
  items: readonly KubeObject[],
  namespace: string,
  name: string,
): KubeObject | undefined {
  return items.find((o) => namespaceOf(o) === namespace && nameOf(o) === name);
}

function specOf(object: KubeObject): unknown {
  return object.spec ?? {};
}

/**
 * The effective TLS options when a route names none: a TLSOption called `default` replaces the
 * built-in default, unless `default` is defined in more than one namespace, in which case
 * Traefik drops them all and the built-in default (TLS 1.2 minimum) applies.
 */
export function resolveDefaultTlsOption(options: ResolvableObjects): {
  value?: TlsOptionResolution;
  problem?: JoinProblem;
} {
  // A failed list may hide a second `default`, which would change the outcome.
  if (options.failure !== undefined) return { problem: options.failure };
  const defaults = options.items.filter((o) => nameOf(o) === "default");
  const namespaces = [...new Set(defaults.map(namespaceOf))];
  const only = defaults[0];
  if (namespaces.length === 1 && only !== undefined)
    return {
      value: {
        resolution: "default",
        name: "default",
        namespace: namespaceOf(only),
        spec: specOf(only),
      },
    };
  return {
    value: {
      resolution: "builtin-default",
      name: null,
      namespace: null,
      spec: { ...BUILTIN_DEFAULT_TLS_SPEC },
    },
  };
}

/**
 * How Traefik resolves an IngressRoute's `spec.tls.options` (Traefik's CRD provider,
 * `resolveReference`): `undefined` when the route has no `spec.tls` (it terminates no TLS).
 *
 * - no reference → {@link resolveDefaultTlsOption};
 * - `name` (+ optional `namespace`, default: the route's): another namespace without
 *   `allowCrossNamespace` is `cross-namespace-denied`; otherwise the TLSOption there, or
 *   `missing`. A TLSOption named `default` is registered by Traefik under the bare name
 *   `default`, not `<namespace>-default`, so an explicit reference by name never reaches it;
 * - `<namespace>-<name>@kubernetescrd` → refused without `allowCrossNamespace`, even when the id
 *   starts with the route's own namespace or `namespace` names it: Traefik cannot tell the
 *   namespace inside the id, so `resolveReference` rejects every `@kubernetescrd` reference
 *   before looking at namespaces ("when allowCrossNamespace is disabled, @kubernetescrd
 *   references are disallowed"); else the TLSOption with that id, or `missing`;
 * - `name@<other provider>` (file, …) → a problem: vigil cannot see that provider. Traefik does
 *   not apply the namespace rule to provider-qualified references (it ignores `namespace` and
 *   keeps the route), so this is not `cross-namespace-denied`.
 */
export function resolveTlsOption(
  route: KubeObject,
  options: ResolvableObjects,
  allowCrossNamespace: boolean,
): { value?: TlsOptionResolution; problem?: JoinProblem } | undefined {
  const tls = route.spec?.tls;
  if (!isRecord(tls)) return undefined;
  const reference = isRecord(tls.options) ? tls.options : undefined;
  const name = text(reference?.name);
  if (name === undefined) return resolveDefaultTlsOption(options);
  const routeNamespace = namespaceOf(route);
  const qualified = splitProvider(name);
  if (qualified !== undefined) {
    if (qualified.provider !== CRD_PROVIDER)
      return {
        problem: {
          code: "TlsOptionOtherProvider",
          message: `TLS option '${name}' comes from Traefik provider '${qualified.provider}', which vigil cannot read`,
        },
      };
    if (!allowCrossNamespace)
      return {
        value: { resolution: "cross-namespace-denied", name, namespace: null, spec: null },
      };
    if (qualified.id === "default") return resolveDefaultTlsOption(options);
    const found = findByProviderId(options.items, qualified.id);
    if (found !== undefined)
      return {
        value: {
          resolution: "explicit",
          name: nameOf(found),
          namespace: namespaceOf(found),
          spec: specOf(found),
        },
      };
    if (options.failure !== undefined) return { problem: options.failure };
    return { value: { resolution: "missing", name, namespace: null, spec: null } };
  }
  const namespace = text(reference?.namespace) ?? routeNamespace;
  if (!allowCrossNamespace && namespace !== routeNamespace)
    return { value: { resolution: "cross-namespace-denied", name, namespace, spec: null } };
  const found = name === "default" ? undefined : find(options.items, namespace, name);
  if (found !== undefined)
    return { value: { resolution: "explicit", name, namespace, spec: specOf(found) } };
  if (options.failure !== undefined && name !== "default") return { problem: options.failure };
  return { value: { resolution: "missing", name, namespace, spec: null } };
}

/** Middlewares a list of references resolved to, in order, and what could not be resolved. */
export interface MiddlewareJoin {
  middlewares: KubeObject[];
  /** One problem for all unresolved references (their messages joined), or none. */
  problem?: JoinProblem;
}

function combine(problems: JoinProblem[]): JoinProblem | undefined {
  const first = problems[0];
  if (first === undefined) return undefined;
  if (problems.length === 1) return first;
  return { ...first, message: problems.map((p) => p.message).join("; ") };
}

function notFound(reference: string, middlewares: ResolvableObjects): JoinProblem {
  if (middlewares.failure !== undefined)
    return {
      ...middlewares.failure,
      message: `middleware ${reference} could not be read: ${middlewares.failure.message}`,
    };
  return { code: "MiddlewareNotFound", message: `middleware ${reference} does not exist` };
}

/**
 * Resolve an IngressRoute route's `middlewares` (`[{ name, namespace? }]`) the way Traefik's CRD
 * provider does. A reference that cannot be resolved is left out and reported: not found,
 * denied across namespaces (Traefik then drops the route), or from a provider vigil cannot read.
 */
export function resolveRouteMiddlewares(
  references: unknown,
  routeNamespace: string,
  middlewares: ResolvableObjects,
  allowCrossNamespace: boolean,
): MiddlewareJoin {
  const out: KubeObject[] = [];
  const problems: JoinProblem[] = [];
  for (const reference of Array.isArray(references) ? references : []) {
    const name = isRecord(reference) ? text(reference.name) : undefined;
    if (name === undefined || !isRecord(reference)) continue;
    const qualified = splitProvider(name);
    if (qualified !== undefined) {
      if (qualified.provider !== CRD_PROVIDER) {
        problems.push({
          code: "MiddlewareOtherProvider",
          message: `middleware ${name} comes from Traefik provider '${qualified.provider}', which vigil cannot read`,
        });
        continue;
      }
      if (!allowCrossNamespace) {
        problems.push({
          code: "MiddlewareCrossNamespaceDenied",
          message: `middleware ${name}: @kubernetescrd references are refused while allowCrossNamespace is off`,
        });
        continue;
      }
      const found = findByProviderId(middlewares.items, qualified.id);
      if (found !== undefined) out.push(found);
      else problems.push(notFound(name, middlewares));
      continue;
    }
    const namespace = text(reference.namespace) ?? routeNamespace;
    if (!allowCrossNamespace && namespace !== routeNamespace) {
      problems.push({
        code: "MiddlewareCrossNamespaceDenied",
        message: `middleware ${namespace}/${name} is in another namespace and allowCrossNamespace is off`,
      });
      continue;
    }
    const found = find(middlewares.items, namespace, name);
    if (found !== undefined) out.push(found);
    else problems.push(notFound(`${namespace}/${name}`, middlewares));
  }
  const problem = combine(problems);
  return problem !== undefined ? { middlewares: out, problem } : { middlewares: out };
}

/** The comma-separated values of an annotation, trimmed, empty ones dropped. */
export function annotationList(object: KubeObject, annotation: string): string[] | undefined {
  const value = object.metadata?.annotations?.[annotation];
  if (typeof value !== "string") return undefined;
  return value
    .split(",")
    .map((v) => v.trim())
    .filter((v) => v !== "");
}

/**
 * Resolve an Ingress's `traefik.ingress.kubernetes.io/router.middlewares` annotation: each entry
 * is `<namespace>-<name>@kubernetescrd` (a Middleware CRD). An entry without a provider is
 * qualified by Traefik with the Ingress provider, which defines no Middlewares: not found.
 */
export function resolveIngressMiddlewares(
  ingress: KubeObject,
  middlewares: ResolvableObjects,
): MiddlewareJoin {
  const out: KubeObject[] = [];
  const problems: JoinProblem[] = [];
  for (const reference of annotationList(ingress, INGRESS_MIDDLEWARES_ANNOTATION) ?? []) {
    const qualified = splitProvider(reference);
    if (qualified !== undefined && qualified.provider !== CRD_PROVIDER) {
      problems.push({
        code: "MiddlewareOtherProvider",
        message: `middleware ${reference} comes from Traefik provider '${qualified.provider}', which vigil cannot read`,
      });
      continue;
    }
    const found =
      qualified !== undefined ? findByProviderId(middlewares.items, qualified.id) : undefined;
    if (found !== undefined) out.push(found);
    else if (qualified === undefined)
      problems.push({
        code: "MiddlewareNotFound",
        message: `middleware ${reference} names no provider; Traefik looks it up in the Ingress provider, which defines none`,
      });
    else problems.push(notFound(reference, middlewares));
  }
  const problem = combine(problems);
  return problem !== undefined ? { middlewares: out, problem } : { middlewares: out };
}

/** A path segment in the rule language: `.name`, or `['name']` when it is not a plain word. */
function pathSegment(name: string): string {
  return /^[A-Za-z0-9_-]+$/.test(name) ? `.${name}` : `['${name.replace(/'/g, "''")}']`;
}

/** `joined.entryPoints` and the gaps of entry points vigil's config does not describe. */
export interface EntryPointJoin {
  entryPoints: Record<string, EntryPointConfig>;
  gaps: (JoinProblem & { path: string })[];
}

/**
 * The static configuration of the entry points a router is attached to. `names` absent means
 * Traefik's default: every entry point. An entry point the config does not describe is a gap
 * (`joined.entryPoints.<name>`); with no description at all, the whole `joined.entryPoints`.
 */
export function joinEntryPoints(
  names: readonly string[] | undefined,
  config: Record<string, EntryPointConfig> | undefined,
): EntryPointJoin {
  const known = config !== undefined && Object.keys(config).length > 0 ? config : undefined;
  const entryPoints: Record<string, EntryPointConfig> = {};
  const gaps: EntryPointJoin["gaps"] = [];
  if (names === undefined && known === undefined) {
    gaps.push({
      path: "joined.entryPoints",
      code: "EntryPointUnknown",
      message: "Traefik's entry points are not described in vigil's Traefik configuration",
    });
    return { entryPoints, gaps };
  }
  for (const name of names ?? Object.keys(known ?? {})) {
    const entry = known?.[name];
    if (entry !== undefined) {
      entryPoints[name] = {
        tls: entry.tls,
        ...(entry.redirectsToHttps !== undefined
          ? { redirectsToHttps: entry.redirectsToHttps }
          : {}),
      };
    } else
      gaps.push({
        path: `joined.entryPoints${pathSegment(name)}`,
        code: "EntryPointUnknown",
        message: `entry point '${name}' is not described in vigil's Traefik configuration`,
      });
  }
  return { entryPoints, gaps };
}
