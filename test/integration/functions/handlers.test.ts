/**
 * The Functions handlers called as the host calls them: real `HttpRequest` and `InvocationContext`
 * objects, an Entra token check with real RS256 tokens, vigil's store on Azurite, the demo estate
 * on the emulator and a real webhook receiver. One timer sweep is driven through the queue
 * handlers (scan-targets, then notifications) and shared by the tests after it; the poison path
 * and the change handlers run last, on the state that sweep left.
 */
import { join } from "node:path";
import func, { type HttpResponseInit, type LogLevel } from "@azure/functions";
import { createLocalJWKSet, exportJWK, generateKeyPair, SignJWT } from "jose";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { type FunctionsHost, setFunctionsHost } from "../../../functions/host.js";
import {
  clusterChangedHandler,
  evidencePackHandler,
  evidenceReportHandler,
  evidenceVerifyHandler,
  findingsHandler,
  gateHandler,
  healthHandler,
  notifyHandler,
  resourceChangedHandler,
  scanTargetHandler,
  sweepHandler,
} from "../../../functions/index.js";
import {
  type AppRuntime,
  createAuthenticator,
  type GateAnswer,
  loadCatalogue,
  loadConfig,
  openAppRuntime,
  type ScanTargetMessage,
} from "../../../src/app/index.js";
import { type EstateSession, openEmulatedEstate } from "../../../src/cli/estate.js";
import { type Finding, parseInstant, type StateRow } from "../../../src/core/index.js";
import { createWebhookSink, verifyWebhookSignature } from "../../../src/notify/index.js";
import { type ReceivedMessage, StoreError } from "../../../src/store/index.js";
import { startTestAzurite } from "../../support/azurite.js";
import { ROOT } from "../../support/cli.js";
import { type HttpReceiver, startHttpReceiver } from "../../support/http-receiver.js";

const { HttpRequest, InvocationContext } = func;

const DEMO = join(ROOT, "estates", "demo");
const CONFIG = join(DEMO, "vigil.config.json");
const TENANT = "4b2e8f1a-7c3d-4e5f-9a0b-1c2d3e4f5a6b";
const AUDIENCE = "api://vigil-functions-test";
const ISSUER = `https://login.microsoftonline.com/${TENANT}/v2.0`;
const SECRET = "functions-handlers-webhook-secret";
const PROD = "daa9e34f-fc7d-46c9-bee8-a67739d9ef7a";
const STAGING = "af350284-b884-4fc5-ae9f-f426eb319a08";
const PROD_SCOPES = [PROD, "aks-hfw-prod", "998fecfd-3d43-4945-87dd-d17ed3785bd6"];
const STATIC_ACCOUNT = `/subscriptions/${PROD}/resourceGroups/rg-hfw-web-prod/providers/Microsoft.Storage/storageAccounts/sthfwstaticprod`;
const AKS_PROD = `/subscriptions/${PROD}/resourceGroups/rg-hfw-erp-aks-prod/providers/Microsoft.ContainerService/managedClusters/aks-hfw-prod`;

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"];

let rt: AppRuntime;
/** What a host hands the handlers (the use cases are added by `setFunctionsHost`). */
type HostParts = Omit<FunctionsHost, "app">;

let host: HostParts;
let session: EstateSession;
let receiver: HttpReceiver;
let signingKey: PrivateKey;
let strangerKey: PrivateKey;

/** An Entra v2.0 access token for this API with `roles`, signed by the tenant's key. */
function token(roles: string[], key: PrivateKey = signingKey): Promise<string> {
  return new SignJWT({ roles, azp: "pipeline-client" })
    .setProtectedHeader({ alg: "RS256", kid: "tenant-key" })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject("release-pipeline")
    .setIssuedAt()
    .setExpirationTime("10m")
    .sign(key);
}

/** A GET as the host hands it over; `path` is below `/api/`. */
function get(path: string, bearer?: string) {
  return new HttpRequest({
    method: "GET",
    url: `https://vigil.example/api/${path}`,
    headers: bearer === undefined ? {} : { authorization: `Bearer ${bearer}` },
  });
}

interface Logged {
  level: LogLevel;
  text: string;
}

/** An invocation context whose log lines are kept in `logs`. */
function invocation(functionName: string, triggerMetadata?: Record<string, unknown>) {
  const logs: Logged[] = [];
  const context = new InvocationContext({
    functionName,
    invocationId: `${functionName}-${Math.random().toString(16).slice(2)}`,
    logHandler: (level, ...args) => logs.push({ level, text: args.map(String).join(" ") }),
    ...(triggerMetadata !== undefined ? { triggerMetadata } : {}),
  });
  return { context, logs };
}

