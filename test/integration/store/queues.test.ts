/**
 * The JSON message queues against a real Azurite: what goes over the wire (Base64 of the JSON, as
 * the Functions queue trigger decodes it with host.json's `messageEncoding`), and the receive,
 * delete, release and length round trips `vigil serve` relies on.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import type { QueueClient } from "@azure/storage-queue";
import { beforeAll, describe, expect, it } from "vitest";
import {
  connectStore,
  createMessageQueue,
  decodeQueueMessage,
  encodeQueueMessage,
  MAX_QUEUE_MESSAGE_BYTES,
  type MessageQueue,
  type StoreClients,
} from "../../../src/store/index.js";
import { startTestAzurite, uniqueName } from "../../support/azurite.js";
import { ROOT } from "../../support/cli.js";

let clients: StoreClients;

beforeAll(async () => {
  const azurite = await startTestAzurite();
  clients = connectStore({ connectionString: azurite.connectionString });
});

async function freshQueue(): Promise<{ client: QueueClient; queue: MessageQueue }> {
  const client = clients.queueClient(uniqueName("q"));
  const queue = createMessageQueue(client);
  await queue.ensure();
  return { client, queue };
}

/** The raw text of the next message, read with the plain SDK (no vigil codec). */
async function rawNext(client: QueueClient): Promise<string | undefined> {
  const response = await client.receiveMessages({ numberOfMessages: 1, visibilityTimeout: 1 });
  return response.receivedMessageItems[0]?.messageText;
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;

describe("createMessageQueue: wire format", () => {
  it("puts the Base64 of the JSON on the wire", async () => {
    const { client, queue } = await freshQueue();
    const message = { v: 1, runId: "sweep-ü-1", target: { kind: "tenant", tenantId: "t" } };

    await queue.send(message);

    const raw = await rawNext(client);
    expect(raw).toMatch(BASE64);
    expect(raw).not.toContain("{");
    expect(JSON.parse(Buffer.from(raw as string, "base64").toString("utf8"))).toEqual(message);
    expect(raw).toBe(encodeQueueMessage(message));
  });

  it("agrees with host.json: the Functions trigger decodes Base64, which is what vigil sends", () => {
    const host = JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")) as {
      extensions?: { queues?: { messageEncoding?: string } };
    };
    const message = { v: 1, runId: "r" };

    // The trigger's default is base64 as well (extension 5.x); spelled out in host.json so that
    // nobody flips it to `none` without this test noticing that the sender would disagree.
    const triggerDecoding = host.extensions?.queues?.messageEncoding ?? "base64";
    const onTheWire = encodeQueueMessage(message);

    expect(triggerDecoding).toBe("base64");
    expect(onTheWire).toMatch(BASE64);
    expect(JSON.parse(Buffer.from(onTheWire, "base64").toString("utf8"))).toEqual(message);
  });

  it("sends text as it is, Base64 on the wire (a poisoned message's original)", async () => {
    const { client, queue } = await freshQueue();

    await queue.sendText("not json, but ünïcode");

    const raw = await rawNext(client);
    expect(raw).toMatch(BASE64);
    expect(decodeQueueMessage(raw as string)).toBe("not json, but ünïcode");
  });

  it("decodes what it receives", async () => {
    const { queue } = await freshQueue();
    await queue.send({ v: 1, runId: "r-1" });

    const [received] = await queue.receive(1);

    expect(received?.text).toBe('{"v":1,"runId":"r-1"}');
    expect(received?.dequeueCount).toBe(1);
    expect(received?.messageId).toBeTruthy();
    expect(received?.popReceipt).toBeTruthy();
    expect(received?.insertedOn).toBeInstanceOf(Date);
  });
});

describe("createMessageQueue: size limit", () => {
  it("refuses a message over 64 KiB in Base64 with a RangeError and sends nothing", async () => {
    const { queue } = await freshQueue();
    // 48 KiB of payload is 64 KiB in Base64: a little more is over the limit.
    const big = { v: 1, blob: "x".repeat((MAX_QUEUE_MESSAGE_BYTES / 4) * 3) };

    await expect(queue.send(big)).rejects.toBeInstanceOf(RangeError);
    await expect(queue.send(big)).rejects.toThrow(/64 KiB/);

    expect(await queue.length()).toBe(0);
  });

  it("sends a message just under the limit", async () => {
    const { queue } = await freshQueue();
    const overhead = encodeQueueMessage({ v: 1, blob: "" }).length;
    // Base64 of n bytes is 4·ceil(n/3) characters: stay a few bytes below the limit.
    const payload = Math.floor(((MAX_QUEUE_MESSAGE_BYTES - overhead) / 4) * 3) - 3;
    const message = { v: 1, blob: "y".repeat(payload) };

    await queue.send(message);

    const [received] = await queue.receive(1);
    expect(JSON.parse(received?.text ?? "null")).toEqual(message);
  });
});

describe("createMessageQueue: receive, delete, release, length", () => {
  it("counts waiting messages", async () => {
    const { queue } = await freshQueue();

    const empty = await queue.length();
    await queue.send({ n: 1 });
    await queue.send({ n: 2 });
    await queue.sendText("three");

    expect(empty).toBe(0);
    expect(await queue.length()).toBe(3);
  });

  it("hides a received message and removes it for good on delete", async () => {
    const { queue } = await freshQueue();
    await queue.send({ n: 1 });

    const first = await queue.receive(5, 30);
    const whileHidden = await queue.receive(5, 30);
    await queue.delete(first[0] as (typeof first)[number]);

    expect(first).toHaveLength(1);
    expect(whileHidden).toEqual([]);
    expect(await queue.length()).toBe(0);
  });

  it("makes a released message visible again, with its dequeue count raised on redelivery", async () => {
    const { queue } = await freshQueue();
    await queue.send({ n: 1 });
    const [first] = await queue.receive(1, 60);

    await queue.release(first as NonNullable<typeof first>, 0);
    const [again] = await queue.receive(1, 60);

    expect(again?.messageId).toBe(first?.messageId);
    expect(again?.dequeueCount).toBe(2);
    expect(JSON.parse(again?.text ?? "null")).toEqual({ n: 1 });
  });

  it("receives at most the number asked for", async () => {
    const { queue } = await freshQueue();
    for (let n = 0; n < 5; n += 1) await queue.send({ n });

    const batch = await queue.receive(3, 30);

    expect(batch).toHaveLength(3);
  });

  it("sends with a visibility delay when asked", async () => {
    const { queue } = await freshQueue();

    await queue.send({ n: 1 }, { visibilityTimeoutInSeconds: 60 });

    expect(await queue.receive(1)).toEqual([]);
  });
});
