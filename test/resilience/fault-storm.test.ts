/**
 * A scan of the demo estate under fault storms: the emulator throttles (429 with `Retry-After`,
 * with `retry-after-ms`, and without either), answers 5xx, resets connections, cuts bodies off and
 * delays answers, at seeded random rates across ARM, Resource Graph, Microsoft Graph, Kubernetes
 * and blob storage, plus a few calls that fail on every attempt. Compared with a clean run of the
 * same estate, observation by observation and finding by finding:
 *
 * - an observation the collectors read fully equals the clean one, and so does every finding on it
 *   (status and reason);
 * - an observation whose own read stayed failed (`error`) turns every control that applies to it
 *   into `error`, and nothing else;
 * - an observation with a part that stayed unread (a new `gap`) changes only the findings of
 *   controls whose clean trace read that part, and only to `error`;
 * - a resource the storm hid (its list stayed failed) is covered by the listing's `error`
 *   observation of its type and scope, which carries `error` for every control that applied to it:
 *   no finding goes missing, none turns into `pass`.
 *
 * The calls that fail every time are fixed, so each storm exercises the "retry budget spent" path;
 * the random part differs per seed (the emulator's `randomSeed`).
 */
import { readFileSync } from "node:fs";
import { join, resolve } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { loadCatalogue, loadConfig, scanEstate } from "../../src/app/index.js";
import { openEmulatedEstate } from "../../src/cli/estate.js";
import { type Finding, type Observation, parseInstant } from "../../src/core/index.js";
import type { FaultRule, RequestLogEntry } from "../../src/emulator/index.js";
import { ROOT } from "../support/cli.js";

const SEED_DIR = resolve(ROOT, "estates", "demo");
const CONFIG = join(SEED_DIR, "vigil.config.json");
const STORM_SEEDS = [7, 1_202, 90_210];

/** Calls that fail on every attempt: the retry budget runs out, whatever the seed. */
const ALWAYS_FAILING: FaultRule[] = [
  // A joined part: every namespace of the staging cluster loses its NetworkPolicies.
  {
    api: "kubernetes",
    path: "^/k8s/aks-hfw-staging/apis/networking.k8s.io/v1/networkpolicies$",
    kind: "error",
    status: 503,
  },
  // A joined part behind a 429 with no Retry-After (backoff, then give up).
  { api: "arm", path: "/flexibleServers/psql-hfw-odoo-prod-ukw/backups$", kind: "throttle" },
  // A resource's own read: the Conditional Access policy list.
  { api: "graph", path: "/identity/conditionalAccess/policies$", kind: "reset" },
];

/** The random part of the storm. `times` rules make sure every API is hit at least twice. */
const RANDOM_STORM: FaultRule[] = [
  { kind: "latency", latencyInMs: 30, rate: 0.3 },
  { api: "arm", kind: "throttle", retryAfterSeconds: 1, rate: 0.05 },
  { api: "arm", kind: "throttle", retryAfterMs: 150, rate: 0.05 },
  { api: "arm", kind: "throttle", rate: 0.04 },
  { api: "arm", kind: "error", status: 503, times: 2 },
  { api: "resource-graph", kind: "throttle", retryAfterMs: 100, times: 1 },
  { api: "resource-graph", kind: "error", status: 502, times: 1 },
  { api: "resource-graph", kind: "throttle", retryAfterMs: 100, rate: 0.15 },
  { api: "graph", kind: "throttle", times: 1 },
  { api: "graph", kind: "truncate", times: 1 },
  { api: "kubernetes", kind: "error", status: 500, times: 1 },
  { api: "kubernetes", kind: "truncate", times: 1 },
  { api: "kubernetes", kind: "error", status: 503, rate: 0.08 },
  // The drill-record downloads: a body cut off after its headers must be read again.
  { api: "blob", method: "GET", path: "\\.json$", kind: "truncate", times: 2 },
  { api: "blob", kind: "error", status: 503, times: 1 },
  { api: "blob", kind: "error", status: 500, rate: 0.06 },
  { kind: "reset", rate: 0.04 },
  { kind: "truncate", rate: 0.04 },
  { kind: "error", status: 503, rate: 0.04 },
];

const catalogue = loadCatalogue();
const loaded = loadConfig(catalogue, CONFIG, undefined, { env: {} });
/** The seed's own fault rules (a 403 the demo estate always answers) stay first in every run. */
const seedFaults =
  (
    JSON.parse(readFileSync(join(SEED_DIR, "estate.json"), "utf8")) as {
      faults?: FaultRule[];
    }
  ).faults ?? [];

