/**
 * The contract every collector keeps, as a reusable vitest suite over the real emulator: a 403
 * becomes `error` observations with status and request id, a 429's `Retry-After` is honoured and
 * changes nothing in the result, and the request log shows no write and no Secret read.
 */

import { beforeAll, describe, expect, it } from "vitest";
import { type CallPolicy, createCallPolicy } from "../../../src/collectors/call-policy.js";
import type { CollectorSettings } from "../../../src/collectors/types.js";
import {
  type Collector,
  cloudEndpoints,
  type Observation,
  type Target,
} from "../../../src/core/index.js";
import type {
  EmulatorApi,
  FaultRule,
  RunningEmulator,
  StartEmulatorOptions,
} from "../../../src/emulator/index.js";
import { emulatorCredential, startTestEmulator } from "../emulator.js";

/** What a collector under contract is built from. */
export interface CollectorContractContext {
  emulator: RunningEmulator;
  /** Settings pointing at the emulator; their call policy records every wait it asks for. */
  settings: CollectorSettings;
  callPolicy: CallPolicy;
}

/** Options of {@link runCollectorContract}. */
export interface CollectorContractOptions {
  /** Suite title, e.g. the factory's name. */
  name: string;
  /** Seed folder: a path, or a folder name under test/fixtures/seeds. */
  emulatorSeed: string;
  startOptions?: Omit<StartEmulatorOptions, "seedDir">;
  /** The emulator API the collector reads; the 403 and 429 faults are put there. */
  api: EmulatorApi;
  /** Regex (emulator fault `path`) narrowing the faults, e.g. to the collector's first list. */
  faultPath?: string;
  create(context: CollectorContractContext): Collector;
  target(emulator: RunningEmulator): Target;
  /** How many observations a clean run yields (checked when given). */
  expectedObservations?: number;
  /** Settings over the defaults of {@link emulatorSettings}. */
  settings?: Partial<CollectorSettings>;
  /** POST paths the collector may send besides the two reads ARM does by POST. */
  allowedPosts?: RegExp[];
}

/** POSTs that only read: AKS user credentials and Resource Graph queries. */
const READ_ONLY_POSTS = [
  /\/managedClusters\/[^/]+\/listClusterUserCredential(s)?(\?|$)/i,
  /^\/providers\/Microsoft\.ResourceGraph\/resources(\?|$)/i,
];

/**
 * Settings for collectors pointed at an emulator: public-cloud scopes, the emulator's endpoints,
 * CA and token, and a fresh call policy unless one is given.
 */
export function emulatorSettings(
  emulator: RunningEmulator,
  overrides: Partial<CollectorSettings> = {},
): CollectorSettings {
  return {
    cloud: cloudEndpoints("AzurePublicCloud", {
      arm: emulator.armEndpoint,
      graph: emulator.graphEndpoint,
      ...(emulator.blobEndpointTemplate !== undefined
        ? { blob: emulator.blobEndpointTemplate }
        : {}),
    }),
    credential: emulatorCredential(emulator),
    apiCaPem: [emulator.caPem],
    activityLogDays: 90,
    traefik: { entryPoints: {}, allowCrossNamespace: {} },
    useResourceGraph: false,
    callPolicy: createCallPolicy(),
    ...overrides,
  };
}

/** Observations without their collection time, in id order: what two runs can be compared by. */
export function comparable(observations: Observation[]): Observation[] {
  return observations
    .map((observation) => {
      const { source, ...rest } = observation;
      if (source === undefined) return rest;
      const { observedAt: _observedAt, ...stable } = source;
      return { ...rest, source: stable };
    })
    .sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : a.type.localeCompare(b.type)));
}

/**
 * Registers the collector contract suite. Call it at the top level of a collector's test file.
 */
export function runCollectorContract(options: CollectorContractOptions): void {
  describe(`${options.name} (collector contract)`, () => {
    let emulator: RunningEmulator;
    let clean: Observation[];

    function build(waits: number[] = []): { collector: Collector; now: string } {
      const callPolicy = createCallPolicy({
        sleep: (ms, abortSignal) => {
          waits.push(ms);
          return new Promise((resolve, reject) => {
            const timer = setTimeout(resolve, ms);
            abortSignal?.addEventListener("abort", () => {
              clearTimeout(timer);
              reject(abortSignal.reason);
            });
          });
        },
      });
      const settings = emulatorSettings(emulator, { ...options.settings, callPolicy });
      return {
        collector: options.create({ emulator, settings, callPolicy }),
        now: emulator.estate.now,
      };
    }

    async function collect(faults: FaultRule[], waits?: number[]): Promise<Observation[]> {
      emulator.setFaults(faults);
      try {
        const { collector, now } = build(waits);
        return await collector.collect(options.target(emulator), { now });
      } finally {
        emulator.setFaults([]);
      }
    }

    beforeAll(async () => {
      emulator = await startTestEmulator(options.emulatorSeed, options.startOptions);
      clean = await collect([]);
    });

    it("handles its target and collects the clean estate without errors", () => {
      const { collector } = build();

      expect(collector.handles(options.target(emulator))).toBe(true);
      expect(clean.filter((o) => o.error !== undefined)).toEqual([]);
      if (options.expectedObservations !== undefined) {
        expect(clean).toHaveLength(options.expectedObservations);
      }
    });

    it("reports error with status 403 and the request id when its API refuses", async () => {
      const observations = await collect([
        { api: options.api, kind: "error", status: 403, ...pathOf(options) },
      ]);

      const failed = observations.filter((o) => o.error !== undefined);
      expect(failed.length).toBeGreaterThan(0);
      for (const observation of failed) {
        expect(observation.error?.statusCode).toBe(403);
        expect(observation.error?.requestId).toEqual(expect.any(String));
        expect(observation.document).toBeUndefined();
      }
      // Nothing the refused API feeds may pass as collected.
      const unharmed = observations.filter(
        (o) => o.error === undefined && !(o.gaps ?? []).some((g) => g.statusCode === 403),
      );
      if (options.faultPath === undefined) expect(unharmed).toEqual([]);
    });

    it("honours Retry-After of a 429 and returns the clean result", async () => {
      const waits: number[] = [];

      const observations = await collect(
        [
          {
            api: options.api,
            kind: "throttle",
            retryAfterSeconds: 1,
            retryAfterMs: 40,
            times: 2,
            ...pathOf(options),
          },
        ],
        waits,
      );

      expect(comparable(observations)).toEqual(comparable(clean));
      expect(waits.filter((ms) => ms === 40)).toHaveLength(2);
    });

    it("never writes and never asks for a Secret", () => {
      const allowed = [...READ_ONLY_POSTS, ...(options.allowedPosts ?? [])];
      const requests = emulator.requests.filter((entry) => entry.api !== "admin");

      expect(requests.length).toBeGreaterThan(0);
      const writes = requests.filter(
        (entry) =>
          ["PUT", "PATCH", "DELETE"].includes(entry.method.toUpperCase()) ||
          (entry.method.toUpperCase() === "POST" &&
            !allowed.some((pattern) => pattern.test(entry.path))),
      );
      expect(writes).toEqual([]);
      const secrets = requests.filter((entry) => /\/secrets(\/|\?|$)/i.test(entry.path));
      expect(secrets).toEqual([]);
    });
  });
}

function pathOf(options: CollectorContractOptions): { path?: string } {
  return options.faultPath !== undefined ? { path: options.faultPath } : {};
}
