/**
 * The app settings the code reads, found by reading the sources, against what operators are told:
 * docs/functions.md and local.settings.json.example must name every one of them, and nothing else.
 */
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const DOC_PATH = "docs/functions.md";
const EXAMPLE_PATH = "local.settings.json.example";

/** Settings an identity-based connection may add under its prefix (Functions reference). */
const IDENTITY_PROPERTIES = new Set([
  "serviceUri",
  "queueServiceUri",
  "blobServiceUri",
  "tableServiceUri",
  "fullyQualifiedNamespace",
  "credential",
  "clientId",
  "accountName",
]);

/** The Functions host's own settings the example must carry, with the values it needs locally. */
const HOST_SETTINGS: Record<string, string> = {
  FUNCTIONS_WORKER_RUNTIME: "node",
  AzureWebJobsStorage: "UseDevelopmentStorage=true",
};

function typeScriptFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(join(ROOT, dir), { withFileTypes: true })) {
    const path = `${dir}/${entry.name}`;
    if (entry.isDirectory()) out.push(...typeScriptFiles(path));
    else if (entry.name.endsWith(".ts")) out.push(path);
  }
  return out;
}

interface SourceSettings {
  /** `VIGIL_*` names read from the environment (or named to operators), by the files naming them. */
  variables: Map<string, Set<string>>;
  /** `%NAME%` binding expressions the host resolves from app settings. */
  expressions: Map<string, Set<string>>;
  /** Binding `connection` names. */
  connections: Map<string, Set<string>>;
}

function add(map: Map<string, Set<string>>, name: string, file: string): void {
  const files = map.get(name) ?? new Set<string>();
  files.add(file);
  map.set(name, files);
}

