/** The Kubernetes resource table: known plurals, guessed plurals and scope of seeded kinds. */

import { describe, expect, it } from "vitest";
import {
  guessPlural,
  parseApiVersion,
  ResourceTable,
} from "../../../src/emulator/kubernetes-resources.js";

describe("guessPlural", () => {
  it.each([
    ["Certificate", "certificates"],
    ["ClusterPolicy", "clusterpolicies"],
    ["Gateway", "gateways"],
    ["ClusterIngress", "clusteringresses"],
    ["Proxy", "proxies"],
  ])("turns %s into %s", (kind, plural) => {
    expect(guessPlural(kind)).toBe(plural);
  });
});

describe("parseApiVersion", () => {
  it("puts v1 in the core group and splits grouped versions", () => {
    expect(parseApiVersion("v1")).toEqual({ group: "", version: "v1" });
    expect(parseApiVersion("traefik.io/v1alpha1")).toEqual({
      group: "traefik.io",
      version: "v1alpha1",
    });
  });
});

describe("ResourceTable", () => {
  it("knows the Traefik CRD plurals in both groups without any seeded object", () => {
    const table = new ResourceTable([]);

    for (const group of ["traefik.io", "traefik.containo.us"]) {
      expect(table.byPlural(group, "v1alpha1", "ingressroutetcps")?.kind).toBe("IngressRouteTCP");
      expect(table.byPlural(group, "v1alpha1", "tlsoptions")?.kind).toBe("TLSOption");
      expect(table.byPlural(group, "v1alpha1", "middlewares")?.kind).toBe("Middleware");
    }
    expect(table.byPlural("networking.k8s.io", "v1", "networkpolicies")?.namespaced).toBe(true);
    expect(table.byPlural("", "v1", "namespaces")?.namespaced).toBe(false);
  });

  it("adds seeded kinds, scoped by whether any object names a namespace", () => {
    const table = new ResourceTable([
      { apiVersion: "example.com/v1", kind: "Widget", hasNamespace: false },
      { apiVersion: "example.com/v1", kind: "Widget", hasNamespace: true },
      { apiVersion: "example.com/v1", kind: "ClusterGadget", hasNamespace: false },
    ]);

    expect(table.byPlural("example.com", "v1", "widgets")?.namespaced).toBe(true);
    expect(table.byPlural("example.com", "v1", "clustergadgets")?.namespaced).toBe(false);
    expect(table.groups.find((g) => g.name === "example.com")?.versions).toEqual(["v1"]);
  });

  it("serves a known kind at another version a seed uses, keeping the preferred one first", () => {
    const table = new ResourceTable([
      { apiVersion: "networking.k8s.io/v1beta1", kind: "Ingress", hasNamespace: true },
    ]);

    expect(table.byPlural("networking.k8s.io", "v1beta1", "ingresses")?.kind).toBe("Ingress");
    expect(table.groups.find((g) => g.name === "networking.k8s.io")?.versions).toEqual([
      "v1",
      "v1beta1",
    ]);
  });
});
