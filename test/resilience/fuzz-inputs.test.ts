/**
 * Property-based fuzzing of every input vigil parses: Event Grid events, AKS audit batches, queue
 * messages, configs, controls, waivers, emulator seeds and fault rules, and HTTP requests to the
 * Functions app through `vigil serve`. Each input is either random or a valid document with one
 * field deleted, retyped or replaced. The property: a typed error whose message names the field or
 * file (or a 4xx with a JSON error body), never a crash and never a hang.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import fc from "fast-check";
import { createLocalJWKSet, exportJWK, generateKeyPair } from "jose";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import {
  type AppRuntime,
  createAuthenticator,
  loadCatalogue,
  loadConfig,
  parseAuditEnvelope,
  parseAuditEvent,
  parseEvidenceReportQuery,
  parseFindingsQuery,
  parseGateQuery,
  parseNotifyMessage,
  parsePeriod,
  parseResourceEvent,
  parseScanTargetMessage,
} from "../../src/app/index.js";
import { locateJsonError } from "../../src/app/json-error.js";
import { type Served, startServe } from "../../src/cli/serve.js";
import { InputError, InputErrors } from "../../src/core/index.js";
import { SeedError } from "../../src/emulator/errors.js";
import { parseFaultRules } from "../../src/emulator/faults.js";
import { parseManifests } from "../../src/emulator/kubernetes-manifests.js";
import { parseEstateConfig, readSeedState } from "../../src/emulator/seed.js";
import { ROOT, tempDir } from "../support/cli.js";

/** Fixed, so a failure repeats; fast-check prints the seed and the shrunk input when one fails. */
const SEED = 20261202;
const RUNS = 150;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Path = (string | number)[];

// ---------------------------------------------------------------------------------------------
// Near-valid documents: one field deleted, nulled, retyped or replaced.

/** Every path into a JSON document, the root included. */
function pathsOf(doc: Json, prefix: Path = []): Path[] {
  const out: Path[] = [prefix];
  if (Array.isArray(doc)) {
    for (const [i, v] of doc.entries()) out.push(...pathsOf(v, [...prefix, i]));
  } else if (doc !== null && typeof doc === "object")
    for (const [k, v] of Object.entries(doc)) out.push(...pathsOf(v, [...prefix, k]));
  return out;
}

const HOSTILE_OBJECTS: Json[] = [
  // Objects that break String(x) and template literals: neither toString nor valueOf is callable.
  { toString: 1, valueOf: 1 },
  { toString: "x" },
  JSON.parse('{"__proto__": {"polluted": true}, "constructor": {"prototype": 1}}') as Json,
  { length: -1 },
];

const MUTATIONS = [
  "delete",
  "null",
  "replace",
  "string",
  "number",
  "array",
  "object",
  "empty",
  "hostile",
  "long",
  "negative",
  "fraction",
  "bool",
] as const;
type Mutation = (typeof MUTATIONS)[number];

function replacement(op: Mutation, current: Json, random: Json, pick: number): Json | undefined {
  switch (op) {
    case "delete":
      return undefined;
    case "null":
      return null;
    case "replace":
      return random;
    case "string":
      return JSON.stringify(current) ?? "";
    case "number":
      return typeof current === "string" ? Number(current) || 7 : 7;
    case "array":
      return [current];
    case "object":
      return { value: current };
    case "empty":
      return Array.isArray(current) ? [] : typeof current === "object" ? {} : "";
    case "hostile":
      return HOSTILE_OBJECTS[pick % HOSTILE_OBJECTS.length] as Json;
    case "long":
      return "x".repeat(10_000 + (pick % 7));
    case "negative":
      return -1 - (pick % 3);
    case "fraction":
      return 0.5;
    case "bool":
      return pick % 2 === 0;
  }
}

