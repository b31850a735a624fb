/**
 * createWebhookSink against a real node:http receiver on loopback: the signed request as it
 * arrives, and how each kind of answer (or no answer) becomes a delivery or a NotificationError.
 */

import { afterEach, describe, expect, it } from "vitest";
import type { Digest, Transition } from "../../../src/core/index.js";
import {
  buildDigest,
  createWebhookSink,
  isNotificationError,
  type NotificationError,
  verifyWebhookSignature,
} from "../../../src/notify/index.js";
import { type HttpReceiver, refusedUrl, startHttpReceiver } from "../../support/http-receiver.js";

const SECRET = "whsec-integration-secret";
const NOW_MS = Date.parse("2026-11-23T06:00:05Z");
const NOW_S = Math.floor(NOW_MS / 1000);

function transition(resourceId: string, overrides: Partial<Transition> = {}): Transition {
  return {
    kind: "new-failure",
    scope: "sub-1",
    controlId: "storage-https-only",
    resourceId,
    from: null,
    to: "fail",
    severity: "high",
    runId: "run-7",
    at: "2026-11-23T06:00:00Z",
    ...overrides,
  };
}

const digest = buildDigest(
  [
    transition("/subscriptions/1/storage/b"),
    transition("/subscriptions/1/storage/a", { kind: "resolved", from: "fail", to: "pass" }),
    transition("/subscriptions/1/storage/c", { kind: "still-failing", from: "fail" }),
  ],
  {
    runId: "run-7",
    trigger: "timer",
    evaluatedAt: "2026-11-23T06:00:00Z",
    titleOf: () => "Storage accounts accept HTTPS only",
    reasonOf: () => "properties.supportsHttpsTrafficOnly is false, expected true",
  },
) as Digest;

const receivers: HttpReceiver[] = [];

async function receiver(...args: Parameters<typeof startHttpReceiver>): Promise<HttpReceiver> {
  const started = await startHttpReceiver(...args);
  receivers.push(started);
  return started;
}

function sinkFor(url: string, timeoutInMs = 5_000) {
  return createWebhookSink({
    name: "secops",
    url,
    secret: SECRET,
    timeoutInMs,
    clock: { now: () => NOW_MS },
  });
}

async function deliveryError(promise: Promise<void>): Promise<NotificationError> {
  try {
    await promise;
  } catch (error) {
    if (isNotificationError(error)) return error;
    throw error;
  }
  throw new Error("expected the delivery to fail");
}

afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

