/**
 * The ARM collector's `resources` target against the real emulator: the ids an Event Grid event
 * names re-collect exactly the observations a subscription collection gives their roots, with one
 * GET per root and no Resource Graph query or subscription-wide list.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { createArmCollector, type NewestBlobReader } from "../../../../src/collectors/arm/index.js";
import { createCallPolicy } from "../../../../src/collectors/call-policy.js";
import type { CollectorSettings } from "../../../../src/collectors/types.js";
import type { CollectProgress, Observation, Target } from "../../../../src/core/index.js";
import type { RequestLogEntry, RunningEmulator } from "../../../../src/emulator/index.js";
import {
  emulatorSettings,
  runCollectorContract,
} from "../../../support/contracts/collector-contract.js";
import { startTestEmulator } from "../../../support/emulator.js";

const SEED = "arm-estate";
const PROD = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const STAGING = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a";
const CLUSTER_TYPE = "Microsoft.ContainerService/managedClusters";
const PG_TYPE = "Microsoft.DBforPostgreSQL/flexibleServers";
const ACCOUNT_TYPE = "Microsoft.Storage/storageAccounts";
const CONTAINER_TYPE = "Microsoft.Storage/storageAccounts/blobServices/containers";
const CLUSTER_ID = `/subscriptions/${PROD}/resourceGroups/rg-basic-aks/providers/${CLUSTER_TYPE}/aks-basic-prod`;
const PG_ID = `/subscriptions/${PROD}/resourceGroups/rg-basic-data/providers/${PG_TYPE}/psql-basic-prod`;
const ACCOUNT_ID = `/subscriptions/${PROD}/resourceGroups/rg-basic-storage/providers/${ACCOUNT_TYPE}/stbasicbkpprod`;
const ARCHIVE_ID = `/subscriptions/${PROD}/resourceGroups/rg-basic-archive/providers/${ACCOUNT_TYPE}/stbasicarchive`;

/** A blob reader standing in for the blob data plane (Azurite is not started for this seed). */
const blobReader: NewestBlobReader = {
  async getNewestBlob(account, container) {
    return { name: `${account}/${container}/newest.dump`, lastModified: "2026-11-23T02:00:00Z" };
  },
};

function resources(resourceIds: string[], subscriptionId = PROD): Target {
  return { kind: "resources", subscriptionId, resourceIds };
}

/** Observations without what changes on every collection: the time and failed calls' request ids. */
function stable(observations: Observation[]): unknown[] {
  return observations.map((observation) => {
    const { source, error, gaps, ...rest } = observation;
    const withoutRequestId = <T extends { requestId?: string }>({ requestId: _, ...kept }: T) =>
      kept;
    return {
      ...rest,
      ...(source !== undefined
        ? { source: { api: source.api, apiVersion: source.apiVersion } }
        : {}),
      ...(error !== undefined ? { error: withoutRequestId(error) } : {}),
      ...(gaps !== undefined ? { gaps: gaps.map(withoutRequestId) } : {}),
    };
  });
}

runCollectorContract({
  name: "createArmCollector (resources target)",
  emulatorSeed: SEED,
  api: "arm",
  create: ({ settings }) => createArmCollector(settings, { blobReader }),
  target: () =>
    resources([
      `${CLUSTER_ID}/agentPools/nodepool1`,
      `${PG_ID}/configurations/require_secure_transport`,
      `${ACCOUNT_ID}/blobServices/default/containers/pg-dumps`,
      ARCHIVE_ID,
    ]),
  expectedObservations: 6,
});

