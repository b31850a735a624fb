/** The admin API under /_emulator: request log, put/delete of ARM, Graph and Kubernetes documents, fault rules. */

import { beforeAll, describe, expect, it } from "vitest";
import type { RunningEmulator } from "../../../src/emulator/index.js";
import { emulatorRequest, startTestEmulator } from "../../support/emulator.js";

const PROD = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const GROUP = `/subscriptions/${PROD}/resourceGroups/rg-basic-storage`;
const ACCOUNT = `${GROUP}/providers/Microsoft.Storage/storageAccounts/stbasicnew`;
const API = "?api-version=2025-08-01";

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator("basic", { blob: false });
});

describe("admin ARM documents", () => {
  it("puts a resource that the next GET and listing return, and deletes it again", async () => {
    const body = {
      id: ACCOUNT,
      name: "stbasicnew",
      type: "Microsoft.Storage/storageAccounts",
      properties: {},
    };

    const put = await emulatorRequest(emulator, `/_emulator/arm${ACCOUNT}`, {
      method: "PUT",
      body,
    });
    const get = await emulatorRequest(emulator, `${ACCOUNT}${API}`);
    const listed = await emulatorRequest(
      emulator,
      `${GROUP}/providers/Microsoft.Storage/storageAccounts${API}`,
    );
    const removed = await emulatorRequest(emulator, `/_emulator/arm${ACCOUNT}`, {
      method: "DELETE",
    });
    const gone = await emulatorRequest(emulator, `${ACCOUNT}${API}`);
    const again = await emulatorRequest(emulator, `/_emulator/arm${ACCOUNT}`, { method: "DELETE" });

    expect(put.status).toBe(201);
    expect(get.json).toEqual(body);
    const names = (listed.json as { value: { name: string }[] }).value.map((a) => a.name);
    expect(names).toEqual(["stbasicbkpprod", "stbasicnew"]);
    expect(removed.status).toBe(200);
    expect(gone.status).toBe(404);
    expect(again.status).toBe(404);
  });

  it("replaces a seeded resource (200) and keeps the change across a seed reload", async () => {
    const path = `${GROUP}/providers/Microsoft.Storage/storageAccounts/stbasicbkpprod/blobServices/default`;
    const body = { id: path, name: "default", properties: { isVersioningEnabled: false } };

    const put = await emulatorRequest(emulator, `/_emulator/arm${path}`, { method: "PUT", body });
    emulator.reload();
    const get = await emulatorRequest(emulator, `${path}${API}`);

    expect(put.status).toBe(200);
    expect(get.json).toEqual(body);
  });

  it("answers 400 for a body that is not JSON", async () => {
    const response = await emulatorRequest(emulator, `/_emulator/arm${ACCOUNT}`, {
      method: "PUT",
      body: "{nope",
    });

    expect(response.status).toBe(400);
  });
});

describe("admin Graph documents", () => {
  it("puts a Graph document the next GET returns", async () => {
    const body = { value: [{ id: "n1", displayName: "Office" }] };

    await emulatorRequest(
      emulator,
      "/_emulator/graph/v1.0/identity/conditionalAccess/namedLocations",
      {
        method: "PUT",
        body,
      },
    );
    const get = await emulatorRequest(
      emulator,
      "/graph/v1.0/identity/conditionalAccess/namedLocations",
    );

    expect(get.json).toEqual(body);
  });
});

describe("admin Kubernetes manifests", () => {
  it("puts an object the cluster then serves, and deletes it by reference", async () => {
    const manifest = { apiVersion: "v1", kind: "Namespace", metadata: { name: "added-by-admin" } };

    const put = await emulatorRequest(emulator, "/_emulator/kubernetes/aks-basic-prod", {
      method: "PUT",
      body: manifest,
    });
    const get = await emulatorRequest(
      emulator,
      "/k8s/aks-basic-prod/api/v1/namespaces/added-by-admin",
    );
    const removed = await emulatorRequest(emulator, "/_emulator/kubernetes/aks-basic-prod", {
      method: "DELETE",
      body: { apiVersion: "v1", kind: "Namespace", name: "added-by-admin" },
    });
    const gone = await emulatorRequest(
      emulator,
      "/k8s/aks-basic-prod/api/v1/namespaces/added-by-admin",
    );

    expect(put.status).toBe(200);
    expect(get.status).toBe(200);
    expect((get.json as { metadata: { name: string } }).metadata.name).toBe("added-by-admin");
    expect(removed.status).toBe(200);
    expect(gone.status).toBe(404);
  });

  it("answers 404 for a cluster the seed does not have", async () => {
    const manifest = { apiVersion: "v1", kind: "Namespace", metadata: { name: "x" } };

    const response = await emulatorRequest(emulator, "/_emulator/kubernetes/aks-nope", {
      method: "PUT",
      body: manifest,
    });

    expect(response.status).toBe(404);
  });
});

describe("admin faults", () => {
  it("replaces the fault rules, which then hit the next request", async () => {
    const put = await emulatorRequest(emulator, "/_emulator/faults", {
      method: "PUT",
      body: { faults: [{ kind: "error", status: 500, times: 1, api: "arm" }] },
    });
    const hit = await emulatorRequest(emulator, `/subscriptions/${PROD}${API}`);
    const after = await emulatorRequest(emulator, `/subscriptions/${PROD}${API}`);
    await emulatorRequest(emulator, "/_emulator/faults", { method: "PUT", body: [] });

    expect(put.status).toBe(200);
    expect(hit.status).toBe(500);
    expect(after.status).toBe(200);
  });

  it("refuses an invalid rule with 400 naming the field", async () => {
    const response = await emulatorRequest(emulator, "/_emulator/faults", {
      method: "PUT",
      body: [{ kind: "explode" }],
    });

    expect(response.status).toBe(400);
    expect((response.json as { error: { message: string } }).error.message).toContain(
      "faults[0].kind",
    );
  });
});

describe("admin request log", () => {
  it("returns the log including earlier requests, and DELETE empties it", async () => {
    await emulatorRequest(emulator, `/subscriptions${API}`);

    const log = await emulatorRequest(emulator, "/_emulator/requests");
    const cleared = await emulatorRequest(emulator, "/_emulator/requests", { method: "DELETE" });

    const entries = (log.json as { value: { api: string; path: string; status: number }[] }).value;
    expect(entries).toContainEqual(
      expect.objectContaining({ api: "arm", path: `/subscriptions${API}`, status: 200 }),
    );
    expect(cleared.status).toBe(204);
    expect(emulator.requests.map((e) => e.path)).toEqual(["/_emulator/requests"]);
  });
});
