/** Unit tests of how Traefik resolves TLS options, middlewares and entry points. */
import { describe, expect, it } from "vitest";
import {
  joinEntryPoints,
  resolveIngressMiddlewares,
  resolveRouteMiddlewares,
  resolveTlsOption,
} from "../../../../src/collectors/kubernetes/traefik-joins.js";
import type { KubeObject } from "../../../../src/collectors/kubernetes/types.js";

function tlsOption(namespace: string, name: string, spec: Record<string, unknown>): KubeObject {
  return {
    apiVersion: "traefik.io/v1alpha1",
    kind: "TLSOption",
    metadata: { name, namespace },
    spec,
  };
}

function middleware(namespace: string, name: string): KubeObject {
  return {
    apiVersion: "traefik.io/v1alpha1",
    kind: "Middleware",
    metadata: { name, namespace },
    spec: { headers: { frameDeny: true } },
  };
}

function route(tls: Record<string, unknown> | undefined, namespace = "odoo-prod"): KubeObject {
  return {
    apiVersion: "traefik.io/v1alpha1",
    kind: "IngressRoute",
    metadata: { name: "odoo-web", namespace },
    spec: { entryPoints: ["websecure"], routes: [], ...(tls !== undefined ? { tls } : {}) },
  };
}

const MODERN = tlsOption("odoo-prod", "modern-tls", { minVersion: "VersionTLS12" });
const TRAEFIK_MODERN = tlsOption("traefik", "modern-tls", { minVersion: "VersionTLS13" });
const DEFAULT_TRAEFIK = tlsOption("traefik", "default", { minVersion: "VersionTLS13" });
const DEFAULT_OTHER = tlsOption("odoo-prod", "default", { minVersion: "VersionTLS10" });
const FORBIDDEN = {
  code: "Forbidden",
  message: "tlsoptions.traefik.io is forbidden",
  statusCode: 403,
};

