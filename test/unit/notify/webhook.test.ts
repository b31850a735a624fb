/** createWebhookSink and webhookBody, with an injected fetch: the request it builds. */

import { describe, expect, it } from "vitest";
import { InputError } from "../../../src/core/index.js";
import {
  buildDigest,
  createWebhookSink,
  verifyWebhookSignature,
  webhookBody,
} from "../../../src/notify/index.js";

const NOW_MS = Date.parse("2026-11-23T06:00:00.750Z");
const digest = buildDigest(
  [
    {
      kind: "new-failure",
      scope: "sub-1",
      controlId: "storage-https-only",
      resourceId: "/subscriptions/1/storage/a",
      from: null,
      to: "fail",
      severity: "high",
      runId: "run-1",
      at: "2026-11-23T06:00:00Z",
    },
  ],
  { runId: "run-1", trigger: "timer", evaluatedAt: "2026-11-23T06:00:00Z", titleOf: () => "T" },
);
if (digest === undefined) throw new Error("the fixture digest is empty");

describe("webhookBody", () => {
  it("is the digest's fields after schemaVersion 1", () => {
    const body = webhookBody(digest);

    expect(body.startsWith('{"schemaVersion":1,')).toBe(true);
    expect(JSON.parse(body)).toEqual({ schemaVersion: 1, ...digest });
  });
});

describe("createWebhookSink", () => {
  it("signs the exact body it sends, at the clock's second", async () => {
    const sent: { url: URL; init: RequestInit }[] = [];
    const sink = createWebhookSink({
      name: "secops",
      url: "https://hooks.example/vigil",
      secret: "s3cr3t",
      clock: { now: () => NOW_MS },
      fetch: async (url, init) => {
        sent.push({ url, init });
        return new Response(null, { status: 204 });
      },
    });

    await sink.deliver(digest);

    const headers = sent[0]?.init.headers as Record<string, string>;
    expect(sink.name).toBe("webhook:secops");
    expect(headers["x-vigil-timestamp"]).toBe(String(Math.floor(NOW_MS / 1000)));
    expect(headers["x-vigil-delivery"]).toBe(digest.id);
    expect(sent[0]?.init.body).toBe(webhookBody(digest));
    expect(
      verifyWebhookSignature("s3cr3t", headers, webhookBody(digest), {
        nowInSeconds: Math.floor(NOW_MS / 1000),
      }),
    ).toEqual({ valid: true, timestamp: Math.floor(NOW_MS / 1000) });
  });

  it.each([
    ["an empty secret", { name: "secops", url: "https://hooks.example/x", secret: "" }],
    [
      "a name with a colon",
      { name: "webhook:secops", url: "https://hooks.example/x", secret: "k" },
    ],
    ["an empty name", { name: "", url: "https://hooks.example/x", secret: "k" }],
    ["a URL that does not parse", { name: "secops", url: "hooks?sig=k", secret: "k" }],
  ])("refuses %s at creation", (_case, options) => {
    expect(() => createWebhookSink(options)).toThrow(InputError);
  });

  it("refuses a timeout that is not positive", () => {
    expect(() =>
      createWebhookSink({ name: "secops", url: "https://h.example/", secret: "k", timeoutInMs: 0 }),
    ).toThrow(RangeError);
  });
});
