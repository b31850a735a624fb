/** The local store: Azurite from its npm package, in memory or persisted, and the clients. */
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TokenCredential } from "@azure/core-auth";
import { describe, expect, it, onTestFinished } from "vitest";
import { InputError } from "../../../src/core/index.js";
import { connectStore, startLocalStore } from "../../../src/store/index.js";

const credential: TokenCredential = {
  getToken: async () => ({ token: "t", expiresOnTimestamp: Date.now() + 3_600_000 }),
};

describe("startLocalStore", () => {
  it("starts Azurite in memory on free ports and serves blobs, tables and queues", async () => {
    const store = await startLocalStore({ inMemory: true });
    onTestFinished(() => store.close());
    const clients = connectStore({ connectionString: store.connectionString });

    await clients.containerClient("evidence").create();
    await clients.tableClient("findings").createTable();
    await clients.queueClient("scan-targets").create();

    expect(store.blobEndpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
    expect(await clients.containerClient("evidence").exists()).toBe(true);
    expect(await clients.queueClient("scan-targets").exists()).toBe(true);
  });

  it("keeps blobs across restarts in a persistent location", async () => {
    const location = await mkdtemp(join(tmpdir(), "vigil-azurite-"));
    onTestFinished(() => rm(location, { recursive: true, force: true }));
    const first = await startLocalStore({ location });
    await connectStore(first).containerClient("evidence").create();
    await first.close();

    const second = await startLocalStore({ location });
    onTestFinished(() => second.close());

    expect(await connectStore(second).containerClient("evidence").exists()).toBe(true);
  });
});

describe("connectStore", () => {
  it("derives the table and queue endpoints from a blob account URL", () => {
    const clients = connectStore({
      accountUrl: "https://vigilstore.blob.core.usgovcloudapi.net/",
      credential,
    });

    expect(clients.tableClient("findings").url).toBe(
      "https://vigilstore.table.core.usgovcloudapi.net",
    );
    expect(clients.queueClient("notifications").url).toBe(
      "https://vigilstore.queue.core.usgovcloudapi.net/notifications",
    );
    expect(clients.containerClient("evidence").url).toBe(
      "https://vigilstore.blob.core.usgovcloudapi.net/evidence",
    );
  });

  it("throws InputError for an account URL that is not a blob endpoint", () => {
    expect(() => connectStore({ accountUrl: "https://example.com", credential })).toThrow(
      InputError,
    );
  });
});