/** `doc` with `op` applied at `path` (a deep copy; the root cannot be deleted, only replaced). */
function mutate(doc: Json, path: Path, op: Mutation, random: Json, pick: number): Json | undefined {
  const copy = structuredClone(doc);
  if (path.length === 0) return replacement(op, copy, random, pick) ?? null;
  let parent: Json = copy;
  for (const key of path.slice(0, -1)) parent = (parent as Record<string, Json>)[key] as Json;
  const last = path.at(-1) as string | number;
  const current = (parent as Record<string, Json>)[last] as Json;
  const value = replacement(op, current, random, pick);
  if (Array.isArray(parent) && typeof last === "number") {
    if (value === undefined) parent.splice(last, 1);
    else parent[last] = value;
  } else if (value === undefined) delete (parent as Record<string, Json>)[last];
  else (parent as Record<string, Json>)[last] = value;
  return copy;
}

/** Valid documents with one, two or three mutations, plus wholly random JSON. */
function nearValid(valid: Json): fc.Arbitrary<Json> {
  const one = fc.record({
    at: fc.nat(),
    op: fc.constantFrom(...MUTATIONS),
    random: fc.jsonValue({ maxDepth: 3 }) as fc.Arbitrary<Json>,
    pick: fc.nat(),
  });
  const mutated = fc.array(one, { minLength: 1, maxLength: 3 }).map((steps) => {
    let doc: Json = valid;
    for (const step of steps) {
      const paths = pathsOf(doc);
      doc =
        mutate(doc, paths[step.at % paths.length] as Path, step.op, step.random, step.pick) ?? null;
    }
    return doc;
  });
  return fc.oneof(
    { weight: 4, arbitrary: mutated },
    { weight: 1, arbitrary: fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json> },
  );
}

// ---------------------------------------------------------------------------------------------
// The property.

/** What an error must be: typed, with a message that says where. */
function expectClearError(error: unknown, input: unknown): void {
  const show = () => `${String(error)}\ninput: ${safeShow(input)}`;
  if (error instanceof InputErrors) {
    // Several problems at once: each one names where it is.
    expect(error.errors.length, show()).toBeGreaterThan(0);
    for (const e of error.errors) expectClearError(e, input);
    return;
  }
  if (error instanceof InputError) {
    expect(error.message.length, show()).toBeGreaterThan(0);
    // Named: a file, a JSON pointer ("" is the whole document), or both; text that is not JSON
    // at all is named by what it was meant to be ("the scan-targets message is not JSON").
    expect(
      error.file !== undefined || error.pointer !== undefined || error.code === "MalformedJson",
      show(),
    ).toBe(true);
    return;
  }
  if (error instanceof SeedError) {
    expect(error.file.length, show()).toBeGreaterThan(0);
    expect(error.message.startsWith(`${error.file}: `), show()).toBe(true);
    return;
  }
  throw new Error(`not a clear error: ${show()}`, { cause: error });
}

function safeShow(value: unknown): string {
  try {
    const text = JSON.stringify(value) ?? "undefined";
    return text.length > 400 ? `${text.slice(0, 400)}…` : text;
  } catch {
    return "(unprintable)";
  }
}

/** Run `parse` on `input`: it returns, or it throws a clear error. Nothing else. */
function parsesOrRefuses(parse: (input: unknown) => unknown, input: unknown): void {
  try {
    parse(input);
  } catch (error) {
    expectClearError(error, input);
  }
}

const params = { seed: SEED, numRuns: RUNS };

// ---------------------------------------------------------------------------------------------
// Valid documents the mutations start from.

const SUB = "5c1f8a2e-3d4b-4e6f-8a9b-0c1d2e3f4a5b";
const AKS = `/subscriptions/${SUB}/resourceGroups/rg-aks/providers/Microsoft.ContainerService/managedClusters/aks-prod`;
const ACCOUNT = `/subscriptions/${SUB}/resourceGroups/rg-data/providers/Microsoft.Storage/storageAccounts/stdata`;

const EVENT: Json = {
  id: "6f1c2b5e-1d3a-4c7e-9f00-1234567890ab",
  topic: `/subscriptions/${SUB}`,
  subject: ACCOUNT,
  eventType: "Microsoft.Resources.ResourceWriteSuccess",
  eventTime: "2026-11-23T06:00:00Z",
  dataVersion: "2",
  metadataVersion: "1",
  data: { resourceUri: ACCOUNT, subscriptionId: SUB, operationName: "write", status: "Succeeded" },
};