describe("resolveTlsOption", () => {
  it("is undefined when the route has no spec.tls", () => {
    expect(resolveTlsOption(route(undefined), { items: [MODERN] }, false)).toBeUndefined();
  });

  it.each([
    [
      "explicit: a TLSOption in the route's namespace",
      { options: { name: "modern-tls" } },
      [MODERN],
      false,
      {
        resolution: "explicit",
        name: "modern-tls",
        namespace: "odoo-prod",
        spec: { minVersion: "VersionTLS12" },
      },
    ],
    [
      "missing: the reference names no TLSOption",
      { options: { name: "odoo-tls-strict" } },
      [MODERN],
      false,
      { resolution: "missing", name: "odoo-tls-strict", namespace: "odoo-prod", spec: null },
    ],
    [
      "cross-namespace-denied: another namespace without allowCrossNamespace",
      { options: { name: "modern-tls", namespace: "traefik" } },
      [TRAEFIK_MODERN],
      false,
      {
        resolution: "cross-namespace-denied",
        name: "modern-tls",
        namespace: "traefik",
        spec: null,
      },
    ],
    [
      "explicit across namespaces when allowCrossNamespace is on",
      { options: { name: "modern-tls", namespace: "traefik" } },
      [TRAEFIK_MODERN],
      true,
      {
        resolution: "explicit",
        name: "modern-tls",
        namespace: "traefik",
        spec: { minVersion: "VersionTLS13" },
      },
    ],
    [
      "default: no reference and one TLSOption named default",
      { secretName: "erp-tls" },
      [MODERN, DEFAULT_TRAEFIK],
      false,
      {
        resolution: "default",
        name: "default",
        namespace: "traefik",
        spec: { minVersion: "VersionTLS13" },
      },
    ],
    [
      "builtin-default: no reference and no default",
      { secretName: "erp-tls" },
      [MODERN],
      false,
      {
        resolution: "builtin-default",
        name: null,
        namespace: null,
        spec: { minVersion: "VersionTLS12" },
      },
    ],
    [
      "builtin-default: default defined in several namespaces is dropped by Traefik",
      {},
      [DEFAULT_TRAEFIK, DEFAULT_OTHER],
      false,
      {
        resolution: "builtin-default",
        name: null,
        namespace: null,
        spec: { minVersion: "VersionTLS12" },
      },
    ],
    [
      "missing: an explicit reference by name never reaches a TLSOption named default",
      { options: { name: "default", namespace: "traefik" } },
      [DEFAULT_TRAEFIK],
      true,
      { resolution: "missing", name: "default", namespace: "traefik", spec: null },
    ],
    [
      "explicit: the <namespace>-<name>@kubernetescrd form with allowCrossNamespace",
      { options: { name: "traefik-modern-tls@kubernetescrd" } },
      [TRAEFIK_MODERN],
      true,
      {
        resolution: "explicit",
        name: "modern-tls",
        namespace: "traefik",
        spec: { minVersion: "VersionTLS13" },
      },
    ],
    [
      "cross-namespace-denied: an @kubernetescrd id naming the route's own namespace while allowCrossNamespace is off",
      { options: { name: "odoo-prod-modern-tls@kubernetescrd" } },
      [MODERN],
      false,
      {
        resolution: "cross-namespace-denied",
        name: "odoo-prod-modern-tls@kubernetescrd",
        namespace: null,
        spec: null,
      },
    ],
    [
      "cross-namespace-denied: an @kubernetescrd id whose namespace field is the route's own while allowCrossNamespace is off",
      { options: { name: "odoo-prod-modern-tls@kubernetescrd", namespace: "odoo-prod" } },
      [MODERN],
      false,
      {
        resolution: "cross-namespace-denied",
        name: "odoo-prod-modern-tls@kubernetescrd",
        namespace: null,
        spec: null,
      },
    ],
    [
      "missing: an @kubernetescrd id that matches nothing",
      { options: { name: "traefik-nothing@kubernetescrd" } },
      [TRAEFIK_MODERN],
      true,
      { resolution: "missing", name: "traefik-nothing@kubernetescrd", namespace: null, spec: null },
    ],
  ])("resolves %s", (_case, tls, items, allowCrossNamespace, expected) => {
    const result = resolveTlsOption(route(tls), { items }, allowCrossNamespace);

    expect(result).toEqual({ value: expected });
  });

  it("reports a problem, not builtin-default, when a TLSOption list failed and no reference is given", () => {
    const result = resolveTlsOption(route({}), { items: [], failure: FORBIDDEN }, false);

    expect(result).toEqual({ problem: FORBIDDEN });
  });

  it("still resolves an explicit reference found in the groups that answered", () => {
    const result = resolveTlsOption(
      route({ options: { name: "modern-tls" } }),
      { items: [MODERN], failure: FORBIDDEN },
      false,
    );

    expect(result?.value?.resolution).toBe("explicit");
  });

  it("reports a problem, not missing, when the reference is not found and a list failed", () => {
    const result = resolveTlsOption(
      route({ options: { name: "other" } }),
      { items: [MODERN], failure: FORBIDDEN },
      false,
    );

    expect(result).toEqual({ problem: FORBIDDEN });
  });

  it.each([[{ name: "strict@file" }], [{ name: "strict@file", namespace: "traefik" }]])(
    "reports a problem, not cross-namespace-denied, for a TLS option of another Traefik provider (%o)",
    (options) => {
      const result = resolveTlsOption(route({ options }), { items: [] }, false);

      expect(result).toEqual({
        problem: expect.objectContaining({ code: "TlsOptionOtherProvider" }),
      });
    },
  );
});

