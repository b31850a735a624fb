/**
 * `vigil serve --emulate` end to end: the demo swept through the queues, the gate answering from
 * state, a fixed resource re-evaluated from its Event Grid event and a deleted NetworkPolicy from
 * its AKS audit record, each with one signed digest to a real webhook
 * receiver; duplicates and replays change nothing; refusals (401, 400, 503) record nothing.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, type IncomingHttpHeaders, type Server } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Served, startServe } from "../../src/cli/serve.js";
import { verifyWebhookSignature } from "../../src/notify/index.js";
import { ROOT, tempDir } from "../support/cli.js";

const CONFIG = join(ROOT, "estates", "demo", "vigil.config.json");
const SECRET = "e2e-webhook-secret-0123456789";
const PROD = "daa9e34f-fc7d-46c9-bee8-a67739d9ef7a";
const STATIC_ACCOUNT = `/subscriptions/${PROD}/resourceGroups/rg-hfw-web-prod/providers/Microsoft.Storage/storageAccounts/sthfwstaticprod`;
const AKS_PROD = `/subscriptions/${PROD}/resourceGroups/rg-hfw-erp-aks-prod/providers/Microsoft.ContainerService/managedClusters/aks-hfw-prod`;

interface Delivery {
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

let dir: string;
let seed: string;
let served: Served;
let receiver: Server;
const deliveries: Delivery[] = [];
let base: string;

async function api(path: string, init: RequestInit & { key?: string | null } = {}) {
  const headers = new Headers(init.headers);
  if (init.key !== null) headers.set("x-functions-key", init.key ?? served.key);
  const response = await fetch(`${base}${path}`, { ...init, headers });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = JSON.parse(text);
  } catch {
    // not JSON: keep the text
  }
  return { status: response.status, body: body as Record<string, unknown>, text };
}

function eventGridEvent(id: string, resourceId: string, eventType = "ResourceWriteSuccess") {
  return {
    id,
    topic: `/subscriptions/${PROD}`,
    subject: resourceId,
    eventType: `Microsoft.Resources.${eventType}`,
    eventTime: new Date().toISOString(),
    dataVersion: "2",
    metadataVersion: "1",
    data: {
      resourceUri: resourceId,
      subscriptionId: PROD,
      operationName: "write",
      status: "Succeeded",
    },
  };
}

/**
 * Wait until `check` holds, polling. The bound only stops a hung test: how fast a change is
 * notified is measured by bench/change-latency.bench.ts, not asserted here.
 */
async function eventually(check: () => Promise<boolean> | boolean): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (await check()) return;
    if (Date.now() - started > 60_000) throw new Error("the condition did not hold within 60 s");
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function ledgerRecords(): Promise<number> {
  const verify = await api("/api/evidence/verify");
  return (verify.body as { records: number }).records;
}

beforeAll(async () => {
  dir = tempDir("vigil-serve-");
  seed = join(dir, "seed");
  cpSync(join(ROOT, "estates", "demo"), seed, { recursive: true });
  receiver = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on("data", (c: Buffer) => chunks.push(c));
    request.on("end", () => {
      deliveries.push({
        headers: request.headers,
        body: Buffer.concat(chunks).toString("utf8"),
        at: Date.now(),
      });
      response.writeHead(204).end();
    });
  });
  await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", () => r()));
  const address = receiver.address() as { port: number };
  const lines: string[] = [];
  served = await startServe({
    emulate: seed,
    configPath: CONFIG,
    storeDir: join(dir, "store"),
    port: 0,
    sweepEveryMinutes: 0,
    io: {
      stdout: (t) => lines.push(t),
      stderr: (t) => lines.push(t),
      now: () => Date.now(),
      env: {
        VIGIL_WEBHOOK_URL: `http://127.0.0.1:${address.port}/hook`,
        VIGIL_WEBHOOK_SECRET: SECRET,
      },
    },
  });
  base = served.host.baseUrl;
  await served.host.idle();
}, 180_000);

afterAll(async () => {
  await served?.close();
  await new Promise<void>((r) => (receiver ? receiver.close(() => r()) : r()));
  rmSync(dir, { recursive: true, force: true });
});