const AUDIT_EVENT: Json = {
  kind: "Event",
  apiVersion: "audit.k8s.io/v1",
  level: "Metadata",
  auditID: "0d6c1e2f-3a4b-4c5d-8e9f-0a1b2c3d4e5f",
  stage: "ResponseComplete",
  verb: "delete",
  objectRef: {
    resource: "networkpolicies",
    apiGroup: "networking.k8s.io",
    namespace: "odoo",
    name: "default-deny",
  },
  responseStatus: { code: 200 },
};

function auditBatch(log: string): Json {
  return {
    records: [{ resourceId: AKS.toUpperCase(), category: "kube-audit-admin", properties: { log } }],
  };
}

const SCAN_TARGET_MESSAGES: Json[] = [
  {
    v: 1,
    runId: "sweep-1",
    trigger: "timer",
    now: "2026-11-23T06:00:00Z",
    target: { kind: "subscription", subscriptionId: SUB },
  },
  {
    v: 1,
    runId: "event-1",
    trigger: "event-grid",
    now: "2026-11-23T06:00:00Z",
    deleted: [ACCOUNT],
    target: { kind: "resources", subscriptionId: SUB, resourceIds: [ACCOUNT] },
  },
  {
    v: 1,
    runId: "sweep-2",
    trigger: "timer",
    now: "2026-11-23T06:00:00Z",
    target: { kind: "tls", set: "edge", endpoints: [{ host: "erp.example.test", port: 443 }] },
  },
  {
    v: 1,
    runId: "sweep-3",
    trigger: "timer",
    now: "2026-11-23T06:00:00Z",
    target: {
      kind: "cluster",
      cluster: { kind: "aks", name: "aks-prod", resourceId: AKS, subscriptionId: SUB },
    },
  },
  {
    v: 1,
    runId: "sweep-4",
    trigger: "timer",
    now: "2026-11-23T06:00:00Z",
    target: { kind: "cluster", cluster: { kind: "kubeconfig", name: "dev", context: "kind-dev" } },
  },
  {
    v: 1,
    runId: "sweep-5",
    trigger: "timer",
    now: "2026-11-23T06:00:00Z",
    target: { kind: "drills", account: "stops", container: "drills" },
  },
  {
    v: 1,
    runId: "sweep-6",
    trigger: "timer",
    now: "2026-11-23T06:00:00Z",
    target: { kind: "tenant", tenantId: "4b7e2c1a-9d3f-4e8a-b6c5-2f1d0e9a8b7c" },
  },
];

const DEMO_CONFIG = JSON.parse(
  readFileSync(join(ROOT, "estates", "demo", "vigil.config.json"), "utf8"),
) as Json;

const CONFIG: Json = {
  ...(DEMO_CONFIG as Record<string, Json>),
  parameters: { maxBackupAgeHours: 30 },
  controls: {
    "postgresql-latest-backup-fresh": { parameters: { maxBackupAgeHours: 12 } },
    "postgresql-geo-redundant-backup-enabled": { enabled: false },
  },
  tls: { connectTo: { "erp.example.test:443": "127.0.0.1:8443" } },
};

const WAIVERS: Json = {
  waivers: [
    {
      id: "WVR-1",
      controlId: "postgresql-geo-redundant-backup-enabled",
      resourcePattern: "/subscriptions/*/resourceGroups/rg-data/*",
      justification: "Rebuilt weekly from production dumps.",
      approver: "Head of IT",
      ticket: "RISK-1",
      createdAt: "2026-11-04T10:30:00Z",
      expires: "2027-06-30T23:59:59Z",
    },
  ],
};

