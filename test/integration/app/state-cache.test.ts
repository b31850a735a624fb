/**
 * The per-process state cache behind the gate and the findings API (`withStateCache`), over vigil's
 * store on Azurite: a write through the runtime shows in the very next answer (never a stale
 * `pass`), also when it lands while a read is in flight; a write by another instance shows once
 * the TTL has run out; the age check uses the time of the question; a failed read is not kept;
 * concurrent misses share one read of the store; and a key asked about past half its TTL is
 * reloaded in the background.
 */
import { beforeAll, describe, expect, it } from "vitest";
import {
  type AppRuntime,
  type AppStore,
  decideGate,
  loadCatalogue,
  openEvidenceStore,
  queryFindings,
  STATE_CACHE_TTL_MS,
  withStateCache,
} from "../../../src/app/index.js";
import type { Finding, Status } from "../../../src/core/index.js";
import { startTestAzurite, uniqueName } from "../../support/azurite.js";

const NOW = "2026-11-23T06:00:00.000Z";
const CONTROL = "storage-account-https-only-tls12";
const catalogue = loadCatalogue();
let raw: AppStore;

beforeAll(async () => {
  const azurite = await startTestAzurite();
  raw = await openEvidenceStore({ connectionString: azurite.connectionString });
});

function finding(scope: string, status: Status): Finding {
  return {
    controlId: CONTROL,
    controlVersion: 1,
    title: "Storage account accepts HTTPS only, TLS 1.2",
    resourceId: `/subscriptions/${scope}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a`,
    resourceType: "Microsoft.Storage/storageAccounts",
    status,
    severity: "high",
    family: "backup-encryption",
    reason: status === "pass" ? "" : `the account is ${status}`,
    trace: [],
    parameters: {},
    frameworks: { iso27001: [], soc2: [], nist80053: [], mcsb: [] },
    evaluatedAt: NOW,
    scope,
  };
}

/** A runtime over `store` whose monotonic clock the test moves by hand. */
function runtime(store: AppStore = raw, evaluationTime = () => Date.parse(NOW)) {
  const mono = { now: 0 };
  const base: AppRuntime = {
    catalogue,
    loaded: { config: {}, waivers: undefined },
    config: {},
    estate: undefined as never,
    store,
    sinks: [],
    vigilVersion: "test",
    clock: () => Date.parse(NOW),
    evaluationTime,
    maxDequeueCount: 5,
  };
  return { rt: withStateCache(base, { monotonic: () => mono.now }), mono };
}

/**
 * `raw` with its `listState` calls (one per read of a scope's rows) counted; while `reachable` is
 * false they fail as a busy store would.
 */
function countingStore() {
  const counter = { reads: 0, reachable: true, store: raw };
  counter.store = {
    ...raw,
    listState(s) {
      counter.reads += 1;
      if (!counter.reachable) throw new Error("503 ServerBusy");
      return raw.listState(s);
    },
  };
  return counter;
}

/** Record `status` for the scope's one pair and mark the scope evaluated, through `store`. */
async function record(store: AppStore, scope: string, status: Status, runId: string) {
  await store.applyFindings(scope, runId, NOW, [finding(scope, status)]);
  await store.runs.touchScopes([
    { scope, lastRunId: runId, lastEvaluatedAt: NOW, lastTarget: `subscription ${scope}` },
  ]);
}

