/**
 * Very large inputs, bounded memory. A request body of tens of megabytes to each POST endpoint of
 * `vigil serve` is refused with 413 without being buffered (the server stops reading: the client
 * cannot push the whole body, and the process's memory grows by a bound set by the limit, not by
 * the body); a Kubernetes list of thousands of objects is read in pages; a resource with a
 * multi-megabyte property gives bounded reports (and is collected in linear time); a huge seed
 * file is refused by name.
 */
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import { request as httpRequest } from "node:http";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalogue, scanEstate, scanObservations } from "../../src/app/index.js";
import { openEmulatedEstate } from "../../src/cli/estate.js";
import { type Served, startServe } from "../../src/cli/serve.js";
import { SeedError } from "../../src/emulator/errors.js";
import { readSeedState } from "../../src/emulator/seed.js";
import { renderOcsf, renderSarif } from "../../src/reports/index.js";
import { tempDir } from "../support/cli.js";

const MB = 1024 * 1024;
/** vigil serve's body limit (Event Grid delivers at most 1 MB per batch). */
const BODY_LIMIT = 1 * MB;
const SUB = "3f6a2c1e-7b4d-4e8f-9a0b-1c2d3e4f5a6b";
const TENANT = "8e2d4c6a-1b3f-4a5c-9d7e-0f1a2b3c4d5e";

let dir: string;
beforeAll(() => {
  dir = tempDir("vigil-large-");
});
afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

/** Memory that a buffered body would occupy: the JS heap and Buffers outside it. */
function heldBytes(): number {
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
}

/**
 * Samples `heldBytes()` every few milliseconds while `work` runs; resolves to the highest growth
 * over the level before it started.
 */
async function peakGrowth<T>(work: () => Promise<T>): Promise<{ result: T; growth: number }> {
  const before = heldBytes();
  let peak = before;
  const timer = setInterval(() => {
    peak = Math.max(peak, heldBytes());
  }, 5);
  try {
    const result = await work();
    peak = Math.max(peak, heldBytes());
    return { result, growth: peak - before };
  } finally {
    clearInterval(timer);
  }
}

/**
 * POST `totalBytes` to `url`, written in 64 KiB chunks of one reused buffer (so the client holds
 * no more than a chunk), with or without a Content-Length. Resolves to the status (0 when the
 * connection closed without an answer), the answer and how many bytes the server let in.
 */
function postHuge(
  url: string,
  key: string,
  totalBytes: number,
  declareLength: boolean,
  method = "POST",
): Promise<{ status: number; body: string; written: number }> {
  const chunk = Buffer.alloc(64 * 1024, "[");
  return new Promise((resolve) => {
    let written = 0;
    let status = 0;
    let body = "";
    let settled = false;
    let answered = false;
    const done = () => {
      if (settled) return;
      settled = true;
      resolve({ status, body, written });
    };
    const req = httpRequest(url, {
      method,
      headers: {
        "x-functions-key": key,
        "content-type": "application/json",
        // Node frames a GET body only when told: chunked, else the bytes read as a next request.
        ...(declareLength
          ? { "content-length": String(totalBytes) }
          : { "transfer-encoding": "chunked" }),
      },
    });
    req.on("response", (res) => {
      // As HTTP clients do on an early answer, stop sending the body.
      answered = true;
      status = res.statusCode ?? 0;
      res.setEncoding("utf8");
      res.on("data", (text: string) => {
        body += text;
      });
      res.on("end", () => {
        req.destroy();
        done();
      });
      res.on("error", done);
    });
    req.on("error", done);
    req.on("close", done);
    const pump = () => {
      while (!settled && !answered && !req.destroyed && written < totalBytes) {
        const size = Math.min(chunk.length, totalBytes - written);
        written += size;
        if (!req.write(size === chunk.length ? chunk : chunk.subarray(0, size))) {
          req.once("drain", pump);
          return;
        }
      }
      if ((answered || written >= totalBytes) && !req.destroyed) req.end();
    };
    pump();
  });
}