const CONTROL_DIR = join(ROOT, "policies", "controls");
const CONTROLS: { family: string; id: string; doc: Json }[] = [
  ["backup-age", "postgresql-latest-backup-fresh"],
  ["tls", "traefik-tls-option-min-tls12"],
  ["mfa", "entra-privileged-roles-require-mfa"],
  ["segmentation", "namespace-default-deny-ingress"],
]
  .map(([family, id]) => ({
    family: family as string,
    id: id as string,
    file: join(CONTROL_DIR, family as string, id as string, "control.json"),
  }))
  .filter((c) => {
    try {
      readFileSync(c.file);
      return true;
    } catch {
      return false;
    }
  })
  .map((c) => ({
    family: c.family,
    id: c.id,
    doc: JSON.parse(readFileSync(c.file, "utf8")) as Json,
  }));

const ESTATE: Json = {
  tenantId: "4b7e2c1a-9d3f-4e8a-b6c5-2f1d0e9a8b7c",
  now: "2026-11-23T06:00:00Z",
  subscriptions: [{ subscriptionId: SUB, displayName: "sub-prod" }],
  pageSize: 100,
  faults: [
    {
      api: "arm",
      path: "/backups$",
      method: "GET",
      kind: "throttle",
      retryAfterSeconds: 2,
      rate: 0.5,
      times: 3,
    },
    { api: "kubernetes", kind: "error", status: 503 },
  ],
  throttle: { capacity: 250, refillPerSecond: 25 },
  latencyInMs: { min: 0, max: 1 },
};

const MANIFEST_YAML = `apiVersion: v1
kind: Namespace
metadata:
  name: odoo
  labels:
    environment: prod
---
apiVersion: traefik.io/v1alpha1
kind: IngressRoute
metadata:
  name: erp
  namespace: odoo
spec:
  entryPoints: [websecure]
  routes:
    - match: Host(\`erp.example.test\`)
      kind: Rule
      services: [{ name: odoo, port: 8069 }]
  tls:
    options: { name: modern }
`;

let scratch: string;
beforeAll(() => {
  scratch = tempDir("vigil-fuzz-");
});
afterAll(() => {
  rmSync(scratch, { recursive: true, force: true });
});

describe("Event Grid events", () => {
  it("parses or refuses every near-valid and random event with the field named", () => {
    fc.assert(
      fc.property(nearValid(EVENT), fc.nat(3), (event, index) => {
        parsesOrRefuses((e) => parseResourceEvent(e, index), event);
      }),
      params,
    );
  });
});

describe("AKS audit batches", () => {
  it("parses or refuses every near-valid envelope, and rejects bad records one by one", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          nearValid(auditBatch(JSON.stringify(AUDIT_EVENT))),
          nearValid(AUDIT_EVENT).map((e) => JSON.stringify(e) ?? ""),
          fc.string(),
        ),
        (envelope) => {
          let parsed: ReturnType<typeof parseAuditEnvelope> | undefined;
          try {
            parsed = parseAuditEnvelope(envelope);
          } catch (error) {
            expectClearError(error, envelope);
            return;
          }
          for (const r of parsed.rejected) expect(r.reason.length).toBeGreaterThan(0);
        },
      ),
      params,
    );
  });

  it("reads or refuses every near-valid audit event inside a record's properties.log", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          nearValid(AUDIT_EVENT).map((e) => JSON.stringify(e) ?? "null"),
          fc.string(),
          fc.json({ maxDepth: 3 }),
        ),
        (log) => parsesOrRefuses((l) => parseAuditEvent(l as string), log),
      ),
      params,
    );
  });
});

describe("queue messages", () => {
  it("parses or refuses every near-valid scan-targets message, as an object or as text", () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...SCAN_TARGET_MESSAGES).chain((m) => nearValid(m)),
        fc.boolean(),
        (message, asText) => {
          const input = asText ? (JSON.stringify(message) ?? "") : message;
          parsesOrRefuses(parseScanTargetMessage, input);
        },
      ),
      params,
    );
  });

  it("parses or refuses every near-valid notifications message and any text", () => {
    fc.assert(
      fc.property(
        fc.oneof(nearValid({ v: 1, runId: "sweep-1", attempt: 2 }), fc.string()),
        (message) => parsesOrRefuses(parseNotifyMessage, message),
      ),
      params,
    );
  });
});