describe("the gate through the state cache", () => {
  it("answers fail right after a local write turns a passing pair failing", async () => {
    const scope = uniqueName("local");
    const { rt } = runtime();
    await record(rt.store, scope, "pass", "run-1");
    expect((await decideGate(rt, { scope })).decision).toBe("pass");
    expect((await decideGate(rt, { scope })).decision).toBe("pass");

    await rt.store.applyFindings(scope, "run-2", NOW, [finding(scope, "fail")]);

    const answer = await decideGate(rt, { scope });
    expect(answer.decision).toBe("fail");
    expect(answer.failing).toEqual([
      expect.objectContaining({ controlId: CONTROL, status: "fail", scope }),
    ]);
  });

  it("answers unknown right after a local write turns the pair to error", async () => {
    const scope = uniqueName("error");
    const { rt } = runtime();
    await record(rt.store, scope, "pass", "run-1");
    expect((await decideGate(rt, { scope })).decision).toBe("pass");

    await record(rt.store, scope, "error", "run-2");

    expect((await decideGate(rt, { scope })).decision).toBe("unknown");
  });

  it("does not keep a read that a local write overtook while it was in flight", async () => {
    const scope = uniqueName("race");
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let hold = false;
    let reached: () => void = () => {};
    const atHold = new Promise<void>((r) => {
      reached = r;
    });
    // The store as the gate reads it: listState can be held after it read the rows, before it
    // hands them over, so that what it hands over predates a write made meanwhile.
    const slow: AppStore = {
      ...raw,
      async *listState(s) {
        const rows = [];
        for await (const row of raw.listState(s)) rows.push(row);
        if (hold) {
          reached();
          await held;
        }
        yield* rows;
      },
    };
    const { rt } = runtime(slow);
    await record(rt.store, scope, "pass", "run-1");
    hold = true;
    const inFlight = decideGate(rt, { scope });
    await atHold;
    // The read has its rows and waits; a failing result is written and completes meanwhile.
    await record(rt.store, scope, "fail", "run-2");
    hold = false;
    release();
    // The question asked before the write may answer from before it; the next one may not.
    expect((await inFlight).decision).toBe("pass");

    expect((await decideGate(rt, { scope })).decision).toBe("fail");
  });

  it("sees another instance's write once the TTL has run out, and not before", async () => {
    const scope = uniqueName("other");
    const { rt, mono } = runtime();
    await record(rt.store, scope, "pass", "run-1");
    expect((await decideGate(rt, { scope })).decision).toBe("pass");

    // Another instance writes to the same account: this runtime's cache is not told.
    await record(raw, scope, "fail", "run-2");
    mono.now += STATE_CACHE_TTL_MS - 1;
    const cached = await decideGate(rt, { scope });
    mono.now += 1;
    const after = await decideGate(rt, { scope });

    expect(cached.decision).toBe("pass");
    expect(Date.parse(cached.stateReadAt)).toBeLessThanOrEqual(Date.parse(NOW));
    expect(after.decision).toBe("fail");
  });

  it("checks the age of the state at the time of each question, also from the cache", async () => {
    const scope = uniqueName("age");
    let now = Date.parse(NOW);
    const { rt } = runtime(raw, () => now);
    await record(rt.store, scope, "pass", "run-1");
    expect((await decideGate(rt, { scope, maxAgeMinutes: 60 })).decision).toBe("pass");

    now += 61 * 60_000;
    const answer = await decideGate(rt, { scope, maxAgeMinutes: 60 });

    expect(answer.decision).toBe("unknown");
    expect(answer.reasons).toEqual([expect.stringContaining("last evaluated 61 minute(s) ago")]);
  });

  it("does not keep a failed read: the next question reads the store again", async () => {
    const scope = uniqueName("broken");
    let failures = 1;
    const flaky: AppStore = {
      ...raw,
      head: () => (failures-- > 0 ? Promise.reject(new Error("503 ServerBusy")) : raw.head()),
    };
    const { rt } = runtime(flaky);
    await record(rt.store, scope, "pass", "run-1");

    await expect(decideGate(rt, { scope })).rejects.toThrow("ServerBusy");
    expect((await decideGate(rt, { scope })).decision).toBe("pass");
  });

  it("reads each scope once for many concurrent questions", async () => {
    const scope = uniqueName("burst");
    const counter = countingStore();
    const counting = counter.store;
    const { rt } = runtime(counting);
    await record(rt.store, scope, "fail", "run-1");

    const answers = await Promise.all(Array.from({ length: 20 }, () => decideGate(rt, { scope })));

    expect(answers.map((a) => a.decision)).toEqual(Array(20).fill("fail"));
    expect(counter.reads).toBe(1);
  });

  it("reloads a key asked about past half its TTL in the background, so no later question waits", async () => {
    const scope = uniqueName("ahead");
    const counter = countingStore();
    const counting = counter.store;
    const { rt, mono } = runtime(counting);
    await record(rt.store, scope, "pass", "run-1");
    await decideGate(rt, { scope });

    // Another instance turns the pair failing. Half the TTL later a question is still answered
    // from the cache, and starts the reload; questions at that moment see its result once it is in.
    await record(raw, scope, "fail", "run-2");
    mono.now += STATE_CACHE_TTL_MS / 2;
    const early = await decideGate(rt, { scope });
    let reloaded = early;
    while (reloaded.decision === "pass") {
      await new Promise((r) => setImmediate(r));
      reloaded = await decideGate(rt, { scope });
    }
    const readsAfterReload = counter.reads;
    // Past the first read's TTL, with the store unreachable: the background read answers; the
    // reload this question starts fails quietly.
    counter.reachable = false;
    mono.now += STATE_CACHE_TTL_MS / 2 + 1;
    const late = await decideGate(rt, { scope });

    expect(early.decision).toBe("pass");
    expect(reloaded.decision).toBe("fail");
    expect(readsAfterReload).toBe(2);
    expect(late.decision).toBe("fail");
    expect(counter.reads).toBe(3);
  });

  it("does not reload in the background before half the TTL", async () => {
    const scope = uniqueName("young");
    const counter = countingStore();
    const counting = counter.store;
    const { rt, mono } = runtime(counting);
    await record(rt.store, scope, "pass", "run-1");
    await decideGate(rt, { scope });
    mono.now += STATE_CACHE_TTL_MS / 2 - 1;
    await decideGate(rt, { scope });

    expect(counter.reads).toBe(1);
  });

  it("gives the same answer object for a repeated question until a read behind it changes", async () => {
    const scope = uniqueName("memo");
    const { rt, mono } = runtime();
    await record(rt.store, scope, "pass", "run-1");
    const first = await decideGate(rt, { scope });
    const again = await decideGate(rt, { scope });
    const otherQuestion = await decideGate(rt, { scope, minSeverity: "critical" });

    await record(rt.store, scope, "fail", "run-2");
    const afterWrite = await decideGate(rt, { scope });
    mono.now += STATE_CACHE_TTL_MS;
    const afterTtl = await decideGate(rt, { scope });

    expect(again).toBe(first);
    expect(otherQuestion).not.toBe(first);
    expect(afterWrite).not.toBe(first);
    expect(afterWrite.decision).toBe("fail");
    expect(afterTtl).not.toBe(afterWrite);
    expect(afterTtl).toEqual(afterWrite);
  });

  it("reads the store on every question when the cache is off (TTL 0)", async () => {
    const scope = uniqueName("off");
    const counter = countingStore();
    const counting = counter.store;
    const base = runtime(counting).rt;
    const rt = withStateCache({ ...base, stateCache: undefined, store: counting }, { ttlMs: 0 });
    await record(raw, scope, "pass", "run-1");
    await decideGate(rt, { scope });
    await record(raw, scope, "fail", "run-2");

    expect((await decideGate(rt, { scope })).decision).toBe("fail");
    expect(counter.reads).toBe(2);
  });
});

describe("the findings API through the state cache", () => {
  it("lists a local write's new status at once", async () => {
    const scope = uniqueName("findings");
    const { rt } = runtime();
    await record(rt.store, scope, "pass", "run-1");
    const before = await queryFindings(rt, { scope: [scope], format: "json", limit: 10 });

    await record(rt.store, scope, "fail", "run-2");
    const after = await queryFindings(rt, { scope: [scope], format: "json", limit: 10 });

    expect(before.findings.map((f) => f.status)).toEqual(["pass"]);
    expect(after.findings.map((f) => f.status)).toEqual(["fail"]);
  });
});
