/**
 * A queued sweep whose worker is SIGKILLed at seeded random moments, again and again, and started
 * again each time. Azurite and the emulated estate outlive the worker, as Azure Storage and Azure
 * do; the worker (test/resilience/support/sweep-worker.ts) runs the real `scan-target` and
 * `scan-target-poison` handlers behind a queue loop with the Functions host's rules: a message
 * whose worker died reappears after its lock, and one delivered more than `maxDequeueCount` times
 * moves to `scan-targets-poison` without running again.
 *
 * Afterwards the run has completed, every planned target has ended (`done` with its findings, or
 * `failed` with `error` findings), the ledger verifies with one record per target, and the state
 * rows of every finished target equal a clean in-process scan of the same estate.
 */
import { type ChildProcess, spawn } from "node:child_process";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppRuntime,
  loadCatalogue,
  loadConfig,
  planTargets,
  scanEstate,
  startSweep,
  targetLabel,
  targetScopes,
} from "../../src/app/index.js";
import { type Finding, parseInstant, recordSeq } from "../../src/core/index.js";
import { createRandom } from "../../src/emulator/faults.js";
import { type RunningEmulator, startEmulator } from "../../src/emulator/index.js";
import { type LocalStore, type RunTargetRow, startLocalStore } from "../../src/store/index.js";
import { ROOT, tempDir } from "../support/cli.js";
import {
  describeEstate,
  type EstateDescription,
  emulatedEstate,
  openRuntime,
  writeEstate,
} from "./support/estate.js";

const SEED_DIR = resolve(ROOT, "estates", "demo");
const CONFIG = join(SEED_DIR, "vigil.config.json");
const WORKER = join(ROOT, "test", "resilience", "support", "sweep-worker.ts");
const KILLS = 4;
const MAX_DEQUEUE_COUNT = 2;
const LOCK_SECONDS = 2;
/** A kill lands this long after the worker's first handler started, at random in between. */
const MIN_KILL_OFFSET_MS = 300;
const MAX_KILL_OFFSET_MS = 4_000;
/** Messages a worker takes at once: targets then finish one after another, and kills split them. */
const CONCURRENCY = 3;

interface Worker {
  child: ChildProcess;
  lines: string[];
  exited: Promise<void>;
  /** Resolves when a line matching `pattern` is printed; rejects if the worker exits first. */
  waitFor(pattern: RegExp): Promise<void>;
}

