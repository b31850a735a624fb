/** Azurite as the emulator starts it: HTTPS with the emulator CA, basic OAuth, seeded blobs. */

import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { AccessToken, TokenCredential } from "@azure/core-auth";
import { BlobServiceClient, StorageSharedKeyCredential } from "@azure/storage-blob";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type BlobStoreHandle,
  blobClientOptions,
  startBlobStore,
} from "../../../src/emulator/blob-store.js";
import { createCertificateAuthority } from "../../../src/emulator/certificates.js";
import { SeedError } from "../../../src/emulator/errors.js";
import { createStaticToken } from "../../../src/emulator/token.js";
import { commandLine, liveProcesses } from "../../support/processes.js";

const TENANT = "11111111-2222-3333-4444-555555555555";
const ca = createCertificateAuthority();
const seedDir = mkdtempSync(join(tmpdir(), "vigil-blob-seed-"));
let store: BlobStoreHandle;

const tokenCredential = (token: string): TokenCredential => ({
  getToken: async (): Promise<AccessToken> => ({ token, expiresOnTimestamp: 4_102_444_800_000 }),
});

function write(path: string, content: string): void {
  mkdirSync(join(seedDir, path, ".."), { recursive: true });
  writeFileSync(join(seedDir, path), content);
}

function client(account: string, token = createStaticToken(TENANT)): BlobServiceClient {
  return new BlobServiceClient(
    store.blobEndpointTemplate.replace("{account}", account),
    tokenCredential(token),
    blobClientOptions(ca.caPem),
  );
}

beforeAll(async () => {
  write("stbackups/pg-dumps/psql-a/2026-11-22.dump", "dump a");
  write("stbackups/pg-dumps/psql-b/2026-11-21.dump", "dump b");
  write("stbackups/drills/records/drill-1.json", '{"drill":1}');
  write("stbackups/empty/.gitkeep", "");
  write("stother/logs/a.txt", "log");
  store = await startBlobStore(seedDir, {
    ca,
    host: "127.0.0.1",
  });
});

afterAll(async () => {
  await store?.close();
  rmSync(seedDir, { recursive: true, force: true });
});

describe("startBlobStore", () => {
  it("serves one account per folder over HTTPS at the template's address", () => {
    expect(store.blobEndpointTemplate).toMatch(/^https:\/\/127\.0\.0\.1:\d+\/\{account\}$/);
    expect(store.accounts).toEqual(["stbackups", "stother"]);
  });

  it("lists containers with the static token over HTTPS trusting the emulator CA", async () => {
    const names: string[] = [];

    for await (const container of client("stbackups").listContainers()) names.push(container.name);

    expect(names).toEqual(["drills", "empty", "pg-dumps"]);
  });

  it("uploads every seeded file under its relative path", async () => {
    const blobs: { name: string; size: number | undefined; type: string | undefined }[] = [];

    for await (const blob of client("stbackups").getContainerClient("pg-dumps").listBlobsFlat()) {
      blobs.push({
        name: blob.name,
        size: blob.properties.contentLength,
        type: blob.properties.contentType,
      });
    }

    expect(blobs).toEqual([
      { name: "psql-a/2026-11-22.dump", size: 6, type: "application/octet-stream" },
      { name: "psql-b/2026-11-21.dump", size: 6, type: "application/octet-stream" },
    ]);
  });

  it("keeps blob content and sets a JSON content type for .json files", async () => {
    const blob = client("stbackups")
      .getContainerClient("drills")
      .getBlobClient("records/drill-1.json");

    const content = await blob.downloadToBuffer();
    const properties = await blob.getProperties();

    expect(content.toString("utf8")).toBe('{"drill":1}');
    expect(properties.contentType).toBe("application/json");
  });

  it("keeps each account's containers to itself", async () => {
    const names: string[] = [];

    for await (const container of client("stother").listContainers()) names.push(container.name);

    expect(names).toEqual(["logs"]);
  });

  it("refuses a token with the wrong audience", async () => {
    const [header, payload] = createStaticToken(TENANT).split(".");
    const claims = JSON.parse(Buffer.from(payload ?? "", "base64url").toString("utf8"));
    const wrong = `${header}.${Buffer.from(JSON.stringify({ ...claims, aud: "https://management.azure.com" })).toString("base64url")}.`;

    const listing = client("stbackups", wrong).listContainers().next();

    // Azure (and Azurite) answer 403 AuthenticationFailed for a token they do not accept.
    await expect(listing).rejects.toMatchObject({ statusCode: 403, code: "AuthenticationFailed" });
  });

  it("refuses a client that does not trust the emulator CA", async () => {
    const untrusting = new BlobServiceClient(
      store.blobEndpointTemplate.replace("{account}", "stbackups"),
      tokenCredential(createStaticToken(TENANT)),
      { retryOptions: { maxTries: 1 } },
    );

    await expect(untrusting.listContainers().next()).rejects.toThrow(/self.signed|certificate/i);
  });

  it("does not accept the well-known development account key", async () => {
    const devKey =
      "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    const shared = new BlobServiceClient(
      store.blobEndpointTemplate.replace("{account}", "stbackups"),
      new StorageSharedKeyCredential("stbackups", devKey),
      blobClientOptions(ca.caPem),
    );

    // A wrong shared key falls through to Azurite's token check, which rejects the non-Bearer
    // header with 400 InvalidAuthenticationInfo.
    await expect(shared.listContainers().next()).rejects.toMatchObject({
      statusCode: 400,
      code: "InvalidAuthenticationInfo",
    });
  });
});

