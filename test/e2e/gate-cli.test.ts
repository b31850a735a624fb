/**
 * The release gate as pipelines call it, against `vigil serve` over the emulated demo: the built
 * `vigil gate` CLI's exit codes and output, and the pipeline steps of docs/pipelines.md taken from
 * the page itself (the GitHub Actions curl script run with bash, the Azure DevOps Invoke REST API
 * inputs and success criteria), so the documented steps cannot drift from what vigil answers.
 */
import { cpSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { parse } from "yaml";
import { type Served, startServe } from "../../src/cli/serve.js";
import { ROOT, runAsync, tempDir, vigilAsync } from "../support/cli.js";

const KEY = "gate-cli-e2e-function-key-0123456789";
const WRONG_KEY = "not-the-key-but-long-enough-0123";
const PROD = "daa9e34f-fc7d-46c9-bee8-a67739d9ef7a";
const STATIC_ACCOUNT = `/subscriptions/${PROD}/resourceGroups/rg-hfw-web-prod/providers/Microsoft.Storage/storageAccounts/sthfwstaticprod`;
const PIPELINES = readFileSync(join(ROOT, "docs", "pipelines.md"), "utf8");

let dir: string;
let served: Served;
let base: string;

/** The YAML of the fenced block that follows the first `<!-- tested: … -->` marker naming `tag`. */
function testedYaml(tag: string): unknown {
  const marker = PIPELINES.split("\n").findIndex(
    (l) => l.startsWith("<!-- tested:") && l.includes(tag),
  );
  expect(marker, `docs/pipelines.md has no tested block for ${tag}`).toBeGreaterThanOrEqual(0);
  const rest = PIPELINES.split("\n").slice(marker + 1);
  expect(rest[0]).toBe("```yaml");
  const end = rest.indexOf("```", 1);
  return parse(rest.slice(1, end).join("\n"));
}

/** The GitHub Actions step `vigil-gate`: its script and its env, with the secrets filled in. */
function githubStep(): { script: string; env: Record<string, string> } {
  const workflow = testedYaml("vigil-gate") as {
    jobs: Record<string, { steps: { id?: string; run?: string; env?: Record<string, string> }[] }>;
  };
  const step = Object.values(workflow.jobs)
    .flatMap((job) => job.steps)
    .find((s) => s.id === "vigil-gate");
  expect(step?.run).toBeTypeOf("string");
  const context: Record<string, string> = { VIGIL_URL: base, VIGIL_FUNCTION_KEY: KEY };
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries(step?.env ?? {})) {
    // `${{ vars.X }}` / `${{ secrets.X }}`: what the runner substitutes before bash runs.
    const expression = /^\$\{\{\s*(?:vars|secrets)\.(\w+)\s*\}\}$/.exec(String(value));
    env[name] = expression !== null ? (context[expression[1] as string] ?? "") : String(value);
  }
  return { script: step?.run as string, env };
}

/** The Azure DevOps InvokeRESTAPI@1 task's inputs. */
function azureDevOpsInputs(): Record<string, string> {
  const pipeline = testedYaml("InvokeRESTAPI") as {
    stages: { jobs: { steps?: { task?: string; inputs?: Record<string, string> }[] }[] }[];
  };
  const task = pipeline.stages
    .flatMap((stage) => stage.jobs)
    .flatMap((job) => job.steps ?? [])
    .find((s) => s.task === "InvokeRESTAPI@1");
  expect(task?.inputs).toBeDefined();
  return task?.inputs as Record<string, string>;
}

/** `eq(root['field'], 'value')` against a response body, as Azure Pipelines evaluates it. */
function successCriteria(expression: string, body: Record<string, unknown>): boolean {
  const match = /^eq\(root\['(\w+)'\],\s*'([^']*)'\)$/.exec(expression.trim());
  expect(match, `unexpected success criteria ${expression}`).not.toBeNull();
  return body[match?.[1] as string] === match?.[2];
}

beforeAll(async () => {
  dir = tempDir("vigil-gate-cli-");
  const seed = join(dir, "seed");
  cpSync(join(ROOT, "estates", "demo"), seed, { recursive: true });
  // The demo's config plus an environment none of whose scopes is ever scanned (gate: unknown).
  const config = JSON.parse(
    readFileSync(join(ROOT, "estates", "demo", "vigil.config.json"), "utf8"),
  );
  delete config.$schema;
  config.environments.push({ name: "dr", match: { scopes: ["sub-dr-*"] } });
  writeFileSync(join(dir, "vigil.config.json"), JSON.stringify(config));
  served = await startServe({
    emulate: seed,
    configPath: join(dir, "vigil.config.json"),
    storeDir: join(dir, "store"),
    port: 0,
    sweepEveryMinutes: 0,
    io: {
      stdout: () => {},
      stderr: () => {},
      now: () => Date.now(),
      env: { VIGIL_FUNCTION_KEY: KEY },
    },
  });
  base = served.host.baseUrl;
  await served.host.idle();
}, 120_000);

afterAll(async () => {
  await served?.close();
  if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
});

