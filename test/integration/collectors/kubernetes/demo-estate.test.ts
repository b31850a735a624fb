/**
 * The Kubernetes collector against the emulator serving the demo estate: what it collects must
 * equal the demo's hand-written snapshot (docs/observations.md shapes), and it never asks for a
 * Secret.
 */
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createCallPolicy } from "../../../../src/collectors/call-policy.js";
import {
  createKubernetesCollector,
  tlsTargetsOf,
} from "../../../../src/collectors/kubernetes/index.js";
import type { CollectorSettings } from "../../../../src/collectors/types.js";
import {
  type ClusterTarget,
  cloudEndpoints,
  type Observation,
} from "../../../../src/core/index.js";
import type { RunningEmulator } from "../../../../src/emulator/index.js";
import {
  emulatorCredential,
  emulatorRequest,
  startTestEmulator,
} from "../../../support/emulator.js";

const DEMO = join(import.meta.dirname, "../../../../estates/demo");
const SUBSCRIPTIONS: Record<string, { subscriptionId: string; resourceGroup: string }> = {
  "aks-hfw-prod": {
    subscriptionId: "daa9e34f-fc7d-46c9-bee8-a67739d9ef7a",
    resourceGroup: "rg-hfw-erp-aks-prod",
  },
  "aks-hfw-staging": {
    subscriptionId: "af350284-b884-4fc5-ae9f-f426eb319a08",
    resourceGroup: "rg-hfw-erp-aks-staging",
  },
};

function settingsFor(emulator: RunningEmulator): CollectorSettings {
  return {
    cloud: cloudEndpoints("AzurePublicCloud", {
      arm: emulator.armEndpoint,
      graph: emulator.graphEndpoint,
    }),
    credential: emulatorCredential(emulator),
    apiCaPem: [emulator.caPem],
    activityLogDays: 90,
    traefik: {
      entryPoints: { "*": { web: { tls: false }, websecure: { tls: true } } },
      allowCrossNamespace: { "*": false },
    },
    useResourceGraph: false,
    callPolicy: createCallPolicy({ initialBackoffInMs: 5, maxBackoffInMs: 20 }),
  };
}

function aksTarget(name: string): ClusterTarget {
  const { subscriptionId, resourceGroup } = SUBSCRIPTIONS[name] as {
    subscriptionId: string;
    resourceGroup: string;
  };
  return {
    kind: "aks",
    name,
    subscriptionId,
    resourceId: `/subscriptions/${subscriptionId}/resourceGroups/${resourceGroup}/providers/Microsoft.ContainerService/managedClusters/${name}`,
  };
}

function snapshotOf(cluster: string): Observation[] {
  return ["namespaces", "ingressroutes", "ingresses"].flatMap((folder) =>
    readdirSync(join(DEMO, "snapshot", folder))
      .filter((f) => f.startsWith(`${cluster}--`))
      .map(
        (f) => JSON.parse(readFileSync(join(DEMO, "snapshot", folder, f), "utf8")) as Observation,
      ),
  );
}

/**
 * Observations without what the emulator assigns itself (the time, resourceVersion) and with
 * joined lists in name order, sorted by id.
 */
function comparable(observations: readonly Observation[]): Observation[] {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) {
      const items = value.map(strip);
      const named = items.every(
        (i) => typeof (i as { metadata?: { name?: unknown } })?.metadata?.name === "string",
      );
      return named && items.length > 1
        ? [...items].sort((a, b) =>
            String((a as { metadata: { name: string } }).metadata.name).localeCompare(
              String((b as { metadata: { name: string } }).metadata.name),
            ),
          )
        : items;
    }
    if (typeof value !== "object" || value === null) return value;
    return Object.fromEntries(
      Object.entries(value)
        .filter(([key]) => key !== "resourceVersion")
        .map(([key, v]) =>
          // The seed widens some policies beyond the snapshot's copy: compare which ones, by name.
          key === "networkPolicies" && Array.isArray(v)
            ? [key, v.map((p) => (p as { metadata: { name: string } }).metadata.name).sort()]
            : [key, strip(v)],
        ),
    );
  };
  return observations
    .map((o) => strip({ ...o, source: { ...o.source, observedAt: "-" } }) as Observation)
    .sort((a, b) => a.id.localeCompare(b.id));
}

describe("createKubernetesCollector over the demo estate", () => {
  let emulator: RunningEmulator;
  const collected: Record<string, Observation[]> = {};

  beforeAll(async () => {
    emulator = await startTestEmulator(DEMO);
    const collector = createKubernetesCollector(settingsFor(emulator), {
      connect: async (cluster) => ({
        server: emulator.kubernetes[cluster.name]?.server as string,
        caPem: emulator.caPem,
      }),
      clusterResource: async (cluster) =>
        (await emulatorRequest(emulator, `${cluster.resourceId}?api-version=2026-04-01`)).json,
    });
    for (const name of Object.keys(SUBSCRIPTIONS))
      collected[name] = await collector.collect(
        { kind: "cluster", cluster: aksTarget(name) },
        { now: emulator.estate.now },
      );
  });

  it.each(Object.keys(SUBSCRIPTIONS))("reproduces the demo snapshot of %s", (cluster) => {
    const expected = comparable(snapshotOf(cluster));
    const ids = new Set(expected.map((o) => o.id));

    const actual = comparable(collected[cluster] ?? []);

    // The seed may hold more objects than the snapshot hand-picks; every snapshot one must match.
    expect(actual.filter((o) => ids.has(o.id))).toEqual(expected);
  });

  it("never requests a Secret", () => {
    const kubernetes = emulator.requests.filter((r) => r.api === "kubernetes");

    expect(kubernetes.length).toBeGreaterThan(0);
    expect(kubernetes.filter((r) => /secrets/i.test(r.path))).toEqual([]);
    expect(kubernetes.filter((r) => r.method !== "GET")).toEqual([]);
  });

  it("derives the TLS endpoints of the Traefik routes at the Traefik Service", () => {
    const targets = tlsTargetsOf(collected["aks-hfw-prod"] ?? []);

    expect(targets.map((t) => t.sni).sort()).toEqual(
      expect.arrayContaining(["edi.hollinsford.example", "erp.hollinsford.example"]),
    );
    for (const target of targets) {
      // The seeded Service's own address and port: the same on every run.
      expect(target).toMatchObject({ host: "10.61.4.10", port: 443, set: "aks-hfw-prod" });
    }
    expect(emulator.connectTo).toEqual({
      "10.61.4.10:443": expect.stringMatching(/^127\.0\.0\.1:\d+$/),
      "203.0.113.77:443": expect.stringMatching(/^127\.0\.0\.1:\d+$/),
    });
  });
});