describe("configs and waivers", () => {
  const catalogue = loadCatalogue();

  it("loads or refuses every near-valid config, naming the file", () => {
    fc.assert(
      fc.property(nearValid(CONFIG), (config) => {
        const file = join(scratch, "vigil.config.json");
        writeFileSync(file, JSON.stringify(config));
        try {
          loadConfig(catalogue, file);
        } catch (error) {
          expectClearError(error, config);
          expect((error as InputError).message).toContain("vigil.config.json");
        }
      }),
      { ...params, numRuns: 120 },
    );
  });

  it("loads or refuses every near-valid waiver file, naming the file", () => {
    fc.assert(
      fc.property(nearValid(WAIVERS), (waivers) => {
        const file = join(scratch, "waivers.json");
        writeFileSync(file, JSON.stringify(waivers));
        try {
          loadConfig(catalogue, undefined, file);
        } catch (error) {
          expectClearError(error, waivers);
          expect((error as InputError).message).toContain("waivers.json");
        }
      }),
      { ...params, numRuns: 120 },
    );
  });

  it("refuses config text that is not JSON with the line and column", () => {
    fc.assert(
      fc.property(
        fc.string().filter((t) => {
          try {
            JSON.parse(t);
            return false;
          } catch {
            return true;
          }
        }),
        (text) => {
          const file = join(scratch, "broken.config.json");
          writeFileSync(file, text);
          try {
            loadConfig(catalogue, file);
            expect.unreachable("malformed JSON was accepted");
          } catch (error) {
            expectClearError(error, text);
            expect((error as InputError).code).toBe("MalformedJson");
          }
        },
      ),
      params,
    );
  });

  it("pins the offset of a JSON syntax error exactly where JSON.parse stops accepting", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json({ maxDepth: 4 }),
          fc
            .json({ maxDepth: 4 })
            .chain((t) =>
              fc
                .tuple(fc.nat(t.length), fc.string({ maxLength: 3 }))
                .map(([cut, junk]) => t.slice(0, cut) + junk + t.slice(cut + 1)),
            ),
        ),
        (text) => {
          const offset = locateJsonError(text);
          let valid = true;
          try {
            JSON.parse(text);
          } catch {
            valid = false;
          }
          expect(offset === undefined, text).toBe(valid);
          // The prefix up to the offset can still be completed into JSON; one more char cannot.
          if (offset !== undefined) expect(offset).toBeLessThanOrEqual(text.length);
        },
      ),
      params,
    );
  });

  it("refuses a deeply nested config with a clear error, not a stack overflow", () => {
    for (const depth of [10_000, 200_000]) {
      const file = join(scratch, "deep.config.json");
      writeFileSync(file, `{"parameters":${"[".repeat(depth)}${"]".repeat(depth)}}`);
      try {
        loadConfig(catalogue, file);
        expect.unreachable("a nested array as parameters was accepted");
      } catch (error) {
        expectClearError(error, `depth ${depth}`);
      }
      writeFileSync(file, `{"parameters":${"[".repeat(depth)}`);
      try {
        loadConfig(catalogue, file);
        expect.unreachable("truncated JSON was accepted");
      } catch (error) {
        expectClearError(error, `truncated depth ${depth}`);
      }
    }
  });
});

describe("controls", () => {
  it.each(CONTROLS.map((c) => [c.id, c] as const))(
    "loads or refuses every near-valid %s, naming its file",
    (_id, control) => {
      fc.assert(
        fc.property(nearValid(control.doc), (doc) => {
          const dir = join(scratch, "catalogue");
          rmSync(dir, { recursive: true, force: true });
          mkdirSync(join(dir, control.family, control.id), { recursive: true });
          writeFileSync(join(dir, control.family, control.id, "control.json"), JSON.stringify(doc));
          try {
            loadCatalogue([dir]);
          } catch (error) {
            expectClearError(error, doc);
            expect((error as InputError).message).toContain("control.json");
          }
        }),
        { ...params, numRuns: 80 },
      );
    },
  );
});

