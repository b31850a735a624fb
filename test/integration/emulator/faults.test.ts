/** Injected faults: latency, throttling, errors, connection resets and truncated bodies, and how rules pick requests. */

import { request as httpsRequest } from "node:https";
import { beforeEach, describe, expect, it, onTestFinished } from "vitest";
import {
  type FaultRule,
  type RunningEmulator,
  startEmulator,
} from "../../../src/emulator/index.js";
import { emulatorRequest, seedPath, startTestEmulator } from "../../support/emulator.js";

const PROD = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const PG = `/subscriptions/${PROD}/resourceGroups/rg-basic-data/providers/Microsoft.DBforPostgreSQL/flexibleServers/psql-basic-prod?api-version=2025-08-01`;
const POLICIES = "/graph/v1.0/identity/conditionalAccess/policies";
const NAMESPACES = "/k8s/aks-basic-prod/api/v1/namespaces";

const emulator: RunningEmulator = await startTestEmulator("basic", { blob: false });

beforeEach(() => {
  emulator.setFaults([]);
});

/** Sends a GET and reports how the exchange ended, including a short read or a reset. */
function rawGet(
  path: string,
): Promise<{ status?: number; declared?: number; received: number; error?: string }> {
  return new Promise((resolve) => {
    let received = 0;
    let status: number | undefined;
    let declared: number | undefined;
    const req = httpsRequest(
      new URL(path, emulator.armEndpoint),
      { headers: { authorization: `Bearer ${emulator.token}` }, ca: emulator.caPem, agent: false },
      (res) => {
        status = res.statusCode;
        declared = Number(res.headers["content-length"]);
        res.on("data", (chunk: Buffer) => {
          received += chunk.length;
        });
        res.on("end", () => resolve({ status, declared, received }));
        res.on("error", (error) => resolve({ status, declared, received, error: error.message }));
      },
    );
    req.on("error", (error) =>
      resolve({
        status,
        declared,
        received,
        error: (error as NodeJS.ErrnoException).code ?? error.message,
      }),
    );
    req.end();
  });
}

describe("fault kinds", () => {
  it("latency delays but answers normally, and is logged", async () => {
    emulator.setFaults([{ kind: "latency", latencyInMs: 5 }]);

    const response = await emulatorRequest(emulator, PG);

    expect(response.status).toBe(200);
    expect(emulator.requests.at(-1)?.fault).toBe("latency");
  });

  it("throttle answers 429 with Retry-After and retry-after-ms when configured", async () => {
    emulator.setFaults([{ kind: "throttle", retryAfterSeconds: 7, retryAfterMs: 7000 }]);

    const response = await emulatorRequest(emulator, PG);

    expect(response.status).toBe(429);
    expect(response.headers["retry-after"]).toBe("7");
    expect(response.headers["retry-after-ms"]).toBe("7000");
    expect(response.json).toMatchObject({ error: { code: "TooManyRequests" } });
    expect(emulator.requests.at(-1)).toMatchObject({ status: 429, fault: "throttle" });
  });

  it("throttle without retryAfterSeconds sends no Retry-After, like Graph's conditional access 429s", async () => {
    emulator.setFaults([{ kind: "throttle", api: "graph" }]);

    const response = await emulatorRequest(emulator, POLICIES);

    expect(response.status).toBe(429);
    expect(response.headers["retry-after"]).toBeUndefined();
    expect(response.json).toMatchObject({ error: { code: "TooManyRequests" } });
  });

  it("error answers 503 by default and the configured status otherwise, shaped per API", async () => {
    emulator.setFaults([
      { kind: "error", api: "arm" },
      { kind: "error", api: "kubernetes", status: 500 },
    ]);

    const arm = await emulatorRequest(emulator, PG);
    const k8s = await emulatorRequest(emulator, NAMESPACES);

    expect(arm.status).toBe(503);
    expect(arm.json).toMatchObject({ error: { code: "ServiceUnavailable" } });
    expect(k8s.status).toBe(500);
    expect(k8s.json).toMatchObject({ kind: "Status", status: "Failure", code: 500 });
  });

  it("reset destroys the connection without a response", async () => {
    emulator.setFaults([{ kind: "reset" }]);

    const result = await rawGet(PG);

    expect(result.status).toBeUndefined();
    expect(result.error).toMatch(/ECONNRESET|socket hang up/);
    expect(emulator.requests.at(-1)).toMatchObject({ status: 0, fault: "reset" });
  });

  it("truncate declares the full Content-Length but sends only part of the body", async () => {
    const full = await rawGet(PG);
    emulator.setFaults([{ kind: "truncate" }]);

    const cut = await rawGet(PG);

    expect(full.received).toBe(full.declared);
    expect(cut.status).toBe(200);
    expect(cut.declared).toBe(full.declared);
    expect(cut.received).toBeLessThan(cut.declared as number);
    expect(cut.error).toBeDefined();
  });
});

describe("fault matching", () => {
  it("applies a rule only to its api, path and method", async () => {
    emulator.setFaults([
      { kind: "error", api: "graph", path: "^/v1\\.0/identity/", method: "GET", status: 502 },
    ]);

    const graph = await emulatorRequest(emulator, POLICIES);
    const arm = await emulatorRequest(emulator, PG);
    const other = await emulatorRequest(emulator, "/graph/v1.0/users");

    expect(graph.status).toBe(502);
    expect(arm.status).toBe(200);
    expect(other.status).toBe(404);
  });

  it("tests a kubernetes path after /k8s/<cluster>", async () => {
    emulator.setFaults([{ kind: "error", api: "kubernetes", path: "^/api/v1/namespaces$" }]);

    const hit = await emulatorRequest(emulator, NAMESPACES);
    const miss = await emulatorRequest(emulator, "/k8s/aks-basic-prod/api/v1");

    expect(hit.status).toBe(503);
    expect(miss.status).toBe(200);
  });

  it("stops after `times` hits", async () => {
    emulator.setFaults([{ kind: "error", times: 2 }]);

    const statuses = [];
    for (let i = 0; i < 4; i++) statuses.push((await emulatorRequest(emulator, PG)).status);

    expect(statuses).toEqual([503, 503, 200, 200]);
  });

  it("hits a seeded random share of requests, the same share for the same seed", async () => {
    const rules: FaultRule[] = [{ kind: "error", rate: 0.5 }];
    const options = { seedDir: seedPath("basic"), blob: false, randomSeed: 42, faults: rules };
    const other = await startEmulator(options);
    onTestFinished(() => other.close());
    const again = await startEmulator(options);
    onTestFinished(() => again.close());

    const pattern = async (target: RunningEmulator): Promise<number[]> => {
      const statuses: number[] = [];
      for (let i = 0; i < 30; i++) statuses.push((await emulatorRequest(target, PG)).status);
      return statuses;
    };
    const first = await pattern(other);
    const second = await pattern(again);

    expect(first).toEqual(second);
    const hits = first.filter((s) => s === 503).length;
    expect(hits).toBeGreaterThan(5);
    expect(hits).toBeLessThan(25);
  });

  it("never applies faults to the admin API", async () => {
    emulator.setFaults([{ kind: "reset" }]);

    const response = await emulatorRequest(emulator, "/_emulator/faults");

    expect(response.status).toBe(200);
    expect(response.json).toEqual({ faults: [{ kind: "reset" }] });
  });
});