describe("createArmCollector with a resources target", () => {
  let emulator: RunningEmulator;
  let full: Observation[];

  beforeAll(async () => {
    emulator = await startTestEmulator(SEED, { blob: false });
    full = await createArmCollector(settingsFor(), { blobReader }).collect(
      { kind: "subscription", subscriptionId: PROD },
      { now: emulator.estate.now },
    );
  });

  function settingsFor(overrides: Partial<CollectorSettings> = {}): CollectorSettings {
    return emulatorSettings(emulator, {
      callPolicy: createCallPolicy({ maxAttempts: 3, initialBackoffInMs: 5, maxBackoffInMs: 40 }),
      ...overrides,
    });
  }

  /** Collects the target and returns the observations with the requests the collection sent. */
  async function collect(
    target: Target,
    overrides: Partial<CollectorSettings> = {},
    onProgress?: (progress: CollectProgress) => void,
  ): Promise<{ observations: Observation[]; requests: RequestLogEntry[] }> {
    const before = emulator.requests.length;
    const observations = await createArmCollector(settingsFor(overrides), { blobReader }).collect(
      target,
      { now: emulator.estate.now, ...(onProgress !== undefined ? { onProgress } : {}) },
    );
    return { observations, requests: emulator.requests.slice(before) };
  }

  const ofRoot = (observations: Observation[], rootId: string) =>
    observations.filter((o) => o.id === rootId || o.id.startsWith(`${rootId}/`));

  it("handles resources targets", () => {
    const collector = createArmCollector(settingsFor(), { blobReader });

    expect(collector.handles(resources([]))).toBe(true);
  });

  it("re-collects a container's account and all its containers as the subscription collection does", async () => {
    const { observations, requests } = await collect(
      resources([`${ACCOUNT_ID}/blobServices/default/containers/pg-dumps`]),
    );

    expect(observations.map((o) => o.type)).toEqual([ACCOUNT_TYPE, CONTAINER_TYPE, CONTAINER_TYPE]);
    expect(stable(observations)).toEqual(stable(ofRoot(full, ACCOUNT_ID)));
    // GET account, GET blob service, list containers (one page), GET each of the two containers.
    expect(requests.map((r) => `${r.method} ${r.path.split("?")[0]}`)).toEqual(
      expect.arrayContaining([
        `GET ${ACCOUNT_ID}`,
        `GET ${ACCOUNT_ID}/blobServices/default`,
        `GET ${ACCOUNT_ID}/blobServices/default/containers`,
        `GET ${ACCOUNT_ID}/blobServices/default/containers/filestore-backups`,
        `GET ${ACCOUNT_ID}/blobServices/default/containers/pg-dumps`,
      ]),
    );
    expect(requests).toHaveLength(5);
  });

  it("re-collects a PostgreSQL server with its joins for a change to one of its configurations", async () => {
    const { observations, requests } = await collect(
      resources([`${PG_ID}/configurations/require_secure_transport`]),
    );

    expect(observations.map((o) => o.id)).toEqual([PG_ID]);
    expect(stable(observations)).toEqual(stable(ofRoot(full, PG_ID)));
    expect(observations[0]?.document).toHaveProperty("joined.backups");
    expect(observations[0]?.document).toHaveProperty("joined.activityLog");
    // GET server, backups (2 pages of 2), the 2 configurations, activity log (4 events, 2 pages).
    expect(requests).toHaveLength(7);
  });

  it("re-collects an agent pool's cluster with one GET", async () => {
    const { observations, requests } = await collect(
      resources([`${CLUSTER_ID}/agentPools/nodepool1`]),
    );

    expect(stable(observations)).toEqual(stable(ofRoot(full, CLUSTER_ID)));
    expect(requests.map((r) => `${r.method} ${r.path.split("?")[0]}`)).toEqual([
      `GET ${CLUSTER_ID}`,
    ]);
  });

  it("collects nothing and calls nothing for resource types vigil does not observe", async () => {
    const { observations, requests } = await collect(
      resources([
        `/subscriptions/${PROD}/resourceGroups/rg-basic-net/providers/Microsoft.Network/virtualNetworks/vnet-basic`,
        `${ACCOUNT_ID}/fileServices/default/shares/filestore`,
        `${ACCOUNT_ID}/providers/Microsoft.Authorization/locks/no-delete`,
        `/subscriptions/${PROD}/resourceGroups/rg-basic-data`,
      ]),
    );

    expect(observations).toEqual([]);
    expect(requests).toEqual([]);
  });

  it("reports a deleted root as an error observation that keeps the 404", async () => {
    const gone = `/subscriptions/${PROD}/resourceGroups/rg-basic-storage/providers/${ACCOUNT_TYPE}/stgone`;

    const { observations, requests } = await collect(
      resources([`${gone}/blobServices/default/containers/pg-dumps`]),
    );

    expect(observations).toEqual([
      {
        id: gone,
        type: ACCOUNT_TYPE,
        scope: PROD,
        source: { api: "arm", apiVersion: "2025-08-01", observedAt: expect.any(String) },
        error: expect.objectContaining({
          statusCode: 404,
          code: "ResourceNotFound",
          requestId: expect.any(String),
        }),
      },
    ]);
    expect(requests).toHaveLength(1);
  });

  it("reads each root once, however many of its resources the event names and in what casing", async () => {
    const { observations, requests } = await collect(
      resources([
        ACCOUNT_ID,
        `${ACCOUNT_ID}/blobServices/default`,
        `${ACCOUNT_ID}/blobServices/default/containers/pg-dumps`,
        ACCOUNT_ID.replace("Microsoft.Storage/storageAccounts", "microsoft.storage/STORAGEACCOUNTS")
          .replace("resourceGroups", "resourcegroups")
          .concat("/blobServices/default/containers/filestore-backups"),
      ]),
    );

    expect(stable(observations)).toEqual(stable(ofRoot(full, ACCOUNT_ID)));
    expect(requests).toHaveLength(5);
  });

  it("re-collects several roots in the subscription collection's order, without Resource Graph or lists", async () => {
    const { observations, requests } = await collect(
      resources([
        `${ACCOUNT_ID}/blobServices/default/containers/pg-dumps`,
        ARCHIVE_ID,
        `${PG_ID}/firewallRules/office`,
        `${CLUSTER_ID}/agentPools/nodepool1`,
      ]),
      // Resource Graph is on: a resources target must not use it all the same.
      { useResourceGraph: true },
    );

    expect(stable(observations)).toEqual(stable(full));
    expect(requests.filter((r) => r.api !== "arm")).toEqual([]);
    // No subscription-wide list: every ARM request is under a resource group, except the
    // activity-log query (its two pages), which is subscription-level but filtered to the server.
    const outsideGroups = requests
      .filter((r) => !/^\/subscriptions\/[^/]+\/resourceGroups\//i.test(r.path))
      .map((r) => decodeURIComponent(r.path));
    expect(outsideGroups).toEqual([
      expect.stringContaining(`resourceUri eq '${PG_ID}'`),
      expect.stringContaining(`resourceUri eq '${PG_ID}'`),
    ]);
    // cluster 1 + server 7 + account with two containers 5 + archive account without any 3.
    expect(requests).toHaveLength(16);
  });

  it("keeps the join's gaps as the subscription collection does", async () => {
    emulator.setFaults([{ api: "arm", path: "/backups$", kind: "error", status: 403 }]);
    let fullWithGap: Observation[];
    let observations: Observation[];
    try {
      fullWithGap = (
        await collect({ kind: "subscription", subscriptionId: PROD }, { useResourceGraph: false })
      ).observations;
      ({ observations } = await collect(resources([`${PG_ID}/administrators/x`])));
    } finally {
      emulator.setFaults([]);
    }

    expect(observations[0]?.gaps).toEqual([
      expect.objectContaining({ path: "joined.backups", statusCode: 403 }),
    ]);
    expect(stable(observations)).toEqual(stable(ofRoot(fullWithGap, PG_ID)));
  });

  it("applies the resource group filter before calling and the tag filter to the body", async () => {
    const { observations, requests } = await collect(
      resources([`${CLUSTER_ID}/agentPools/nodepool1`, PG_ID]),
      { resourceGroups: ["RG-BASIC-DATA"], tags: { Environment: "nonexistent" } },
    );

    expect(observations).toEqual([]);
    expect(requests.map((r) => r.path.split("?")[0])).toEqual([PG_ID]);
  });

  it("reports each root it read as progress", async () => {
    const progress: CollectProgress[] = [];

    await collect(resources([`${CLUSTER_ID}/agentPools/nodepool1`]), {}, (p) => progress.push(p));

    expect(progress).toEqual([
      { target: `resources:${PROD}`, message: `got ${CLUSTER_TYPE} aks-basic-prod` },
    ]);
  });

  it("refuses an id outside the target's subscription before any call", async () => {
    const before = emulator.requests.length;
    const staging = `/subscriptions/${STAGING}/resourceGroups/rg-basic-data-stg/providers/${PG_TYPE}/psql-basic-staging`;

    await expect(
      createArmCollector(settingsFor(), { blobReader }).collect(resources([PG_ID, staging]), {
        now: emulator.estate.now,
      }),
    ).rejects.toThrow(RangeError);
    expect(emulator.requests.length).toBe(before);
  });
});

describe("createArmCollector with a resources target over the demo estate", () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startTestEmulator("estates/demo", { blob: false });
  });

  it.each([
    // The file-store account has no blob service in the seed (404).
    [
      "production",
      "daa9e34f-fc7d-46c9-bee8-a67739d9ef7a",
      [["sthfwfilestoreprod", "joined.blobService", 404]],
    ],
    // The demo estate refuses the staging account's blob service (a 403 fault in estate.json).
    [
      "staging",
      "af350284-b884-4fc5-ae9f-f426eb319a08",
      [["sthfwerpbkpstg", "joined.blobService", 403]],
    ],
  ])(
    "re-collecting every %s resource gives the subscription collection, gaps included",
    async (_name, subscriptionId, gaps) => {
      const collector = createArmCollector(emulatorSettings(emulator), { blobReader });
      const full = await collector.collect(
        { kind: "subscription", subscriptionId },
        { now: emulator.estate.now },
      );

      const observations = await collector.collect(
        resources(
          full.map((o) => o.id),
          subscriptionId,
        ),
        { now: emulator.estate.now },
      );

      expect(full.filter((o) => o.error !== undefined)).toEqual([]);
      expect(
        observations.flatMap((o) =>
          (o.gaps ?? []).map((g) => [o.id.split("/").at(-1), g.path, g.statusCode]),
        ),
      ).toEqual(gaps);
      expect(stable(observations)).toEqual(stable(full));
    },
  );
});