function errorsOf(logs: Logged[]): string[] {
  return logs.filter((l) => l.level === "error").map((l) => l.text);
}

function headerOf(response: HttpResponseInit, name: string): string | undefined {
  return new Headers(response.headers as Record<string, string>).get(name) ?? undefined;
}

function bodyText(response: HttpResponseInit): string {
  if (response.jsonBody !== undefined) return JSON.stringify(response.jsonBody);
  if (typeof response.body === "string") return response.body;
  return Buffer.from(response.body as Uint8Array).toString("utf8");
}

/** Every message waiting in a queue, each hidden for five minutes while the test handles it. */
async function drain(queue: AppRuntime["store"]["queues"]["scanTargets"]) {
  const received: ReceivedMessage[] = [];
  for (;;) {
    const batch = await queue.receive(32, 300);
    if (batch.length === 0) return received;
    received.push(...batch);
  }
}

async function stateOf(scope: string): Promise<StateRow[]> {
  const rows: StateRow[] = [];
  for await (const row of rt.store.listState(scope)) rows.push(row);
  return rows;
}

const timer = {
  isPastDue: false,
  schedule: { adjustForDST: false },
  scheduleStatus: {
    last: "2026-11-23T05:30:00.000Z",
    next: "2026-11-23T06:00:00.000Z",
    lastUpdated: "2026-11-23T05:30:00.000Z",
  },
};

beforeAll(async () => {
  // The pack prints its PDF only when Chromium is there: leave it out, it takes tens of seconds.
  vi.stubEnv("VIGIL_CHROMIUM_PATH", join(ROOT, "no-chromium-here"));
  const azurite = await startTestAzurite();
  receiver = await startHttpReceiver({ status: 204 });
  const catalogue = loadCatalogue();
  const loaded = loadConfig(catalogue, CONFIG, undefined, { env: {} });
  session = await openEmulatedEstate(DEMO, loaded.config, { configPath: CONFIG });
  const seedNow = parseInstant(session.now as string) as number;
  rt = await openAppRuntime({
    env: {},
    catalogue,
    configPath: CONFIG,
    store: { connectionString: azurite.connectionString },
    estate: { config: session.config, deps: session.deps },
    sinks: [createWebhookSink({ name: "ops", url: `${receiver.origin}/hook`, secret: SECRET })],
    evaluationTime: () => seedNow,
  });
  const tenantKey = await generateKeyPair("RS256");
  signingKey = tenantKey.privateKey;
  strangerKey = (await generateKeyPair("RS256")).privateKey;
  const jwk = { ...(await exportJWK(tenantKey.publicKey)), kid: "tenant-key", use: "sig" };
  const authenticate = createAuthenticator(
    { functionKeys: undefined, entra: { tenantId: TENANT, audience: AUDIENCE } },
    { jwks: createLocalJWKSet({ keys: [jwk] }) },
  );
  host = { rt, authenticate };
  setFunctionsHost(host);
});

afterAll(async () => {
  vi.unstubAllEnvs();
  setFunctionsHost(undefined);
  await rt?.store.close();
  await session?.close();
  await receiver?.close();
});

