/** The emulator's blob endpoint: Azurite behind a read-only proxy that ages blobs by their sidecars. */

import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import type { IncomingMessage, ServerResponse } from "node:http";
import { createServer, type Server } from "node:https";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { AnonymousCredential, ContainerClient } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createBlobProxy, parseSeedTime } from "../../../src/emulator/blob-proxy.js";
import {
  type BlobStoreHandle,
  blobClientOptions,
  startBlobStore,
} from "../../../src/emulator/blob-store.js";
import { createCertificateAuthority } from "../../../src/emulator/certificates.js";
import { SeedError } from "../../../src/emulator/errors.js";
import { createStaticToken } from "../../../src/emulator/token.js";

const TENANT = "11111111-2222-3333-4444-555555555555";
const NOW = new Date("2026-11-23T06:00:00Z");
const DAY_IN_MS = 24 * 60 * 60 * 1000;
const ca = createCertificateAuthority();
const seedDir = mkdtempSync(join(tmpdir(), "vigil-blob-proxy-seed-"));
let store: BlobStoreHandle;
let server: Server;
let endpoint: string;

const tokenCredential = (token: string): TokenCredential => ({
  getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: 4_102_444_800_000 }),
});

function write(dir: string, path: string, content: string): void {
  mkdirSync(join(dir, path, ".."), { recursive: true });
  writeFileSync(join(dir, path), content);
}

/** The proxy's container, as a collector would reach it through the emulator. */
function proxied(
  container: string,
  credential: TokenCredential | AnonymousCredential = tokenCredential(createStaticToken(TENANT)),
): ContainerClient {
  return new ContainerClient(`${endpoint}/${container}`, credential, {
    ...blobClientOptions(ca.caPem),
    retryOptions: { maxTries: 1 },
  });
}

/** The same container straight from Azurite, bypassing the proxy. */
function direct(container: string): ContainerClient {
  return new ContainerClient(
    `${store.blobEndpointTemplate.replace("{account}", "stbackups")}/${container}`,
    tokenCredential(createStaticToken(TENANT)),
    blobClientOptions(ca.caPem),
  );
}

async function listed(client: ContainerClient): Promise<Map<string, Date | undefined>> {
  const blobs = new Map<string, Date | undefined>();
  for await (const blob of client.listBlobsFlat())
    blobs.set(blob.name, blob.properties.lastModified);
  return blobs;
}

/** Serves the proxy the way the emulator's server does: `/blob` stripped, query apart. */
async function serveProxy(handle: ReturnType<typeof createBlobProxy>["handle"]): Promise<Server> {
  const issued = ca.issue({
    names: ["127.0.0.1"],
    notBefore: new Date(Date.now() - DAY_IN_MS),
    notAfter: new Date(Date.now() + DAY_IN_MS),
  });
  const https = createServer(
    { cert: issued.certPem, key: issued.keyPem },
    (request: IncomingMessage, response: ServerResponse) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const url = new URL(request.url ?? "/", "https://proxy.invalid");
        handle({
          method: request.method ?? "GET",
          path: url.pathname.slice("/blob".length),
          query: url.searchParams,
          headers: request.headers,
          body: Buffer.concat(chunks),
        }).then(
          (answer) => {
            response.writeHead(answer.status, answer.headers);
            response.end(answer.body as Buffer | undefined);
          },
          () => {
            response.writeHead(500);
            response.end();
          },
        );
      });
    },
  );
  await new Promise<void>((resolve) => https.listen(0, "127.0.0.1", resolve));
  return https;
}

beforeAll(async () => {
  write(seedDir, "stbackups/pg-dumps/psql-a/2026-11-20.dump", "dump a");
  write(
    seedDir,
    "stbackups/pg-dumps/psql-a/2026-11-20.dump.meta.json",
    '{ "lastModified": "-3d" }',
  );
  write(seedDir, "stbackups/pg-dumps/psql-b/2026-11-23.dump", "dump b");
  write(seedDir, "stbackups/pg-dumps/psql-c/a&b c.dump", "dump c");
  write(
    seedDir,
    "stbackups/pg-dumps/psql-c/a&b c.dump.meta.json",
    '{ "lastModified": "2026-10-01T12:30:45.900Z" }',
  );
  store = await startBlobStore(seedDir, { ca, host: "127.0.0.1" });
  const proxy = createBlobProxy({
    store,
    seedBlobDir: seedDir,
    now: NOW,
    caPem: ca.caPem,
  });
  server = await serveProxy((request) => proxy.handle(request));
  endpoint = `https://127.0.0.1:${(server.address() as AddressInfo).port}/blob/stbackups`;
});

afterAll(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await store?.close();
  rmSync(seedDir, { recursive: true, force: true });
});