/** A seed with one storage account whose two properties are 2 MB strings each. */
function hugePropertySeed(): string {
  const seed = join(dir, "huge-property");
  const accounts = join(
    seed,
    "arm",
    "subscriptions",
    SUB,
    "resourceGroups",
    "rg",
    "providers",
    "Microsoft.Storage",
    "storageAccounts",
  );
  mkdirSync(accounts, { recursive: true });
  writeFileSync(
    join(seed, "estate.json"),
    JSON.stringify({
      tenantId: TENANT,
      now: "2026-11-23T06:00:00Z",
      subscriptions: [{ subscriptionId: SUB, displayName: "sub" }],
    }),
  );
  const huge = "x".repeat(HUGE_PROPERTY_CHARS);
  writeFileSync(
    join(accounts, "sthuge.json"),
    JSON.stringify({
      id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sthuge`,
      name: "sthuge",
      type: "Microsoft.Storage/storageAccounts",
      location: "uksouth",
      tags: { purpose: "backup" },
      properties: { minimumTlsVersion: huge, supportsHttpsTrafficOnly: huge },
    }),
  );
  return seed;
}

const HUGE_PROPERTY_CHARS = 2 * MB;

describe("vigil serve over an estate with a huge property", () => {
  let served: Served;

  beforeAll(async () => {
    served = await startServe({
      emulate: hugePropertySeed(),
      storeDir: join(dir, "store"),
      port: 0,
      sweepEveryMinutes: 0,
      io: { stdout: () => {}, stderr: () => {}, now: () => Date.now(), env: {} },
    });
    await served.host.idle();
  }, 180_000);

  it.each([
    ["html", "/api/evidence/report?framework=all&format=html"],
    ["csv", "/api/evidence/report?framework=all&format=csv"],
    ["oscal", "/api/evidence/report?framework=all&format=oscal"],
  ])(
    "keeps the %s evidence report bounded: the 2 MB values are shown cut, with their length",
    async (_format, path) => {
      const response = await fetch(`${served.host.baseUrl}${path}`, {
        headers: { "x-functions-key": served.key },
      });
      const text = await response.text();

      expect(response.status).toBe(200);
      expect(text).toMatch(/… \(\d+ more characters\)/);
      expect(text.length).toBeLessThan(256 * 1024);
    },
  );

  it.each([
    ["SARIF", renderSarif],
    ["OCSF", renderOcsf],
  ] as const)("keeps %s bounded when a finding's trace holds the 2 MB values", (_name, render) => {
    const huge = "x".repeat(HUGE_PROPERTY_CHARS);
    const scan = scanObservations(
      loadCatalogue(),
      [
        {
          id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/sthuge`,
          type: "Microsoft.Storage/storageAccounts",
          scope: SUB,
          document: {
            name: "sthuge",
            properties: { minimumTlsVersion: huge, supportsHttpsTrafficOnly: huge },
          },
        },
      ],
      { nowMs: Date.parse("2026-11-23T06:00:00Z"), vigilVersion: "test" },
    );
    expect(JSON.stringify(scan.findings).length).toBeGreaterThan(HUGE_PROPERTY_CHARS);

    const text = render(scan.findings, {
      vigilVersion: "test",
      controls: [],
      completedAt: "2026-11-23T06:00:00Z",
    });

    expect(text).toMatch(/… \(\d+ more characters\)/);
    expect(text.length).toBeLessThan(256 * 1024);
  });

  it.each([
    ["Event Grid webhook", "eventgrid?functionName=resource-changed", true],
    ["Event Grid webhook", "eventgrid?functionName=resource-changed", false],
    ["Event Hubs stand-in", "eventhub?functionName=cluster-changed", true],
    ["Event Hubs stand-in", "eventhub?functionName=cluster-changed", false],
  ])(
    "answers a 48 MB body to the %s (%s, declared length: %s) with 413, reading a bounded part",
    async (_name, path, declared) => {
      const total = 48 * MB;

      const { result, growth } = await peakGrowth(() =>
        postHuge(`${served.host.baseUrl}/runtime/webhooks/${path}`, served.key, total, declared),
      );

      expect(result.status, result.body).toBe(413);
      expect(JSON.parse(result.body)).toMatchObject({ error: { code: "too_large" } });
      // The server stopped reading: most of the body was never accepted from the client.
      expect(result.written).toBeLessThan(total / 4);
      // Memory grows with the limit (a few times 1 MB of buffers in flight), not with the body.
      expect(growth).toBeLessThan(16 * BODY_LIMIT);
    },
  );

  it.each([
    ["GET", "/api/gate?scope=x", true],
    ["GET", "/api/gate?scope=x", false],
    ["GET", "/api/findings", true],
    ["POST", "/api/evidence/verify", false],
    ["PUT", "/api/nowhere", true],
  ])(
    "answers a 48 MB body with %s %s (declared length: %s) without taking it in",
    async (method, path, declared) => {
      const total = 48 * MB;

      const { result, growth } = await peakGrowth(() =>
        postHuge(`${served.host.baseUrl}${path}`, served.key, total, declared, method),
      );

      // A declared oversize body is 413 before anything else; otherwise the route answers as
      // it would without a body (503: nothing swept; 405, 404) and the body is not read.
      if (method === "PUT") expect(result.status).toBe(404);
      else if (method === "POST") expect(result.status).toBe(405);
      else if (declared) expect(result.status).toBe(413);
      // Undeclared: the handler answers as without a body (the gate: a never-scanned scope is 503).
      else expect(result.status, result.body).toBe(path.includes("gate") ? 503 : 200);
      expect(JSON.parse(result.body)).toBeTypeOf("object");
      expect(result.written).toBeLessThan(total / 4);
      expect(growth).toBeLessThan(16 * BODY_LIMIT);
    },
  );

  it("still answers normally after the refusals", async () => {
    const response = await fetch(
      `${served.host.baseUrl}/runtime/webhooks/eventgrid?functionName=resource-changed`,
      {
        method: "POST",
        headers: { "x-functions-key": served.key, "content-type": "application/json" },
        body: "[]",
      },
    );

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ accepted: 0 });
  });
});