describe("HTTP handlers before any sweep", () => {
  it("refuses the gate without a token with 401 and says nothing about the estate", async () => {
    const response = await gateHandler(get("gate?environment=prod"), invocation("gate").context);

    expect(response.status).toBe(401);
    expect(response.jsonBody).toEqual({
      error: { code: "missing_token", message: expect.any(String) },
    });
    expect(headerOf(response, "www-authenticate")).toMatch(/^Bearer /);
    expect(bodyText(response)).not.toMatch(/prod|decision|daa9e34f/);
  });

  it.each([
    ["findings", findingsHandler],
    ["evidence/report", evidenceReportHandler],
    ["evidence/pack", evidencePackHandler],
    ["evidence/verify", evidenceVerifyHandler],
  ] as const)("refuses %s without a token with 401", async (path, handler) => {
    const response = await handler(get(path), invocation("http").context);

    expect(response.status).toBe(401);
    expect(response.jsonBody).toEqual({
      error: { code: "missing_token", message: expect.any(String) },
    });
  });

  it("checks the token before the query: a malformed query without a token is still 401", async () => {
    const response = await gateHandler(get("gate?maxAgeMinutes=soon"), invocation("gate").context);

    expect(response.status).toBe(401);
  });

  it("refuses a token signed by a key the tenant does not publish with 401", async () => {
    const forged = await token(["Gate.Read"], strangerKey);

    const response = await gateHandler(
      get("gate?environment=prod", forged),
      invocation("gate").context,
    );

    expect(response.status).toBe(401);
    expect(response.jsonBody).toMatchObject({ error: { code: "invalid_token" } });
  });

  it("refuses a valid token without the Gate.Read role with 403", async () => {
    const evidenceOnly = await token(["Evidence.Read"]);

    const response = await gateHandler(
      get("gate?environment=prod", evidenceOnly),
      invocation("gate").context,
    );

    expect(response.status).toBe(403);
    expect(response.jsonBody).toEqual({
      error: { code: "insufficient_role", message: expect.stringContaining("Gate.Read") },
    });
  });

  it("answers the gate 503 unknown before any sweep, naming every prod scope as never scanned", async () => {
    const response = await gateHandler(
      get("gate?environment=prod", await token(["Gate.Read"])),
      invocation("gate").context,
    );

    expect(response.status).toBe(503);
    const answer = response.jsonBody as GateAnswer;
    expect(answer.decision).toBe("unknown");
    expect(answer.reasons.sort()).toEqual(
      PROD_SCOPES.map((scope) => `scope ${scope} was never scanned`).sort(),
    );
    expect(answer.evaluatedAt).toBeNull();
  });

  it.each([
    ["gate?environment=prod&maxAgeMinutes=soon", "maxAgeMinutes", gateHandler],
    ["gate?environment=prod&minSeverity=urgent", "minSeverity", gateHandler],
    ["gate?minSeverity=high", "scope", gateHandler],
    ["gate?environment=prod&colour=red", "colour", gateHandler],
    ["findings?limit=0", "limit", findingsHandler],
    ["findings?format=xml", "format", findingsHandler],
    ["findings?status=broken", "status", findingsHandler],
    ["findings?cursor=not-a-cursor", "cursor", findingsHandler],
    ["evidence/report?framework=pci", "framework", evidenceReportHandler],
    ["evidence/report?from=yesterday", "from", evidenceReportHandler],
    ["evidence/pack?scope=prod", "scope", evidencePackHandler],
    ["evidence/verify?deep=1", "deep", evidenceVerifyHandler],
  ] as const)("answers %s with 400 naming the parameter %s", async (path, parameter, handler) => {
    const bearer = await token(["Gate.Read", "Evidence.Read"]);

    const response = await handler(get(path, bearer), invocation("http").context);

    expect(response.status).toBe(400);
    expect(response.jsonBody).toEqual({
      error: {
        code: "InvalidInput",
        message: expect.stringContaining(parameter),
        pointer: parameter,
      },
    });
  });

  it("answers an environment the config does not name with 400 UnknownEnvironment", async () => {
    const response = await gateHandler(
      get("gate?environment=qa", await token(["Gate.Read"])),
      invocation("gate").context,
    );

    expect(response.status).toBe(400);
    expect(response.jsonBody).toMatchObject({
      error: { code: "UnknownEnvironment", pointer: "environment" },
    });
  });

  it("needs Evidence.Read, not Gate.Read, for the findings", async () => {
    const response = await findingsHandler(
      get("findings", await token(["Gate.Read"])),
      invocation("findings").context,
    );

    expect(response.status).toBe(403);
    expect(response.jsonBody).toMatchObject({ error: { code: "insufficient_role" } });
  });

  it("lists no findings and an intact, empty ledger before any sweep", async () => {
    const bearer = await token(["Evidence.Read"]);

    const findings = await findingsHandler(get("findings", bearer), invocation("findings").context);
    const verify = await evidenceVerifyHandler(
      get("evidence/verify", bearer),
      invocation("verify").context,
    );
    const pack = await evidencePackHandler(
      get("evidence/pack", bearer),
      invocation("pack").context,
    );

    expect(findings.status).toBe(200);
    expect(findings.jsonBody).toEqual({ total: 0, next: null, findings: [] });
    expect(verify.status).toBe(200);
    expect(verify.jsonBody).toMatchObject({ ok: true, records: 0, head: null });
    expect(pack.status).toBe(404);
    expect(pack.jsonBody).toMatchObject({ error: { code: "no_evidence" } });
  });

  it("answers 503 store_unavailable with the invocation id when the store cannot be read", async () => {
    const failing = new StoreError(
      "GET https://account.table.core.windows.net/runs: 503 ServerBusy",
      {
        operation: "read runs",
        statusCode: 503,
      },
    );
    setFunctionsHost({
      ...host,
      rt: { ...rt, store: { ...rt.store, head: () => Promise.reject(failing) } },
    });
    const { context, logs } = invocation("gate");

    const response = await gateHandler(
      get("gate?environment=prod", await token(["Gate.Read"])),
      context,
    ).finally(() => setFunctionsHost(host));

    expect(response.status).toBe(503);
    expect(response.jsonBody).toEqual({
      error: {
        code: "store_unavailable",
        message: expect.any(String),
        invocationId: context.invocationId,
      },
    });
    expect(bodyText(response)).not.toContain("core.windows.net");
    expect(errorsOf(logs)).toEqual([expect.stringContaining("ServerBusy")]);
  });

  it("answers 500 with the invocation id and no internals when a handler fails unexpectedly", async () => {
    setFunctionsHost({
      ...host,
      rt: {
        ...rt,
        store: {
          ...rt.store,
          head: () => Promise.reject(new TypeError("x is undefined at gate.ts:42")),
        },
      },
    });
    const { context } = invocation("gate");

    const response = await gateHandler(
      get("gate?environment=prod", await token(["Gate.Read"])),
      context,
    ).finally(() => setFunctionsHost(host));

    expect(response.status).toBe(500);
    expect(response.jsonBody).toEqual({
      error: { code: "internal", message: expect.any(String), invocationId: context.invocationId },
    });
    expect(bodyText(response)).not.toMatch(/undefined|gate\.ts/);
  });

  it("answers health without a token and without estate data", async () => {
    const response = await healthHandler(get("health"), invocation("health").context);

    expect(response.status).toBe(200);
    expect(response.jsonBody).toEqual({ status: "ok" });
  });
});

