/** The current-state table against a real Azurite: transitions, idempotence, keys and batches. */
import type { TableClient } from "@azure/data-tables";
import { beforeAll, describe, expect, it } from "vitest";
import type { Finding, StateRow, Status } from "../../../src/core/index.js";
import {
  connectStore,
  createFindingStore,
  type FindingStore,
  partitionKeyOf,
  rowKeyOf,
  type StoreClients,
} from "../../../src/store/index.js";
import { startTestAzurite, uniqueName } from "../../support/azurite.js";

const SCOPE = "/subscriptions/0000";
const ACCOUNT = "/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts";

let clients: StoreClients;

beforeAll(async () => {
  const azurite = await startTestAzurite();
  clients = connectStore({ connectionString: azurite.connectionString });
});

function finding(resourceId: string, status: Status, controlId = "storage-https-only"): Finding {
  return {
    controlId,
    controlVersion: 1,
    title: "Storage account accepts HTTPS only",
    resourceId,
    resourceType: "Microsoft.Storage/storageAccounts",
    status,
    severity: "high",
    family: "backup-encryption",
    reason: "",
    trace: [],
    parameters: {},
    frameworks: { iso27001: [], soc2: [], nist80053: [], mcsb: [] },
    evaluatedAt: "2025-01-01T00:00:00Z",
  };
}

async function freshStore(): Promise<{ table: TableClient; store: FindingStore }> {
  const table = clients.tableClient(uniqueName("findings"));
  const store = createFindingStore(table);
  await store.ensure();
  return { table, store };
}

async function rows(store: FindingStore, scope = SCOPE): Promise<StateRow[]> {
  const out: StateRow[] = [];
  for await (const row of store.listState(scope)) out.push(row);
  return out.sort((a, b) => (a.resourceId < b.resourceId ? -1 : 1));
}

describe("createFindingStore", () => {
  it("records transitions across runs through the table", async () => {
    const { store } = await freshStore();
    const a = `${ACCOUNT}/a`;
    const b = `${ACCOUNT}/b`;

    const first = await store.applyFindings(SCOPE, "run-1", "2025-01-01T00:00:00Z", [
      finding(a, "fail"),
      finding(b, "pass"),
    ]);
    const second = await store.applyFindings(SCOPE, "run-2", "2025-01-02T00:00:00Z", [
      finding(a, "pass"),
      finding(b, "fail"),
    ]);
    const third = await store.applyFindings(SCOPE, "run-3", "2025-01-03T00:00:00Z", [], {
      deletedResourceIds: [b],
    });

    expect(first.map((t) => [t.kind, t.resourceId])).toEqual([["new-failure", a]]);
    expect(second.map((t) => [t.kind, t.resourceId])).toEqual([
      ["resolved", a],
      ["regression", b],
    ]);
    expect(third).toMatchObject([{ kind: "resolved", resourceId: b, resourceDeleted: true }]);
    expect(await rows(store)).toMatchObject([
      { resourceId: a, status: "pass", firstSeen: "2025-01-01T00:00:00Z", lastRun: "run-2" },
      { resourceId: b, status: "not_applicable", deletedAt: "2025-01-03T00:00:00Z" },
    ]);
  });

  it("leaves the same state and reports nothing when a run is written twice", async () => {
    const { store } = await freshStore();
    const findings = [finding(`${ACCOUNT}/a`, "fail"), finding(`${ACCOUNT}/b`, "error")];
    await store.applyFindings(SCOPE, "run-1", "2025-01-01T00:00:00Z", [
      finding(`${ACCOUNT}/a`, "pass"),
    ]);

    const once = await store.applyFindings(SCOPE, "run-2", "2025-01-02T00:00:00Z", findings);
    const stateOnce = await rows(store);
    const twice = await store.applyFindings(SCOPE, "run-2", "2025-01-02T00:00:00Z", findings);

    expect(once.map((t) => t.kind)).toEqual(["regression", "error-started"]);
    expect(twice).toEqual([]);
    expect(await rows(store)).toEqual(stateOnce);
  });

  it("clears deletedAt when a deleted resource is seen again (rows are replaced, not merged)", async () => {
    const { store } = await freshStore();
    const a = `${ACCOUNT}/a`;
    await store.applyFindings(SCOPE, "run-1", "2025-01-01T00:00:00Z", [finding(a, "fail")]);
    await store.applyFindings(SCOPE, "run-2", "2025-01-02T00:00:00Z", [], {
      deletedResourceIds: [a],
    });

    const back = await store.applyFindings(SCOPE, "run-3", "2025-01-03T00:00:00Z", [
      finding(a, "fail"),
    ]);

    expect(back.map((t) => t.kind)).toEqual(["new-failure"]);
    expect((await rows(store))[0]?.deletedAt).toBeUndefined();
  });

  it("keeps ids with characters the table forbids in keys, and hashes over-long ids", async () => {
    const { store } = await freshStore();
    const scope = "k8s://aks-1/#?\\scope\u0001";
    const ids = [
      "k8s://aks-1/odoo/networking.k8s.io/NetworkPolicy/deny-all",
      "tls://erp.example.com:443?x#y",
      `${ACCOUNT}/${"x".repeat(2000)}`,
      "graph://tenant/policies/ü\u007f",
    ];

    await store.applyFindings(
      scope,
      "run-1",
      "2025-01-01T00:00:00Z",
      ids.map((id) => finding(id, "fail")),
    );

    expect((await rows(store, scope)).map((r) => r.resourceId).sort()).toEqual([...ids].sort());
    expect(await rows(store, SCOPE)).toEqual([]);
    for (const key of [partitionKeyOf(scope), ...ids.map((id) => rowKeyOf("c", id))]) {
      expect(key).toMatch(/^[A-Za-z0-9\-_.:~@!|]{1,512}$/);
    }
  });

  it("writes more than 100 rows of one scope in batches", async () => {
    const { store } = await freshStore();
    const findings = Array.from({ length: 250 }, (_, i) => finding(`${ACCOUNT}/s${i}`, "fail"));

    const transitions = await store.applyFindings(SCOPE, "run-1", "2025-01-01T00:00:00Z", findings);

    expect(transitions).toHaveLength(250);
    expect(await rows(store)).toHaveLength(250);
  });
});

describe("rowKeyOf", () => {
  it("gives different keys to ids that differ only in escaped characters", () => {
    const keys = ["a/b", "a!2Fb", "a|b", "a b"].map((id) => rowKeyOf("c", id));

    expect(new Set(keys).size).toBe(4);
  });
});
