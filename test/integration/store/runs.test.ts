/** The runs table against a real Azurite: runs, targets, scope freshness and delivery marks. */
import { beforeAll, describe, expect, it } from "vitest";
import { InputError } from "../../../src/core/index.js";
import {
  connectStore,
  createRunStore,
  type RunStore,
  type RunTargetRow,
  type ScopeRow,
  type StoreClients,
  StoreError,
} from "../../../src/store/index.js";
import { startTestAzurite, uniqueName } from "../../support/azurite.js";

const STARTED = "2026-03-01T10:00:00.000Z";
const NOW = "2026-03-01T10:00:00.000Z";

let clients: StoreClients;

beforeAll(async () => {
  const azurite = await startTestAzurite();
  clients = connectStore({ connectionString: azurite.connectionString });
});

async function freshStore(): Promise<RunStore> {
  const store = createRunStore(clients.tableClient(uniqueName("runs")));
  await store.ensure();
  return store;
}

function run(runId: string, targetsPlanned: number, trigger = "timer") {
  return { runId, trigger, startedAt: STARTED, now: NOW, targetsPlanned, planFailures: [] };
}

function ended(runId: string, target: string, finishedAt: string): RunTargetRow {
  return { runId, target, outcome: "done", finishedAt };
}

async function targets(store: RunStore, runId: string): Promise<RunTargetRow[]> {
  const out: RunTargetRow[] = [];
  for await (const row of store.listTargets(runId)) out.push(row);
  return out.sort((a, b) => (a.target < b.target ? -1 : 1));
}

describe("createRunStore: startRun", () => {
  it("records a planned run as running, with its plan failures", async () => {
    const store = await freshStore();

    await store.startRun({
      ...run("sweep-1", 3),
      planFailures: [{ label: "subscription x", message: "403 AuthorizationFailed" }],
    });

    expect(await store.getRun("sweep-1")).toEqual({
      runId: "sweep-1",
      trigger: "timer",
      startedAt: STARTED,
      now: NOW,
      targetsPlanned: 3,
      planFailures: [{ label: "subscription x", message: "403 AuthorizationFailed" }],
      status: "running",
    });
  });

  it("is idempotent: a second start of the same run keeps the first row", async () => {
    const store = await freshStore();
    await store.startRun(run("sweep-1", 2, "timer"));

    await store.startRun({ ...run("sweep-1", 5, "http"), now: "2026-03-02T00:00:00.000Z" });

    const row = await store.getRun("sweep-1");
    expect(row).toMatchObject({ trigger: "timer", targetsPlanned: 2, now: NOW, status: "running" });
  });

  it("never reopens a completed run when its start is replayed", async () => {
    const store = await freshStore();
    await store.startRun(run("sweep-1", 1));
    await store.finishTarget(ended("sweep-1", "subscription a", "2026-03-01T10:05:00.000Z"));

    await store.startRun(run("sweep-1", 1));
    await Promise.all([store.startRun(run("sweep-1", 1)), store.startRun(run("sweep-1", 1))]);

    expect(await store.getRun("sweep-1")).toMatchObject({
      status: "completed",
      completedAt: "2026-03-01T10:05:00.000Z",
    });
  });

  it("records a run that planned no target as completed at once", async () => {
    const store = await freshStore();

    await store.startRun(run("sweep-empty", 0));

    // Nothing will ever call finishTarget for it: left running, it would stay running forever.
    expect(await store.getRun("sweep-empty")).toMatchObject({
      status: "completed",
      completedAt: STARTED,
      targetsPlanned: 0,
    });
  });

  it("refuses a run without an id", async () => {
    const store = await freshStore();

    await expect(store.startRun(run("", 1))).rejects.toBeInstanceOf(InputError);
  });

  it("keeps run ids with characters that are not allowed in table keys", async () => {
    const store = await freshStore();
    const id = "audit-aks/prod #1?x=ü";

    await store.startRun(run(id, 1));
    await store.finishTarget(ended(id, "cluster aks/prod", "2026-03-01T10:01:00.000Z"));

    expect(await store.getRun(id)).toMatchObject({ runId: id, status: "completed" });
    expect((await targets(store, id)).map((t) => t.target)).toEqual(["cluster aks/prod"]);
  });

  it("answers undefined for a run that was never started", async () => {
    const store = await freshStore();

    expect(await store.getRun("nope")).toBeUndefined();
  });
});