describe("a timer sweep through the queue handlers", () => {
  let runId: string;
  let scanMessages: ScanTargetMessage[];
  let notifications: ReceivedMessage[];
  let sweepLogs: Logged[];
  let scanLogs: Logged[][];
  let evidence: string;

  beforeAll(async () => {
    const sweep = invocation("sweep");
    await sweepHandler(timer, sweep.context);
    sweepLogs = sweep.logs;
    const received = await drain(rt.store.queues.scanTargets);
    scanMessages = received.map((m) => JSON.parse(m.text) as ScanTargetMessage);
    runId = scanMessages[0]?.runId as string;
    // As the host does: handle the batch concurrently, delete each message once handled.
    scanLogs = await Promise.all(
      received.map(async (message) => {
        const { context, logs } = invocation("scan-target", {
          dequeueCount: message.dequeueCount,
          id: message.messageId,
        });
        await scanTargetHandler(JSON.parse(message.text), context);
        await rt.store.queues.scanTargets.delete(message);
        return logs;
      }),
    );
    notifications = await drain(rt.store.queues.notifications);
    for (const message of notifications) {
      await notifyHandler(JSON.parse(message.text), invocation("notify").context);
      await rt.store.queues.notifications.delete(message);
    }
    evidence = await token(["Evidence.Read"]);
  });

  it("queues one scan-targets message per planned target, all of one run", () => {
    expect(scanMessages.length).toBeGreaterThan(3);
    expect(new Set(scanMessages.map((m) => m.runId))).toEqual(new Set([runId]));
    expect(sweepLogs.map((l) => l.text)).toContain(
      `sweep ${runId}: ${scanMessages.length} target(s) queued, 0 scope(s) could not be planned`,
    );
    expect(scanMessages.map((m) => m.target.kind).sort()).toEqual(
      expect.arrayContaining(["cluster", "subscription", "tenant"]),
    );
  });

  it("records every target and completes the run, queueing its notifications message", () => {
    const lines = scanLogs.flat();

    expect(lines.filter((l) => l.level === "error" || l.level === "warning")).toEqual([]);
    expect(lines.filter((l) => l.text.startsWith(`run ${runId}: `))).toHaveLength(
      scanMessages.length,
    );
    // Concurrent last finishers may each see the run complete: the digest is still sent once.
    expect(lines.some((l) => l.text.endsWith("; run completed"))).toBe(true);
    expect(notifications.length).toBeGreaterThan(0);
    expect(new Set(notifications.map((m) => m.text))).toEqual(
      new Set([JSON.stringify({ v: 1, runId })]),
    );
  });

  it("delivers exactly one signed digest of the run to the webhook", () => {
    expect(receiver.requests).toHaveLength(1);
    const [delivery] = receiver.requests;
    expect(verifyWebhookSignature(SECRET, delivery!.headers, delivery!.body).valid).toBe(true);
    const digest = JSON.parse(delivery!.body.toString("utf8")) as {
      runId: string;
      trigger: string;
      transitions: { kind: string; controlId: string; resourceId: string }[];
    };
    expect(digest).toMatchObject({ runId, trigger: "timer" });
    expect(digest.transitions).toContainEqual(
      expect.objectContaining({
        kind: "new-failure",
        controlId: "storage-account-blob-public-access-disabled",
        resourceId: STATIC_ACCOUNT,
      }),
    );
  });

  it("posts nothing more when the notifications message is handled again", async () => {
    const { context, logs } = invocation("notify");

    await notifyHandler({ v: 1, runId }, context);

    expect(receiver.requests).toHaveLength(1);
    expect(logs.map((l) => l.text).join("\n")).toMatch(/webhook:ops had it/);
  });

  it("answers the prod gate 409 with the failing prod controls, and none of staging", async () => {
    const response = await gateHandler(
      get("gate?environment=prod", await token(["Gate.Read"])),
      invocation("gate").context,
    );

    expect(response.status).toBe(409);
    const answer = response.jsonBody as GateAnswer;
    expect(answer).toMatchObject({ decision: "fail", runId });
    expect(answer.failing).toContainEqual(
      expect.objectContaining({
        scope: PROD,
        controlId: "storage-account-blob-public-access-disabled",
        resourceId: STATIC_ACCOUNT,
        status: "fail",
      }),
    );
    expect(answer.failing).toContainEqual(
      expect.objectContaining({
        scope: "aks-hfw-prod",
        controlId: "namespace-default-deny-ingress",
        resourceId: "k8s://aks-hfw-prod/_/core/Namespace/monitoring",
      }),
    );
    expect(answer.failing.every((f) => PROD_SCOPES.includes(f.scope))).toBe(true);
    expect(JSON.stringify(answer.failing)).not.toMatch(new RegExp(`${STAGING}|aks-hfw-staging`));
    expect(answer.ledgerHead?.seq).toBeGreaterThan(0);
  });

  it("pages the findings: limit=5 gives a cursor to a different second page", async () => {
    const first = await findingsHandler(
      get("findings?limit=5", evidence),
      invocation("findings").context,
    );
    const { total, next, findings } = first.jsonBody as {
      total: number;
      next: string | null;
      findings: Finding[];
    };

    const second = await findingsHandler(
      get(`findings?limit=5&cursor=${encodeURIComponent(next as string)}`, evidence),
      invocation("findings").context,
    );

    expect(first.status).toBe(200);
    expect(findings).toHaveLength(5);
    expect(total).toBeGreaterThan(10);
    expect(headerOf(first, "x-vigil-next-cursor")).toBe(next);
    expect(headerOf(first, "x-vigil-total")).toBe(String(total));
    const page2 = (second.jsonBody as { findings: Finding[] }).findings;
    expect(page2).toHaveLength(5);
    const key = (f: Finding) => `${f.scope} ${f.controlId} ${f.resourceId}`;
    const firstKeys = new Set(findings.map(key));
    expect(page2.filter((f) => firstKeys.has(key(f)))).toEqual([]);
  });

  it("filters the findings by status, scope and control", async () => {
    const response = await findingsHandler(
      get(
        `findings?status=fail&scope=${PROD}&control=storage-account-blob-public-access-disabled`,
        evidence,
      ),
      invocation("findings").context,
    );

    const { findings } = response.jsonBody as { findings: Finding[] };
    expect(findings.map((f) => [f.resourceId, f.status])).toEqual([[STATIC_ACCOUNT, "fail"]]);
  });

  it("renders the findings as CSV, SARIF and OCSF with their content types", async () => {
    const csv = await findingsHandler(
      get("findings?format=csv&limit=5", evidence),
      invocation("f").context,
    );
    const sarif = await findingsHandler(
      get("findings?format=sarif&limit=5", evidence),
      invocation("f").context,
    );
    const ocsf = await findingsHandler(
      get("findings?format=ocsf&limit=5", evidence),
      invocation("f").context,
    );

    expect(headerOf(csv, "content-type")).toBe("text/csv; charset=utf-8");
    expect(bodyText(csv).trim().split(/\r?\n/)).toHaveLength(6);
    expect(headerOf(csv, "x-vigil-next-cursor")).toBeDefined();
    expect(headerOf(sarif, "content-type")).toBe("application/sarif+json");
    const log = JSON.parse(bodyText(sarif)) as { version: string; runs: { results: unknown[] }[] };
    expect(log.version).toBe("2.1.0");
    expect(log.runs[0]?.results).toHaveLength(5);
    expect(headerOf(ocsf, "content-type")).toBe("application/json; charset=utf-8");
    const events = JSON.parse(bodyText(ocsf)) as { class_uid: number }[];
    expect(events).toHaveLength(5);
    expect(events.every((e) => e.class_uid === 2004)).toBe(true);
  });

  it("verifies the ledger: one record per target", async () => {
    const response = await evidenceVerifyHandler(
      get("evidence/verify", evidence),
      invocation("v").context,
    );

    expect(response.status).toBe(200);
    expect(response.jsonBody).toMatchObject({
      ok: true,
      records: scanMessages.length,
      problems: [],
    });
  });

  it("serves the evidence report as self-contained HTML from a verified ledger", async () => {
    const response = await evidenceReportHandler(
      get("evidence/report?framework=iso27001", evidence),
      invocation("r").context,
    );

    expect(response.status).toBe(200);
    expect(headerOf(response, "content-type")).toBe("text/html; charset=utf-8");
    expect(headerOf(response, "x-vigil-ledger-verified")).toBe("true");
    expect(headerOf(response, "content-security-policy")).toMatch(/^default-src 'none'/);
    expect(bodyText(response)).toMatch(/^<!doctype html>/i);
    expect(bodyText(response)).toContain("sthfwstaticprod");
  });

  it("serves the evidence pack as a zip", async () => {
    const response = await evidencePackHandler(
      get("evidence/pack", evidence),
      invocation("p").context,
    );

    expect(response.status).toBe(200);
    expect(headerOf(response, "content-type")).toBe("application/zip");
    expect(headerOf(response, "content-disposition")).toMatch(
      /^attachment; filename="vigil-evidence-pack-/,
    );
    expect(Buffer.from(response.body as Uint8Array).subarray(0, 4)).toEqual(
      Buffer.from([0x50, 0x4b, 0x03, 0x04]),
    );
  });
});

