/**
 * Azurite stopped and started again (same ports, same folder) while a queued sweep records its
 * targets: the store clients retry through the outage, so every `scanTarget` completes without
 * an error reaching the queue, and nothing is lost or written twice. Afterwards the run has
 * completed, every target ended `done` with one evidence record, the ledger verifies (no
 * half-written record, every snapshot present), the ledger index row of each record is there,
 * and the state rows equal a clean scan of the same estate.
 *
 * Azurite keeps its metadata in memory and saves it every 5 s and when it closes; stopping it
 * takes up to 10 s (it waits for open connections, then `close()` escalates), which is also how
 * long the outage lasts; it then stays down for 9 s more: longer than the tables SDK's default
 * retries (at most about 8.5 s), well inside the store's (about 55 s, `STORE_RETRY`).
 */
import { readdirSync } from "node:fs";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppRuntime,
  loadCatalogue,
  loadConfig,
  parseScanTargetMessage,
  type ScanTargetResult,
  scanEstate,
  scanTarget,
  startSweep,
} from "../../src/app/index.js";
import { type Finding, parseInstant, recordSeq } from "../../src/core/index.js";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.js";
import {
  connectStore,
  type LocalStore,
  type RunTargetRow,
  STORE_NAMES,
  startLocalStore,
} from "../../src/store/index.js";
import { ROOT, tempDir } from "../support/cli.js";
import {
  describeEstate,
  type EstateDescription,
  emulatedEstate,
  openRuntime,
} from "./support/estate.js";

const SEED_DIR = resolve(ROOT, "estates", "demo");
const CONFIG = join(SEED_DIR, "vigil.config.json");

/** How long Azurite stays down after it stopped. */
const OUTAGE_MS = 9_000;

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyOf = (f: { controlId: string; resourceId: string }) =>
  `${f.controlId}\u0000${f.resourceId}`;

describe("a sweep recorded across an Azurite restart", () => {
  let store: LocalStore;
  let location: string;
  let emulator: RunningEmulator;
  let estate: EstateDescription;
  let rt: AppRuntime;

  beforeAll(async () => {
    location = join(tempDir("vigil-azurite-restart-"), "azurite");
    store = await startLocalStore({ location });
    emulator = await startEmulator({ seedDir: SEED_DIR });
    estate = describeEstate(emulator, CONFIG);
    rt = await openRuntime(estate, store.connectionString);
  });

  afterAll(async () => {
    await rt?.store.close();
    await emulator?.close();
    await store?.close();
  });

  it("retries the writes through the outage and loses or repeats nothing", async () => {
    const catalogue = loadCatalogue();
    const loaded = loadConfig(catalogue, CONFIG, undefined, { env: {} });
    const { config, deps } = emulatedEstate(estate);
    const clean = await scanEstate(catalogue, config, deps, {
      nowMs: parseInstant(estate.now) as number,
      vigilVersion: rt.vigilVersion,
      loaded: { ...loaded, config },
    });
    const sweep = await startSweep(rt, { trigger: "timer" });
    const received = await rt.store.queues.scanTargets.receive(32, 600);
    expect(received).toHaveLength(sweep.targets);
    const ledger = connectStore({ connectionString: store.connectionString }).containerClient(
      STORE_NAMES.evidenceContainer,
    );
    const recordsSoFar = async () => {
      let n = 0;
      for await (const blob of ledger.listBlobsFlat({ prefix: "ledger/" })) if (blob.name) n += 1;
      return n;
    };

    // Every target at once; Azurite goes down as soon as the first record is in.
    const outcomes = received.map((message) =>
      scanTarget(rt, parseScanTargetMessage(message.text)).then(
        (result) => ({ ok: true as const, result, at: Date.now() }),
        (error: unknown) => ({ ok: false as const, error, at: Date.now() }),
      ),
    );
    while ((await recordsSoFar()) === 0) await sleep(20);
    const { ports } = store;
    const stoppedAt = Date.now();
    await store.close();
    // The folder holds what was acknowledged before the stop.
    expect(readdirSync(location).length).toBeGreaterThan(0);
    // Down for longer than the SDKs' default retries last (tables: about 7 s).
    await sleep(OUTAGE_MS);
    store = await startLocalStore({ location, ports });
    const restartedAt = Date.now();
    const settled = await Promise.all(outcomes);

    // No write failed for good: the clients retried until Azurite answered again.
    const failures = settled.flatMap((s) => (s.ok ? [] : [String(s.error)]));
    expect(failures).toEqual([]);
    const results = settled.map((s) => (s as { result: ScanTargetResult }).result);
    expect(
      settled.filter((s) => s.at > restartedAt).length,
      "targets finished after the restart",
    ).toBeGreaterThan(0);
    expect(restartedAt - stoppedAt).toBeGreaterThanOrEqual(OUTAGE_MS);
    for (const message of received) await rt.store.queues.scanTargets.delete(message);

    // The run completed once every target ended, each with its record.
    const run = await rt.store.runs.getRun(sweep.runId);
    expect(run?.status).toBe("completed");
    const ended: RunTargetRow[] = [];
    for await (const row of rt.store.runs.listTargets(sweep.runId)) ended.push(row);
    expect(ended.map((r) => r.target).sort()).toEqual(results.map((r) => r.target).sort());
    for (const row of ended) {
      expect(row.outcome).toBe("done");
      expect(row.recordSeq).toBe(results.find((r) => r.target === row.target)?.recordSeq);
    }

    // The ledger verifies; each target has exactly one record, and the records are seq 1..n.
    const verification = await rt.store.verify();
    expect(verification.ok, JSON.stringify(verification).slice(0, 2000)).toBe(true);
    const records: { seq: number; target: string; runId: string }[] = [];
    for await (const { name, content } of rt.store.listRecords()) {
      const record = JSON.parse(content) as { runId: string; target: string };
      records.push({ seq: recordSeq(name) as number, target: record.target, runId: record.runId });
    }
    expect(records.every((r) => r.runId === sweep.runId)).toBe(true);
    expect(records.map((r) => r.target).sort()).toEqual(ended.map((r) => r.target).sort());
    expect(records.map((r) => r.seq).sort((a, b) => a - b)).toEqual(records.map((_, i) => i + 1));
    expect(await rt.store.head()).toMatchObject({ seq: records.length });

    // The state rows are the clean scan's findings: none missing, none different.
    const cleanByKey = new Map<string, Finding>(clean.findings.map((f) => [keyOf(f), f]));
    const seen = new Set<string>();
    const scopes = new Set(clean.findings.flatMap((f) => (f.scope === undefined ? [] : [f.scope])));
    for (const scope of scopes)
      for await (const state of rt.store.listState(scope)) {
        expect(state.lastRun).toBe(sweep.runId);
        expect(state.status, `${state.controlId} on ${state.resourceId}`).toBe(
          cleanByKey.get(keyOf(state))?.status,
        );
        seen.add(keyOf(state));
      }
    for (const f of clean.findings)
      if (f.scope !== undefined)
        expect(seen.has(keyOf(f)), `${f.controlId} on ${f.resourceId}`).toBe(true);
  });
});