describe("createWebhookSink", () => {
  it("posts the digest as JSON with schemaVersion 1 and the vigil headers", async () => {
    const hook = await receiver();

    await sinkFor(`${hook.origin}/hooks/vigil`).deliver(digest);

    const [request] = hook.requests;
    expect(hook.requests).toHaveLength(1);
    expect(request?.method).toBe("POST");
    expect(request?.url).toBe("/hooks/vigil");
    expect(request?.headers["content-type"]).toBe("application/json");
    expect(request?.headers["x-vigil-timestamp"]).toBe(String(NOW_S));
    expect(request?.headers["x-vigil-delivery"]).toBe(digest.id);
    expect(request?.headers["x-vigil-signature"]).toMatch(/^sha256=[0-9a-f]{64}$/);
    expect(JSON.parse(request?.body.toString("utf8") ?? "")).toEqual({
      schemaVersion: 1,
      ...digest,
    });
  });

  it("sends a signature that the receiver verifies over the raw body", async () => {
    const hook = await receiver();

    await sinkFor(hook.origin).deliver(digest);

    const [request] = hook.requests;
    expect(
      verifyWebhookSignature(SECRET, request?.headers ?? {}, request?.body ?? Buffer.alloc(0), {
        nowInSeconds: NOW_S + 10,
      }),
    ).toEqual({ valid: true, timestamp: NOW_S });
  });

  it("sends a signature that fails with a wrong secret", async () => {
    const hook = await receiver();

    await sinkFor(hook.origin).deliver(digest);

    const [request] = hook.requests;
    expect(
      verifyWebhookSignature("not-the-secret", request?.headers ?? {}, request?.body ?? "", {
        nowInSeconds: NOW_S,
      }),
    ).toEqual({ valid: false, reason: "signature-mismatch" });
  });

  it("sends a signature that fails once the body is tampered with", async () => {
    const hook = await receiver();

    await sinkFor(hook.origin).deliver(digest);

    const [request] = hook.requests;
    const tampered = (request?.body.toString("utf8") ?? "").replace('"high"', '"low"');
    expect(tampered).not.toBe(request?.body.toString("utf8"));
    expect(
      verifyWebhookSignature(SECRET, request?.headers ?? {}, tampered, { nowInSeconds: NOW_S }),
    ).toEqual({ valid: false, reason: "signature-mismatch" });
  });

  it("sends a signature that fails once its timestamp is stale", async () => {
    const hook = await receiver();

    await sinkFor(hook.origin).deliver(digest);

    const [request] = hook.requests;
    expect(
      verifyWebhookSignature(SECRET, request?.headers ?? {}, request?.body ?? "", {
        nowInSeconds: NOW_S + 301,
      }),
    ).toEqual({ valid: false, reason: "stale-timestamp" });
  });

  it("sends the same delivery id and body when a digest is delivered again", async () => {
    const hook = await receiver();
    const sink = sinkFor(hook.origin);

    await sink.deliver(digest);
    await sink.deliver(structuredClone(digest));

    const [first, second] = hook.requests;
    expect(second?.headers["x-vigil-delivery"]).toBe(first?.headers["x-vigil-delivery"]);
    expect(second?.body.equals(first?.body ?? Buffer.alloc(0))).toBe(true);
  });

  it.each([200, 202, 204])("treats %i as delivered", async (status) => {
    const hook = await receiver({ status });

    await expect(sinkFor(hook.origin).deliver(digest)).resolves.toBeUndefined();
    expect(hook.requests).toHaveLength(1);
  });

  it.each([400, 401, 404, 413])("throws a non-retryable error for %i", async (status) => {
    const hook = await receiver({ status });

    const error = await deliveryError(sinkFor(hook.origin).deliver(digest));

    expect(error).toMatchObject({
      name: "NotificationError",
      sink: "webhook:secops",
      statusCode: status,
      code: `Http${status}`,
      retryable: false,
    });
  });

  it("throws a retryable error with retryAfterInMs for 429 with Retry-After", async () => {
    const hook = await receiver({ status: 429, headers: { "retry-after": "7" } });

    const error = await deliveryError(sinkFor(hook.origin).deliver(digest));

    expect(error).toMatchObject({ statusCode: 429, retryable: true, retryAfterInMs: 7_000 });
  });

  it.each([408, 500, 502, 503])("throws a retryable error for %i", async (status) => {
    const hook = await receiver({ status });

    const error = await deliveryError(sinkFor(hook.origin).deliver(digest));

    expect(error).toMatchObject({ statusCode: status, retryable: true, retryAfterInMs: undefined });
  });

  it("throws a retryable error when the connection is refused", async () => {
    const url = await refusedUrl();

    const error = await deliveryError(sinkFor(url).deliver(digest));

    expect(error).toMatchObject({ statusCode: undefined, code: "ECONNREFUSED", retryable: true });
  });

  it("throws a retryable Timeout when the receiver does not answer in time", async () => {
    const hook = await receiver("hang");

    const error = await deliveryError(sinkFor(hook.origin, 200).deliver(digest));

    expect(hook.requests).toHaveLength(1);
    expect(error).toMatchObject({ statusCode: undefined, code: "Timeout", retryable: true });
  });

  it("gives up with the caller's abort reason when the caller aborts", async () => {
    const hook = await receiver("hang");
    const controller = new AbortController();
    const reason = new Error("host shutting down");

    const delivery = sinkFor(hook.origin, 60_000).deliver(digest, {
      abortSignal: controller.signal,
    });
    await expect.poll(() => hook.requests.length).toBe(1);
    controller.abort(reason);

    await expect(delivery).rejects.toBe(reason);
  });

  it("does not follow a redirect, so the signed body reaches no other host", async () => {
    const elsewhere = await receiver();
    const hook = await receiver({ status: 307, headers: { location: `${elsewhere.origin}/x` } });

    const error = await deliveryError(sinkFor(hook.origin).deliver(digest));

    expect(error).toMatchObject({ statusCode: 307, retryable: false });
    expect(elsewhere.requests).toHaveLength(0);
  });

  it("keeps the secret, the path and the query out of every error message", async () => {
    const refused = await refusedUrl();
    const failing = await receiver({ status: 400 });
    const hanging = await receiver("hang");
    const query = "/hooks/p4th-t0ken?api-version=1&sig=qu3ry-k3y";

    const errors = [
      await deliveryError(sinkFor(`${refused.replace("/hook", "")}${query}`).deliver(digest)),
      await deliveryError(sinkFor(`${failing.origin}${query}`).deliver(digest)),
      await deliveryError(sinkFor(`${hanging.origin}${query}`, 200).deliver(digest)),
    ];

    expect(errors.map((error) => error.code)).toEqual(["ECONNREFUSED", "Http400", "Timeout"]);
    for (const error of errors) {
      expect(error.message).not.toMatch(/qu3ry-k3y|sig=|p4th-t0ken|whsec/);
      expect(error.message).toContain("http://127.0.0.1:");
    }
  });
});