/** An Event Grid event of the subscription system topic, as the trigger hands it over. */
function resourceEvent(id: string, resourceId: string, eventType = "ResourceWriteSuccess") {
  return {
    id,
    topic: `/subscriptions/${PROD}`,
    subject: resourceId,
    eventType: `Microsoft.Resources.${eventType}`,
    eventTime: "2026-11-23T06:10:00.000Z",
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

/** An AKS `kube-audit-admin` diagnostic record around a Kubernetes audit event. */
function auditRecord(resourceId: string | undefined, log: string) {
  return {
    time: "2026-11-23T06:12:00.000Z",
    ...(resourceId !== undefined ? { resourceId } : {}),
    category: "kube-audit-admin",
    operationName: "Microsoft.ContainerService/managedClusters/diagnosticLogs/Read",
    properties: { log, stream: "stdout" },
  };
}

const NETWORK_POLICY_PATCH = JSON.stringify({
  kind: "Event",
  apiVersion: "audit.k8s.io/v1",
  level: "Metadata",
  auditID: "6c0f3a52-9d1e-4b7a-8e25-0f4c3b2a1d90",
  stage: "ResponseComplete",
  verb: "patch",
  objectRef: {
    resource: "networkpolicies",
    namespace: "odoo-prod",
    name: "default-deny-ingress",
    apiGroup: "networking.k8s.io",
    apiVersion: "v1",
  },
  responseStatus: { code: 200 },
});

describe("resourceChangedHandler", () => {
  it("re-evaluates the changed storage account in a run named after the event", async () => {
    const { context, logs } = invocation("resource-changed");
    const before = (await rt.store.head())?.seq as number;

    await resourceChangedHandler(resourceEvent("evt-static-1", STATIC_ACCOUNT), context);

    expect(logs.map((l) => l.text)).toEqual([
      expect.stringMatching(
        /^event evt-static-1: run event-evt-static-1 re-evaluated [1-9]\d* finding\(s\), 0 change\(s\)$/,
      ),
    ]);
    const rows = (await stateOf(PROD)).filter((r) => r.resourceId === STATIC_ACCOUNT);
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.lastRun === "event-evt-static-1")).toBe(true);
    expect(
      rows.find((r) => r.controlId === "storage-account-blob-public-access-disabled")?.status,
    ).toBe("fail");
    expect((await rt.store.head())?.seq).toBe(before + 1);
  });

  it("keeps one resource's failures when an event re-evaluates another resource of the subscription", async () => {
    const ops = `/subscriptions/${PROD}/resourceGroups/rg-hfw-ops-prod/providers/Microsoft.Storage/storageAccounts/sthfwopsprod`;

    await resourceChangedHandler(
      resourceEvent("evt-ops-1", ops),
      invocation("resource-changed").context,
    );

    const rows = (await stateOf(PROD)).filter((r) => r.resourceId === STATIC_ACCOUNT);
    const publicAccess = rows.find(
      (r) => r.controlId === "storage-account-blob-public-access-disabled",
    );
    expect(publicAccess).toMatchObject({ status: "fail" });
    expect(publicAccess?.deletedAt).toBeUndefined();
  });

  it("ignores an event type it does not act on, recording nothing", async () => {
    const { context, logs } = invocation("resource-changed");
    const before = await rt.store.head();

    await resourceChangedHandler(
      resourceEvent("evt-failed-1", STATIC_ACCOUNT, "ResourceWriteFailure"),
      context,
    );

    expect(logs.map((l) => l.text)).toEqual([
      "event evt-failed-1 ignored: event type Microsoft.Resources.ResourceWriteFailure is not acted on",
    ]);
    expect(await rt.store.runs.getRun("event-evt-failed-1")).toBeUndefined();
    expect(await rt.store.head()).toEqual(before);
  });

  it("throws InputError for an event without an id, so that the delivery is not taken as handled", async () => {
    const { id: _id, ...event } = resourceEvent("x", STATIC_ACCOUNT);

    await expect(
      resourceChangedHandler(event as never, invocation("resource-changed").context),
    ).rejects.toMatchObject({ name: "InputError", pointer: "/0/id" });
  });
});

