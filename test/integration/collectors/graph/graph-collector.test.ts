/**
 * The Graph collector against the emulator: Conditional Access policies over every page (the
 * basic seed pages by two), gaps for unreturned authentication strengths, the per-tenant cache,
 * and the collector contract.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { createCallPolicy } from "../../../../src/collectors/call-policy.js";
import { createGraphCollector } from "../../../../src/collectors/graph/index.js";
import type { RunningEmulator } from "../../../../src/emulator/index.js";
import {
  emulatorSettings,
  runCollectorContract,
} from "../../../support/contracts/collector-contract.js";
import { seedPath, startTestEmulator } from "../../../support/emulator.js";

const POLICIES = join(seedPath("basic"), "graph/v1.0/identity/conditionalAccess/policies.json");

runCollectorContract({
  name: "createGraphCollector",
  emulatorSeed: "basic",
  api: "graph",
  create: ({ settings }) => createGraphCollector(settings, { cacheTtlInMs: 0 }),
  target: (emulator) => ({ kind: "tenant", tenantId: emulator.estate.tenantId }),
  expectedObservations: 1,
});

describe("createGraphCollector", () => {
  let emulator: RunningEmulator;

  beforeAll(async () => {
    emulator = await startTestEmulator("basic");
  });

  it("reads every page into one observation with a gap per unreturned authentication strength", async () => {
    const collector = createGraphCollector(emulatorSettings(emulator), {
      clock: () => new Date("2026-11-23T06:00:00Z"),
    });
    const seeded = JSON.parse(readFileSync(POLICIES, "utf8")) as { value: unknown[] };
    const tenantId = emulator.estate.tenantId;

    const observations = await collector.collect(
      { kind: "tenant", tenantId },
      { now: emulator.estate.now },
    );

    expect(observations).toHaveLength(1);
    const [observation] = observations;
    expect(observation).toMatchObject({
      id: `graph://${tenantId}/identity/conditionalAccess/policies`,
      type: "microsoft.graph/conditionalAccessPolicies",
      scope: tenantId,
      source: { api: "graph", apiVersion: "v1.0", observedAt: "2026-11-23T06:00:00Z" },
    });
    expect((observation!.document as { value: unknown[] }).value).toEqual(seeded.value);
    expect(observation?.document).not.toHaveProperty("@odata.nextLink");
    expect(observation?.gaps?.map((g) => g.path)).toEqual([
      "value[0].grantControls.authenticationStrength",
      "value[1].grantControls.authenticationStrength",
      "value[2].grantControls.authenticationStrength",
    ]);
    const pages = emulator.requests.filter(
      (r) => r.api === "graph" && r.path.includes("conditionalAccess/policies"),
    );
    expect(pages.length).toBeGreaterThanOrEqual(2);
  });

  it("answers a second collect for the tenant from its cache", async () => {
    const collector = createGraphCollector(emulatorSettings(emulator));
    const target = { kind: "tenant" as const, tenantId: emulator.estate.tenantId };
    const before = emulator.requests.filter((r) => r.api === "graph").length;

    const first = await collector.collect(target, { now: emulator.estate.now });
    const afterFirst = emulator.requests.filter((r) => r.api === "graph").length;
    const second = await collector.collect(target, { now: emulator.estate.now });

    expect(second).toEqual(first);
    expect(emulator.requests.filter((r) => r.api === "graph").length).toBe(afterFirst);
    expect(afterFirst).toBeGreaterThan(before);
  });

  it("reports error, not an empty policy list, when a page answers 200 without a value array", async () => {
    const collector = createGraphCollector(emulatorSettings(emulator), { cacheTtlInMs: 0 });
    const target = { kind: "tenant" as const, tenantId: emulator.estate.tenantId };
    emulator.setFaults([
      { api: "graph", path: "conditionalAccess/policies", kind: "error", status: 200 },
    ]);

    try {
      const [observation] = await collector.collect(target, { now: emulator.estate.now });

      expect(observation?.document).toBeUndefined();
      expect(observation?.error).toMatchObject({ code: "UnexpectedResponse", statusCode: 200 });
    } finally {
      emulator.setFaults([]);
    }
  });

  it("returns the same observation when a fifth of the requests fail", async () => {
    const settings = emulatorSettings(emulator, {
      callPolicy: createCallPolicy({ initialBackoffInMs: 5, maxBackoffInMs: 20 }),
    });
    const target = { kind: "tenant" as const, tenantId: emulator.estate.tenantId };
    const clock = () => new Date("2026-11-23T06:00:00Z");
    const clean = await createGraphCollector(settings, { clock }).collect(target, {
      now: emulator.estate.now,
    });
    emulator.setFaults([
      { api: "graph", kind: "throttle", rate: 0.2 },
      { api: "graph", kind: "error", status: 503, rate: 0.2 },
      { api: "graph", kind: "reset", rate: 0.2 },
    ]);

    try {
      const faulty = await createGraphCollector(settings, { clock }).collect(target, {
        now: emulator.estate.now,
      });

      expect(faulty).toEqual(clean);
    } finally {
      emulator.setFaults([]);
    }
  });
});
