/** Seed loading and watching: a changed seed is served without restart; a broken one is reported and the old state kept. */

import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type RunningEmulator, SeedError, startEmulator } from "../../../src/emulator/index.js";
import { emulatorRequest, seedPath, startTestEmulator } from "../../support/emulator.js";

const PROD = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const FOLDER = `arm/subscriptions/${PROD}/resourceGroups/rg-basic-data/providers/Microsoft.DBforPostgreSQL/flexibleServers`;
const NEW_SERVER = `/subscriptions/${PROD}/resourceGroups/rg-basic-data/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-basic-new?api-version=2025-08-01`;
const OLD_SERVER = NEW_SERVER.replace("psql-basic-new", "psql-basic-prod");

const copies: string[] = [];
afterAll(() => {
  for (const dir of copies) rmSync(dir, { recursive: true, force: true });
});

/** A scratch copy of the basic seed, removed when the file's tests end. */
function copyOfBasic(): string {
  const dir = mkdtempSync(join(tmpdir(), "vigil-seed-"));
  copies.push(dir);
  cpSync(seedPath("basic"), dir, { recursive: true });
  return dir;
}

describe("seed watching", () => {
  let dir: string;
  let emulator: RunningEmulator;
  const reports: { kind: "reload" | "error"; error?: Error }[] = [];
  let wake: (() => void) | undefined;

  beforeAll(async () => {
    dir = copyOfBasic();
    emulator = await startTestEmulator(dir, {
      blob: false,
      watch: true,
      onReload: () => {
        reports.push({ kind: "reload" });
        wake?.();
      },
      onSeedError: (error) => {
        reports.push({ kind: "error", error });
        wake?.();
      },
    });
  });

  /**
   * Waits for watcher reports until `done` holds (the test timeout bounds the wait). A report that
   * lands while `done` is still awaiting its request is not lost: the loop compares report counts
   * instead of waiting for the next report.
   */
  async function until(done: () => Promise<boolean>): Promise<void> {
    for (;;) {
      const seen = reports.length;
      if (await done()) return;
      if (reports.length > seen) continue;
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  }

  it("serves a resource file added after start", async () => {
    writeFileSync(
      join(dir, FOLDER, "psql-basic-new.json"),
      JSON.stringify({ name: "psql-basic-new" }),
    );

    await until(async () => (await emulatorRequest(emulator, NEW_SERVER)).status === 200);

    expect((await emulatorRequest(emulator, NEW_SERVER)).json).toEqual({ name: "psql-basic-new" });
  });

  it("keeps the previous state and reports the file when a seed file breaks, then recovers", async () => {
    const file = join(dir, FOLDER, "psql-basic-new.json");
    writeFileSync(file, "{ not json");

    await until(async () => reports.some((r) => r.kind === "error"));
    const during = await emulatorRequest(emulator, NEW_SERVER);
    const old = await emulatorRequest(emulator, OLD_SERVER);
    writeFileSync(file, JSON.stringify({ name: "psql-basic-new", fixed: true }));
    await until(
      async () =>
        ((await emulatorRequest(emulator, NEW_SERVER)).json as { fixed?: boolean }).fixed === true,
    );

    const error = reports.find((r) => r.kind === "error")?.error;
    expect(error).toBeInstanceOf(SeedError);
    expect(error?.message).toContain("psql-basic-new.json");
    expect(during.json).toEqual({ name: "psql-basic-new" });
    expect(old.status).toBe(200);
  });
});

describe("estate.json validation", () => {
  it("refuses to start with a SeedError naming the file and field", async () => {
    const dir = copyOfBasic();
    writeFileSync(
      join(dir, "estate.json"),
      JSON.stringify({
        tenantId: "4b7e2c1a-9d3f-4e8a-b6c5-2f1d0e9a8b7c",
        now: "2026-11-23T06:00:00Z",
        subscriptions: [{ subscriptionId: "nope", displayName: "x" }],
      }),
    );

    const start = startEmulator({ seedDir: dir, blob: false });

    await expect(start).rejects.toBeInstanceOf(SeedError);
    await expect(start).rejects.toThrow(/estate\.json.*subscriptions\[0\]\.subscriptionId/);
  });

  it("names a bad fault rule's field", async () => {
    const dir = copyOfBasic();
    writeFileSync(
      join(dir, "estate.json"),
      JSON.stringify({
        tenantId: "4b7e2c1a-9d3f-4e8a-b6c5-2f1d0e9a8b7c",
        now: "2026-11-23T06:00:00Z",
        subscriptions: [],
        faults: [{ kind: "error", rate: 2 }],
      }),
    );

    await expect(startEmulator({ seedDir: dir, blob: false })).rejects.toThrow(/faults\[0\]\.rate/);
  });

  it("applies faults written in estate.json", async () => {
    const dir = copyOfBasic();
    writeFileSync(
      join(dir, "estate.json"),
      JSON.stringify({
        tenantId: "4b7e2c1a-9d3f-4e8a-b6c5-2f1d0e9a8b7c",
        now: "2026-11-23T06:00:00Z",
        subscriptions: [{ subscriptionId: PROD, displayName: "p" }],
        faults: [{ kind: "error", api: "arm", status: 504 }],
      }),
    );

    const emulator = await startTestEmulator(dir, { blob: false });

    expect((await emulatorRequest(emulator, OLD_SERVER)).status).toBe(504);
  });
});
