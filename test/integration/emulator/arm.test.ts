/** The emulator's ARM surface over the basic seed, driven with plain HTTPS requests and one real SDK client. */

import { StorageManagementClient } from "@azure/arm-storage";
import { beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import {
  formatRequestLogEntry,
  type RequestLogEntry,
  type RunningEmulator,
} from "../../../src/emulator/index.js";
import { emulatorCredential, emulatorRequest, startTestEmulator } from "../../support/emulator.js";

const PROD = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const STAGING = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a";
const TENANT = "4b7e2c1a-9d3f-4e8a-b6c5-2f1d0e9a8b7c";
const PG = `/subscriptions/${PROD}/resourceGroups/rg-basic-data/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-basic-prod`;
const AKS = `/subscriptions/${PROD}/resourceGroups/rg-basic-aks/providers/Microsoft.ContainerService/managedClusters/aks-basic-prod`;
const EVENTS = `/subscriptions/${PROD}/providers/Microsoft.Insights/eventtypes/management/values`;
const API = "api-version=2025-08-01";
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

interface ArmList {
  value: { id?: string; name?: string; [key: string]: unknown }[];
  nextLink?: string;
}

let emulator: RunningEmulator;
const seen: RequestLogEntry[] = [];

beforeAll(async () => {
  emulator = await startTestEmulator("basic", { onRequest: (entry) => seen.push(entry) });
});

async function listAll(path: string): Promise<{ pages: number; items: ArmList["value"] }> {
  const items: ArmList["value"] = [];
  let next: string | undefined = path;
  let pages = 0;
  while (next !== undefined) {
    const response = await emulatorRequest(emulator, next);
    expect(response.status).toBe(200);
    const body = response.json as ArmList;
    items.push(...body.value);
    next = body.nextLink;
    pages++;
  }
  return { pages, items };
}

describe("ARM subscriptions", () => {
  it("lists the subscriptions of estate.json with tenant and state", async () => {
    const response = await emulatorRequest(emulator, `/subscriptions?${API}`);

    expect(response.status).toBe(200);
    expect((response.json as ArmList).value).toEqual([
      {
        id: `/subscriptions/${PROD}`,
        subscriptionId: PROD,
        displayName: "sub-basic-prod",
        state: "Enabled",
        tenantId: TENANT,
      },
      {
        id: `/subscriptions/${STAGING}`,
        subscriptionId: STAGING,
        displayName: "sub-basic-staging",
        state: "Enabled",
        tenantId: TENANT,
      },
    ]);
  });

  it("answers 404 SubscriptionNotFound for a subscription the estate does not have", async () => {
    const response = await emulatorRequest(
      emulator,
      `/subscriptions/00000000-0000-0000-0000-000000000000/providers/Microsoft.Storage/storageAccounts?${API}`,
    );

    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({ error: { code: "SubscriptionNotFound" } });
  });
});

describe("ARM resources", () => {
  it("serves a resource file as written, with request id and remaining-reads headers", async () => {
    const response = await emulatorRequest(emulator, `${PG}?${API}`);

    expect(response.status).toBe(200);
    expect(response.json).toMatchObject({
      id: PG,
      name: "psql-basic-prod",
      properties: { version: "17" },
    });
    expect(response.headers["x-ms-request-id"]).toMatch(UUID);
    expect(response.headers["x-ms-ratelimit-remaining-subscription-reads"]).toMatch(/^\d+$/);
  });

  it("matches paths case-insensitively", async () => {
    const response = await emulatorRequest(emulator, `${PG.toUpperCase()}?${API}`);

    expect(response.status).toBe(200);
    expect((response.json as { name: string }).name).toBe("psql-basic-prod");
  });

  it("requires api-version", async () => {
    const response = await emulatorRequest(emulator, PG);

    expect(response.status).toBe(400);
    expect(response.json).toMatchObject({ error: { code: "MissingApiVersionParameter" } });
  });

  it("answers 404 ResourceNotFound for a resource that is not seeded", async () => {
    const response = await emulatorRequest(emulator, `${PG}-nope?${API}`);

    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({ error: { code: "ResourceNotFound" } });
  });

  it("answers 404 ResourceGroupNotFound under a resource group that does not exist", async () => {
    const response = await emulatorRequest(
      emulator,
      `/subscriptions/${PROD}/resourceGroups/rg-nope/providers/Microsoft.Storage/storageAccounts?${API}`,
    );

    expect(response.status).toBe(404);
    expect(response.json).toMatchObject({ error: { code: "ResourceGroupNotFound" } });
  });

  it("pages a folder collection by pageSize with a nextLink that carries the query", async () => {
    const first = await emulatorRequest(emulator, `${PG}/backups?${API}`);
    const firstBody = first.json as ArmList;

    expect(firstBody.value.map((b) => b.name)).toEqual([
      "backup_639001234567890001",
      "backup_639001234567890002",
    ]);
    expect(firstBody.nextLink).toBe(`${emulator.armEndpoint}${PG}/backups?${API}&$skiptoken=2`);
    const second = (await emulatorRequest(emulator, firstBody.nextLink as string)).json as ArmList;
    expect(second.value.map((b) => b.name)).toEqual(["backup_639001234567890003"]);
    expect(second.nextLink).toBeUndefined();
  });

  it("lists a child folder whose parent is also a file (blobServices/default/containers)", async () => {
    const account = `/subscriptions/${PROD}/resourceGroups/rg-basic-storage/providers/Microsoft.Storage/storageAccounts/stbasicbkpprod`;

    const services = await listAll(`${account}/blobServices?${API}`);
    const containers = await listAll(`${account}/blobServices/default/containers?${API}`);

    expect(services.items.map((s) => s.name)).toEqual(["default"]);
    expect(containers.items.map((c) => c.name)).toEqual(["filestore-backups", "pg-dumps"]);
  });

  it("aggregates a provider-wide listing across every resource group of the subscription", async () => {
    const { items, pages } = await listAll(
      `/subscriptions/${PROD}/providers/Microsoft.Storage/storageAccounts?${API}`,
    );

    expect(items.map((a) => a.name).sort()).toEqual(["stbasicarchive", "stbasicbkpprod"]);
    expect(pages).toBe(1);
  });

  it("keeps a provider-wide listing inside its subscription", async () => {
    const { items } = await listAll(
      `/subscriptions/${STAGING}/providers/Microsoft.DBforPostgreSQL/flexibleServers?${API}`,
    );

    expect(items.map((s) => s.name)).toEqual(["psql-basic-staging"]);
  });

  it("lists one resource group's resources of a type, empty when it has none", async () => {
    const storage = await listAll(
      `/subscriptions/${PROD}/resourceGroups/rg-basic-archive/providers/Microsoft.Storage/storageAccounts?${API}`,
    );
    const none = await listAll(
      `/subscriptions/${PROD}/resourceGroups/rg-basic-archive/providers/Microsoft.DBforPostgreSQL/flexibleServers?${API}`,
    );

    expect(storage.items.map((a) => a.name)).toEqual(["stbasicarchive"]);
    expect(none.items).toEqual([]);
  });

  it("refuses writes with 405 and logs them", async () => {
    const methods = ["PUT", "PATCH", "DELETE", "POST"];

    const statuses = [];
    for (const method of methods) {
      statuses.push((await emulatorRequest(emulator, `${PG}?${API}`, { method, body: {} })).status);
    }

    expect(statuses).toEqual([405, 405, 405, 405]);
    const logged = emulator.requests.filter((e) => e.status === 405).map((e) => e.method);
    expect(logged).toEqual(expect.arrayContaining(methods));
  });
});

describe("ARM activity log", () => {
  const window =
    "eventTimestamp ge '2026-11-01T00:00:00Z' and eventTimestamp le '2026-11-23T06:00:00Z'";

  it("filters events by the eventTimestamp window", async () => {
    const { items } = await listAll(`${EVENTS}?${API}&$filter=${encodeURIComponent(window)}`);

    expect(items.map((e) => e.eventTimestamp)).toEqual([
      "2026-11-10T21:15:02.5120000Z",
      "2026-11-20T10:40:55.0010000Z",
    ]);
  });

  it("filters by resourceUri case-insensitively", async () => {
    const filter = `${window} and resourceUri eq '${PG.toLowerCase()}'`;

    const { items } = await listAll(`${EVENTS}?${API}&$filter=${encodeURIComponent(filter)}`);

    expect(items.map((e) => e.resourceId)).toEqual([PG]);
  });

  it("filters by resourceGroupName", async () => {
    const filter = `eventTimestamp ge '2026-01-01T00:00:00Z' and resourceGroupName eq 'RG-BASIC-DATA'`;

    const { items } = await listAll(`${EVENTS}?${API}&$filter=${encodeURIComponent(filter)}`);

    expect(items).toHaveLength(2);
    expect(items.every((e) => e.resourceGroupName === "rg-basic-data")).toBe(true);
  });

  it("rejects a filter field it does not know", async () => {
    const response = await emulatorRequest(
      emulator,
      `${EVENTS}?${API}&$filter=${encodeURIComponent("caller eq 'x'")}`,
    );

    expect(response.status).toBe(400);
  });
});

describe("ARM listClusterUserCredential", () => {
  it("returns a kubeconfig pointing at the emulator's cluster path with its CA and an exec user", async () => {
    const response = await emulatorRequest(emulator, `${AKS}/listClusterUserCredential?${API}`, {
      method: "POST",
    });

    expect(response.status).toBe(200);
    const body = response.json as { kubeconfigs: { name: string; value: string }[] };
    expect(body.kubeconfigs[0]?.name).toBe("clusterUser");
    const config = parse(Buffer.from(body.kubeconfigs[0]?.value ?? "", "base64").toString("utf8"));
    expect(config.clusters[0].cluster.server).toBe(`${emulator.armEndpoint}/k8s/aks-basic-prod`);
    expect(emulator.kubernetes["aks-basic-prod"]?.server).toBe(config.clusters[0].cluster.server);
    expect(
      Buffer.from(config.clusters[0].cluster["certificate-authority-data"], "base64").toString(),
    ).toBe(emulator.caPem);
    expect(config.users[0].user.exec.command).toBe("kubelogin");
    expect(config.users[0].user.exec.args).toEqual(expect.arrayContaining(["--tenant-id", TENANT]));
  });

  it("answers 404 for a cluster without a kubernetes folder", async () => {
    const response = await emulatorRequest(
      emulator,
      `${AKS.replace("aks-basic-prod", "aks-missing")}/listClusterUserCredential?${API}`,
      { method: "POST" },
    );

    expect(response.status).toBe(404);
  });
});

describe("ARM authentication", () => {
  it("answers 401 without a bearer token", async () => {
    const response = await emulatorRequest(emulator, `${PG}?${API}`, { authorization: null });

    expect(response.status).toBe(401);
    expect(response.json).toMatchObject({ error: { code: "AuthenticationFailed" } });
    expect(response.headers["x-ms-request-id"]).toMatch(UUID);
  });

  it("answers 401 with a wrong token, on every prefix", async () => {
    const paths = [
      `${PG}?${API}`,
      "/graph/v1.0/identity/conditionalAccess/policies",
      "/k8s/aks-basic-prod/api/v1/namespaces",
      "/_emulator/requests",
    ];

    const statuses = [];
    for (const path of paths) {
      statuses.push(
        (await emulatorRequest(emulator, path, { authorization: "Bearer not-the-token" })).status,
      );
    }

    expect(statuses).toEqual([401, 401, 401, 401]);
  });
});

describe("request log", () => {
  it("records api, method, path with query, status and subscription, and calls onRequest", async () => {
    const path = `${PG}/configurations/require_secure_transport?${API}`;

    await emulatorRequest(emulator, path);

    const entry = emulator.requests.findLast((e) => e.path === path);
    expect(entry).toMatchObject({ api: "arm", method: "GET", status: 200, subscriptionId: PROD });
    expect(seen).toContain(entry);
    expect(formatRequestLogEntry(entry as RequestLogEntry)).toMatch(
      / arm GET 200 \/subscriptions\/.*require_secure_transport/,
    );
    expect(formatRequestLogEntry(entry as RequestLogEntry)).not.toContain("\n");
  });
});

describe("ARM through the Azure SDK", () => {
  it("lists storage accounts across resource groups with StorageManagementClient", async () => {
    const client = new StorageManagementClient(emulatorCredential(emulator), PROD, {
      endpoint: emulator.armEndpoint,
      tlsOptions: { ca: emulator.caPem },
      retryOptions: { maxRetries: 0 },
    });

    const names: string[] = [];
    for await (const account of client.storageAccounts.list()) names.push(account.name ?? "");

    expect(names.sort()).toEqual(["stbasicarchive", "stbasicbkpprod"]);
  });
});