describe("very long Kubernetes lists", () => {
  it("reads 3000 namespaces in pages of at most the server's page size", async () => {
    const seed = join(dir, "many-namespaces");
    const pageSize = 500;
    mkdirSync(join(seed, "kubernetes", "aks-many"), { recursive: true });
    writeFileSync(
      join(seed, "estate.json"),
      JSON.stringify({
        tenantId: TENANT,
        now: "2026-11-23T06:00:00Z",
        pageSize,
        subscriptions: [{ subscriptionId: SUB, displayName: "sub-many" }],
      }),
    );
    const rg = join(seed, "arm", "subscriptions", SUB, "resourceGroups", "rg", "providers");
    mkdirSync(join(rg, "Microsoft.ContainerService", "managedClusters"), { recursive: true });
    writeFileSync(
      join(rg, "Microsoft.ContainerService", "managedClusters", "aks-many.json"),
      JSON.stringify({
        id: `/subscriptions/${SUB}/resourceGroups/rg/providers/Microsoft.ContainerService/managedClusters/aks-many`,
        name: "aks-many",
        type: "Microsoft.ContainerService/managedClusters",
        location: "uksouth",
        properties: { kubernetesVersion: "1.33" },
      }),
    );
    const names = Array.from({ length: 3000 }, (_, i) => `ns-${String(i).padStart(4, "0")}`);
    writeFileSync(
      join(seed, "kubernetes", "aks-many", "namespaces.yaml"),
      names.map((n) => `apiVersion: v1\nkind: Namespace\nmetadata:\n  name: ${n}\n`).join("---\n"),
    );
    const session = await openEmulatedEstate(seed, undefined, {});
    try {
      const scan = await scanEstate(loadCatalogue(), session.config, session.deps, {
        nowMs: Date.parse("2026-11-23T06:00:00Z"),
        vigilVersion: "test",
      });

      const namespaces = scan.observations.filter((o) => o.type === "Namespace");
      expect(namespaces).toHaveLength(3000);
      expect(new Set(namespaces.map((o) => o.id)).size).toBe(3000);
      const lists = (session.emulator?.requests ?? []).filter(
        (r) => r.api === "kubernetes" && /\/api\/v1\/namespaces(\?|$)/.test(r.path),
      );
      // 3000 objects at 500 a page: six pages, each a request of its own.
      expect(lists.length).toBeGreaterThanOrEqual(3000 / pageSize);
      expect(lists.filter((r) => r.path.includes("continue=")).length).toBeGreaterThanOrEqual(5);
    } finally {
      await session.close();
    }
  });
});

describe("huge seed files", () => {
  it("refuses a seed file over the size limit by name, before reading it", () => {
    const seed = join(dir, "huge-seed");
    const armDir = join(seed, "arm", "subscriptions", SUB, "resourceGroups", "rg");
    mkdirSync(armDir, { recursive: true });
    writeFileSync(
      join(seed, "estate.json"),
      JSON.stringify({
        tenantId: TENANT,
        now: "2026-11-23T06:00:00Z",
        subscriptions: [{ subscriptionId: SUB, displayName: "sub" }],
      }),
    );
    writeFileSync(join(armDir, "huge.json"), `{"x":"${"y".repeat(40 * MB)}"}`);

    let error: unknown;
    try {
      readSeedState(seed);
    } catch (e) {
      error = e;
    }

    expect(error).toBeInstanceOf(SeedError);
    expect((error as SeedError).file).toBe(`arm/subscriptions/${SUB}/resourceGroups/rg/huge.json`);
    expect((error as Error).message).toMatch(/is \d+ bytes; seed files are limited to \d+ bytes/);
  });
});