describe("clusterChangedHandler", () => {
  it("logs each rejected record and still re-evaluates the cluster of the valid one", async () => {
    const { context, logs } = invocation("cluster-changed");
    const batch = {
      records: [
        auditRecord(AKS_PROD.toUpperCase(), "{not json"),
        auditRecord(undefined, NETWORK_POLICY_PATCH),
        auditRecord(AKS_PROD.toUpperCase(), NETWORK_POLICY_PATCH),
      ],
    };

    await clusterChangedHandler([batch, { notRecords: true }], context);

    expect(errorsOf(logs)).toEqual([
      "event 0 record 1 rejected: the record has no resourceId",
      "event 0 record 0 rejected: the text is not JSON",
      expect.stringMatching(
        /^event 1 rejected: .*a diagnostic log batch must be an object with a "records" array/,
      ),
    ]);
    const reevaluated = logs.filter((l) => l.level === "information").map((l) => l.text);
    expect(reevaluated).toEqual([
      expect.stringMatching(
        /^event 0: cluster aks-hfw-prod re-evaluated in run audit-aks-hfw-prod-[0-9a-f]{32}, 0 change\(s\)$/,
      ),
    ]);
    const runId = /in run (\S+),/.exec(reevaluated[0] as string)?.[1] as string;
    expect(await rt.store.runs.getRun(runId)).toMatchObject({
      trigger: "kube-audit",
      status: "completed",
    });
    const rows = await stateOf("aks-hfw-prod");
    expect(rows.filter((r) => r.deletedAt === undefined).every((r) => r.lastRun === runId)).toBe(
      true,
    );
    // The rejected inputs are on record, not only in the log, once each even when redelivered.
    await clusterChangedHandler(
      [batch, { notRecords: true }],
      invocation("cluster-changed").context,
    );
    const day = new Date(rt.clock()).toISOString().slice(0, 10);
    const rejected: { source: string; reason: string }[] = [];
    for await (const r of rt.store.runs.listRejected(day)) rejected.push(r);
    expect(rejected.map((r) => r.reason).sort()).toEqual(
      [
        "the record has no resourceId",
        "the text is not JSON",
        expect.stringMatching(/a diagnostic log batch must be an object/),
      ].sort(),
    );
    expect(rejected.every((r) => r.source === "kube-audit")).toBe(true);
  });
});

