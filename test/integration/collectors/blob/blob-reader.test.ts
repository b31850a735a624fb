/**
 * The blob reader against Azurite behind the emulator (HTTPS with the emulator's CA, its bearer
 * token): the newest blob of a container, and drill records validated against the schema.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { createBlobReader } from "../../../../src/collectors/blob/index.js";
import { createCallPolicy } from "../../../../src/collectors/call-policy.js";
import { isCollectionError } from "../../../../src/collectors/errors.js";
import type { CollectorSettings } from "../../../../src/collectors/types.js";
import type { RunningEmulator } from "../../../../src/emulator/index.js";
import { emulatorSettings } from "../../../support/contracts/collector-contract.js";
import { startTestEmulator } from "../../../support/emulator.js";

const SUBSCRIPTION = "7a2b4c6d-8e0f-4a1b-9c3d-5e7f9a1b3c5d";

describe("createBlobReader", () => {
  let emulator: RunningEmulator;
  let settings: CollectorSettings;

  beforeAll(async () => {
    emulator = await startTestEmulator("col-k8s-blob");
    settings = emulatorSettings(emulator, {
      drillRecords: { account: "stcoldrills", container: "drill-records", prefix: "2026/" },
      callPolicy: createCallPolicy({ initialBackoffInMs: 5, maxBackoffInMs: 20 }),
    });
  });

  describe("getNewestBlob", () => {
    it("returns the most recently modified blob with an ISO 8601 time", async () => {
      const reader = createBlobReader(settings);

      const newest = await reader.getNewestBlob("stcolbackups", "pg-dumps");

      // The seed's sidecars date b three hours and a 27 hours before the estate's now; until the
      // emulator's blob proxy applies them, both carry their upload time.
      expect(["odoo/a-20261122.dump", "odoo/b-20261123.dump"]).toContain(newest?.name);
      expect(newest?.lastModified).toMatch(/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/);
    });

    it("returns null for an empty container", async () => {
      const reader = createBlobReader(settings);

      expect(await reader.getNewestBlob("stcolbackups", "empty")).toBeNull();
    });

    it("throws a CollectionError with the status for a container that does not exist", async () => {
      const reader = createBlobReader(settings);

      const error = await reader.getNewestBlob("stcolbackups", "nothing-here").catch((e) => e);

      expect(isCollectionError(error)).toBe(true);
      expect(error.statusCode).toBe(404);
    });
  });

  describe("listDrillRecords", () => {
    it("returns valid records as observations and reports invalid blobs", async () => {
      const reader = createBlobReader(settings, { clock: () => new Date("2026-11-23T06:00:00Z") });

      const result = await reader.listDrillRecords({ now: emulator.estate.now });

      expect(result.records.map((r) => r.id)).toEqual([
        "2026-10-20-psql-a-failover",
        "2026-11-09-aks-restore",
      ]);
      expect(result.invalid.map((i) => i.name)).toEqual([
        "2026/2026-11-10-missing-operator.json",
        "2026/2026-11-11-truncated.json",
      ]);
      expect(result.invalid[0]?.errors.join("\n")).toMatch(/operator/);
      expect(result.invalid[0]?.errors.join("\n")).toMatch(/outcome/);
      const byId = Object.fromEntries(result.observations.map((o) => [o.id, o]));
      expect(byId["drill://2026-10-20-psql-a-failover"]).toEqual({
        id: "drill://2026-10-20-psql-a-failover",
        type: "vigil/DrillRecord",
        scope: SUBSCRIPTION,
        document: result.records[0],
        source: { api: "drills", apiVersion: "1", observedAt: "2026-11-23T06:00:00Z" },
      });
      expect(byId["drill://2026-11-09-aks-restore"]?.scope).toBe("aks-col");
      const rejected =
        byId["drill://stcoldrills/drill-records/2026/2026-11-10-missing-operator.json"];
      expect(rejected?.document).toBeUndefined();
      expect(rejected?.error).toMatchObject({ code: "InvalidDrillRecord" });
      expect(rejected?.error?.message).toContain("2026-11-10-missing-operator.json");
    });

    it("reports a drill record blob that cannot be read as a read failure, not only as invalid", async () => {
      const reader = createBlobReader(settings);
      const name = "2026/2026-10-20-psql-a-failover.json";
      emulator.setFaults([
        {
          api: "blob",
          method: "GET",
          path: "2026-10-20-psql-a-failover\\.json$",
          kind: "error",
          status: 403,
        },
      ]);

      let result: Awaited<ReturnType<typeof reader.listDrillRecords>>;
      try {
        result = await reader.listDrillRecords({ now: emulator.estate.now });
      } finally {
        emulator.setFaults([]);
      }

      expect(result.readFailures).toEqual([
        { name, failure: expect.objectContaining({ statusCode: 403 }) },
      ]);
      expect(result.records.map((r) => r.id)).toEqual(["2026-11-09-aks-restore"]);
      const observation = result.observations.find(
        (o) => o.id === `drill://stcoldrills/drill-records/${name}`,
      );
      expect(observation?.error).toEqual(result.readFailures[0]?.failure);
    });

    it("reports no read failures when every blob was read", async () => {
      const reader = createBlobReader(settings);

      const result = await reader.listDrillRecords({ now: emulator.estate.now });

      expect(result.readFailures).toEqual([]);
    });

    it("throws a CollectionError when no drill-record location is configured", async () => {
      const { drillRecords: _drillRecords, ...unconfigured } = settings;
      const reader = createBlobReader(unconfigured);

      const error = await reader.listDrillRecords().catch((e) => e);

      expect(isCollectionError(error) && error.code).toBe("NotConfigured");
    });
  });
});
