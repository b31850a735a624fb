/**
 * The evidence ledger against a real Azurite: snapshots stored once, the chain, tampering through
 * the raw blobs, concurrent appenders, idempotent appends, and that no write ever replaces or
 * deletes a blob.
 */
import { createServer, request as httpRequest, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";
import type { TableClient } from "@azure/data-tables";
import type { ContainerClient } from "@azure/storage-blob";
import { beforeAll, describe, expect, it } from "vitest";
import {
  buildRecord,
  type Observation,
  type RecordInput,
  recordName,
  sha256Hex,
} from "../../../src/core/index.js";
import {
  connectStore,
  createEvidenceLedger,
  type EvidenceLedger,
  type LocalStore,
  type StoreClients,
} from "../../../src/store/index.js";
import { startTestAzurite, uniqueName } from "../../support/azurite.js";

let azurite: LocalStore;
let clients: StoreClients;

beforeAll(async () => {
  azurite = await startTestAzurite();
  clients = connectStore({ connectionString: azurite.connectionString });
});

function observation(name: string, document: unknown = { properties: { name } }): Observation {
  return {
    id: `/subscriptions/0000/resourceGroups/rg/providers/Microsoft.Storage/storageAccounts/${name}`,
    type: "Microsoft.Storage/storageAccounts",
    scope: "/subscriptions/0000",
    document,
    source: { api: "arm", apiVersion: "2023-05-01", observedAt: "2025-01-01T00:00:00Z" },
  };
}

function input(
  runId: string,
  target: string,
  snapshots: RecordInput["snapshots"] = [],
): RecordInput {
  return {
    runId,
    target,
    trigger: "timer",
    recordedAt: "2025-01-01T00:00:05Z",
    now: "2025-01-01T00:00:00Z",
    vigilVersion: "0.1.0",
    configHash: null,
    controls: [{ id: "storage-https-only", version: 1, hash: sha256Hex("control") }],
    snapshots,
    findings: [{ controlId: "storage-https-only", resourceId: runId, status: "fail" }],
  };
}

interface Fixture {
  container: ContainerClient;
  index: TableClient;
  ledger: EvidenceLedger;
  /** Another ledger instance over the same container and index (a second worker). */
  worker(): EvidenceLedger;
}

async function fixture(storeClients: StoreClients = clients): Promise<Fixture> {
  const container = storeClients.containerClient(uniqueName("evidence"));
  const index = storeClients.tableClient(uniqueName("runs"));
  const ledger = createEvidenceLedger(container, { index });
  await ledger.ensure();
  return { container, index, ledger, worker: () => createEvidenceLedger(container, { index }) };
}

async function blobNames(container: ContainerClient, prefix: string): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat({ prefix })) names.push(blob.name);
  return names;
}

async function readText(container: ContainerClient, name: string): Promise<string> {
  return (await container.getBlobClient(name).downloadToBuffer()).toString("utf8");
}

/** Overwrites a blob unconditionally: only a tamperer does this, never the ledger. */
async function overwrite(container: ContainerClient, name: string, text: string): Promise<void> {
  await container.getBlockBlobClient(name).upload(text, Buffer.byteLength(text));
}

/** A ledger of three runs over two observations each. */
async function threeRuns(f: Fixture): Promise<string[]> {
  const hashes: string[] = [];
  for (const run of ["run-1", "run-2", "run-3"]) {
    const snapshots = await f.ledger.putSnapshots([observation("a"), observation(run)]);
    hashes.push(...snapshots.map((s) => s.hash));
    await f.ledger.append(input(run, "subscription 0000", snapshots));
  }
  return hashes;
}

