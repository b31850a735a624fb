/**
 * vigil's deployment templates (infra/*.json), checked without Azure: their structure against our
 * own schema of the template format, their references, the API versions we looked up, and the app
 * settings the code reads against the ones main.json sets.
 */
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { Ajv2020 } from "ajv/dist/2020.js";
import { describe, expect, it } from "vitest";
import { configValidator } from "../../../src/app/index.js";
import {
  type ArmTemplate,
  callsIn,
  evaluateResources,
  expressionsIn,
  readTemplate,
  TemplateEvaluator,
} from "../../support/template-observations.js";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const INFRA = join(ROOT, "infra");
const FIXTURES = join(ROOT, "test", "fixtures", "infra");

const TEMPLATE_FILES = readdirSync(INFRA)
  .filter((f) => f.endsWith(".json") && !f.includes(".parameters."))
  .sort();
const templates = TEMPLATE_FILES.map((file) => ({
  file,
  template: readTemplate(join(INFRA, file)),
}));
const main = readTemplate(join(INFRA, "main.json"));

/** Values for the parameters that have no default, by type, so every template can be evaluated. */
function placeholderParameters(template: ArmTemplate): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, p] of Object.entries(template.parameters ?? {})) {
    if ("defaultValue" in p) continue;
    if (p.type === "array") out[name] = ["stexample"];
    else if (p.type === "object") out[name] = {};
    else if (p.type === "int") out[name] = 1;
    else if (p.type === "bool") out[name] = true;
    else if (/ResourceId$/.test(name))
      out[name] =
        `/subscriptions/00000000-0000-0000-0000-00000000a001/resourceGroups/rg-vigil/providers/Example.Provider/things/${name}`;
    else out[name] = "00000000-0000-0000-0000-0000000000aa";
  }
  return out;
}

/** The names every `fn('name')` call in the template passes, for fn parameters or variables. */
function referenced(template: ArmTemplate, fn: "parameters" | "variables"): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { pointer, expr } of expressionsIn(template)) {
    for (const call of callsIn(expr)) {
      if (call.name.toLowerCase() !== fn) continue;
      const [arg] = call.args;
      expect(arg?.kind, `${pointer}: ${fn}() takes a literal name`).toBe("string");
      const name = (arg as { value: string }).value;
      out.set(name, [...(out.get(name) ?? []), pointer]);
    }
  }
  return out;
}

describe("infra templates", () => {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  const validate = ajv.compile(
    JSON.parse(readFileSync(join(FIXTURES, "arm-template.schema.json"), "utf8")),
  );
  const apiVersions = JSON.parse(readFileSync(join(FIXTURES, "api-versions.json"), "utf8")) as {
    types: Record<string, { apiVersion: string; source: string }[]>;
  };

  it("finds the templates the deployment guide names", () => {
    expect(TEMPLATE_FILES).toEqual([
      "blob-reader.json",
      "event-grid.json",
      "main.json",
      "scan-scope-mg.json",
      "scan-scope.json",
    ]);
  });

  it.each(templates)("$file follows the template format", ({ template }) => {
    const valid = validate(template);

    expect(validate.errors ?? [], JSON.stringify(validate.errors, null, 2)).toEqual([]);
    expect(valid).toBe(true);
  });

  it.each(templates)("$file uses every parameter and variable it declares", ({ template }) => {
    const parameters = referenced(template, "parameters");
    const variables = referenced(template, "variables");

    expect(Object.keys(template.parameters ?? {}).filter((p) => !parameters.has(p))).toEqual([]);
    expect(Object.keys(template.variables ?? {}).filter((v) => !variables.has(v))).toEqual([]);
  });

  it.each(templates)("$file declares every parameter and variable it reads", ({ template }) => {
    const parameters = referenced(template, "parameters");
    const variables = referenced(template, "variables");

    const undeclared = [
      ...[...parameters].filter(([p]) => !(p in (template.parameters ?? {}))),
      ...[...variables].filter(([v]) => !(v in (template.variables ?? {}))),
    ];
    expect(undeclared).toEqual([]);
  });

  it.each(templates)("$file uses only API versions we looked up", ({ template }) => {
    const unknown = template.resources
      .filter(
        (r) =>
          !(apiVersions.types[r.type] ?? []).some((known) => known.apiVersion === r.apiVersion),
      )
      .map((r) => `${r.type}@${r.apiVersion}`);

    expect(unknown).toEqual([]);
  });

  it("cites a source for every API version in the table", () => {
    const entries = Object.entries(apiVersions.types).flatMap(([type, list]) =>
      list.map((e) => ({ type, ...e })),
    );

    expect(entries.filter((e) => !/^\d{4}-\d{2}-\d{2}(-preview)?$/.test(e.apiVersion))).toEqual([]);
    expect(entries.filter((e) => e.source.trim().length < 10)).toEqual([]);
  });

  it.each(templates)("$file depends only on resources it declares", ({ template }) => {
    const evaluator = new TemplateEvaluator(template, placeholderParameters(template));
    const ids = new Set(
      template.resources
        .filter((r) => r.copy === undefined)
        .map((r) => evaluator.idOf(r).toLowerCase()),
    );

    const dangling = template.resources.flatMap((r) =>
      (r.dependsOn ?? [])
        .map((d) => String(evaluator.value(d)))
        .filter((id) => !ids.has(id.toLowerCase()))
        .map((id) => `${r.type} ${r.name} → ${id}`),
    );
    expect(dangling).toEqual([]);
  });

  it.each(templates)("$file evaluates with its defaults", ({ template }) => {
    const evaluator = new TemplateEvaluator(template, placeholderParameters(template));

    const resources = evaluateResources(evaluator);

    // Every id is whole: no name is left to a value only a deployment knows.
    expect(resources.filter((r) => !r.id.startsWith("/") || r.id.includes("<"))).toEqual([]);
  });
});

