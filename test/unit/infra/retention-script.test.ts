/**
 * infra/scripts/retention-policies.sh, the deployment script main.json runs to leave vigil's
 * containers under locked retention: run with bash against a stand-in `az` that keeps each
 * policy's state, days and etag and enforces the service's rules (a locked policy is only
 * extended; lock and extend need the current etag). The real `az` cannot run here.
 */
import { spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, describe, expect, it } from "vitest";

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..", "..");
const SCRIPT = join(ROOT, "infra", "scripts", "retention-policies.sh");
const FAKE_AZ = join(ROOT, "test", "fixtures", "infra", "fake-az.sh");

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A fresh stand-in Azure: the named containers exist, with the given policies. */
function azure(containers: string[], policies: Record<string, string> = {}) {
  const dir = mkdtempSync(join(tmpdir(), "vigil-retention-"));
  dirs.push(dir);
  mkdirSync(join(dir, "bin"));
  mkdirSync(join(dir, "containers"));
  mkdirSync(join(dir, "policies"));
  copyFileSync(FAKE_AZ, join(dir, "bin", "az"));
  for (const c of containers) writeFileSync(join(dir, "containers", c), "");
  for (const [c, p] of Object.entries(policies)) writeFileSync(join(dir, "policies", c), `${p}\n`);
  writeFileSync(join(dir, "calls.log"), "");
  return {
    run(env: Record<string, string>) {
      const result = spawnSync("bash", [SCRIPT], {
        encoding: "utf8",
        env: {
          PATH: `${join(dir, "bin")}:${process.env.PATH}`,
          FAKE_AZ_STATE: dir,
          RESOURCE_GROUP: "rg-vigil",
          ACCOUNT: "stvigildata",
          RETENTION_WAIT_SECONDS: "0",
          ...env,
        },
      });
      return { status: result.status, out: result.stdout, err: result.stderr };
    },
    policy(container: string): string[] {
      return readFileSync(join(dir, "policies", container), "utf8")
        .trim()
        .split(" ");
    },
    /** The state-changing calls made, as "verb container". */
    writes(): string[] {
      return readFileSync(join(dir, "calls.log"), "utf8")
        .split("\n")
        .filter((l) => / immutability-policy (create|lock|extend) /.test(l))
        .map((l) => {
          const verb = l.split(" ")[3];
          const container = l.match(/--container-name (\S+)/)?.[1];
          return `${verb} ${container}`;
        });
    },
  };
}

const RETENTION = "evidence=365 outbox=30 eventgrid-deadletter=30";
const ALL = ["evidence", "outbox", "eventgrid-deadletter"];

// Each case starts bash and a dozen stand-in `az` processes: seconds on a busy 2-core machine.
describe("retention-policies.sh", { timeout: 60_000 }, () => {
  it("is the script main.json's deployment script runs, byte for byte", () => {
    const template = JSON.parse(readFileSync(join(ROOT, "infra", "main.json"), "utf8")) as {
      resources: { type: string; properties?: { scriptContent?: string } }[];
    };
    const scripts = template.resources.filter(
      (r) => r.type === "Microsoft.Resources/deploymentScripts",
    );

    expect(scripts).toHaveLength(1);
    expect(scripts[0]?.properties?.scriptContent).toBe(readFileSync(SCRIPT, "utf8"));
  });

  it("creates and locks a policy of the asked days on each container of a new deployment", () => {
    const az = azure(ALL);

    const { status, out } = az.run({ RETENTION, POLICY_STATE: "Locked" });

    expect(status).toBe(0);
    expect(az.policy("evidence").slice(0, 2)).toEqual(["Locked", "365"]);
    expect(az.policy("outbox").slice(0, 2)).toEqual(["Locked", "30"]);
    expect(az.policy("eventgrid-deadletter").slice(0, 2)).toEqual(["Locked", "30"]);
    expect(az.writes()).toEqual([
      "create evidence",
      "lock evidence",
      "create outbox",
      "lock outbox",
      "create eventgrid-deadletter",
      "lock eventgrid-deadletter",
    ]);
    expect(out).toContain("evidence: Locked, 365 days");
  });

  it("changes nothing when run again, as every redeployment does", () => {
    const az = azure(ALL);
    az.run({ RETENTION });
    const before = ALL.map((c) => az.policy(c).join(" "));

    const again = az.run({ RETENTION });

    expect(again.status).toBe(0);
    expect(ALL.map((c) => az.policy(c).join(" "))).toEqual(before);
    expect(az.writes()).toHaveLength(6);
  });

  it("extends a locked policy when the days are raised", () => {
    const az = azure(["evidence"], { evidence: 'Locked 365 "e1"' });

    const { status } = az.run({ RETENTION: "evidence=730" });

    expect(status).toBe(0);
    expect(az.policy("evidence").slice(0, 2)).toEqual(["Locked", "730"]);
    expect(az.writes()).toEqual(["extend evidence"]);
  });

  it("stops with an error, changing nothing, when asked to shorten a locked policy", () => {
    const az = azure(["evidence"], { evidence: 'Locked 365 "e1"' });

    const { status, err } = az.run({ RETENTION: "evidence=30" });

    expect(status).toBe(1);
    expect(err).toContain("Locked at 365 days and cannot be shortened to 30");
    expect(az.policy("evidence")).toEqual(["Locked", "365", '"e1"']);
    expect(az.writes()).toEqual([]);
  });

  it("locks an existing Unlocked policy, updating its days first", () => {
    const az = azure(["outbox"], { outbox: 'Unlocked 7 "e1"' });

    const { status } = az.run({ RETENTION: "outbox=30" });

    expect(status).toBe(0);
    expect(az.policy("outbox").slice(0, 2)).toEqual(["Locked", "30"]);
    expect(az.writes()).toEqual(["create outbox", "lock outbox"]);
  });

  it("leaves policies Unlocked for a trial deployment, and says a locked one stays locked", () => {
    const az = azure(["evidence", "outbox"], { outbox: 'Locked 30 "e1"' });

    const { status, out } = az.run({
      RETENTION: "evidence=365 outbox=30",
      POLICY_STATE: "Unlocked",
    });

    expect(status).toBe(0);
    expect(az.policy("evidence").slice(0, 2)).toEqual(["Unlocked", "365"]);
    expect(az.policy("outbox").slice(0, 2)).toEqual(["Locked", "30"]);
    expect(az.writes()).toEqual(["create evidence"]);
    expect(out).toContain("outbox: the policy is already Locked");
  });

  it("fails, naming the container, when a container cannot be read", () => {
    const az = azure(["evidence"]);

    const { status, err } = az.run({ RETENTION: "evidence=365 outbox=30" });

    expect(status).toBe(1);
    expect(err).toContain("outbox: cannot read the container in stvigildata");
  });

  it.each([
    [{ RETENTION: "evidence=a year" }, "RETENTION entry 'evidence=a'"],
    [
      { RETENTION: "evidence=365", POLICY_STATE: "locked" },
      "POLICY_STATE must be Locked or Unlocked",
    ],
    [{ RETENTION: "" }, "RETENTION is not set"],
  ])("refuses bad input %j with a message naming it", (env, message) => {
    const az = azure(["evidence"]);

    const { status, err } = az.run(env);

    expect(status).not.toBe(0);
    expect(err).toContain(message);
    expect(az.writes()).toEqual([]);
  });
});