describe("createEvidenceLedger", () => {
  describe("putSnapshots", () => {
    it("stores an unchanged observation once: a second run creates no snapshot blobs", async () => {
      const f = await fixture();
      const observations = [observation("a"), observation("b"), observation("c")];

      const first = await f.ledger.putSnapshots(observations);
      const second = await f.ledger.putSnapshots(observations);
      const changed = await f.ledger.putSnapshots([observation("a", { changed: true })]);

      expect(first.created).toBe(3);
      expect(second.created).toBe(0);
      expect(second.map((s) => s.hash)).toEqual(first.map((s) => s.hash));
      expect(changed.created).toBe(1);
      expect(await blobNames(f.container, "snapshots/")).toHaveLength(4);
    });

    it("stores the snapshot under the SHA-256 of its content and redacts secrets first", async () => {
      const f = await fixture();

      const [ref] = await f.ledger.putSnapshots([
        observation("a", { properties: { password: "hunter2-hunter2" } }),
      ]);
      const content = await f.ledger.getSnapshot(ref!.hash);

      expect(sha256Hex(content!)).toBe(ref!.hash);
      expect(content).not.toContain("hunter2");
      expect(ref).toMatchObject({
        observationId: observation("a").id,
        type: observation("a").type,
      });
    });

    it("returns undefined for a snapshot that is not stored", async () => {
      const f = await fixture();

      expect(await f.ledger.getSnapshot("0".repeat(64))).toBeUndefined();
    });
  });

  describe("append and verify", () => {
    it("chains three appends into a ledger that verifies", async () => {
      const f = await fixture();

      await threeRuns(f);
      const verification = await f.ledger.verify();
      const records = [];
      for await (const record of f.ledger.listRecords()) records.push(record);

      expect(verification).toMatchObject({ ok: true, records: 3, problems: [] });
      expect(verification.head?.seq).toBe(3);
      expect(records.map((r) => r.name)).toEqual([recordName(1), recordName(2), recordName(3)]);
      expect(JSON.parse(records[1]!.content).previousHash).toBe(sha256Hex(records[0]!.content));
    });

    it("returns the existing record when the same run and target is appended again", async () => {
      const f = await fixture();
      const first = await f.ledger.append(input("run-1", "subscription 0000"));

      const again = await f.ledger.append(input("run-1", "subscription 0000"));
      const fromOtherWorker = await f.worker().append(input("run-1", "subscription 0000"));

      expect(first).toMatchObject({ seq: 1, created: true });
      expect(again).toEqual({ ...first, created: false });
      expect(fromOtherWorker).toEqual({ ...first, created: false });
      expect(await blobNames(f.container, "ledger/")).toEqual([recordName(1)]);
    });

    it("finds a repeated run and target through the index after other records followed", async () => {
      const f = await fixture();
      const first = await f.ledger.append(input("run-1", "subscription 0000"));
      await f.ledger.append(input("run-1", "cluster aks-1"));

      const again = await f.worker().append(input("run-1", "subscription 0000"));

      expect(again).toEqual({ ...first, created: false });
      expect(await blobNames(f.container, "ledger/")).toHaveLength(2);
    });

    it("serialises 8 concurrent appenders into one contiguous chain", async () => {
      const f = await fixture();
      const workers = Array.from({ length: 8 }, () => f.worker());

      const results = await Promise.all(
        workers.map((worker, i) => worker.append(input(`run-${i}`, "subscription 0000"))),
      );
      const verification = await f.ledger.verify();

      expect(results.map((r) => r.seq).sort((a, b) => a - b)).toEqual([1, 2, 3, 4, 5, 6, 7, 8]);
      expect(results.every((r) => r.created)).toBe(true);
      expect(verification).toMatchObject({ ok: true, records: 8, head: { seq: 8 } });
    });

    it("serialises concurrent appenders without an index table too", async () => {
      const container = clients.containerClient(uniqueName("evidence"));
      await container.create();
      const workers = Array.from({ length: 8 }, () => createEvidenceLedger(container));

      const results = await Promise.all(
        workers.map((worker, i) => worker.append(input(`run-${i}`, "subscription 0000"))),
      );
      const verification = await createEvidenceLedger(container).verify();

      expect(new Set(results.map((r) => r.seq)).size).toBe(8);
      expect(verification).toMatchObject({ ok: true, records: 8, head: { seq: 8 } });
    });

    it("appends one record when the same run and target are appended concurrently", async () => {
      const f = await fixture();

      const results = await Promise.all(
        Array.from({ length: 4 }, () => f.worker().append(input("run-1", "subscription 0000"))),
      );

      expect(results.filter((r) => r.created)).toHaveLength(1);
      expect(new Set(results.map((r) => r.hash)).size).toBe(1);
      expect(await blobNames(f.container, "ledger/")).toEqual([recordName(1)]);
    });

    it("continues the chain from a new process (cold cache)", async () => {
      const f = await fixture();
      await threeRuns(f);

      const next = await f.worker().append(input("run-4", "subscription 0000"));

      expect(next).toMatchObject({ seq: 4, created: true });
      expect((await f.ledger.verify()).ok).toBe(true);
    });
  });

  describe("a writer stopped between its writes", () => {
    it("leaves a ledger that verifies, recognises its record and continues the chain", async () => {
      const f = await fixture();
      await threeRuns(f);
      // The index refuses the commit mark, as if the process died right after creating the record.
      const dying = new Proxy(f.index, {
        get(target, property) {
          if (property === "upsertEntity") {
            return (entity: { committed?: boolean }, ...rest: unknown[]) =>
              entity.committed === true
                ? Promise.reject(new Error("killed"))
                : (target.upsertEntity as (...a: unknown[]) => unknown)(entity, ...rest);
          }
          const value = Reflect.get(target, property);
          return typeof value === "function" ? value.bind(target) : value;
        },
      });
      await expect(
        createEvidenceLedger(f.container, { index: dying }).append(input("run-4", "s")),
      ).rejects.toThrow();

      const verification = await f.worker().verify();
      const retried = await f.worker().append(input("run-4", "s"));
      const next = await f.worker().append(input("run-5", "s"));

      expect(verification).toMatchObject({ ok: true, head: { seq: 4 } });
      expect(retried).toMatchObject({ seq: 4, created: false });
      expect(next).toMatchObject({ seq: 5, created: true });
      expect((await f.ledger.verify()).ok).toBe(true);
    });
  });

  describe("verify after tampering", () => {
    it("reports an edited snapshot by name", async () => {
      const f = await fixture();
      const hashes = await threeRuns(f);
      const name = `snapshots/${hashes[0]}.json`;

      await overwrite(f.container, name, '{"edited":true}');
      const verification = await f.ledger.verify();

      expect(verification.ok).toBe(false);
      expect(verification.problems).toMatchObject([{ kind: "snapshot-changed", name, seq: 1 }]);
    });

    it("reports an edited record by sequence number and name", async () => {
      const f = await fixture();
      await threeRuns(f);
      const name = recordName(2);
      const record = JSON.parse(await readText(f.container, name));
      record.findings[0].status = "pass";

      await overwrite(f.container, name, JSON.stringify(record));
      const verification = await f.ledger.verify();

      expect(verification.problems).toMatchObject([{ kind: "changed", seq: 2, name }]);
    });

    it("reports an edited last record against the head in the index", async () => {
      const f = await fixture();
      await threeRuns(f);
      const name = recordName(3);
      const record = JSON.parse(await readText(f.container, name));
      record.findings = [];

      await overwrite(f.container, name, JSON.stringify(record));
      const verification = await f.ledger.verify();

      expect(verification.problems).toMatchObject([{ kind: "changed", seq: 3, name }]);
    });

    it("reports a deleted record as missing", async () => {
      const f = await fixture();
      await threeRuns(f);

      await f.container.deleteBlob(recordName(2));
      const verification = await f.ledger.verify();

      expect(verification.problems).toMatchObject([
        { kind: "missing", seq: 2, name: recordName(2) },
      ]);
    });

    it("reports a deleted last record as missing", async () => {
      const f = await fixture();
      await threeRuns(f);

      await f.container.deleteBlob(recordName(3));
      const verification = await f.ledger.verify();

      expect(verification.problems).toMatchObject([
        { kind: "missing", seq: 3, name: recordName(3) },
      ]);
    });

    it("reports two swapped records as reordered", async () => {
      const f = await fixture();
      await threeRuns(f);
      const one = await readText(f.container, recordName(1));
      const two = await readText(f.container, recordName(2));

      await overwrite(f.container, recordName(1), two);
      await overwrite(f.container, recordName(2), one);
      const verification = await f.ledger.verify();

      expect(verification.problems).toMatchObject([
        { kind: "reordered", seq: 1, name: recordName(1) },
        { kind: "reordered", seq: 2, name: recordName(2) },
      ]);
    });

    it("reports a forged record appended with a correct link as added", async () => {
      const f = await fixture();
      await threeRuns(f);
      const head = await readText(f.container, recordName(3));
      const forged = buildRecord(input("forged", "subscription 0000"), {
        seq: 3,
        hash: sha256Hex(head),
      });

      await overwrite(f.container, recordName(4), forged.content);
      const verification = await f.ledger.verify();

      expect(verification.problems).toMatchObject([{ kind: "added", seq: 4, name: recordName(4) }]);
    });
  });

  describe("writes", () => {
    it("never deletes, never replaces and never changes metadata of a blob", async () => {
      const proxy = await recordingProxy(new URL(azurite.blobEndpoint));
      try {
        const proxied = connectStore({
          connectionString: azurite.connectionString.replace(
            /BlobEndpoint=[^;]+/,
            `BlobEndpoint=${proxy.url}`,
          ),
        });
        const f = await fixture(proxied);

        await threeRuns(f);
        await threeRuns(f);
        await Promise.all(
          [1, 2, 3].map((i) => f.worker().append(input(`run-x${i}`, "subscription 0000"))),
        );
        await f.ledger.verify();

        const writes = proxy.requests.filter((r) => r.method !== "GET" && r.method !== "HEAD");
        const blobWrites = writes.filter((r) => !r.url.includes("restype=container"));
        expect(writes.filter((r) => r.method === "DELETE")).toEqual([]);
        expect(blobWrites.length).toBeGreaterThan(0);
        for (const write of blobWrites) {
          expect(write.method).toBe("PUT");
          expect(new URL(write.url, "http://x").searchParams.get("comp")).toBeNull();
          expect(write.headers["if-none-match"]).toBe("*");
        }
      } finally {
        await proxy.close();
      }
    });
  });
});

interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
}

/** An HTTP proxy on loopback in front of Azurite's blob service that records every request. */
async function recordingProxy(target: URL): Promise<{
  url: string;
  requests: RecordedRequest[];
  close(): Promise<void>;
}> {
  const requests: RecordedRequest[] = [];
  const server = createServer((req, res) => {
    requests.push({ method: req.method ?? "", url: req.url ?? "", headers: req.headers });
    const upstream = httpRequest(
      {
        host: target.hostname,
        port: target.port,
        method: req.method,
        path: req.url,
        headers: { ...req.headers, host: target.host },
      },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on("error", () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}${target.pathname}`,
    requests,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
