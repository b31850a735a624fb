/** The ARM collector against the real emulator: wire shapes, paging, faults, Resource Graph, filters. */

import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createArmCollector, type NewestBlobReader } from "../../../../src/collectors/arm/index.js";
import { createCallPolicy } from "../../../../src/collectors/call-policy.js";
import type { CollectorSettings } from "../../../../src/collectors/types.js";
import type { Observation } from "../../../../src/core/index.js";
import type { FaultRule, RunningEmulator } from "../../../../src/emulator/index.js";
import {
  comparable,
  emulatorSettings,
  runCollectorContract,
} from "../../../support/contracts/collector-contract.js";
import { seedPath, startTestEmulator } from "../../../support/emulator.js";

const SEED = "arm-estate";
const PROD = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const PG_TYPE = "Microsoft.DBforPostgreSQL/flexibleServers";
const PG_ID = `/subscriptions/${PROD}/resourceGroups/rg-basic-data/providers/${PG_TYPE}/psql-basic-prod`;

/** A blob reader standing in for the blob data plane (Azurite is not part of this seed). */
const blobReader: NewestBlobReader = {
  async getNewestBlob(account, container) {
    return { name: `${account}/${container}/newest.dump`, lastModified: "2026-11-23T02:00:00Z" };
  },
};

runCollectorContract({
  name: "createArmCollector",
  emulatorSeed: SEED,
  api: "arm",
  create: ({ settings }) => createArmCollector(settings, { blobReader }),
  target: () => ({ kind: "subscription", subscriptionId: PROD }),
  expectedObservations: 6,
});

function readSeed(armPath: string): Record<string, unknown> {
  return JSON.parse(readFileSync(join(seedPath(SEED), "arm", `${armPath}.json`), "utf8"));
}

function readSeedFolder(armPath: string): Record<string, unknown>[] {
  const dir = join(seedPath(SEED), "arm", armPath);
  return readdirSync(dir)
    .filter((file) => file.endsWith(".json"))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(dir, file), "utf8")));
}

function withoutJoined(observation: Observation | undefined): unknown {
  const { joined: _joined, ...body } = (observation?.document ?? {}) as Record<string, unknown>;
  return body;
}

function joinedOf(observation: Observation | undefined): Record<string, unknown> {
  return ((observation?.document as { joined?: Record<string, unknown> } | undefined)?.joined ??
    {}) as Record<string, unknown>;
}