describe("createRunStore: finishTarget", () => {
  it("completes the run exactly when the last planned target ends", async () => {
    const store = await freshStore();
    await store.startRun(run("sweep-1", 3));

    const first = await store.finishTarget(ended("sweep-1", "a", "2026-03-01T10:03:00.000Z"));
    const second = await store.finishTarget({
      runId: "sweep-1",
      target: "b",
      outcome: "failed",
      finishedAt: "2026-03-01T10:09:00.000Z",
      message: "failed 5 time(s); last: 503",
    });
    const afterTwo = await store.getRun("sweep-1");
    const third = await store.finishTarget({
      ...ended("sweep-1", "c", "2026-03-01T10:04:00.000Z"),
      recordSeq: 7,
    });

    expect([first, second, third]).toEqual([
      { runCompleted: false },
      { runCompleted: false },
      { runCompleted: true },
    ]);
    expect(afterTwo?.status).toBe("running");
    // completedAt is the latest finish among the targets, not the last call's.
    expect(await store.getRun("sweep-1")).toMatchObject({
      status: "completed",
      completedAt: "2026-03-01T10:09:00.000Z",
    });
    expect(await targets(store, "sweep-1")).toEqual([
      { runId: "sweep-1", target: "a", outcome: "done", finishedAt: "2026-03-01T10:03:00.000Z" },
      {
        runId: "sweep-1",
        target: "b",
        outcome: "failed",
        finishedAt: "2026-03-01T10:09:00.000Z",
        message: "failed 5 time(s); last: 503",
      },
      {
        runId: "sweep-1",
        target: "c",
        outcome: "done",
        finishedAt: "2026-03-01T10:04:00.000Z",
        recordSeq: 7,
      },
    ]);
  });

  it("counts a replayed target once, so a replay does not complete the run early", async () => {
    const store = await freshStore();
    await store.startRun(run("sweep-1", 2));

    await store.finishTarget(ended("sweep-1", "a", "2026-03-01T10:01:00.000Z"));
    const replay = await store.finishTarget(ended("sweep-1", "a", "2026-03-01T10:02:00.000Z"));

    expect(replay).toEqual({ runCompleted: false });
    expect((await store.getRun("sweep-1"))?.status).toBe("running");
    expect(await targets(store, "sweep-1")).toHaveLength(1);
  });

  it("answers runCompleted again for a target replayed after the run completed", async () => {
    const store = await freshStore();
    await store.startRun(run("sweep-1", 1));
    await store.finishTarget(ended("sweep-1", "a", "2026-03-01T10:01:00.000Z"));

    const replay = await store.finishTarget(ended("sweep-1", "a", "2026-03-01T10:01:00.000Z"));

    expect(replay).toEqual({ runCompleted: true });
    expect(await store.getRun("sweep-1")).toMatchObject({
      status: "completed",
      completedAt: "2026-03-01T10:01:00.000Z",
    });
  });

  it("completes the run when its targets finish concurrently", async () => {
    const store = await freshStore();
    const n = 12;
    await store.startRun(run("sweep-many", n));

    const results = await Promise.all(
      Array.from({ length: n }, (_, i) =>
        store.finishTarget(
          ended("sweep-many", `target-${i}`, `2026-03-01T10:${String(10 + i)}:00.000Z`),
        ),
      ),
    );

    expect(results.some((r) => r.runCompleted)).toBe(true);
    expect(await store.getRun("sweep-many")).toMatchObject({
      status: "completed",
      completedAt: `2026-03-01T10:${String(10 + n - 1)}:00.000Z`,
    });
    expect(await targets(store, "sweep-many")).toHaveLength(n);
  });

  it("refuses to finish a target of a run that was never started", async () => {
    const store = await freshStore();

    const finishing = store.finishTarget(ended("ghost", "a", "2026-03-01T10:01:00.000Z"));

    await expect(finishing).rejects.toBeInstanceOf(StoreError);
    await expect(finishing).rejects.toThrow(/ghost.*never started/);
  });
});

describe("createRunStore: touchScopes", () => {
  function scope(name: string, at: string, runId: string): ScopeRow {
    return { scope: name, lastRunId: runId, lastEvaluatedAt: at, lastTarget: `target of ${runId}` };
  }

  it("records the run that last evaluated each scope", async () => {
    const store = await freshStore();

    await store.touchScopes([
      scope("sub-a", "2026-03-01T10:00:00.000Z", "r1"),
      scope("aks-prod", "2026-03-01T10:00:00.000Z", "r1"),
    ]);

    expect(await store.getScope("sub-a")).toEqual(scope("sub-a", "2026-03-01T10:00:00.000Z", "r1"));
    const all: ScopeRow[] = [];
    for await (const row of store.listScopes()) all.push(row);
    expect(all.map((r) => r.scope).sort()).toEqual(["aks-prod", "sub-a"]);
  });

  it("moves forward in time only: an older evaluation does not replace a newer one", async () => {
    const store = await freshStore();
    await store.touchScopes([scope("sub-a", "2026-03-01T12:00:00.000Z", "newer")]);

    await store.touchScopes([scope("sub-a", "2026-03-01T11:00:00.000Z", "older")]);
    const afterOlder = await store.getScope("sub-a");
    await store.touchScopes([scope("sub-a", "2026-03-01T13:00:00.000Z", "newest")]);

    expect(afterOlder?.lastRunId).toBe("newer");
    expect(await store.getScope("sub-a")).toEqual(
      scope("sub-a", "2026-03-01T13:00:00.000Z", "newest"),
    );
  });

  it("answers undefined for a scope never evaluated", async () => {
    const store = await freshStore();

    expect(await store.getScope("never-scanned")).toBeUndefined();
  });
});

describe("createRunStore: delivery marks", () => {
  it("remembers which sink a run's digest reached, per run and per sink", async () => {
    const store = await freshStore();

    const before = await store.isDelivered("sweep-1", "webhook:default");
    await store.markDelivered("sweep-1", "webhook:default", "2026-03-01T10:20:00.000Z");
    await store.markDelivered("sweep-1", "webhook:default", "2026-03-01T10:21:00.000Z");

    expect(before).toBe(false);
    expect(await store.isDelivered("sweep-1", "webhook:default")).toBe(true);
    expect(await store.isDelivered("sweep-1", "teams:default")).toBe(false);
    expect(await store.isDelivered("sweep-2", "webhook:default")).toBe(false);
  });
});
