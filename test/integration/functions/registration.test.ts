/**
 * What functions/index.ts registers with the Functions host: every trigger kind spied on before
 * the app's modules load, so that the options the host would read (auth levels, queue names and
 * connections, the timer schedule) and the handlers it would call are the ones tested elsewhere.
 */
import { readFileSync } from "node:fs";
import { join } from "node:path";
import func from "@azure/functions";
import { beforeAll, describe, expect, it, type MockInstance, vi } from "vitest";
import { DEFAULT_MAX_DEQUEUE_COUNT } from "../../../src/app/index.js";
import { ROOT } from "../../support/cli.js";

type Registration = [name: string, options: Record<string, unknown>];
type FunctionsModule = typeof import("../../../functions/index.js");

const KINDS = ["http", "storageQueue", "timer", "eventGrid", "eventHub"] as const;
const spies = {} as Record<(typeof KINDS)[number], MockInstance>;
let app: FunctionsModule;

function registered(kind: (typeof KINDS)[number]): Registration[] {
  return spies[kind].mock.calls as Registration[];
}

function optionsOf(kind: (typeof KINDS)[number], name: string): Record<string, unknown> {
  const found = registered(kind).filter(([registeredName]) => registeredName === name);
  expect(found, `${kind} ${name}`).toHaveLength(1);
  return (found[0] as Registration)[1];
}

beforeAll(async () => {
  for (const kind of KINDS)
    spies[kind] = vi.spyOn(func.app, kind).mockImplementation(() => undefined as never);
  vi.resetModules();

  app = await import("../../../functions/index.js");
});

describe("functions/index.js", () => {
  it("registers each function once, under its own name", () => {
    const names = KINDS.flatMap((kind) => registered(kind).map(([name]) => name));

    expect(names.sort()).toEqual(
      [
        "cluster-changed",
        "evidence-pack",
        "evidence-report",
        "evidence-verify",
        "findings",
        "gate",
        "health",
        "notify",
        "resource-changed",
        "scan-target",
        "scan-target-poison",
        "sweep",
      ].sort(),
    );
  });

  it("sets authLevel explicitly on every HTTP function: anonymous for health only, function otherwise", () => {
    const levels = Object.fromEntries(
      registered("http").map(([name, options]) => [
        name,
        Object.hasOwn(options, "authLevel") ? options.authLevel : "(library default)",
      ]),
    );

    expect(levels).toEqual({
      gate: "function",
      findings: "function",
      "evidence-report": "function",
      "evidence-pack": "function",
      "evidence-verify": "function",
      health: "anonymous",
    });
  });

  it.each([
    ["gate", "gate", "gateHandler"],
    ["findings", "findings", "findingsHandler"],
    ["evidence-report", "evidence/report", "evidenceReportHandler"],
    ["evidence-pack", "evidence/pack", "evidencePackHandler"],
    ["evidence-verify", "evidence/verify", "evidenceVerifyHandler"],
    ["health", "health", "healthHandler"],
  ] as const)(
    "registers the HTTP function %s as GET /api/%s with the exported %s",
    (name, route, handler) => {
      const options = optionsOf("http", name);

      expect(options.route).toBe(route);
      expect(options.methods).toEqual(["GET"]);
      expect(options.handler).toBe(app[handler]);
    },
  );

  it("lists in HTTP_FUNCTIONS exactly what it registers over HTTP", () => {
    const byName = (a: Registration, b: Registration) => a[0].localeCompare(b[0]);
    const listed = app.HTTP_FUNCTIONS.map((f): Registration => [f.name, f.options]);

    expect(listed.sort(byName)).toEqual([...registered("http")].sort(byName));
  });

  it.each([
    ["scan-target", "scan-targets", "scanTargetHandler"],
    ["scan-target-poison", "scan-targets-poison", "scanTargetPoisonHandler"],
    ["notify", "notifications", "notifyHandler"],
  ] as const)(
    "triggers %s from the queue %s of VIGIL_STORAGE with the exported %s",
    (name, queueName, handler) => {
      const options = optionsOf("storageQueue", name);

      expect(options).toEqual({ queueName, connection: "VIGIL_STORAGE", handler: app[handler] });
      expect(options.handler).toBe(app[handler]);
    },
  );

  it("schedules the sweep from the app setting VIGIL_SWEEP_SCHEDULE, not on startup", () => {
    const options = optionsOf("timer", "sweep");

    expect(options.schedule).toBe("%VIGIL_SWEEP_SCHEDULE%");
    expect(options.runOnStartup).toBe(false);
    expect(options.handler).toBe(app.sweepHandler);
  });

  it("subscribes resource-changed to Event Grid with the exported handler", () => {
    expect(optionsOf("eventGrid", "resource-changed").handler).toBe(app.resourceChangedHandler);
  });

  it("reads AKS audit batches from Event Hubs many at a time, with retries, into the exported handler", () => {
    const options = optionsOf("eventHub", "cluster-changed");

    expect(options).toMatchObject({
      connection: "VIGIL_EVENTHUB",
      eventHubName: "%VIGIL_AUDIT_EVENTHUB_NAME%",
      cardinality: "many",
      retry: { strategy: "exponentialBackoff" },
    });
    expect(options.handler).toBe(app.clusterChangedHandler);
  });

  it("agrees with host.json on Base64 queue messages and the attempts before poison", () => {
    const host = JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")) as {
      extensions: { queues: { maxDequeueCount: number; messageEncoding: string } };
    };

    expect(host.extensions.queues.maxDequeueCount).toBe(DEFAULT_MAX_DEQUEUE_COUNT);
    expect(host.extensions.queues.messageEncoding).toBe("base64");
  });
});