/** Every setting name in functions/ and src/. */
function sourceSettings(): SourceSettings {
  const found: SourceSettings = {
    variables: new Map(),
    expressions: new Map(),
    connections: new Map(),
  };
  const files = [...typeScriptFiles("functions"), ...typeScriptFiles("src")];
  const texts = new Map(files.map((file) => [file, readFileSync(join(ROOT, file), "utf8")]));
  // A VIGIL_-named constant in code (`VIGIL_OSCAL_NS`) is an identifier, not a setting.
  const identifiers = new Set<string>();
  for (const text of texts.values())
    for (const m of text.matchAll(
      /\b(?:const|let|var|function|class|enum|interface|type)\s+(VIGIL_[A-Z0-9_]+)\b/g,
    ))
      identifiers.add(m[1] as string);
  for (const [file, text] of texts) {
    // Whole names only: `VIGIL_AUTH_*` in prose names a family, not a setting.
    for (const m of text.matchAll(/\bVIGIL_[A-Z0-9_]*[A-Z0-9]\b/g))
      if (!identifiers.has(m[0])) add(found.variables, m[0], file);
    for (const m of text.matchAll(/["'`]%([A-Za-z0-9_]+)%["'`]/g))
      add(found.expressions, m[1] as string, file);
    for (const m of text.matchAll(/\bconnection:\s*["']([^"']+)["']/g))
      add(found.connections, m[1] as string, file);
  }
  return found;
}

const SOURCE = sourceSettings();
const SOURCE_NAMES = new Set([
  ...SOURCE.variables.keys(),
  ...SOURCE.expressions.keys(),
  ...SOURCE.connections.keys(),
]);
const DOC = readFileSync(join(ROOT, DOC_PATH), "utf8");
const EXAMPLE = JSON.parse(readFileSync(join(ROOT, EXAMPLE_PATH), "utf8")) as {
  IsEncrypted?: unknown;
  Values?: Record<string, unknown>;
};
const VALUES = EXAMPLE.Values ?? {};

function mentions(text: string, name: string): boolean {
  return new RegExp(`(?<![A-Za-z0-9_])${name}(?![A-Za-z0-9_])`).test(text);
}

/** `VIGIL_STORAGE__queueServiceUri` → `VIGIL_STORAGE`, when that is a connection. */
function connectionOf(name: string): string | undefined {
  const at = name.indexOf("__");
  if (at < 0) return undefined;
  const [prefix, property] = [name.slice(0, at), name.slice(at + 2)];
  return SOURCE.connections.has(prefix) && IDENTITY_PROPERTIES.has(property) ? prefix : undefined;
}

describe("the settings the sources read", () => {
  it("are found: variables, binding expressions and connections", () => {
    expect([...SOURCE.variables.keys()]).toEqual(
      expect.arrayContaining([
        "VIGIL_STORAGE_ACCOUNT_URL",
        "VIGIL_AUTH_ENTRA_TENANT_ID",
        "VIGIL_CLOUD",
        "VIGIL_FUNCTION_KEY",
      ]),
    );
    expect([...SOURCE.expressions.keys()].sort()).toEqual([
      "VIGIL_AUDIT_CONSUMER_GROUP",
      "VIGIL_AUDIT_EVENTHUB_NAME",
      "VIGIL_SWEEP_SCHEDULE",
    ]);
    expect([...SOURCE.connections.keys()].sort()).toEqual(["VIGIL_EVENTHUB", "VIGIL_STORAGE"]);
    expect(SOURCE_NAMES.has("VIGIL_OSCAL_NS")).toBe(false);
  });
});

describe(DOC_PATH, () => {
  it("documents every setting the sources read", () => {
    const missing = [...SOURCE_NAMES].filter((name) => !mentions(DOC, name)).sort();

    expect(missing).toEqual([]);
  });

  it("documents the identity-based form of every binding connection", () => {
    const missing = [...SOURCE.connections.keys()].filter(
      (name) => !new RegExp(`\\b${name}__[A-Za-z]+`).test(DOC),
    );

    expect(missing).toEqual([]);
  });

  it("names no setting the sources do not read", () => {
    const stale = [...new Set(DOC.match(/\bVIGIL_[A-Za-z0-9_]*[A-Za-z0-9]\b/g) ?? [])]
      .filter((name) => !SOURCE_NAMES.has(name) && connectionOf(name) === undefined)
      .sort();
    const staleExpressions = [...DOC.matchAll(/%([A-Za-z0-9_]+)%/g)]
      .map((m) => m[1] as string)
      .filter((name) => !SOURCE.expressions.has(name));

    expect(stale).toEqual([]);
    expect(staleExpressions).toEqual([]);
  });

  it("says which code reads each setting, and that code names it", () => {
    const wrong: string[] = [];
    let rows = 0;
    for (const line of DOC.split("\n")) {
      const cells = line.split(/(?<!\\)\|/).map((cell) => cell.trim());
      const names = [...(cells[1] ?? "").matchAll(/`(VIGIL_[A-Za-z0-9_]+)`/g)].map(
        (m) => m[1] as string,
      );
      const readers = [
        ...(cells.at(-2) ?? "").matchAll(/`((?:src|functions)\/[\w/.-]+\.ts)`/g),
      ].map((m) => m[1] as string);
      if (names.length === 0 || readers.length === 0) continue;
      rows += 1;
      for (const reader of readers)
        if (!existsSync(join(ROOT, reader))) wrong.push(`${reader} does not exist`);
      const texts = readers
        .filter((reader) => existsSync(join(ROOT, reader)))
        .map((reader) => readFileSync(join(ROOT, reader), "utf8"));
      for (const name of names) {
        const looked = connectionOf(name) ?? name;
        if (!texts.some((text) => mentions(text, looked)))
          wrong.push(`${name}: not named in ${readers.join(", ")}`);
      }
    }

    expect(rows).toBeGreaterThan(40);
    expect(wrong).toEqual([]);
  });
});

describe(EXAMPLE_PATH, () => {
  it("has the shape of Functions' local.settings.json, for Azurite", () => {
    expect(EXAMPLE.IsEncrypted).toBe(false);
    for (const [name, value] of Object.entries(HOST_SETTINGS)) expect(VALUES[name]).toBe(value);
    expect(Object.values(VALUES).every((value) => typeof value === "string")).toBe(true);
  });

  it("holds every setting the sources read", () => {
    const keys = Object.keys(VALUES);
    const missing = [
      ...[...SOURCE.variables.keys()].filter(
        (name) => !SOURCE.connections.has(name) && !(name in VALUES),
      ),
      ...[...SOURCE.connections.keys()].filter(
        (name) => !keys.some((key) => key === name || connectionOf(key) === name),
      ),
      ...[...SOURCE.expressions.keys()].filter((name) => !(name in VALUES)),
    ].sort();

    expect(missing).toEqual([]);
  });

  it("gives every binding expression a value, since the host cannot index a function without", () => {
    const empty = [...SOURCE.expressions.keys()].filter((name) => VALUES[name] === "");

    expect(empty).toEqual([]);
  });

  it("holds no setting the sources do not read", () => {
    const stale = Object.keys(VALUES)
      .filter(
        (key) =>
          !(key in HOST_SETTINGS) && !SOURCE_NAMES.has(key) && connectionOf(key) === undefined,
      )
      .sort();

    expect(stale).toEqual([]);
  });

  it("holds no secret: secret settings are empty and no value carries a key", () => {
    const filled = Object.entries(VALUES)
      .filter(([name, value]) => /SECRET|KEY|TOKEN|PASSWORD/i.test(name) && value !== "")
      .map(([name]) => name);
    const keyed = Object.entries(VALUES)
      .filter(([, value]) => /AccountKey=|SharedAccessKey=|[?&]sig=/i.test(String(value)))
      .map(([name]) => name);

    expect(filled).toEqual([]);
    expect(keyed).toEqual([]);
  });

  it("agrees with host.json and the sweep's default schedule", () => {
    const host = JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")) as {
      extensions: { queues: { maxDequeueCount: number } };
    };
    const sweep = readFileSync(join(ROOT, "functions", "sweep.ts"), "utf8");
    const schedule = /DEFAULT_SWEEP_SCHEDULE\s*=\s*"([^"]+)"/.exec(sweep)?.[1];

    expect(VALUES.VIGIL_MAX_DEQUEUE_COUNT).toBe(String(host.extensions.queues.maxDequeueCount));
    expect(VALUES.VIGIL_SWEEP_SCHEDULE).toBe(schedule);
  });
});

describe("the files checked", () => {
  it("are found where the test looks", () => {
    expect(relative(ROOT, join(ROOT, DOC_PATH))).toBe(DOC_PATH);
    expect(Object.keys(VALUES).length).toBeGreaterThan(40);
  });
});
