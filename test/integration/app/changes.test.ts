/**
 * A change event's one-target run (`handleResourceEvent`) over the emulated demo estate and vigil's
 * store on Azurite: with its independent steps overlapped it still writes in the order that
 * matters (evidence, then the outbox, then the state rows, then freshness and the run's end, then
 * the notification), reads the subscription's rows once, and a replay evaluates at the run's first
 * time and records nothing new.
 */
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppRuntime,
  type AppStore,
  handleResourceEvent,
  loadCatalogue,
  loadConfig,
  openEvidenceStore,
  parseResourceEvent,
} from "../../../src/app/index.js";
import { type EstateSession, openEmulatedEstate } from "../../../src/cli/estate.js";
import { formatInstant, parseInstant, type StateRow } from "../../../src/core/index.js";
import { startTestAzurite } from "../../support/azurite.js";
import { ROOT } from "../../support/cli.js";

const DEMO = join(ROOT, "estates", "demo");
const CONFIG = join(DEMO, "vigil.config.json");
const PROD = "daa9e34f-fc7d-46c9-bee8-a67739d9ef7a";
const ACCOUNT = `/subscriptions/${PROD}/resourceGroups/rg-hfw-web-prod/providers/Microsoft.Storage/storageAccounts/sthfwstaticprod`;
const CONTROL = "storage-account-blob-public-access-disabled";

let session: EstateSession;
let raw: AppStore;
let seedNow: number;
const catalogue = loadCatalogue();
const loaded = loadConfig(catalogue, CONFIG);

beforeAll(async () => {
  const azurite = await startTestAzurite();
  raw = await openEvidenceStore({ connectionString: azurite.connectionString });
  session = await openEmulatedEstate(DEMO, loaded.config, { configPath: CONFIG });
  seedNow = parseInstant(session.now as string) as number;
});

afterAll(async () => {
  await session?.close();
});

/** The store with every call that matters logged as `<name>:start` and `<name>:end`. */
function logged(log: string[], reads: string[]): AppStore {
  const around =
    <A extends unknown[], R>(name: string, call: (...args: A) => Promise<R>) =>
    async (...args: A): Promise<R> => {
      log.push(`${name}:start`);
      const result = await call(...args);
      log.push(`${name}:end`);
      return result;
    };
  return {
    ...raw,
    putSnapshots: around("putSnapshots", raw.putSnapshots),
    append: around("append", raw.append),
    applyFindings: around("applyFindings", raw.applyFindings),
    listState(scope) {
      reads.push(scope);
      return raw.listState(scope);
    },
    outbox: { ...raw.outbox, put: around("outbox.put", raw.outbox.put) },
    runs: {
      ...raw.runs,
      startRun: around("startRun", raw.runs.startRun),
      touchScopes: around("touchScopes", raw.runs.touchScopes),
      finishTarget: around("finishTarget", raw.runs.finishTarget),
    },
    queues: {
      ...raw.queues,
      notifications: {
        ...raw.queues.notifications,
        send: around("notify.send", raw.queues.notifications.send),
      },
    },
  };
}

function runtime(store: AppStore, evaluationTime: number): AppRuntime {
  return {
    catalogue,
    loaded: { ...loaded, config: session.config },
    config: session.config,
    estate: session.deps,
    store,
    sinks: [],
    vigilVersion: "test",
    clock: () => evaluationTime,
    evaluationTime: () => evaluationTime,
    maxDequeueCount: 5,
  };
}

function event(id: string) {
  return parseResourceEvent({
    id,
    topic: `/subscriptions/${PROD}`,
    subject: ACCOUNT,
    eventType: "Microsoft.Resources.ResourceWriteSuccess",
    eventTime: "2026-11-23T06:10:00.000Z",
    data: { resourceUri: ACCOUNT, subscriptionId: PROD, operationName: "write" },
  });
}

async function rowOf(): Promise<StateRow | undefined> {
  for await (const row of raw.listState(PROD))
    if (row.controlId === CONTROL && row.resourceId === ACCOUNT) return row;
  return undefined;
}

describe("handleResourceEvent", () => {
  it("writes evidence, outbox, rows, freshness and the run's end, then queues the notification", async () => {
    const log: string[] = [];
    const reads: string[] = [];

    const outcome = await handleResourceEvent(runtime(logged(log, reads), seedNow), event("e-1"));

    expect(outcome).toMatchObject({ runId: "event-e-1", result: { runCompleted: true } });
    const at = (entry: string) => {
      const i = log.indexOf(entry);
      expect(i, entry).toBeGreaterThanOrEqual(0);
      return i;
    };
    expect(at("putSnapshots:end")).toBeLessThan(at("append:start"));
    expect(at("append:end")).toBeLessThan(at("applyFindings:start"));
    // The transitions are in the outbox before the rows change (applyFindings' beforeWrite).
    expect(at("outbox.put:end")).toBeLessThan(at("applyFindings:end"));
    expect(at("applyFindings:end")).toBeLessThan(at("touchScopes:start"));
    expect(at("applyFindings:end")).toBeLessThan(at("finishTarget:start"));
    expect(at("startRun:end")).toBeLessThan(at("finishTarget:start"));
    expect(at("notify.send:start")).toBeGreaterThan(at("touchScopes:end"));
    expect(at("notify.send:start")).toBeGreaterThan(at("finishTarget:end"));
    expect(log.at(-1)).toBe("notify.send:end");
    expect((await rowOf())?.status).toBe("fail");
    expect((await rowOf())?.lastRun).toBe("event-e-1");
  });

  it("reads the subscription's rows once: for the deletion check and the state write alike", async () => {
    const reads: string[] = [];

    await handleResourceEvent(runtime(logged([], reads), seedNow), event("e-2"));

    expect(reads).toEqual([PROD]);
  });

  it("evaluates a replayed event at its run's first time and records nothing new", async () => {
    const first = await handleResourceEvent(runtime(raw, seedNow), event("e-3"));
    const row = await rowOf();
    const head = await raw.head();
    const log: string[] = [];

    const again = await handleResourceEvent(
      runtime(logged(log, []), seedNow + 3_600_000),
      event("e-3"),
    );

    expect("result" in again && again.result.recordSeq).toBe(
      "result" in first && first.result.recordSeq,
    );
    expect(await raw.head()).toEqual(head);
    expect(await rowOf()).toEqual(row);
    expect(row?.finding?.evaluatedAt).toBe(formatInstant(seedNow));
    expect(log).not.toContain("outbox.put:start");
  });
});