describe("vigil serve over the emulated demo", () => {
  it("swept the demo and delivered the first run's digest, signed", () => {
    expect(deliveries).toHaveLength(1);
    const [first] = deliveries;
    const verification = verifyWebhookSignature(SECRET, first!.headers, first!.body);
    expect(verification.valid).toBe(true);
    const digest = JSON.parse(first!.body) as { runId: string; transitions: unknown[] };
    expect(digest.runId).toMatch(/^sweep-/);
    expect(digest.transitions.length).toBeGreaterThan(30);
  });

  it("answers the prod gate with 409 and the seeded prod violations", async () => {
    const gate = await api("/api/gate?environment=prod");

    expect(gate.status).toBe(409);
    expect(gate.body.decision).toBe("fail");
    const failing = gate.body.failing as { controlId: string; resourceId: string }[];
    expect(failing).toContainEqual(
      expect.objectContaining({
        controlId: "storage-account-blob-public-access-disabled",
        resourceId: STATIC_ACCOUNT,
      }),
    );
    expect(failing.some((f) => f.resourceId.includes("af350284"))).toBe(false);
    expect(gate.body.runId).toMatch(/^sweep-/);
    expect(gate.body.ledgerHead).toMatchObject({
      seq: 6,
      hash: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
  });

  it("answers 503 for a scope never scanned, and 400 for a bad parameter", async () => {
    const never = await api("/api/gate?scope=no-such-subscription");
    const bad = await api("/api/gate?scope=x&minSeverity=extreme");

    expect(never.status).toBe(503);
    expect(never.body).toMatchObject({
      decision: "unknown",
      reasons: ["scope no-such-subscription was never scanned"],
    });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ error: { code: "InvalidInput", pointer: "minSeverity" } });
  });

  it("refuses requests without the key or with a wrong one, and keeps health open", async () => {
    const none = await api("/api/gate?environment=prod", { key: null });
    const wrong = await api("/api/findings", { key: "not-the-key-0123456789" });
    const hook = await api("/runtime/webhooks/eventgrid?functionName=resource-changed", {
      key: null,
      method: "POST",
      body: "[]",
    });
    const health = await api("/api/health", { key: null });

    expect(none.status).toBe(401);
    expect(wrong.status).toBe(401);
    expect(hook.status).toBe(401);
    expect(JSON.stringify([none.body, wrong.body])).not.toContain("sthfw");
    expect(health.status).toBe(200);
  });

  it("completes the Event Grid validation handshake", async () => {
    const response = await api("/runtime/webhooks/eventgrid?functionName=resource-changed", {
      method: "POST",
      headers: { "aeg-event-type": "SubscriptionValidation" },
      body: JSON.stringify([
        {
          id: "v1",
          subject: "",
          eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
          eventTime: new Date().toISOString(),
          data: { validationCode: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" },
        },
      ]),
    });

    expect(response.status).toBe(200);
    expect(response.body).toEqual({ validationResponse: "512d38b6-c7b8-40c8-89fe-f46f9e9622b6" });
  });

  it("rejects a malformed event with 400 and records nothing", async () => {
    const before = await ledgerRecords();
    const response = await api("/runtime/webhooks/eventgrid?functionName=resource-changed", {
      method: "POST",
      body: JSON.stringify([eventGridEvent("ok-1", STATIC_ACCOUNT), { id: "broken" }]),
    });

    expect(response.status).toBe(400);
    expect(response.body).toMatchObject({ error: { code: "bad_request" } });
    expect(await ledgerRecords()).toBe(before);
  });

  it("re-evaluates a fixed storage account from its event, with one signed digest", async () => {
    const file = join(
      seed,
      "arm/subscriptions",
      PROD,
      "resourceGroups/rg-hfw-web-prod/providers/Microsoft.Storage/storageAccounts/sthfwstaticprod.json",
    );
    const account = JSON.parse(readFileSync(file, "utf8"));
    account.properties.allowBlobPublicAccess = false;
    writeFileSync(file, JSON.stringify(account, null, 2));
    served.emulator?.reload();
    const before = deliveries.length;

    const response = await api("/runtime/webhooks/eventgrid?functionName=resource-changed", {
      method: "POST",
      body: JSON.stringify([eventGridEvent("evt-fix-1", STATIC_ACCOUNT)]),
    });
    expect(response.status).toBe(200);
    await eventually(() => deliveries.length > before);

    const delivery = deliveries.at(-1)!;
    expect(verifyWebhookSignature(SECRET, delivery.headers, delivery.body).valid).toBe(true);
    const digest = JSON.parse(delivery.body) as { transitions: Record<string, unknown>[] };
    expect(digest.transitions).toEqual([
      expect.objectContaining({
        kind: "resolved",
        controlId: "storage-account-blob-public-access-disabled",
        resourceId: STATIC_ACCOUNT,
        from: "fail",
        to: "pass",
      }),
    ]);
    const findings = await api(
      `/api/findings?control=storage-account-blob-public-access-disabled&resource=${encodeURIComponent(STATIC_ACCOUNT)}`,
    );
    expect((findings.body.findings as { status: string }[]).map((f) => f.status)).toEqual(["pass"]);
    // The rows stay the sweep target's, so that the next sweep still owns them.
    const owners = new Set<string | undefined>();
    for await (const row of served.rt.store.listState(PROD))
      if (row.resourceId === STATIC_ACCOUNT) owners.add(row.target);
    expect([...owners]).toEqual([`subscription ${PROD}`]);
  });

  it("resolves a container that left its account when an event re-reads the account", async () => {
    const account = `/subscriptions/${PROD}/resourceGroups/rg-hfw-erp-backup-prod/providers/Microsoft.Storage/storageAccounts/sthfwerpbkpprod`;
    const container = `${account}/blobServices/default/containers/filestore-backups`;
    rmSync(
      join(
        seed,
        "arm/subscriptions",
        PROD,
        "resourceGroups/rg-hfw-erp-backup-prod/providers/Microsoft.Storage/storageAccounts/sthfwerpbkpprod/blobServices/default/containers/filestore-backups.json",
      ),
    );
    served.emulator?.reload();
    const before = deliveries.length;

    const response = await api("/runtime/webhooks/eventgrid?functionName=resource-changed", {
      method: "POST",
      body: JSON.stringify([eventGridEvent("evt-container-gone", account)]),
    });
    expect(response.status).toBe(200);
    await eventually(() => deliveries.length > before);

    const digest = JSON.parse(deliveries.at(-1)!.body) as {
      transitions: Record<string, unknown>[];
    };
    expect(
      digest.transitions.map((t) => [t.kind, t.controlId, t.resourceId, t.resourceDeleted]),
    ).toEqual([
      ["resolved", "storage-backup-container-immutable", container, true],
      ["resolved", "storage-backup-container-recent-blob", container, true],
    ]);
  });

  it("ignores a duplicated event: no second digest, no second ledger record", async () => {
    const records = await ledgerRecords();
    const before = deliveries.length;

    const response = await api("/runtime/webhooks/eventgrid?functionName=resource-changed", {
      method: "POST",
      body: JSON.stringify([eventGridEvent("evt-fix-1", STATIC_ACCOUNT)]),
    });
    await served.host.idle();

    expect(response.status).toBe(200);
    expect(deliveries).toHaveLength(before);
    expect(await ledgerRecords()).toBe(records);
  });

  it("ignores a replayed scan-targets message", async () => {
    const records = await ledgerRecords();
    const before = deliveries.length;
    const gate = await api(`/api/gate?scope=${PROD}`);
    const runId = gate.body.runId as string;

    await served.rt.store.queues.scanTargets.send({
      v: 1,
      runId: (await served.rt.store.runs.getScope("aks-hfw-prod"))!.lastRunId,
      trigger: "timer",
      now: (await served.rt.store.runs.getRun(
        (await served.rt.store.runs.getScope("aks-hfw-prod"))!.lastRunId,
      ))!.now,
      target: {
        kind: "cluster",
        cluster: { kind: "aks", name: "aks-hfw-prod", resourceId: AKS_PROD, subscriptionId: PROD },
      },
    });
    await served.host.idle();

    expect(runId).toMatch(/^(sweep|event)-/);
    expect(deliveries).toHaveLength(before);
    expect(await ledgerRecords()).toBe(records);
  });

  it("turns a namespace failing on its NetworkPolicy's delete audit record, with one digest", async () => {
    const file = join(seed, "kubernetes", "aks-hfw-prod", "network-policies.yaml");
    const documents = readFileSync(file, "utf8").split(/^---$/m);
    const kept = documents.filter(
      (d) => !(/name: default-deny-ingress/.test(d) && /namespace: odoo-prod\s*$/m.test(d)),
    );
    expect(kept.length).toBe(documents.length - 1);
    writeFileSync(file, kept.join("---"));
    served.emulator?.reload();
    const before = deliveries.length;
    const record = {
      time: new Date().toISOString(),
      resourceId: AKS_PROD.toUpperCase(),
      category: "kube-audit-admin",
      operationName: "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
      properties: {
        log: JSON.stringify({
          kind: "Event",
          apiVersion: "audit.k8s.io/v1",
          level: "RequestResponse",
          auditID: "3f1c2b7e-0d5a-4b4e-9c61-5a0e2f7d9a11",
          stage: "ResponseComplete",
          verb: "delete",
          objectRef: {
            resource: "networkpolicies",
            namespace: "odoo-prod",
            name: "default-deny-ingress",
            apiGroup: "networking.k8s.io",
            apiVersion: "v1",
          },
          responseStatus: { code: 200 },
        }),
        stream: "stdout",
      },
    };

    const response = await api("/runtime/webhooks/eventhub?functionName=cluster-changed", {
      method: "POST",
      body: JSON.stringify({ records: [record] }),
    });
    expect(response.status).toBe(200);
    await eventually(() => deliveries.length > before);

    const digest = JSON.parse(deliveries.at(-1)!.body) as {
      transitions: Record<string, unknown>[];
    };
    expect(digest.transitions).toEqual([
      expect.objectContaining({
        kind: "regression",
        controlId: "namespace-default-deny-ingress",
        resourceId: "k8s://aks-hfw-prod/_/core/Namespace/odoo-prod",
        to: "fail",
      }),
    ]);
    await served.host.idle();
    expect(deliveries).toHaveLength(before + 1);

    // The same record again (an Event Hubs redelivery) changes nothing.
    const again = await api("/runtime/webhooks/eventhub?functionName=cluster-changed", {
      method: "POST",
      body: JSON.stringify({ records: [record] }),
    });
    await served.host.idle();
    expect(again.status).toBe(200);
    expect(deliveries).toHaveLength(before + 1);
  });
});