describe("emulator seeds", () => {
  it("reads or refuses every near-valid estate.json, naming the field", () => {
    fc.assert(
      fc.property(nearValid(ESTATE), (estate) => {
        parsesOrRefuses((e) => parseEstateConfig(e, "estate.json"), estate);
      }),
      params,
    );
  });

  it("reads or refuses every near-valid fault rule list, naming the field", () => {
    fc.assert(
      fc.property(nearValid((ESTATE as { faults: Json }).faults), (faults) => {
        try {
          parseFaultRules(faults, "faults");
        } catch (error) {
          // The documented error of a fault rule list: a RangeError naming the field.
          expect(error, safeShow(faults)).toBeInstanceOf(RangeError);
          expect((error as Error).message).toMatch(/^field "faults[^"]*": expected /);
        }
      }),
      params,
    );
  });

  it("reads or refuses every near-valid or random Kubernetes manifest text, naming the file", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string(),
          fc.string({
            unit: fc.constantFrom("-", "-", " ", ":", "\n", "[", "{", "&a", "*a", "!!", "'", "x"),
          }),
          fc
            .nat(MANIFEST_YAML.length)
            .chain((cut) =>
              fc
                .string({ maxLength: 8 })
                .map((junk) => MANIFEST_YAML.slice(0, cut) + junk + MANIFEST_YAML.slice(cut)),
            ),
        ),
        (text) => parsesOrRefuses((t) => parseManifests(t as string, "kubernetes/c/x.yaml"), text),
      ),
      params,
    );
  });

  it("reads or refuses a seed folder with a corrupted ARM file, naming that file", () => {
    fc.assert(
      fc.property(nearValid(ESTATE), fc.string({ maxLength: 40 }), (estate, armText) => {
        const seed = join(scratch, "seed");
        rmSync(seed, { recursive: true, force: true });
        const armDir = join(seed, "arm", "subscriptions", SUB, "resourceGroups", "rg");
        mkdirSync(armDir, { recursive: true });
        writeFileSync(join(seed, "estate.json"), JSON.stringify(estate));
        writeFileSync(join(armDir, "x.json"), armText);
        parsesOrRefuses(() => readSeedState(seed), { estate, armText });
      }),
      { ...params, numRuns: 80 },
    );
  });
});

describe("HTTP query strings", () => {
  const query = fc.array(
    fc.tuple(
      fc.oneof(
        fc.constantFrom(
          "scope",
          "environment",
          "minSeverity",
          "maxAgeMinutes",
          "status",
          "severity",
          "family",
          "control",
          "resource",
          "format",
          "limit",
          "cursor",
          "framework",
          "from",
          "to",
          "code",
        ),
        fc.string({ maxLength: 8 }),
      ),
      fc.oneof(
        fc.string({ maxLength: 30 }),
        fc.constantFrom(
          "prod",
          "high",
          "fail",
          "json",
          "csv",
          "sarif",
          "html",
          "all",
          "2026-11-23",
          "2026-11-23T06:00:00Z",
          "-1",
          "1e309",
          "NaN",
          "0x10",
          "99999999999999999999",
        ),
      ),
    ),
    { maxLength: 5 },
  );

  it.each([
    ["gate", parseGateQuery],
    ["findings", parseFindingsQuery],
    ["evidence report", parseEvidenceReportQuery],
    ["evidence pack", parsePeriod],
  ] as const)("parses or refuses every %s query with the parameter named", (_name, parse) => {
    fc.assert(
      fc.property(query, (pairs) => {
        parsesOrRefuses(() => parse(new URLSearchParams(pairs)), pairs);
      }),
      params,
    );
  });
});