interface Outcome {
  observations: Map<string, Observation>;
  findings: Map<string, Finding>;
  requests: RequestLogEntry[];
}

const keyOf = (controlId: string, resourceId: string) => `${controlId}\u0000${resourceId}`;

async function scanDemo(faults: FaultRule[] | undefined, randomSeed: number): Promise<Outcome> {
  const session = await openEmulatedEstate(SEED_DIR, loaded.config, {
    configPath: CONFIG,
    emulator: faults === undefined ? {} : { faults: [...seedFaults, ...faults], randomSeed },
  });
  try {
    const result = await scanEstate(catalogue, session.config, session.deps, {
      nowMs: parseInstant(session.now as string) as number,
      vigilVersion: "test",
      loaded: { ...loaded, config: session.config },
    });
    expect(result.failedTargets).toEqual([]);
    const observations = new Map<string, Observation>();
    for (const o of result.observations) {
      expect(observations.has(o.id), `observation ${o.id} appears once`).toBe(false);
      observations.set(o.id, o);
    }
    const findings = new Map<string, Finding>();
    for (const f of result.findings) {
      const key = keyOf(f.controlId, f.resourceId);
      expect(findings.has(key), `one finding per control and resource: ${key}`).toBe(false);
      findings.set(key, f);
    }
    return { observations, findings, requests: [...(session.emulator?.requests ?? [])] };
  } finally {
    await session.close();
  }
}

/** The paths of an observation's gaps. */
const gapPaths = (o: Observation) => new Set((o.gaps ?? []).map((g) => g.path));

/**
 * The observation without what differs on every read (collection time, request ids, failure
 * messages) and without the document's parts at `paths` (`joined.<key>`), which stayed unread.
 */
function comparable(o: Observation, paths: ReadonlySet<string>): unknown {
  let document = o.document;
  if (paths.size > 0 && typeof document === "object" && document !== null) {
    const copy = { ...(document as Record<string, unknown>) };
    const joined = { ...((copy.joined ?? {}) as Record<string, unknown>) };
    for (const path of paths) if (path.startsWith("joined.")) delete joined[path.slice(7)];
    copy.joined = joined;
    document = copy;
  }
  return { id: o.id, type: o.type, scope: o.scope, document };
}

/** Whether a finding's trace read `path` or below it. */
function reads(finding: Finding, path: string): boolean {
  return finding.trace.some(
    (entry) =>
      entry.field === path ||
      entry.field?.startsWith(`${path}.`) === true ||
      entry.field?.startsWith(`${path}[`) === true ||
      entry.value?.includes(path) === true,
  );
}

/** The clean id of a drill record whose blob the storm made unreadable (`drill://<id>`). */
function drillIdOfBlob(errorId: string): string | undefined {
  const match = /^drill:\/\/([^/]+)\/([^/]+)\/(.+)$/.exec(errorId);
  if (match === null) return undefined;
  const [, account, container, name] = match as unknown as [string, string, string, string];
  const record = JSON.parse(
    readFileSync(join(SEED_DIR, "blob", account, container, name), "utf8"),
  ) as { id: string };
  return `drill://${record.id}`;
}

/**
 * Checks a storm run against the clean run (the rules in the module comment) and returns what the
 * storm changed, for the caller's own assertions.
 */
