/** The blob endpoint on the emulator's own server: Azurite behind /blob, with seeded blob ages and the token check. */

import { ContainerClient } from "@azure/storage-blob";
import { beforeAll, describe, expect, it } from "vitest";
import { blobClientOptions } from "../../../src/emulator/blob-store.js";
import type { RunningEmulator } from "../../../src/emulator/index.js";
import { emulatorCredential, emulatorRequest, startTestEmulator } from "../../support/emulator.js";

let emulator: RunningEmulator;

beforeAll(async () => {
  emulator = await startTestEmulator("basic");
});

function container(name: string): ContainerClient {
  const account = (emulator.blobEndpointTemplate as string).replace("{account}", "stbasicbkpprod");
  return new ContainerClient(`${account}/${name}`, emulatorCredential(emulator), {
    ...blobClientOptions(emulator.caPem),
    retryOptions: { maxTries: 1 },
  });
}

describe("blob endpoint", () => {
  it("is served under /blob on the emulator's own origin", () => {
    expect(emulator.blobEndpointTemplate).toBe(`${emulator.armEndpoint}/blob/{account}`);
  });

  it("lists seeded blobs with last-modified times counted from the estate's now", async () => {
    const blobs = new Map<string, Date | undefined>();
    for await (const blob of container("pg-dumps").listBlobsFlat()) {
      blobs.set(blob.name, blob.properties.lastModified);
    }

    expect([...blobs.keys()]).toEqual([
      "psql-basic-prod/2026-11-22T0300Z.dump",
      "psql-basic-prod/2026-11-23T0300Z.dump",
    ]);
    expect(blobs.get("psql-basic-prod/2026-11-23T0300Z.dump")?.toISOString()).toBe(
      "2026-11-23T03:00:00.000Z",
    );
    expect(emulator.requests.at(-1)).toMatchObject({ api: "blob", method: "GET", status: 200 });
  });

  it("keeps an empty container empty", async () => {
    const names: string[] = [];
    for await (const blob of container("filestore-backups").listBlobsFlat()) names.push(blob.name);

    expect(names).toEqual([]);
  });

  it("reports the blob's size on HEAD", async () => {
    const properties = await container("pg-dumps")
      .getBlobClient("psql-basic-prod/2026-11-23T0300Z.dump")
      .getProperties();

    expect(properties.contentLength).toBe("PGDMP basic 2026-11-23\n".length);
  });

  it("answers 401 without the bearer token", async () => {
    const response = await emulatorRequest(
      emulator,
      "/blob/stbasicbkpprod/pg-dumps?restype=container&comp=list",
      {
        authorization: null,
      },
    );

    expect(response.status).toBe(401);
  });

  it("applies blob fault rules with a storage-shaped error", async () => {
    emulator.setFaults([{ kind: "error", api: "blob", status: 503, times: 1 }]);

    const response = await emulatorRequest(
      emulator,
      "/blob/stbasicbkpprod/pg-dumps?restype=container&comp=list",
    );

    expect(response.status).toBe(503);
    expect(response.headers["x-ms-error-code"]).toBe("ServiceUnavailable");
    expect(response.text).toContain("<Code>ServiceUnavailable</Code>");
  });
});