describe("authentication headers", () => {
  it("refuses every odd Authorization header with 401, a padded one included, without hanging", async () => {
    const { publicKey } = await generateKeyPair("RS256");
    const jwk = { ...(await exportJWK(publicKey)), kid: "k", use: "sig" };
    const authenticate = createAuthenticator(
      { entra: { tenantId: "4b7e2c1a-9d3f-4e8a-b6c5-2f1d0e9a8b7c", audience: "api://vigil-fuzz" } },
      { jwks: createLocalJWKSet({ keys: [jwk] }) },
    );
    const check = async (header: string) => {
      const result = await authenticate(
        { headers: { get: (name) => (name.toLowerCase() === "authorization" ? header : null) } },
        "Gate.Read",
      );
      expect(result.ok, header.slice(0, 80)).toBe(false);
      if (!result.ok) expect(result.status).toBe(401);
    };

    // A quadratic header pattern turns these into minutes of CPU before any key is checked.
    await check(`Bearer x${" ".repeat(1_000_000)}y`);
    await check(`${" ".repeat(1_000_000)}Bearer`);
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string({ maxLength: 200 }),
          fc.string({ maxLength: 200 }).map((s) => `Bearer ${s}`),
          fc
            .tuple(fc.nat(3), fc.string({ maxLength: 40 }))
            .map(([n, s]) => `Bearer ${[s, s, s].slice(0, n + 1).join(".")}`),
        ),
        check,
      ),
      params,
    );
  });
});

// ---------------------------------------------------------------------------------------------
// The Functions app over HTTP (`vigil serve`, the same handlers as in Azure).