describe("resolveRouteMiddlewares", () => {
  const items = [middleware("odoo-prod", "security-headers"), middleware("traefik", "auth")];

  it("resolves references in the route's namespace, in order", () => {
    const join = resolveRouteMiddlewares(
      [{ name: "security-headers" }],
      "odoo-prod",
      { items },
      false,
    );

    expect(join).toEqual({ middlewares: [items[0]] });
  });

  it("leaves an unresolved reference out and reports it", () => {
    const join = resolveRouteMiddlewares(
      [{ name: "security-headers" }, { name: "redirect-https" }],
      "odoo-prod",
      { items },
      false,
    );

    expect(join.middlewares).toEqual([items[0]]);
    expect(join.problem).toEqual({
      code: "MiddlewareNotFound",
      message: "middleware odoo-prod/redirect-https does not exist",
    });
  });

  it("refuses another namespace without allowCrossNamespace and resolves it with", () => {
    const references = [{ name: "auth", namespace: "traefik" }];

    const denied = resolveRouteMiddlewares(references, "odoo-prod", { items }, false);
    const allowed = resolveRouteMiddlewares(references, "odoo-prod", { items }, true);

    expect(denied.problem?.code).toBe("MiddlewareCrossNamespaceDenied");
    expect(allowed).toEqual({ middlewares: [items[1]] });
  });

  it("resolves the <namespace>-<name>@kubernetescrd form only with allowCrossNamespace", () => {
    const references = [{ name: "traefik-auth@kubernetescrd" }];

    expect(resolveRouteMiddlewares(references, "odoo-prod", { items }, true)).toEqual({
      middlewares: [items[1]],
    });
    expect(resolveRouteMiddlewares(references, "odoo-prod", { items }, false).problem?.code).toBe(
      "MiddlewareCrossNamespaceDenied",
    );
  });

  it("carries the list failure when a reference may sit in a group that failed", () => {
    const join = resolveRouteMiddlewares(
      [{ name: "dashboard-auth" }],
      "traefik",
      { items, failure: FORBIDDEN },
      false,
    );

    expect(join.middlewares).toEqual([]);
    expect(join.problem).toMatchObject({ code: "Forbidden", statusCode: 403 });
  });
});

describe("resolveIngressMiddlewares", () => {
  const items = [
    middleware("monitoring", "office-allowlist"),
    middleware("odoo-prod", "security-headers"),
  ];
  const ingress = (value: string): KubeObject => ({
    metadata: {
      name: "grafana",
      namespace: "monitoring",
      annotations: { "traefik.ingress.kubernetes.io/router.middlewares": value },
    },
  });

  it("resolves <namespace>-<name>@kubernetescrd entries, trimming spaces", () => {
    const join = resolveIngressMiddlewares(
      ingress(
        "monitoring-office-allowlist@kubernetescrd, odoo-prod-security-headers@kubernetescrd",
      ),
      { items },
    );

    expect(join).toEqual({ middlewares: items });
  });

  it("reports entries that resolve to nothing", () => {
    const join = resolveIngressMiddlewares(ingress("monitoring-missing@kubernetescrd"), { items });

    expect(join).toEqual({
      middlewares: [],
      problem: {
        code: "MiddlewareNotFound",
        message: "middleware monitoring-missing@kubernetescrd does not exist",
      },
    });
  });

  it("has no middlewares and no problem without the annotation", () => {
    expect(resolveIngressMiddlewares({ metadata: { name: "x" } }, { items })).toEqual({
      middlewares: [],
    });
  });
});

describe("joinEntryPoints", () => {
  const config = { web: { tls: false, redirectsToHttps: true }, websecure: { tls: true } };

  it("joins the named entry points", () => {
    expect(joinEntryPoints(["websecure"], config)).toEqual({
      entryPoints: { websecure: { tls: true } },
      gaps: [],
    });
  });

  it("takes every configured entry point when the route names none", () => {
    expect(joinEntryPoints(undefined, config).entryPoints).toEqual(config);
  });

  it("records an unknown entry point as a gap", () => {
    expect(joinEntryPoints(["web-internal"], config)).toEqual({
      entryPoints: {},
      gaps: [
        {
          path: "joined.entryPoints.web-internal",
          code: "EntryPointUnknown",
          message: "entry point 'web-internal' is not described in vigil's Traefik configuration",
        },
      ],
    });
  });

  it("records the whole join as a gap when no entry point is configured and none is named", () => {
    expect(joinEntryPoints(undefined, {}).gaps.map((g) => g.path)).toEqual(["joined.entryPoints"]);
  });
});