// ------------------------------------------------------------------------------------------------
// App settings: what the code reads, found in the sources, against what main.json sets.

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? sourceFiles(`${dir}/${entry.name}`)
      : entry.name.endsWith(".ts")
        ? [`${dir}/${entry.name}`]
        : [],
  );
}

const SOURCES = [...sourceFiles("src"), ...sourceFiles("functions")].map((file) => ({
  file,
  text: readFileSync(join(ROOT, file), "utf8"),
}));

/** `VIGIL_*` names in the sources (a name ending in `_` is a prefix in prose, not a setting). */
const CODE_SETTINGS = new Set(
  SOURCES.flatMap(({ text }) =>
    [...text.matchAll(/\bVIGIL_[A-Z0-9_]*[A-Z0-9]\b/g)].map((m) => m[0]),
  ),
);
/** Binding `connection` names in functions/. */
const CONNECTIONS = new Set(
  SOURCES.filter((s) => s.file.startsWith("functions/")).flatMap(({ text }) =>
    [...text.matchAll(/connection:\s*"([^"]+)"/g)].map((m) => m[1] as string),
  ),
);
/** `%NAME%` binding expressions in functions/, resolved by the host from app settings. */
const EXPRESSIONS = new Set(
  SOURCES.filter((s) => s.file.startsWith("functions/")).flatMap(({ text }) =>
    [...text.matchAll(/"%([A-Za-z0-9_]+)%"/g)].map((m) => m[1] as string),
  ),
);

/**
 * Every `VIGIL_*` name the code reads, and whether main.json sets it in Azure. A name the code
 * starts reading fails the test until it is placed here.
 */