function compare(clean: Outcome, storm: Outcome) {
  const findingsOn = (outcome: Outcome, id: string) =>
    [...outcome.findings.values()].filter((f) => f.resourceId === id);
  const covered = new Set<string>();
  const changed: Finding[] = [];

  for (const s of storm.observations.values()) {
    const c = clean.observations.get(s.id);
    if (c === undefined) {
      // Not a resource of the clean run: a listing (or an unreadable drill blob) that failed.
      expect(s.error, `${s.id} is new, so it must be a failed read`).toBeDefined();
      const drill = drillIdOfBlob(s.id);
      const hidden = [...clean.observations.values()].filter((o) =>
        drill !== undefined ? o.id === drill : o.type === s.type && o.scope === s.scope,
      );
      expect(hidden.length, `${s.id} stands for at least one clean resource`).toBeGreaterThan(0);
      for (const h of hidden) {
        covered.add(h.id);
        expect(storm.observations.has(h.id), `${h.id} is either read or covered`).toBe(false);
        for (const f of findingsOn(clean, h.id)) {
          if (f.status === "not_applicable") continue;
          const stand = storm.findings.get(keyOf(f.controlId, s.id));
          expect(stand?.status, `${f.controlId} on ${h.id}, hidden by ${s.id}`).toBe("error");
        }
      }
      for (const f of findingsOn(storm, s.id))
        expect(["error", "not_applicable"]).toContain(f.status);
      continue;
    }
    const cleanFindings = findingsOn(clean, s.id);
    expect(
      findingsOn(storm, s.id)
        .map((f) => f.controlId)
        .sort(),
      `the same controls ran on ${s.id}`,
    ).toEqual(cleanFindings.map((f) => f.controlId).sort());
    if (s.error !== undefined && c.error === undefined) {
      for (const f of cleanFindings) {
        const g = storm.findings.get(keyOf(f.controlId, s.id)) as Finding;
        if (f.status === "not_applicable") expect(g.status).toBe("not_applicable");
        else {
          expect(g.status, `${f.controlId} on ${s.id}, whose read failed`).toBe("error");
          changed.push(g);
        }
      }
      continue;
    }
    expect(s.error === undefined, `${s.id} failed in the clean run too`).toBe(
      c.error === undefined,
    );
    const newGaps = new Set([...gapPaths(s)].filter((p) => !gapPaths(c).has(p)));
    expect(
      [...gapPaths(c)].filter((p) => !gapPaths(s).has(p)),
      `${s.id}: a part unread in the clean run cannot be read under the storm`,
    ).toEqual([]);
    expect(comparable(s, newGaps)).toEqual(comparable(c, newGaps));
    for (const f of cleanFindings) {
      const g = storm.findings.get(keyOf(f.controlId, s.id)) as Finding;
      const affected = [...newGaps].filter((path) => reads(f, path));
      if (affected.length === 0) {
        expect({ status: g.status, reason: g.reason }, `${f.controlId} on ${s.id}`).toEqual({
          status: f.status,
          reason: f.reason,
        });
      } else if (g.status !== f.status) {
        expect(g.status, `${f.controlId} on ${s.id} read ${affected.join(", ")}`).toBe("error");
        expect(affected.some((path) => g.reason.includes(path))).toBe(true);
        changed.push(g);
      }
    }
  }
  for (const id of clean.observations.keys())
    expect(storm.observations.has(id) || covered.has(id), `${id} is accounted for`).toBe(true);
  return { changed, covered };
}

/** Requests that a failing fault rule hit (latency alone is not a failure), per API. */
function failuresByApi(requests: readonly RequestLogEntry[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const entry of requests) {
    const kinds = (entry.fault ?? "").split(",").filter((k) => k !== "" && k !== "latency");
    if (kinds.length > 0) out[entry.api] = (out[entry.api] ?? 0) + 1;
  }
  return out;
}

describe("scanEstate under fault storms", () => {
  let clean: Outcome;

  beforeAll(async () => {
    clean = await scanDemo(undefined, 1);
  });

  it.each(STORM_SEEDS)(
    "seed %i: yields the clean run's findings, or error for exactly what stayed unread",
    async (seed) => {
      const storm = await scanDemo([...ALWAYS_FAILING, ...RANDOM_STORM], seed);

      const { changed } = compare(clean, storm);

      // The storm was real on every API, and the retry budget absorbed most of it.
      const failures = failuresByApi(storm.requests);
      for (const api of ["arm", "resource-graph", "graph", "kubernetes", "blob"])
        expect(failures[api] ?? 0, `failed ${api} requests`).toBeGreaterThanOrEqual(2);
      // The always-failing calls: exactly their controls turned to error.
      const policies = storm.observations.get(
        [...clean.observations.keys()].find((id) => id.startsWith("graph://")) as string,
      );
      expect(policies?.error?.code).toBeDefined();
      const stagingNamespaces = [...storm.observations.values()].filter(
        (o) => o.type === "Namespace" && o.scope === "aks-hfw-staging",
      );
      if (stagingNamespaces.every((o) => o.error === undefined)) {
        expect(stagingNamespaces.length).toBeGreaterThan(0);
        for (const o of stagingNamespaces)
          expect([...gapPaths(o)]).toContain("joined.networkPolicies");
      }
      const ukw = storm.observations.get(
        [...clean.observations.keys()].find((id) =>
          id.endsWith("/psql-hfw-odoo-prod-ukw"),
        ) as string,
      );
      if (ukw?.error === undefined)
        expect([...gapPaths(ukw as Observation)]).toContain("joined.backups");
      expect(changed.length).toBeGreaterThan(0);
      expect(changed.every((f) => f.status === "error")).toBe(true);
      // Nothing but error ever replaced a clean status.
      for (const [key, g] of storm.findings) {
        const f = clean.findings.get(key);
        if (f !== undefined && f.status !== g.status) expect(g.status).toBe("error");
      }
    },
  );
});