describe("startBlobStore with a bad seed", () => {
  it("throws SeedError naming a badly named account folder", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-blob-bad-"));
    mkdirSync(join(dir, "Bad_Account", "c"), { recursive: true });

    const started = startBlobStore(dir, { ca, host: "127.0.0.1" });

    await expect(started).rejects.toThrow(SeedError);
    await expect(started).rejects.toThrow(join(dir, "Bad_Account"));
    rmSync(dir, { recursive: true, force: true });
  });

  it("throws SeedError for a file where a container folder belongs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-blob-bad-"));
    mkdirSync(join(dir, "stacc"), { recursive: true });
    writeFileSync(join(dir, "stacc", "loose.txt"), "x");

    await expect(startBlobStore(dir, { ca, host: "127.0.0.1" })).rejects.toThrow(SeedError);
    rmSync(dir, { recursive: true, force: true });
  });

  it("throws SeedError naming a container Azure would refuse", async () => {
    const dir = mkdtempSync(join(tmpdir(), "vigil-blob-bad-"));
    mkdirSync(join(dir, "stacc", "Bad_Container"), { recursive: true });
    writeFileSync(join(dir, "stacc", "Bad_Container", "a.txt"), "x");

    const started = startBlobStore(dir, { ca, host: "127.0.0.1" });

    await expect(started).rejects.toThrow(SeedError);
    await expect(started).rejects.toThrow(join(dir, "stacc", "Bad_Container"));
    rmSync(dir, { recursive: true, force: true });
  });
});

/** Live Azurite processes whose parent is `ppid`. */
function azuriteChildren(ppid: number): number[] {
  return liveProcesses()
    .filter((p) => p.ppid === ppid && commandLine(p.pid).includes("azurite"))
    .map((p) => p.pid);
}

function alive(pid: number): boolean {
  return liveProcesses().some((p) => p.pid === pid);
}

describe.runIf(process.platform === "linux")("the emulator's Azurite, orphaned", () => {
  it("exits when the process that started it is killed outright", async () => {
    const child = spawn(
      process.execPath,
      ["--import", "tsx", join(import.meta.dirname, "../../support/blob-store-child.ts"), seedDir],
      { stdio: ["ignore", "pipe", "inherit"] },
    );
    await new Promise<void>((resolve, reject) => {
      child.once("exit", (code) => reject(new Error(`the child exited early (${code})`)));
      child.stdout?.on("data", (chunk: Buffer) => {
        if (chunk.toString().includes("ready")) resolve();
      });
    });
    let azurite: number[];
    try {
      azurite = azuriteChildren(child.pid as number);
    } finally {
      child.kill("SIGKILL");
    }
    expect(azurite).toHaveLength(1);

    // A guarded Azurite exits within a second of its parent; one without the guard never does.
    // The 30 s allowance keeps a slow machine from failing the test, and a broken guard from
    // hanging it.
    const pid = azurite[0] as number;
    const giveUpAt = Date.now() + 30_000;
    while (alive(pid) && Date.now() < giveUpAt) await new Promise((r) => setTimeout(r, 50));

    expect(alive(pid)).toBe(false);
  }, 60_000);
});