describe("createBlobProxy", () => {
  it("lists a blob with a sidecar as last modified at the sidecar's time before now", async () => {
    const blobs = await listed(proxied("pg-dumps"));

    expect(blobs.get("psql-a/2026-11-20.dump")).toEqual(new Date(NOW.getTime() - 3 * DAY_IN_MS));
  });

  it("decodes XML-escaped names and truncates an ISO sidecar time to whole seconds", async () => {
    const blobs = await listed(proxied("pg-dumps"));

    expect(blobs.get("psql-c/a&b c.dump")).toEqual(new Date("2026-10-01T12:30:45Z"));
  });

  it("leaves a blob without a sidecar at Azurite's upload time", async () => {
    const viaProxy = await listed(proxied("pg-dumps"));
    const viaAzurite = await listed(direct("pg-dumps"));

    expect(viaProxy.get("psql-b/2026-11-23.dump")).toEqual(
      viaAzurite.get("psql-b/2026-11-23.dump"),
    );
  });

  it("does not upload sidecars as blobs", async () => {
    const blobs = await listed(proxied("pg-dumps"));

    expect([...blobs.keys()]).toEqual([
      "psql-a/2026-11-20.dump",
      "psql-b/2026-11-23.dump",
      "psql-c/a&b c.dump",
    ]);
  });

  it("reports the sidecar's time and the blob's length in Get Blob Properties", async () => {
    const properties = await proxied("pg-dumps")
      .getBlobClient("psql-a/2026-11-20.dump")
      .getProperties();

    expect(properties.lastModified).toEqual(new Date(NOW.getTime() - 3 * DAY_IN_MS));
    expect(properties.createdOn).toEqual(new Date(NOW.getTime() - 3 * DAY_IN_MS));
    expect(properties.contentLength).toBe(6);
  });

  it("downloads content intact with the sidecar's time", async () => {
    const blob = proxied("pg-dumps").getBlobClient("psql-c/a&b c.dump");

    const download = await blob.download();
    const content = await blob.downloadToBuffer();

    expect(download.lastModified).toEqual(new Date("2026-10-01T12:30:45Z"));
    expect(content.toString("utf8")).toBe("dump c");
  });

  it("passes Azurite's answer through for a blob without a sidecar", async () => {
    const viaProxy = await proxied("pg-dumps")
      .getBlobClient("psql-b/2026-11-23.dump")
      .getProperties();
    const viaAzurite = await direct("pg-dumps")
      .getBlobClient("psql-b/2026-11-23.dump")
      .getProperties();

    expect(viaProxy.lastModified).toEqual(viaAzurite.lastModified);
    expect(viaProxy.etag).toBe(viaAzurite.etag);
  });

  it("answers 405 to a write without reaching Azurite", async () => {
    const upload = proxied("pg-dumps").getBlockBlobClient("new.txt").upload("x", 1);

    await expect(upload).rejects.toMatchObject({ statusCode: 405, code: "UnsupportedHttpVerb" });
    await expect(direct("pg-dumps").getBlobClient("new.txt").exists()).resolves.toBe(false);
  });

  it("passes Azurite's refusal of a request without a bearer through", async () => {
    const listing = proxied("pg-dumps", new AnonymousCredential()).listBlobsFlat().next();

    // Azurite refuses anonymous access to a private container with 403 AuthorizationFailure.
    await expect(listing).rejects.toMatchObject({ statusCode: 403, code: "AuthorizationFailure" });
  });

  it("passes Azurite's 403 for a token with the wrong audience through", async () => {
    const [header, payload] = createStaticToken(TENANT).split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8"));
    const wrong = `${header}.${Buffer.from(JSON.stringify({ ...claims, aud: "https://management.azure.com" })).toString("base64url")}.`;

    const listing = proxied("pg-dumps", tokenCredential(wrong)).listBlobsFlat().next();

    await expect(listing).rejects.toMatchObject({ statusCode: 403, code: "AuthenticationFailed" });
  });
});

describe("createBlobProxy with a bad sidecar", () => {
  const options = (dir: string) => ({
    store: { blobEndpointTemplate: "https://127.0.0.1:1/{account}" },
    seedBlobDir: dir,
    now: NOW,
    caPem: ca.caPem,
  });

  it.each([
    ["a time it cannot read", '{ "lastModified": "three days ago" }'],
    ["an unknown key", '{ "lastModified": "-3d", "size": 1 }'],
    ["no JSON", "-3d"],
  ])("throws SeedError naming a sidecar with %s", (_case, content) => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-blob-proxy-bad-"));
    write(dir, "stacc/c/a.txt", "a");
    write(dir, "stacc/c/a.txt.meta.json", content);

    expect(() => createBlobProxy(options(dir))).toThrow(SeedError);
    expect(() => createBlobProxy(options(dir))).toThrow(join(dir, "stacc/c/a.txt.meta.json"));
    rmSync(dir, { recursive: true, force: true });
  });

  it("throws SeedError for a sidecar beside no blob file", () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-blob-proxy-bad-"));
    write(dir, "stacc/c/gone.txt.meta.json", '{ "lastModified": "-1h" }');

    expect(() => createBlobProxy(options(dir))).toThrow(SeedError);
    rmSync(dir, { recursive: true, force: true });
  });
});

describe("parseSeedTime", () => {
  it.each([
    ["-3d", "2026-11-20T06:00:00.000Z"],
    ["-26h", "2026-11-22T04:00:00.000Z"],
    ["+1d", "2026-11-24T06:00:00.000Z"],
    ["2026-01-02T03:04:05Z", "2026-01-02T03:04:05.000Z"],
  ])("reads %s relative to now", (value, expected) => {
    expect(parseSeedTime(value, NOW)?.toISOString()).toBe(expected);
  });

  it("returns undefined for anything else", () => {
    expect(parseSeedTime("3 days", NOW)).toBeUndefined();
  });
});