const IN_AZURE: Record<string, "set" | string> = {
  VIGIL_STORAGE_ACCOUNT_URL: "set",
  VIGIL_STORAGE: "set",
  VIGIL_EVENTHUB: "set",
  VIGIL_SWEEP_SCHEDULE: "set",
  VIGIL_AUDIT_EVENTHUB_NAME: "set",
  VIGIL_AUDIT_CONSUMER_GROUP: "set",
  VIGIL_MAX_DEQUEUE_COUNT: "set",
  VIGIL_CLOUD: "set",
  VIGIL_TENANT_ID: "set",
  VIGIL_SUBSCRIPTIONS: "set",
  VIGIL_MANAGEMENT_GROUP: "set",
  VIGIL_RESOURCE_GROUPS: "set",
  VIGIL_TAGS: "set",
  VIGIL_RESOURCE_GRAPH: "set",
  VIGIL_ACTIVITY_LOG_DAYS: "set",
  VIGIL_DRILL_RECORDS: "set",
  VIGIL_CLUSTERS: "set",
  VIGIL_TRAEFIK: "set",
  VIGIL_TLS: "set",
  VIGIL_ENDPOINTS: "set",
  VIGIL_PARAMETERS: "set",
  VIGIL_CONTROLS: "set",
  VIGIL_ENVIRONMENTS: "set",
  VIGIL_WAIVERS: "set",
  VIGIL_WEBHOOK_URL: "set",
  VIGIL_WEBHOOK_SECRET: "set",
  VIGIL_TEAMS_WEBHOOK_URL: "set",
  VIGIL_AUTH_ENTRA_TENANT_ID: "set",
  VIGIL_AUTH_ENTRA_AUDIENCE: "set",
  VIGIL_STORAGE_CONNECTION_STRING: "shared-key access: the accounts allow only Entra ID",
  VIGIL_FUNCTION_KEY: "the CLI's and vigil serve's key; in Azure the host keeps function keys",
  VIGIL_GATE_TOKEN: "the CLI's token for vigil gate",
  VIGIL_CONFIG_PATH: "the config is passed as VIGIL_* settings (vigilConfig parameter)",
  VIGIL_CHROMIUM_PATH: "no Chromium on Flex Consumption: the report is served as HTML",
  VIGIL_AUTH_ENTRA_ISSUER: "only for a tenant named by domain; the GUID default is right",
  VIGIL_AUTH_ENTRA_JWKS_URI: "the default follows VIGIL_CLOUD",
  VIGIL_AUTH_ACCEPT_V1_ISSUER: "v2.0 tokens by default",
  VIGIL_ARM_ENDPOINT: "vigilConfig.endpoints sets VIGIL_ENDPOINTS as a whole",
  VIGIL_GRAPH_ENDPOINT: "vigilConfig.endpoints sets VIGIL_ENDPOINTS as a whole",
  VIGIL_AUTHORITY_HOST: "vigilConfig.endpoints sets VIGIL_ENDPOINTS as a whole",
  VIGIL_BLOB_ENDPOINT: "vigilConfig.endpoints sets VIGIL_ENDPOINTS as a whole",
  VIGIL_AKS_DISCOVERY: "vigilConfig.clusters sets VIGIL_CLUSTERS as a whole",
  VIGIL_TLS_CA_FILE: "vigilConfig.tls sets VIGIL_TLS as a whole",
  VIGIL_TLS_CONNECT_TO: "vigilConfig.tls sets VIGIL_TLS as a whole",
  VIGIL_TLS_TARGETS: "vigilConfig.tls sets VIGIL_TLS as a whole",
  VIGIL_OSCAL_NS: "a constant in src/reports/oscal.ts, not a setting",
};

/** Properties an identity-based connection takes under its prefix (Functions host). */
const IDENTITY_PROPERTIES = [
  "blobServiceUri",
  "queueServiceUri",
  "tableServiceUri",
  "serviceUri",
  "fullyQualifiedNamespace",
  "accountName",
  "credential",
  "clientId",
];

