/** The notifications outbox against a real Azurite: created once, listed per run, read strictly. */
import type { ContainerClient } from "@azure/storage-blob";
import { beforeAll, describe, expect, it } from "vitest";
import type { Transition } from "../../../src/core/index.js";
import {
  connectStore,
  createOutbox,
  type Outbox,
  type StoreClients,
  StoreError,
} from "../../../src/store/index.js";
import { startTestAzurite, uniqueName } from "../../support/azurite.js";

let clients: StoreClients;

beforeAll(async () => {
  const azurite = await startTestAzurite();
  clients = connectStore({ connectionString: azurite.connectionString });
});

async function freshOutbox(): Promise<{ container: ContainerClient; outbox: Outbox }> {
  const container = clients.containerClient(uniqueName("outbox"));
  const outbox = createOutbox(container);
  await outbox.ensure();
  return { container, outbox };
}

function transition(runId: string, resource: string, scope = "sub-a"): Transition {
  return {
    kind: "new-failure",
    scope,
    controlId: "storage-https-only",
    resourceId: `/subscriptions/${scope}/providers/Microsoft.Storage/storageAccounts/${resource}`,
    from: null,
    to: "fail",
    severity: "high",
    runId,
    at: "2026-03-01T10:00:00.000Z",
  };
}

async function blobNames(container: ContainerClient): Promise<string[]> {
  const names: string[] = [];
  for await (const blob of container.listBlobsFlat()) names.push(blob.name);
  return names.sort();
}

describe("createOutbox", () => {
  it("keeps the first entry when the same run, target and scope are put twice", async () => {
    const { container, outbox } = await freshOutbox();
    const first = [transition("r1", "a")];

    await outbox.put("r1", "subscription sub-a", "sub-a", first);
    await outbox.put("r1", "subscription sub-a", "sub-a", [
      transition("r1", "b"),
      transition("r1", "c"),
    ]);

    expect(await outbox.list("r1")).toEqual(first);
    expect(await blobNames(container)).toHaveLength(1);
  });

  it("lists every entry of a run, across targets and scopes, and nothing of other runs", async () => {
    const { outbox } = await freshOutbox();
    await outbox.put("r1", "subscription sub-a", "sub-a", [transition("r1", "a")]);
    await outbox.put("r1", "cluster aks-prod", "aks-prod", [
      transition("r1", "np", "aks-prod"),
      transition("r1", "ing", "aks-prod"),
    ]);
    // A run id that extends another's must not be listed with it.
    await outbox.put("r10", "subscription sub-a", "sub-a", [transition("r10", "z")]);

    const listed = await outbox.list("r1");

    expect(listed.map((t) => t.resourceId.split("/").pop()).sort()).toEqual(["a", "ing", "np"]);
    expect(listed.every((t) => t.runId === "r1")).toBe(true);
    expect(await outbox.list("r10")).toHaveLength(1);
  });

  it("answers an empty list for a run with no entry", async () => {
    const { outbox } = await freshOutbox();

    expect(await outbox.list("nothing")).toEqual([]);
  });

  it("keeps targets and scopes with characters that are not allowed in blob paths apart", async () => {
    const { outbox } = await freshOutbox();

    await outbox.put("r/1", "tls a/b", "c", [transition("r/1", "x")]);
    await outbox.put("r/1", "tls a", "b/c", [transition("r/1", "y")]);

    expect((await outbox.list("r/1")).map((t) => t.resourceId.split("/").pop()).sort()).toEqual([
      "x",
      "y",
    ]);
  });

  it("keeps apart a target and scope that differ only in where a ~ falls", async () => {
    const { outbox } = await freshOutbox();

    await outbox.put("r1", "tls x~y", "z", [transition("r1", "one")]);
    await outbox.put("r1", "tls x", "y~z", [transition("r1", "two")]);

    expect((await outbox.list("r1")).map((t) => t.resourceId.split("/").pop()).sort()).toEqual([
      "one",
      "two",
    ]);
  });

  it("reports an entry that is not JSON as a StoreError naming the blob", async () => {
    const { container, outbox } = await freshOutbox();
    await outbox.put("r1", "subscription sub-a", "sub-a", [transition("r1", "a")]);
    const name = "runs/r1/broken~sub-a.json";
    await container.getBlockBlobClient(name).upload("{not json", 9);

    const listing = outbox.list("r1");

    await expect(listing).rejects.toBeInstanceOf(StoreError);
    await expect(listing).rejects.toThrow(name);
  });

  it("reports an entry without a transitions list as a StoreError naming the blob", async () => {
    const { container, outbox } = await freshOutbox();
    const name = "runs/r1/odd~sub-a.json";
    const body = JSON.stringify({ runId: "r1", transitions: "none" });
    await container.getBlockBlobClient(name).upload(body, body.length);

    await expect(outbox.list("r1")).rejects.toThrow(
      expect.objectContaining({ name: "StoreError", message: expect.stringContaining(name) }),
    );
  });
});