describe("createArmCollector", () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startTestEmulator(SEED);
  });

  function settingsFor(overrides: Partial<CollectorSettings> = {}): CollectorSettings {
    return emulatorSettings(emulator, {
      // Fast retries: the emulator's faults, not real throttling, are being retried here.
      callPolicy: createCallPolicy({ maxAttempts: 8, initialBackoffInMs: 5, maxBackoffInMs: 40 }),
      ...overrides,
    });
  }

  async function collect(
    overrides: Partial<CollectorSettings> = {},
    faults: FaultRule[] = [],
  ): Promise<Observation[]> {
    emulator.setFaults(faults);
    try {
      return await createArmCollector(settingsFor(overrides), { blobReader }).collect(
        { kind: "subscription", subscriptionId: PROD },
        { now: emulator.estate.now },
      );
    } finally {
      emulator.setFaults([]);
    }
  }

  const byId = (observations: Observation[], id: string) => observations.find((o) => o.id === id);

  it("keeps the ARM wire bodies, not the SDK's renamed models", async () => {
    const observations = await collect();

    for (const observation of observations) {
      expect(withoutJoined(observation)).toEqual(readSeed(observation.id));
    }
    const account = observations.find((o) => o.id.endsWith("/stbasicbkpprod"));
    // The storage SDK model calls this enableHttpsTrafficOnly; the wire name stays.
    expect(withoutJoined(account)).toHaveProperty("properties.supportsHttpsTrafficOnly");
    expect(observations.map((o) => o.source?.apiVersion)).toEqual([
      "2026-04-01",
      "2025-08-01",
      "2025-08-01",
      "2025-08-01",
      "2025-08-01",
      "2025-08-01",
    ]);
  });

  it("joins backups (every page), configurations, blob service, account and newest blob", async () => {
    const observations = await collect();

    const server = joinedOf(byId(observations, PG_ID));
    expect(server.backups).toEqual(readSeedFolder(`${PG_ID}/backups`));
    expect(server.configurations).toEqual({
      require_secure_transport: readSeed(`${PG_ID}/configurations/require_secure_transport`),
      ssl_min_protocol_version: readSeed(`${PG_ID}/configurations/ssl_min_protocol_version`),
    });
    const accountId = `/subscriptions/${PROD}/resourceGroups/rg-basic-storage/providers/Microsoft.Storage/storageAccounts/stbasicbkpprod`;
    expect(joinedOf(byId(observations, accountId)).blobService).toEqual(
      readSeed(`${accountId}/blobServices/default`),
    );
    const container = joinedOf(
      byId(observations, `${accountId}/blobServices/default/containers/pg-dumps`),
    );
    const account = readSeed(accountId) as { properties: Record<string, unknown> };
    expect(container).toEqual({
      account: {
        id: accountId,
        name: "stbasicbkpprod",
        tags: { environment: "prod" },
        properties: {
          immutableStorageWithVersioning: account.properties.immutableStorageWithVersioning,
        },
      },
      newestBlob: {
        name: "stbasicbkpprod/pg-dumps/newest.dump",
        lastModified: "2026-11-23T02:00:00Z",
      },
    });
    expect(emulator.requests.some((r) => /\/backups\?.*\$skiptoken=/i.test(r.path))).toBe(true);
  });

  it("keeps restart, failover and health events of the look-back window only", async () => {
    const observations = await collect({ activityLogDays: 20 });

    const events = joinedOf(byId(observations, PG_ID)).activityLog as { eventTimestamp: string }[];
    expect(events.map((e) => e.eventTimestamp)).toEqual([
      "2026-11-10T21:15:02.5120000Z",
      "2026-11-18T02:10:00.0000000Z",
    ]);
    const query = emulator.requests.filter((r) => r.path.includes("eventtypes/management/values"));
    expect(decodeURIComponent(query.at(-1)?.path ?? "")).toContain(
      "eventTimestamp ge '2026-11-03T06:00:00.000Z' and eventTimestamp le '2026-11-23T06:00:00.000Z'",
    );
  });

  it("returns the clean observations through 20% throttles, 503s, resets and truncations", async () => {
    const clean = await collect();
    const faults: FaultRule[] = [
      { api: "arm", kind: "throttle", retryAfterMs: 10, rate: 0.08 },
      { api: "arm", kind: "error", status: 503, rate: 0.05 },
      { api: "arm", kind: "reset", rate: 0.04 },
      { api: "arm", kind: "truncate", rate: 0.04 },
    ];
    const faulty = await startTestEmulator(SEED, { faults, randomSeed: 20261123 });

    const collector = createArmCollector(
      emulatorSettings(faulty, {
        callPolicy: createCallPolicy({
          maxAttempts: 10,
          initialBackoffInMs: 5,
          maxBackoffInMs: 40,
        }),
      }),
      { blobReader },
    );

    for (let run = 0; run < 3; run++) {
      const observations = await collector.collect(
        { kind: "subscription", subscriptionId: PROD },
        { now: faulty.estate.now },
      );
      expect(comparable(observations)).toEqual(comparable(clean));
    }
    const hit = new Set(faulty.requests.flatMap((r) => r.fault?.split(",") ?? []));
    expect(hit.size).toBeGreaterThan(1);
  });

  it("marks only PostgreSQL error when every PostgreSQL call fails", async () => {
    const clean = await collect();

    const observations = await collect(
      { callPolicy: createCallPolicy({ maxAttempts: 2, initialBackoffInMs: 1 }) },
      [{ api: "arm", path: "Microsoft\\.DBforPostgreSQL", kind: "error", status: 500 }],
    );

    const failed = observations.filter((o) => o.error !== undefined);
    expect(failed).toEqual([
      expect.objectContaining({
        id: `/subscriptions/${PROD}/providers/${PG_TYPE}`,
        type: PG_TYPE,
        scope: PROD,
        error: expect.objectContaining({ statusCode: 500, requestId: expect.any(String) }),
      }),
    ]);
    expect(comparable(observations.filter((o) => o.type !== PG_TYPE))).toEqual(
      comparable(clean.filter((o) => o.type !== PG_TYPE)),
    );
  });

  it("marks a failed join as a gap on that path of that resource only", async () => {
    const observations = await collect({}, [
      { api: "arm", path: "/backups$", kind: "error", status: 403 },
    ]);

    const server = byId(observations, PG_ID);
    expect(server?.error).toBeUndefined();
    expect(server?.gaps).toEqual([
      expect.objectContaining({
        path: "joined.backups",
        statusCode: 403,
        code: expect.any(String),
      }),
    ]);
    expect(joinedOf(server)).not.toHaveProperty("backups");
    expect(joinedOf(server)).toHaveProperty("configurations.require_secure_transport");
    expect(observations.filter((o) => o.gaps !== undefined)).toHaveLength(1);
  });

  it.each([
    ["Microsoft.ContainerService/managedClusters", "Microsoft\\.ContainerService/managedClusters$"],
    [PG_TYPE, "Microsoft\\.DBforPostgreSQL/flexibleServers$"],
    ["Microsoft.Storage/storageAccounts", "Microsoft\\.Storage/storageAccounts$"],
  ])(
    "reports %s as error, not as an empty list, when its list answers 200 without a value array",
    async (type, path) => {
      const observations = await collect({}, [{ api: "arm", path, kind: "error", status: 200 }]);

      expect(observations.find((o) => o.type === type)).toMatchObject({
        id: `/subscriptions/${PROD}/providers/${type}`,
        error: { code: "UnexpectedResponse" },
      });
    },
  );

  it("marks a child list that answers 200 without a value array as a gap", async () => {
    const observations = await collect({}, [
      { api: "arm", path: "/backups$", kind: "error", status: 200 },
    ]);

    expect(byId(observations, PG_ID)?.gaps).toEqual([
      expect.objectContaining({ path: "joined.backups", code: "UnexpectedResponse" }),
    ]);
  });

  it("lists through Resource Graph and yields the same documents", async () => {
    const viaArm = await collect();
    const before = emulator.requests.length;

    const viaGraph = await collect({ useResourceGraph: true });

    const requests = emulator.requests.slice(before);
    expect(requests.some((r) => r.api === "resource-graph" && r.method === "POST")).toBe(true);
    expect(
      requests.some((r) => /\/providers\/Microsoft\.Storage\/storageAccounts\?/i.test(r.path)),
    ).toBe(false);
    expect(viaGraph.map((o) => o.document)).toEqual(viaArm.map((o) => o.document));
    expect(viaGraph.find((o) => o.type === PG_TYPE)?.source?.api).toBe("resource-graph");
  });

  it("falls back to the providers' lists when Resource Graph fails", async () => {
    const viaArm = await collect();
    const before = emulator.requests.length;

    const observations = await collect(
      { useResourceGraph: true, callPolicy: createCallPolicy({ maxAttempts: 1 }) },
      [{ api: "resource-graph", kind: "error", status: 503 }],
    );

    const requests = emulator.requests.slice(before);
    expect(requests.some((r) => r.api === "resource-graph" && r.status === 503)).toBe(true);
    expect(comparable(observations)).toEqual(comparable(viaArm));
  });

  it.each([
    [{ resourceGroups: ["RG-BASIC-DATA"] }, [PG_TYPE]],
    [
      { tags: { Environment: "prod" } },
      [
        "Microsoft.ContainerService/managedClusters",
        PG_TYPE,
        "Microsoft.Storage/storageAccounts",
        "Microsoft.Storage/storageAccounts/blobServices/containers",
        "Microsoft.Storage/storageAccounts/blobServices/containers",
      ],
    ],
  ])("applies the filters %j", async (filters, types) => {
    const observations = await collect(filters);

    expect(observations.map((o) => o.type)).toEqual(types);
  });
});

describe("createArmCollector with the blob data plane", () => {
  it("joins the newest blob of each container through the blob reader", async () => {
    const emulator = await startTestEmulator(SEED);
    const collector = createArmCollector(emulatorSettings(emulator));

    const observations = await collector.collect(
      { kind: "subscription", subscriptionId: PROD },
      { now: emulator.estate.now },
    );

    const containers = observations.filter(
      (o) => o.type === "Microsoft.Storage/storageAccounts/blobServices/containers",
    );
    expect(containers.map((o) => o.gaps)).toEqual([undefined, undefined]);
    const newest = containers.map((o) => joinedOf(o).newestBlob as { name: string });
    expect(newest[0]?.name).toBe("filestore-20261123.tar");
    // Azurite stamps upload time as lastModified, so either dump can be newest to the second.
    expect(newest[1]).toEqual({
      name: expect.stringMatching(/^odoo\/2026\/11\/2[23]\/basic_prod-/),
      lastModified: expect.stringMatching(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/),
    });
  });
});