function startWorker(store: LocalStore, estateFile: string): Worker {
  const child = spawn(process.execPath, ["--import", "tsx", WORKER], {
    cwd: ROOT,
    env: {
      ...process.env,
      VIGIL_STORAGE_CONNECTION_STRING: store.connectionString,
      VIGIL_MAX_DEQUEUE_COUNT: String(MAX_DEQUEUE_COUNT),
      VIGIL_TEST_ESTATE: estateFile,
      VIGIL_TEST_LOCK_SECONDS: String(LOCK_SECONDS),
      VIGIL_TEST_CONCURRENCY: String(CONCURRENCY),
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const lines: string[] = [];
  const waiters: { pattern: RegExp; resolve: () => void; reject: (e: Error) => void }[] = [];
  let pending = "";
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => {
    stderr += chunk.toString("utf8");
  });
  child.stdout?.on("data", (chunk: Buffer) => {
    pending += chunk.toString("utf8");
    const parts = pending.split("\n");
    pending = parts.pop() ?? "";
    for (const line of parts) {
      lines.push(line);
      if (process.env.VIGIL_TEST_VERBOSE)
        process.stderr.write(`${new Date().toISOString().slice(14, 23)} w${child.pid}: ${line}\n`);
      for (const w of [...waiters])
        if (w.pattern.test(line)) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
    }
  });
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  void exited.then(() => {
    for (const w of waiters.splice(0))
      w.reject(new Error(`worker exited before ${w.pattern}: ${stderr.slice(-2000)}`));
  });
  return {
    child,
    lines,
    exited,
    waitFor(pattern) {
      if (lines.some((l) => pattern.test(l))) return Promise.resolve();
      return new Promise((resolvePromise, reject) => {
        if (child.exitCode !== null || child.signalCode !== null)
          reject(new Error(`worker exited before ${pattern}: ${stderr.slice(-2000)}`));
        else waiters.push({ pattern, resolve: resolvePromise, reject });
      });
    },
  };
}

async function kill(worker: Worker): Promise<void> {
  if (worker.child.exitCode === null && worker.child.signalCode === null)
    worker.child.kill("SIGKILL");
  await worker.exited;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const keyOf = (f: { controlId: string; resourceId: string }) =>
  `${f.controlId}\u0000${f.resourceId}`;

describe("a queued sweep whose worker is SIGKILLed mid-sweep, repeatedly", () => {
  let store: LocalStore;
  let emulator: RunningEmulator;
  let estate: EstateDescription;
  let estateFile: string;
  let rt: AppRuntime;
  const workers: Worker[] = [];

  beforeAll(async () => {
    store = await startLocalStore({ inMemory: true });
    emulator = await startEmulator({ seedDir: SEED_DIR });
    estate = describeEstate(emulator, CONFIG);
    estateFile = join(tempDir("vigil-sigkill-"), "estate.json");
    writeEstate(estateFile, estate);
    rt = await openRuntime(estate, store.connectionString, {
      VIGIL_MAX_DEQUEUE_COUNT: String(MAX_DEQUEUE_COUNT),
    });
  });

  afterAll(async () => {
    for (const w of workers) await kill(w);
    await rt?.store.close();
    await emulator?.close();
    await store?.close();
  });

  it("completes the run with every target ended, a verified ledger and the clean findings", {
    // Each worker start loads the whole app through tsx (seconds on a busy 2-core machine).
    timeout: 240_000,
  }, async () => {
    const catalogue = loadCatalogue();
    const loaded = loadConfig(catalogue, CONFIG, undefined, { env: {} });
    const { config, deps } = emulatedEstate(estate);
    const clean = await scanEstate(catalogue, config, deps, {
      nowMs: parseInstant(estate.now) as number,
      vigilVersion: rt.vigilVersion,
      loaded: { ...loaded, config },
    });
    const plan = await planTargets(config, deps, { now: estate.now });
    const random = createRandom(20_261_202);

    const sweep = await startSweep(rt, { trigger: "timer" });
    expect(sweep.targets).toBe(plan.targets.length);
    let startedHandlers = 0;
    const settled = async () => {
      const run = await rt.store.runs.getRun(sweep.runId);
      const waiting =
        (await rt.store.queues.scanTargets.length()) +
        (await rt.store.queues.scanTargetsPoison.length());
      return { done: run?.status === "completed" && waiting === 0, status: run?.status, waiting };
    };
    for (let i = 0; i < KILLS && !(await settled()).done; i++) {
      const worker = startWorker(store, estateFile);
      workers.push(worker);
      await worker.waitFor(/^ready$/);
      // Kill while it handles messages: after its first handler started, at a random offset.
      await Promise.race([worker.waitFor(/^start /), sleep(15_000)]);
      await sleep(
        Math.round(MIN_KILL_OFFSET_MS + random() * (MAX_KILL_OFFSET_MS - MIN_KILL_OFFSET_MS)),
      );
      await kill(worker);
      startedHandlers += worker.lines.filter((l) => l.startsWith("start ")).length;
    }
    expect(startedHandlers, "the kills landed while handlers ran").toBeGreaterThan(0);
    const last = startWorker(store, estateFile);
    workers.push(last);
    const deadline = Date.now() + 90_000;
    for (;;) {
      const state = await settled();
      if (state.done) break;
      expect(Date.now(), `run ${state.status}, ${state.waiting} message(s) waiting`).toBeLessThan(
        deadline,
      );
      await sleep(250);
    }
    await kill(last);

    // Every planned target ended, once.
    const ended: RunTargetRow[] = [];
    for await (const row of rt.store.runs.listTargets(sweep.runId)) ended.push(row);
    expect(ended.map((r) => r.target).sort()).toEqual(plan.targets.map(targetLabel).sort());
    for (const row of ended) expect(["done", "failed"]).toContain(row.outcome);

    // The ledger verifies and holds one record per target of the run.
    const verification = await rt.store.verify();
    expect(verification.ok, JSON.stringify(verification).slice(0, 2000)).toBe(true);
    const records: { seq: number; target: string }[] = [];
    for await (const { name, content } of rt.store.listRecords()) {
      const record = JSON.parse(content) as { runId: string; target: string };
      if (record.runId === sweep.runId)
        records.push({ seq: recordSeq(name) as number, target: record.target });
    }
    expect(records.map((r) => r.target).sort()).toEqual(ended.map((r) => r.target).sort());
    for (const row of ended)
      expect(row.recordSeq).toBe(records.find((r) => r.target === row.target)?.seq);

    // A finished target's rows are the clean scan's findings; a failed one's are error.
    const cleanByKey = new Map<string, Finding>(clean.findings.map((f) => [keyOf(f), f]));
    let compared = 0;
    for (const target of plan.targets) {
      const label = targetLabel(target);
      const row = ended.find((r) => r.target === label) as RunTargetRow;
      for (const scope of targetScopes(target)) {
        for await (const state of rt.store.listState(scope)) {
          if (state.target !== label || state.deletedAt !== undefined) continue;
          expect(state.lastRun).toBe(sweep.runId);
          const f = cleanByKey.get(keyOf(state));
          if (row.outcome === "failed")
            // The stand-in of a failed target is an error observation of the row's type: every
            // control that applies to it is error.
            expect(state.status, `${state.controlId} on ${state.resourceId}`).toBe(
              f?.status === "not_applicable" ? "not_applicable" : "error",
            );
          else {
            expect(state.status, `${state.controlId} on ${state.resourceId}`).toBe(f?.status);
            compared += 1;
          }
        }
      }
      if (row.outcome === "done") {
        // Every clean finding of the target's scopes is in the state: none went missing.
        const scopes = new Set(targetScopes(target));
        const mine = clean.findings.filter(
          (f) =>
            f.scope !== undefined &&
            scopes.has(f.scope) &&
            clean.byTarget
              .find((t) => t.label === label)
              ?.observations.some((o) => o.id === f.resourceId),
        );
        for (const f of mine) {
          let found = false;
          for await (const state of rt.store.listState(f.scope as string))
            if (state.controlId === f.controlId && state.resourceId === f.resourceId) found = true;
          expect(found, `${f.controlId} on ${f.resourceId}`).toBe(true);
        }
      }
    }
    expect(compared + ended.filter((r) => r.outcome === "failed").length).toBeGreaterThan(0);
    const poisoned = workers.flatMap((w) => w.lines).filter((l) => l.startsWith("poisoned "));
    process.stdout.write(
      `sigkill-sweep: ${KILLS} kills, ${startedHandlers} handler runs killed or finished before a kill, ${poisoned.length} message(s) poisoned unrun, outcomes ${JSON.stringify(ended.map((r) => r.outcome))}\n`,
    );
  });
});
