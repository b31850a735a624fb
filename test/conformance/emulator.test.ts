/**
 * The emulator's answers have the official shapes: each seeded example body comes back exactly,
 * ARM lists are `{ value, nextLink? }`, Graph lists `{ value, @odata.nextLink? }`, Kubernetes
 * lists `{ kind: "<Kind>List", apiVersion, metadata, items }`, and an example list request (its
 * path and query) answers the example's items with the example's top-level and item keys. Runs
 * only when ../shared/fixtures exists.
 */

import { existsSync } from "node:fs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../src/emulator/index.js";
import { emulatorRequest, startTestEmulator } from "../support/emulator.js";
import {
  buildSharedFixtureSeed,
  emptySharedFixtureSeed,
  exampleParameters,
  type KubeManifest,
  type ListExample,
  type PlacedArmBody,
  SHARED_FIXTURES_DIR,
  type SharedFixtureSeed,
} from "../support/shared-fixtures-seed.js";

const fixturesPresent = existsSync(SHARED_FIXTURES_DIR);

/** Cluster-scoped kinds among the seeded manifests. */
const CLUSTER_SCOPED = new Set(["Namespace"]);

function apiVersionOf(fixture: string): string {
  if (fixture.startsWith("msgraph/")) return "";
  return String(exampleParameters(SHARED_FIXTURES_DIR, fixture)["api-version"]);
}

function url(path: string, query: Record<string, string>, apiVersion: string): string {
  const params = new URLSearchParams(query);
  if (apiVersion !== "") params.set("api-version", apiVersion);
  const search = params.toString();
  return search === "" ? path : `${path}?${search}`;
}

function sortedKeys(value: unknown): string[] {
  return Object.keys(value as object).sort();
}

/** The plural resource name of a kind, as Kubernetes derives it. */
function plural(kind: string): string {
  const lower = kind.toLowerCase();
  if (lower.endsWith("s")) return `${lower}es`;
  if (lower.endsWith("y")) return `${lower.slice(0, -1)}ies`;
  return `${lower}s`;
}

/** An object as the API server returns it, without the fields the server fills in. */
function asWritten(object: unknown): Record<string, unknown> {
  const { metadata, ...rest } = object as KubeManifest;
  const { uid: _uid, resourceVersion: _rv, creationTimestamp: _ct, ...kept } = metadata;
  return { ...rest, metadata: kept };
}

/** A manifest as the API server stores it: namespaced objects get `default` when they name none. */
function asStored(manifest: KubeManifest): Record<string, unknown> {
  if (CLUSTER_SCOPED.has(manifest.kind) || manifest.metadata.namespace !== undefined) {
    return manifest;
  }
  return { ...manifest, metadata: { ...manifest.metadata, namespace: "default" } };
}

function collectionPath(manifest: KubeManifest, namespace?: string): string {
  const base = manifest.apiVersion.includes("/")
    ? `/apis/${manifest.apiVersion}`
    : `/api/${manifest.apiVersion}`;
  return `${base}${namespace !== undefined ? `/namespaces/${namespace}` : ""}/${plural(manifest.kind)}`;
}

function armLabel(placed: PlacedArmBody): string {
  return `${placed.path} (${placed.fixture.replace(/^azure-rest-api-specs\//, "")}${placed.pointer.replace("responses.200.body", "")})`;
}