describe("scanTargetHandler on the poison path", () => {
  const CLUSTER = "cluster aks-hfw-prod";
  let message: ScanTargetMessage;
  let broken: HostParts;

  beforeAll(async () => {
    // A later sweep whose aks-hfw-prod target keeps failing: the Kubernetes collector has a bug.
    await sweepHandler(timer, invocation("sweep").context);
    const queued = (await drain(rt.store.queues.scanTargets)).map(
      (m) => JSON.parse(m.text) as ScanTargetMessage,
    );
    message = queued.find(
      (m) => m.target.kind === "cluster" && m.target.cluster.name === "aks-hfw-prod",
    ) as ScanTargetMessage;
    broken = {
      ...host,
      rt: {
        ...rt,
        estate: {
          ...rt.estate,
          kubernetes: {
            ...rt.estate.kubernetes,
            collect: () => Promise.reject(new Error("collector bug")),
          },
        },
      },
    };
  });

  afterAll(() => setFunctionsHost(host));

  it.each([
    ["text that is not JSON", "this is not json"],
    ["a message without a trigger", { v: 1, runId: "sweep-x", now: "2026-11-23T06:00:00Z" }],
    ["a message of another version", { v: 2 }],
  ])("throws InputError for %s, so that the runtime poisons it", async (_, body) => {
    const { context, logs } = invocation("scan-target", { dequeueCount: 1 });
    const before = await rt.store.head();

    await expect(scanTargetHandler(body, context)).rejects.toMatchObject({ name: "InputError" });

    expect(errorsOf(logs)).toEqual([expect.stringMatching(/^scan-targets message rejected: /)]);
    expect(await rt.store.head()).toEqual(before);
  });

  it("rethrows an earlier attempt's failure and records nothing", async () => {
    setFunctionsHost(broken);
    const { context, logs } = invocation("scan-target", { dequeueCount: 1 });
    const rowsBefore = await stateOf("aks-hfw-prod");
    const headBefore = await rt.store.head();

    await expect(scanTargetHandler(message, context)).rejects.toThrow("collector bug");

    expect(logs).toEqual([
      { level: "warning", text: `run ${message.runId}: attempt 1 failed: collector bug` },
    ]);
    expect(await stateOf("aks-hfw-prod")).toEqual(rowsBefore);
    expect(await rt.store.head()).toEqual(headBefore);
  });

  it("rethrows the last attempt's failure after turning the cluster's findings into errors", async () => {
    setFunctionsHost(broken);
    const { context, logs } = invocation("scan-target", { dequeueCount: rt.maxDequeueCount });
    const known = (await stateOf("aks-hfw-prod")).filter(
      (r) => r.target === CLUSTER && r.deletedAt === undefined,
    );

    await expect(scanTargetHandler(message, context)).rejects.toThrow("collector bug");

    expect(errorsOf(logs)).toEqual([
      `run ${message.runId}: cluster failed on its last attempt: collector bug`,
    ]);
    const after = (await stateOf("aks-hfw-prod")).filter(
      (r) => r.target === CLUSTER && r.deletedAt === undefined,
    );
    expect(known.length).toBeGreaterThan(5);
    expect(after.map((r) => [r.controlId, r.resourceId]).sort()).toEqual(
      known.map((r) => [r.controlId, r.resourceId]).sort(),
    );
    expect(after.every((r) => r.status === "error" && r.lastRun === message.runId)).toBe(true);
    expect(after[0]?.finding?.reason).toContain("collector bug");
    const targets = [];
    for await (const t of rt.store.runs.listTargets(message.runId)) targets.push(t);
    expect(targets).toEqual([
      expect.objectContaining({
        target: CLUSTER,
        outcome: "failed",
        message: expect.stringContaining("failed 5 time(s)"),
      }),
    ]);
  });

  it("makes the gate answer 503 unknown for the cluster, naming the results it could not evaluate", async () => {
    setFunctionsHost(host);

    const response = await gateHandler(
      get("gate?scope=aks-hfw-prod", await token(["Gate.Read"])),
      invocation("gate").context,
    );

    expect(response.status).toBe(503);
    const answer = response.jsonBody as GateAnswer;
    expect(answer.decision).toBe("unknown");
    expect(answer.reasons).toEqual([
      expect.stringMatching(
        /^scope aks-hfw-prod has \d+ control result\(s\) that could not be evaluated$/,
      ),
    ]);
    expect(answer.failing.length).toBeGreaterThan(5);
    expect(answer.failing.every((f) => f.status === "error")).toBe(true);
  });
});