describe("vigil gate (the built CLI)", () => {
  type Run = Awaited<ReturnType<typeof vigilAsync>>;
  let prod: Run;
  let never: Run;
  let highOnly: Run;
  let wrongKey: Run;

  // Each run starts a Node process (seconds): start them together, then check each.
  beforeAll(async () => {
    const gate = (args: string[], key = KEY) =>
      vigilAsync(["gate", "--url", base, ...args], { env: { VIGIL_FUNCTION_KEY: key } });
    [prod, never, highOnly, wrongKey] = await Promise.all([
      gate(["--environment", "prod"]),
      gate(["--scope", "never-scanned"]),
      // aks-hfw-staging fails medium controls only.
      gate(["--scope", "aks-hfw-staging", "--min-severity", "high"]),
      gate(["--environment", "prod"], WRONG_KEY),
    ]);
  }, 60_000);

  it("exits 1 for the demo's prod and prints the failing controls", () => {
    expect(prod.code).toBe(1);
    expect(prod.stdout).toContain("vigil gate: FAIL");
    expect(prod.stdout).toMatch(
      new RegExp(
        `fail\\s+\\w+\\s+storage-account-blob-public-access-disabled\\s+${STATIC_ACCOUNT}`,
      ),
    );
    expect(prod.stdout).toContain(`scope ${PROD} has`);
  });

  it("exits 2 for a scope that was never scanned", () => {
    expect(never.code).toBe(2);
    expect(never.stdout).toContain("vigil gate: UNKNOWN");
    expect(never.stdout).toContain("scope never-scanned was never scanned");
  });

  it("exits 0 when nothing at or above the severity floor fails", () => {
    expect(highOnly.code).toBe(0);
    expect(highOnly.stdout).toContain("vigil gate: PASS");
  });

  it("exits 2 with a message naming the key setting when the key is wrong", () => {
    expect(wrongKey.code).toBe(2);
    expect(wrongKey.stdout).toBe("");
    expect(wrongKey.stderr).toMatch(/^vigil gate: 401 .*VIGIL_FUNCTION_KEY.*failing closed\n$/);
    expect(wrongKey.stderr).not.toContain(WRONG_KEY);
  });
});

describe("docs/pipelines.md: the GitHub Actions curl step", () => {
  it("exits 1 for prod, printing the failing controls", async () => {
    const { script, env } = githubStep();

    const run = await runAsync("bash", ["-c", script], { env });

    expect(env.VIGIL_ENVIRONMENT).toBe("prod");
    expect(run.code).toBe(1);
    expect(run.stdout).toContain("storage-account-blob-public-access-disabled");
    expect(run.stdout).toContain("::error::vigil gate: fail");
  });

  it.each([
    ["an environment never scanned (503)", { VIGIL_ENVIRONMENT: "dr" }, /vigil gate: unknown/],
    ["an environment the config does not name (400)", { VIGIL_ENVIRONMENT: "nowhere" }, /HTTP 400/],
    ["a wrong key (401)", { VIGIL_FUNCTION_KEY: WRONG_KEY }, /HTTP 401/],
    ["no key at all", { VIGIL_FUNCTION_KEY: "" }, /set the VIGIL_FUNCTION_KEY secret/],
  ])("exits 2 for %s", async (_case, override, message) => {
    const { script, env } = githubStep();

    const run = await runAsync("bash", ["-c", script], { env: { ...env, ...override } });

    expect(run.code).toBe(2);
    expect(run.stdout).toMatch(message);
    expect(`${run.stdout}${run.stderr}`).not.toContain(WRONG_KEY);
  });

  it("exits 2 when vigil cannot be reached", async () => {
    const { script, env } = githubStep();

    const run = await runAsync("bash", ["-c", script], {
      env: { ...env, VIGIL_URL: "http://127.0.0.1:9" },
    });

    expect(run.code).toBe(2);
    expect(run.stdout).toContain("HTTP 000");
  });
});

describe("docs/pipelines.md: the Azure DevOps Invoke REST API inputs", () => {
  async function call(inputs: Record<string, string>, urlSuffix = inputs.urlSuffix as string) {
    const headers = JSON.parse(
      (inputs.headers as string).replaceAll("$(VIGIL_FUNCTION_KEY)", KEY),
    ) as Record<string, string>;
    const response = await fetch(`${base}/${urlSuffix}`, {
      method: inputs.method,
      headers,
    });
    return {
      status: response.status,
      body: (await response.json()) as Record<string, unknown>,
    };
  }

  it("asks the gate for prod and fails the check on its answer", async () => {
    const inputs = azureDevOpsInputs();

    const { status, body } = await call(inputs);

    expect(inputs).toMatchObject({
      connectionType: "connectedServiceName",
      method: "GET",
      waitForCompletion: "false",
    });
    expect(status).toBe(409);
    expect(body.decision).toBe("fail");
    expect(successCriteria(inputs.successCriteria as string, body)).toBe(false);
  });

  it("passes the check on a 200 pass answer", async () => {
    const inputs = azureDevOpsInputs();

    const { status, body } = await call(inputs, "api/gate?scope=aks-hfw-staging&minSeverity=high");

    expect(status).toBe(200);
    expect(successCriteria(inputs.successCriteria as string, body)).toBe(true);
  });
});