describe.runIf(fixturesPresent)("emulator answers in the official shapes", () => {
  const seed: SharedFixtureSeed = fixturesPresent
    ? buildSharedFixtureSeed(SHARED_FIXTURES_DIR)
    : emptySharedFixtureSeed();
  // The same seed paged one item at a time: list examples that carry a next link.
  const paged: SharedFixtureSeed = fixturesPresent
    ? buildSharedFixtureSeed(SHARED_FIXTURES_DIR, { pageSize: 1 })
    : emptySharedFixtureSeed();
  let emulator: RunningEmulator;
  let pagedEmulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startTestEmulator(seed.dir, { blob: false });
    pagedEmulator = await startTestEmulator(paged.dir, { blob: false });
  }, 60_000);

  afterAll(() => {
    seed.remove();
    paged.remove();
  });

  it.each(seed.arm.map((p) => [armLabel(p), p] as const))(
    "GET %s answers the example body exactly",
    async (_label, placed) => {
      const response = await emulatorRequest(
        emulator,
        url(placed.path, {}, apiVersionOf(placed.fixture)),
      );

      expect(response.status).toBe(200);
      expect(response.json).toStrictEqual(placed.body);
    },
  );

  it.each(seed.graph.map((g) => [`/graph${g.path}`, g] as const))(
    "GET %s answers the Graph example body exactly",
    async (path, graph) => {
      const response = await emulatorRequest(emulator, path);

      expect(response.status).toBe(200);
      expect(response.json).toStrictEqual(graph.body);
    },
  );

  it.each(seed.lists.map((l) => [l.fixture, l] as const))(
    "lists the items of %s with the example's top-level and item keys",
    async (_fixture, list) => {
      const nextKey = list.api === "graph" ? "@odata.nextLink" : "nextLink";
      const response = await emulatorRequest(
        emulator,
        url(list.path, list.query, apiVersionOf(list.fixture)),
      );
      const body = response.json as ListExample["body"];

      expect(response.status).toBe(200);
      // Unpaged, the answer has the example's keys except the link to a next page.
      expect(sortedKeys(body)).toEqual(sortedKeys(list.body).filter((k) => k !== nextKey));
      expect(body.value).toStrictEqual(list.body.value);
      body.value.forEach((item, index) => {
        expect(sortedKeys(item)).toEqual(sortedKeys(list.body.value[index]));
      });
    },
  );

  it.each(seed.lists.filter((l) => l.body.value.length > 1).map((l) => [l.fixture, l] as const))(
    "pages the items of %s with a next link and the example's keys",
    async (_fixture, list) => {
      const nextKey = list.api === "graph" ? "@odata.nextLink" : "nextLink";
      const items: unknown[] = [];
      const pages: Record<string, unknown>[] = [];
      let next: string | undefined = url(list.path, list.query, apiVersionOf(list.fixture));
      while (next !== undefined && pages.length <= list.body.value.length) {
        const response = await emulatorRequest(pagedEmulator, next);
        expect(response.status).toBe(200);
        const page = response.json as ListExample["body"];
        pages.push(page);
        items.push(...page.value);
        next = typeof page[nextKey] === "string" ? (page[nextKey] as string) : undefined;
      }

      const first = pages[0] ?? {};

      expect(sortedKeys(first)).toEqual(
        [...new Set([...sortedKeys(list.body), nextKey])].sort((a, b) => (a < b ? -1 : 1)),
      );
      expect(new URL(String(first[nextKey])).origin).toBe(
        new URL(pagedEmulator.armEndpoint).origin,
      );
      expect(pages).toHaveLength(list.body.value.length);
      expect(items).toStrictEqual(list.body.value);
    },
  );

  const kinds = seed.clusters.flatMap((cluster) => {
    const manifests = [
      ...cluster.synthetic.map((s) => s.manifest),
      ...cluster.objects.map((o) => o.manifest),
    ];
    const byType = new Map<string, KubeManifest[]>();
    for (const manifest of manifests) {
      const key = `${manifest.apiVersion} ${manifest.kind}`;
      byType.set(key, [...(byType.get(key) ?? []), manifest]);
    }
    return [...byType].map(
      ([key, items]) => [`${cluster.name}: ${key}`, cluster.name, items] as const,
    );
  });

  it.each(kinds)("lists %s as a <Kind>List of the manifests", async (_label, cluster, items) => {
    const sample = items[0] as KubeManifest;
    const expected = items.map(asStored).sort((a, b) => {
      const key = (m: Record<string, unknown>) => {
        const metadata = (m as KubeManifest).metadata;
        return `${metadata.namespace ?? ""}/${metadata.name}`;
      };
      return key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0;
    });

    const response = await emulatorRequest(emulator, `/k8s/${cluster}${collectionPath(sample)}`);
    const body = response.json as {
      kind: string;
      apiVersion: string;
      metadata: { resourceVersion?: unknown };
      items: unknown[];
    };

    expect(response.status).toBe(200);
    expect(sortedKeys(body)).toEqual(["apiVersion", "items", "kind", "metadata"]);
    expect(body.kind).toBe(`${sample.kind}List`);
    expect(body.apiVersion).toBe(sample.apiVersion);
    expect(typeof body.metadata.resourceVersion).toBe("string");
    expect(body.items.map(asWritten)).toStrictEqual(expected);
    for (const item of body.items) {
      const metadata = (item as KubeManifest).metadata;
      expect(typeof metadata.uid).toBe("string");
      expect(typeof metadata.resourceVersion).toBe("string");
      expect(typeof metadata.creationTimestamp).toBe("string");
    }
  });

  const objects = seed.clusters.flatMap((cluster) =>
    cluster.objects.map(
      (o) =>
        [
          `${cluster.name} ${o.manifest.kind} ${o.manifest.metadata.name} (${o.fixture} #${o.document})`,
          cluster.name,
          o.manifest,
        ] as const,
    ),
  );

  it.each(objects)("GET of %s answers the manifest", async (_label, cluster, manifest) => {
    const namespace = CLUSTER_SCOPED.has(manifest.kind)
      ? undefined
      : (manifest.metadata.namespace ?? "default");

    const response = await emulatorRequest(
      emulator,
      `/k8s/${cluster}${collectionPath(manifest, namespace)}/${manifest.metadata.name}`,
    );

    expect(response.status).toBe(200);
    expect(asWritten(response.json)).toStrictEqual(asStored(manifest));
  });
});