describe("vigil serve over HTTP", () => {
  let served: Served;
  let dir: string;
  let rt: AppRuntime;

  beforeAll(async () => {
    dir = tempDir("vigil-fuzz-serve-");
    served = await startServe({
      emulate: join(ROOT, "test", "fixtures", "seeds", "basic"),
      storeDir: join(dir, "store"),
      port: 0,
      sweepOnStart: false,
      sweepEveryMinutes: 0,
      io: { stdout: () => {}, stderr: () => {}, now: () => Date.now(), env: {} },
    });
    rt = served.rt;
  }, 180_000);

  afterAll(async () => {
    await served?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const ROUTES = [
    "/api/gate",
    "/api/findings",
    "/api/evidence/report",
    "/api/evidence/pack",
    "/api/evidence/verify",
    "/api/health",
    "/runtime/webhooks/eventgrid",
    "/runtime/webhooks/eventhub",
  ];

  const request = fc.record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
    path: fc.oneof(
      { weight: 4, arbitrary: fc.constantFrom(...ROUTES) },
      { weight: 1, arbitrary: fc.webPath() },
      {
        weight: 1,
        arbitrary: fc.string({ maxLength: 20 }).map((s) => `/api/${encodeURIComponent(s)}`),
      },
    ),
    query: fc.array(
      fc.tuple(
        fc.constantFrom(
          "scope",
          "environment",
          "minSeverity",
          "status",
          "format",
          "limit",
          "cursor",
          "framework",
          "from",
          "to",
          "functionName",
          "x",
        ),
        fc.oneof(
          fc.string({ maxLength: 20 }),
          fc.constantFrom(
            "resource-changed",
            "cluster-changed",
            "prod",
            "json",
            "csv",
            "sarif",
            "ocsf",
            "html",
            "oscal",
            "1",
            "-1",
            "0",
          ),
        ),
      ),
      { maxLength: 4 },
    ),
    key: fc.constantFrom("good", "good", "good", "none", "wrong"),
    headers: fc.dictionary(
      fc.constantFrom(
        "authorization",
        "aeg-event-type",
        "content-type",
        "accept",
        "x-ms-client-request-id",
        "x-forwarded-for",
      ),
      fc.string({ maxLength: 60 }).map((s) => s.replace(/[^\x20-\x7e]/g, "")),
      { maxKeys: 3 },
    ),
    body: fc.oneof(
      fc.constant(undefined),
      fc.string({ maxLength: 200 }),
      nearValid([EVENT]).map((e) => JSON.stringify(e) ?? ""),
      nearValid([
        {
          ...(EVENT as Record<string, Json>),
          eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
          data: { validationCode: "abc" },
        },
      ]).map((e) => JSON.stringify(e) ?? ""),
      nearValid(auditBatch(JSON.stringify(AUDIT_EVENT))).map((e) => JSON.stringify(e) ?? ""),
    ),
  });

  it("answers every request within 10 s with a status below 500, and a JSON error body for 4xx", async () => {
    const base = served.host.baseUrl;
    await fc.assert(
      fc.asyncProperty(request, async (r) => {
        const url = new URL(`${base}${r.path.startsWith("/") ? "" : "/"}${r.path}`);
        for (const [k, v] of r.query) url.searchParams.append(k, v);
        if (r.key === "good" && r.query.length % 2 === 1) url.searchParams.set("code", served.key);
        const headers = new Headers(r.headers);
        if (r.key === "good" && r.query.length % 2 === 0)
          headers.set("x-functions-key", served.key);
        if (r.key === "wrong") headers.set("x-functions-key", "not-the-key-0123456789");
        const bodyAllowed = r.method !== "GET" && r.method !== "HEAD";
        const response = await fetch(url, {
          method: r.method,
          headers,
          ...(bodyAllowed && r.body !== undefined ? { body: r.body } : {}),
          signal: AbortSignal.timeout(10_000),
        });
        const text = await response.text();
        const shown = `${r.method} ${url.pathname}${url.search} → ${response.status} ${text.slice(0, 300)}`;
        // 503 is the gate's documented "unknown" (nothing scanned yet); anything else 5xx is a crash.
        if (response.status >= 500)
          expect(response.status === 503 && url.pathname.startsWith("/api/gate"), shown).toBe(true);
        if (response.status >= 400 && r.method !== "HEAD") {
          expect(response.headers.get("content-type"), shown).toMatch(/^application\/json/);
          const body = JSON.parse(text) as {
            error?: { code?: unknown; message?: unknown };
            decision?: unknown;
          };
          if (response.status === 409 || response.status === 503)
            expect(body.decision ?? body.error, shown).toBeDefined();
          else {
            expect(typeof body.error?.code, shown).toBe("string");
            expect(typeof body.error?.message, shown).toBe("string");
          }
        }
      }),
      { seed: SEED, numRuns: 100 },
    );
    // Nothing the fuzzer sent may have made the store unusable.
    expect(await rt.store.queues.scanTargets.length()).toBeGreaterThanOrEqual(0);
  });

  it("answers every keyed webhook delivery with a near-valid body with 200 or a 4xx naming the problem", async () => {
    const base = served.host.baseUrl;
    const delivery = fc.oneof(
      nearValid([
        EVENT,
        {
          ...(EVENT as Record<string, Json>),
          id: "second",
          eventType: "Microsoft.Resources.ResourceDeleteSuccess",
        },
      ]).map((body) => ({ hook: "eventgrid", fn: "resource-changed", body })),
      nearValid([
        {
          ...(EVENT as Record<string, Json>),
          eventType: "Microsoft.EventGrid.SubscriptionValidationEvent",
          data: { validationCode: "abc" },
        },
      ]).map((body) => ({ hook: "eventgrid", fn: "resource-changed", body })),
      nearValid([auditBatch(JSON.stringify(AUDIT_EVENT))]).map((body) => ({
        hook: "eventhub",
        fn: "cluster-changed",
        body,
      })),
      nearValid(AUDIT_EVENT).map((e) => ({
        hook: "eventhub",
        fn: "cluster-changed",
        body: auditBatch(JSON.stringify(e) ?? ""),
      })),
    );
    await fc.assert(
      fc.asyncProperty(delivery, async ({ hook, fn, body }) => {
        const response = await fetch(`${base}/runtime/webhooks/${hook}?functionName=${fn}`, {
          method: "POST",
          headers: { "x-functions-key": served.key, "content-type": "application/json" },
          body: JSON.stringify(body),
          signal: AbortSignal.timeout(20_000),
        });
        const text = await response.text();
        const shown = `${hook} ${safeShow(body)} → ${response.status} ${text.slice(0, 300)}`;
        expect([200, 400], shown).toContain(response.status);
        const answer = JSON.parse(text) as { error?: { code?: unknown; message?: unknown } };
        if (response.status === 400) expect(typeof answer.error?.message, shown).toBe("string");
      }),
      { seed: SEED, numRuns: 25 },
    );
  });
});
