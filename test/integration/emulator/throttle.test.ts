/** ARM read throttling: a token bucket per subscription that empties into 429 with Retry-After. */

import { describe, expect, it, onTestFinished } from "vitest";
import { startEmulator } from "../../../src/emulator/index.js";
import { ArmThrottle } from "../../../src/emulator/throttle.js";
import { emulatorRequest, seedPath } from "../../support/emulator.js";

const PROD = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const STAGING = "9e8d7c6b-5a49-4382-9170-6f5e4d3c2b1a";
const API = "api-version=2025-08-01";

describe("ArmThrottle", () => {
  it("allows capacity reads, then refuses with the seconds until the next token", () => {
    let now = 0;
    const throttle = new ArmThrottle({ capacity: 3, refillPerSecond: 0.5 }, () => now);

    const results = [1, 2, 3, 4].map(() => throttle.take(PROD));

    expect(results.map((r) => r.allowed)).toEqual([true, true, true, false]);
    expect(results.map((r) => r.remaining)).toEqual([2, 1, 0, 0]);
    expect(results[3]?.retryAfterSeconds).toBe(2);
    now = 2000;
    expect(throttle.take(PROD)).toMatchObject({ allowed: true, remaining: 0 });
  });

  it("keeps one bucket per subscription and never refills above capacity", () => {
    let now = 0;
    const throttle = new ArmThrottle({ capacity: 2, refillPerSecond: 10 }, () => now);

    throttle.take(PROD);
    throttle.take(PROD);
    const other = throttle.take(STAGING);
    now = 60_000;
    const refilled = throttle.take(PROD);

    expect(other).toMatchObject({ allowed: true, remaining: 1 });
    expect(refilled).toMatchObject({ allowed: true, remaining: 1 });
  });
});

describe("startEmulator throttle option", () => {
  it("counts ARM reads per subscription and answers 429 SubscriptionRequestsThrottled with Retry-After", async () => {
    const emulator = await startEmulator({
      seedDir: seedPath("basic"),
      blob: false,
      throttle: { capacity: 3, refillPerSecond: 1 },
      clock: () => 0,
    });
    onTestFinished(() => emulator.close());
    const path = `/subscriptions/${PROD}/providers/Microsoft.Storage/storageAccounts?${API}`;

    const responses = [];
    for (let i = 0; i < 4; i++) responses.push(await emulatorRequest(emulator, path));
    const otherSubscription = await emulatorRequest(emulator, `/subscriptions/${STAGING}?${API}`);
    const graph = await emulatorRequest(
      emulator,
      "/graph/v1.0/identity/conditionalAccess/policies",
    );

    expect(responses.map((r) => r.status)).toEqual([200, 200, 200, 429]);
    expect(responses.map((r) => r.headers["x-ms-ratelimit-remaining-subscription-reads"])).toEqual([
      "2",
      "1",
      "0",
      "0",
    ]);
    expect(responses[3]?.headers["retry-after"]).toBe("1");
    expect(responses[3]?.json).toMatchObject({ error: { code: "SubscriptionRequestsThrottled" } });
    expect(emulator.requests.filter((e) => e.fault === "throttle")).toHaveLength(1);
    expect(otherSubscription.status).toBe(200);
    expect(graph.status).toBe(200);
  });

  it("does not throttle when the option and estate.json leave it off", async () => {
    const emulator = await startEmulator({ seedDir: seedPath("basic"), blob: false });
    onTestFinished(() => emulator.close());

    const statuses = [];
    for (let i = 0; i < 10; i++) {
      statuses.push((await emulatorRequest(emulator, `/subscriptions/${PROD}?${API}`)).status);
    }

    expect(new Set(statuses)).toEqual(new Set([200]));
  });
});