describe("main.json app settings", () => {
  const config = main.resources.find((r) => r.type === "Microsoft.Web/sites/config");
  const settings = (config?.properties ?? {}) as Record<string, unknown>;
  const names = Object.keys(settings);

  it("places every VIGIL_ name the code reads", () => {
    const unplaced = [...CODE_SETTINGS].filter((n) => IN_AZURE[n] === undefined).sort();

    expect(unplaced).toEqual([]);
  });

  it("reads the binding connections and expressions it is checked against", () => {
    expect([...CONNECTIONS].sort()).toEqual(["VIGIL_EVENTHUB", "VIGIL_STORAGE"]);
    expect([...EXPRESSIONS].sort()).toEqual([
      "VIGIL_AUDIT_CONSUMER_GROUP",
      "VIGIL_AUDIT_EVENTHUB_NAME",
      "VIGIL_SWEEP_SCHEDULE",
    ]);
  });

  it("sets every setting vigil needs in Azure", () => {
    const wanted = Object.entries(IN_AZURE)
      .filter(([n, v]) => v === "set" && !CONNECTIONS.has(n))
      .map(([n]) => n);

    expect(wanted.filter((n) => !names.includes(n))).toEqual([]);
    expect([...EXPRESSIONS].filter((n) => !names.includes(n))).toEqual([]);
  });

  it.each(["VIGIL_STORAGE", "VIGIL_EVENTHUB"])(
    "connects binding %s with the managed identity",
    (connection) => {
      const properties = names
        .filter((n) => n.startsWith(`${connection}__`))
        .map((n) => n.slice(connection.length + 2));

      expect(settings[`${connection}__credential`]).toBe("managedidentity");
      expect(properties.filter((p) => !IDENTITY_PROPERTIES.includes(p))).toEqual([]);
      expect(properties.some((p) => p !== "credential")).toBe(true);
    },
  );

  it("sets no VIGIL_ setting the code does not read", () => {
    const vigil = names.filter((n) => n.startsWith("VIGIL_"));

    const unread = vigil.filter((n) => {
      const [prefix] = n.split("__") as [string];
      return n.includes("__") ? !CONNECTIONS.has(prefix) : !CODE_SETTINGS.has(n);
    });
    expect(unread).toEqual([]);
    expect(vigil.filter((n) => !n.includes("__") && IN_AZURE[n] !== "set")).toEqual([]);
  });

  it("connects the Functions host's own storage with the managed identity", () => {
    expect(settings.AzureWebJobsStorage__credential).toBe("managedidentity");
    expect(names).not.toContain("AzureWebJobsStorage");
    // Flex Consumption takes the runtime from functionAppConfig, not from these settings.
    expect(names).not.toContain("FUNCTIONS_WORKER_RUNTIME");
    expect(names).not.toContain("FUNCTIONS_EXTENSION_VERSION");
  });

  it("keeps VIGIL_MAX_DEQUEUE_COUNT equal to host.json's maxDequeueCount", () => {
    const host = JSON.parse(readFileSync(join(ROOT, "host.json"), "utf8")) as {
      extensions: { queues: { maxDequeueCount: number } };
    };

    expect(settings.VIGIL_MAX_DEQUEUE_COUNT).toBe(String(host.extensions.queues.maxDequeueCount));
  });

  it("defaults the sweep schedule to the one functions/sweep.ts documents", () => {
    const sweep = readFileSync(join(ROOT, "functions", "sweep.ts"), "utf8");
    const documented = /DEFAULT_SWEEP_SCHEDULE = "([^"]+)"/.exec(sweep)?.[1];

    expect(main.parameters?.sweepSchedule?.defaultValue).toBe(documented);
  });

  it("keeps secrets out of plain app settings: Key Vault references", () => {
    const evaluated = new TemplateEvaluator(main, {
      webhookUrl: "https://receiver.example.com/hook",
      webhookSecret: "not-a-real-secret",
      teamsWebhookUrl: "https://teams.example.com/flow?sig=not-real",
    }).value(settings) as Record<string, string>;

    expect(evaluated.VIGIL_WEBHOOK_SECRET).toMatch(
      /^@Microsoft\.KeyVault\(SecretUri=https:\/\/[^/]+\.vault\.azure\.net\/secrets\/webhook-secret\/\)$/,
    );
    expect(evaluated.VIGIL_TEAMS_WEBHOOK_URL).toMatch(/^@Microsoft\.KeyVault\(SecretUri=/);
    expect(JSON.stringify(evaluated)).not.toContain("not-a-real-secret");
    expect(JSON.stringify(evaluated)).not.toContain("sig=not-real");
  });

  it("leaves the sinks unset when no webhook is given, so vigil starts without them", () => {
    const evaluated = new TemplateEvaluator(main).value(settings) as Record<string, string>;

    expect(evaluated.VIGIL_WEBHOOK_URL).toBe("");
    expect(evaluated.VIGIL_WEBHOOK_SECRET).toBe("");
    expect(evaluated.VIGIL_TEAMS_WEBHOOK_URL).toBe("");
    expect(evaluated.VIGIL_AUTH_ENTRA_TENANT_ID).toBe("");
  });

  it("turns vigilConfig into the VIGIL_ settings vigil parses", () => {
    const evaluated = new TemplateEvaluator(main, {
      vigilConfig: { resourceGraph: false, resourceGroups: ["rg-a"], parameters: { x: 1 } },
    }).value(settings) as Record<string, string>;

    expect(evaluated.VIGIL_RESOURCE_GRAPH).toBe("false");
    expect(JSON.parse(evaluated.VIGIL_RESOURCE_GROUPS as string)).toEqual(["rg-a"]);
    expect(JSON.parse(evaluated.VIGIL_PARAMETERS as string)).toEqual({ x: 1 });
    expect(evaluated.VIGIL_WAIVERS).toBe("");
  });
});

describe("main.parameters.example.json", () => {
  const example = JSON.parse(readFileSync(join(INFRA, "main.parameters.example.json"), "utf8")) as {
    parameters: Record<string, { value: unknown }>;
  };

  it("names only parameters main.json declares, and no secure one", () => {
    const declared = main.parameters ?? {};

    expect(Object.keys(example.parameters).filter((p) => !(p in declared))).toEqual([]);
    expect(
      Object.keys(example.parameters).filter((p) => declared[p]?.type.startsWith("secure")),
    ).toEqual([]);
  });

  it("gives a vigilConfig that vigil's config schema accepts", () => {
    const validate = configValidator();

    expect(() =>
      validate(example.parameters.vigilConfig?.value, "main.parameters.example.json"),
    ).not.toThrow();
  });
});

describe("docs/deploy.md", () => {
  it("lists every role the templates grant in its least-privilege table", () => {
    const guide = readFileSync(join(ROOT, "docs", "deploy.md"), "utf8");
    const roleIds = new Set(
      templates.flatMap(
        ({ template }) =>
          JSON.stringify(template.variables ?? {}).match(
            /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/g,
          ) ?? [],
      ),
    );

    expect([...roleIds].filter((id) => !guide.includes(id))).toEqual([]);
  });
});
