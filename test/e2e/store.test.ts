/**
 * `vigil scan --store` and `vigil verify` end to end: runs of the emulated demo recorded in a local
 * store under a folder, the chain verified, a tampered record named, and an unchanged estate
 * costing no new snapshot.
 */
import { cpSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  loadCatalogue,
  loadConfig,
  openEvidenceStore,
  recordScan,
  scanEstate,
} from "../../src/app/index.js";
import { openEmulatedEstate } from "../../src/cli/estate.js";
import { parseInstant } from "../../src/core/index.js";
import { connectStore, startLocalStore } from "../../src/store/index.js";
import { ROOT, tempDir, vigil } from "../support/cli.js";

const DEMO = join(ROOT, "estates", "demo");
const CONFIG = join(DEMO, "vigil.config.json");

describe("vigil scan --store and vigil verify", () => {
  let dir: string;
  const runs: ReturnType<typeof vigil>[] = [];

  beforeAll(() => {
    dir = tempDir("vigil-store-");
    for (let i = 0; i < 3; i++)
      runs.push(
        vigil([
          "scan",
          "--emulate",
          "estates/demo",
          "--config",
          "estates/demo/vigil.config.json",
          "--store-dir",
          dir,
          "--fail-on",
          "none",
          "-q",
        ]),
      );
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("records one evidence record per target and run, continuing the chain", () => {
    expect(runs.map((r) => r.code)).toEqual([0, 0, 0]);
    expect(runs[0]?.stderr).toMatch(/6 evidence record\(s\) \(seq 1–6\)/);
    expect(runs[2]?.stderr).toMatch(/6 evidence record\(s\) \(seq 13–18\)/);
    expect(runs[1]?.stderr).toMatch(/still-failing/);
  });

  it("verifies the three runs' ledger", () => {
    const run = vigil(["verify", "--store-dir", dir]);

    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(
      /^ledger intact: 18 record\(s\), \d+ snapshot\(s\), head #18 [0-9a-f]{64}/,
    );
  });

  it("names the record that was edited, and exits 1", async () => {
    const local = await startLocalStore({ location: join(dir, "azurite"), silent: true });
    try {
      const container = connectStore({ connectionString: local.connectionString }).containerClient(
        "evidence",
      );
      const blob = container.getBlockBlobClient("ledger/000000000007.json");
      const content = (await blob.downloadToBuffer()).toString("utf8");
      const edited = content.replace(/"status":"fail"/, '"status":"pass"');
      expect(edited).not.toBe(content);
      await blob.upload(edited, Buffer.byteLength(edited));
    } finally {
      await local.close();
    }

    const run = vigil(["verify", "--store-dir", dir, "--format", "json"]);

    expect(run.code).toBe(1);
    const verification = JSON.parse(run.stdout) as {
      ok: boolean;
      problems: { kind: string; seq?: number; name: string }[];
    };
    expect(verification.ok).toBe(false);
    expect(verification.problems).toContainEqual(
      expect.objectContaining({ kind: "changed", seq: 7, name: "ledger/000000000007.json" }),
    );
  });

  it("refuses --store with a snapshot folder", () => {
    const run = vigil(["scan", "--snapshot", "estates/demo/snapshot", "--store"]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/--store records a collected estate/);
  });
});

describe("recordScan over an unchanged estate", () => {
  it("stores no new snapshot on the second run, failures included", async () => {
    const dir = tempDir("vigil-store-unchanged-");
    const catalogue = loadCatalogue();
    const loaded = loadConfig(catalogue, CONFIG);
    const session = await openEmulatedEstate(DEMO, loaded.config, { configPath: CONFIG });
    const store = await openEvidenceStore({ localDir: dir });
    try {
      const created: number[] = [];
      const records: string[] = [];
      let failedWithRequestId = 0;
      for (const runId of ["run-a", "run-b"]) {
        const scan = await scanEstate(catalogue, session.config, session.deps, {
          nowMs: parseInstant(session.now ?? "") ?? 0,
          loaded: { ...loaded, config: session.config },
          vigilVersion: "test",
          runId,
        });
        const recorded = await recordScan(store, catalogue, scan.byTarget, scan.findings, {
          runId,
          trigger: "cli",
          recordedAt: scan.run.completedAt,
          now: scan.run.now,
          vigilVersion: "test",
          config: session.config,
        });
        created.push(recorded.snapshotsCreated);
        failedWithRequestId = scan.observations.filter(
          (o) =>
            o.error?.requestId !== undefined ||
            (o.gaps ?? []).some((g) => g.requestId !== undefined),
        ).length;
      }
      for await (const record of store.listRecords()) records.push(record.content);

      expect(created[0]).toBeGreaterThan(40);
      expect(created[1]).toBe(0);
      // The failed calls' request ids differ per run: the records keep them beside the snapshot.
      expect(failedWithRequestId).toBeGreaterThan(0);
      const requestIds = records.flatMap((r) =>
        (JSON.parse(r) as { snapshots: { requestIds?: unknown[] }[] }).snapshots.flatMap(
          (s) => s.requestIds ?? [],
        ),
      );
      expect(requestIds.length).toBeGreaterThanOrEqual(2 * failedWithRequestId);
      expect((await store.verify()).ok).toBe(true);
    } finally {
      await store.close();
      await session.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 60_000);
});

describe("recordScan when a resource is deleted from the estate", () => {
  it("resolves its failures as deleted, and only its own", async () => {
    const dir = tempDir("vigil-store-deleted-");
    const seed = join(dir, "seed");
    cpSync(DEMO, seed, { recursive: true });
    const catalogue = loadCatalogue();
    const loaded = loadConfig(catalogue, CONFIG);
    const session = await openEmulatedEstate(seed, loaded.config, { configPath: CONFIG });
    const store = await openEvidenceStore({ localDir: join(dir, "store") });
    const record = async (runId: string) => {
      const scan = await scanEstate(catalogue, session.config, session.deps, {
        nowMs: parseInstant(session.now ?? "") ?? 0,
        loaded: { ...loaded, config: session.config },
        vigilVersion: "test",
        runId,
      });
      return recordScan(store, catalogue, scan.byTarget, scan.findings, {
        runId,
        trigger: "cli",
        recordedAt: scan.run.completedAt,
        now: scan.run.now,
        vigilVersion: "test",
        config: session.config,
      });
    };
    try {
      await record("run-before");
      const account = join(
        seed,
        "arm/subscriptions/daa9e34f-fc7d-46c9-bee8-a67739d9ef7a/resourceGroups/rg-hfw-web-prod/providers/Microsoft.Storage/storageAccounts/sthfwstaticprod",
      );
      rmSync(account, { recursive: true });
      rmSync(`${account}.json`);
      session.emulator?.reload();

      const after = await record("run-after");

      const changes = after.transitions.filter((t) => t.kind !== "still-failing");
      expect(changes.map((t) => `${t.kind} ${t.controlId}`).sort()).toEqual([
        "resolved storage-account-blob-public-access-disabled",
        "resolved storage-account-https-only-tls12",
        "resolved storage-account-public-network-restricted",
      ]);
      for (const t of changes) {
        expect(t.resourceId).toMatch(/\/storageAccounts\/sthfwstaticprod$/);
        expect(t).toMatchObject({ to: "not_applicable", resourceDeleted: true });
      }
      // The staging subscription, whose collection had errors, resolves nothing.
      expect(
        after.transitions.filter((t) => t.scope.startsWith("af350284")).map((t) => t.kind),
      ).not.toContain("resolved");
    } finally {
      await store.close();
      await session.close();
      rmSync(dir, { recursive: true, force: true });
    }
  }, 90_000);
});
