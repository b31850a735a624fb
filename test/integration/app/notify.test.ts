/**
 * Delivering a run's digest from the outbox to a real webhook receiver, through the store on
 * Azurite: one digest per run and sink, nothing sent twice, retries queued with a growing delay
 * (or the receiver's Retry-After), and a refusal no retry can fix moved to the poison queue.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppRuntime,
  type AppStore,
  deliverRunWithRetry,
  loadCatalogue,
  MAX_DELIVERY_ATTEMPTS,
  openEvidenceStore,
} from "../../../src/app/index.js";
import type { Transition } from "../../../src/core/index.js";
import { createWebhookSink } from "../../../src/notify/index.js";
import { startTestAzurite } from "../../support/azurite.js";
import { type HttpReceiver, startHttpReceiver } from "../../support/http-receiver.js";

const SECRET = "notify-test-secret-0123456789";
let store: AppStore;
let receiver: HttpReceiver;
const catalogue = loadCatalogue();

function runtime(): AppRuntime {
  return {
    catalogue,
    loaded: { config: {}, waivers: undefined },
    config: {},
    estate: undefined as never,
    store,
    sinks: [createWebhookSink({ name: "test", url: `${receiver.origin}/hook`, secret: SECRET })],
    vigilVersion: "test",
    clock: () => Date.parse("2026-11-23T06:00:00Z"),
    evaluationTime: () => Date.parse("2026-11-23T06:00:00Z"),
    maxDequeueCount: 5,
  };
}

function transition(runId: string, kind: Transition["kind"]): Transition {
  return {
    kind,
    scope: "sub-1",
    controlId: "storage-account-https-only-tls12",
    resourceId:
      "/subscriptions/sub-1/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/a",
    from: kind === "resolved" ? "fail" : "pass",
    to: kind === "resolved" ? "pass" : "fail",
    severity: "high",
    runId,
    at: "2026-11-23T06:00:00.000Z",
  };
}

async function run(runId: string, transitions: Transition[]): Promise<void> {
  await store.runs.startRun({
    runId,
    trigger: "timer",
    startedAt: "2026-11-23T06:00:00.000Z",
    now: "2026-11-23T06:00:00.000Z",
    targetsPlanned: 1,
    planFailures: [],
  });
  await store.outbox.put(runId, "subscription sub-1", "sub-1", transitions);
}

/** Empties a queue and returns the decoded messages with the delay they were sent with. */
async function drain(queue: AppStore["queues"]["notifications"]) {
  const out: unknown[] = [];
  for (;;) {
    const batch = await queue.receive(32, 1);
    if (batch.length === 0) return out;
    for (const m of batch) {
      out.push(JSON.parse(m.text));
      await queue.delete(m);
    }
  }
}

beforeAll(async () => {
  const azurite = await startTestAzurite();
  store = await openEvidenceStore({ connectionString: azurite.connectionString });
  receiver = await startHttpReceiver();
});

afterAll(async () => {
  await receiver?.close();
  await store?.close();
});

describe("deliverRunWithRetry", () => {
  it("delivers one digest per run and sink, and nothing the second time", async () => {
    await run("run-ok", [
      transition("run-ok", "regression"),
      transition("run-ok", "still-failing"),
    ]);
    receiver.answer({ status: 202 });
    const before = receiver.requests.length;

    const first = await deliverRunWithRetry(runtime(), { v: 1, runId: "run-ok" });
    const second = await deliverRunWithRetry(runtime(), { v: 1, runId: "run-ok" });

    expect(first).toMatchObject({ outcome: "delivered", delivered: ["webhook:test"] });
    expect(second).toMatchObject({
      outcome: "delivered",
      delivered: [],
      skipped: ["webhook:test"],
    });
    expect(receiver.requests.length - before).toBe(1);
    const body = JSON.parse(receiver.requests.at(-1)!.body.toString("utf8"));
    expect(body.transitions.map((t: { kind: string }) => t.kind)).toEqual(["regression"]);
  });

  it("queues a retry with a doubling delay, or the receiver's longer Retry-After", async () => {
    await run("run-retry", [transition("run-retry", "resolved")]);
    await drain(store.queues.notifications);
    receiver.answer({ status: 503 });

    const first = await deliverRunWithRetry(runtime(), { v: 1, runId: "run-retry" });
    const third = await deliverRunWithRetry(runtime(), { v: 1, runId: "run-retry", attempt: 3 });
    receiver.answer({ status: 429, headers: { "retry-after": "600" } });
    const asked = await deliverRunWithRetry(runtime(), { v: 1, runId: "run-retry", attempt: 2 });

    expect(first).toMatchObject({ outcome: "retry-scheduled", attempt: 1, delayInSeconds: 30 });
    expect(third).toMatchObject({ outcome: "retry-scheduled", attempt: 3, delayInSeconds: 120 });
    expect(asked).toMatchObject({ outcome: "retry-scheduled", attempt: 2, delayInSeconds: 600 });
    // The retries are invisible until their delay passes.
    expect(await store.queues.notifications.receive(32, 1)).toEqual([]);
    expect(await store.queues.notifications.length()).toBe(3);
  });

  it("poisons after the last attempt, and at once when no retry can help", async () => {
    await run("run-poison", [transition("run-poison", "new-failure")]);
    await drain(store.queues.notificationsPoison);
    receiver.answer({ status: 500 });

    const last = await deliverRunWithRetry(runtime(), {
      v: 1,
      runId: "run-poison",
      attempt: MAX_DELIVERY_ATTEMPTS,
    });
    receiver.answer({ status: 400 });
    const refused = await deliverRunWithRetry(runtime(), { v: 1, runId: "run-poison" });

    expect(last).toMatchObject({ outcome: "poisoned", attempt: MAX_DELIVERY_ATTEMPTS });
    expect(refused).toMatchObject({ outcome: "poisoned", attempt: 1 });
    const poisoned = (await drain(store.queues.notificationsPoison)) as { runId: string }[];
    expect(poisoned.map((m) => m.runId)).toEqual(["run-poison", "run-poison"]);
    expect(await store.runs.isDelivered("run-poison", "webhook:test")).toBe(false);
  });
});
