import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { FAMILIES } from "../../src/core/index.js";
import { makeControl, pgServer } from "../support/builders.js";
import { tempDir, vigil, writeTree } from "../support/cli.js";

const NOW = "2026-11-23T06:00:00Z";

/** A one-control catalogue and a snapshot with one compliant, one failing and one uncollected server. */
function workspace() {
  const dir = tempDir();
  const control = makeControl();
  writeTree(dir, {
    "controls/backup-encryption/postgresql-geo-redundant-backup-enabled/control.json": control,
    "controls/backup-encryption/postgresql-geo-redundant-backup-enabled/fixtures/pass.enabled.json":
      {
        description: "geo backup on",
        observation: pgServer("a", { backup: { geoRedundantBackup: "Enabled" } }),
      },
    "controls/backup-encryption/postgresql-geo-redundant-backup-enabled/fixtures/fail.disabled.json":
      {
        description: "geo backup off",
        observation: pgServer("b", { backup: { geoRedundantBackup: "Disabled" } }),
      },
    "ok/server.json": pgServer("odoo-ok", { backup: { geoRedundantBackup: "Enabled" } }),
    "failing/servers.json": [
      pgServer("odoo-ok", { backup: { geoRedundantBackup: "Enabled" } }),
      pgServer("odoo-prod-pg", { backup: { geoRedundantBackup: "Disabled" } }),
    ],
    "broken/server.json": pgServer(
      "odoo-prod-pg",
      {},
      { error: { message: "AuthorizationFailed", statusCode: 403 } },
    ),
    "malformed/server.json": '{ "id": "x", "type": ',
  });
  return { dir, controls: join(dir, "controls") };
}

describe("vigil (CLI)", () => {
  let ws: ReturnType<typeof workspace>;
  beforeAll(() => {
    ws = workspace();
  });

  it("prints help and exits 0 with --help, 2 with no command", () => {
    const help = vigil(["--help"]);
    const none = vigil([]);

    expect(help.code).toBe(0);
    expect(help.stdout).toContain("vigil scan --snapshot DIR");
    expect(none.code).toBe(2);
  });

  it.each(["scan", "policies", "policies test", "policies list", "policies validate"])(
    "answers '%s --help'",
    (cmd) => {
      const run = vigil([...cmd.split(" "), "--help"]);

      expect(run.code).toBe(0);
      expect(run.stdout).toMatch(/^Usage: vigil /);
    },
  );

  it("exits 0 when nothing fails at or above the threshold", () => {
    const run = vigil([
      "scan",
      "--snapshot",
      join(ws.dir, "ok"),
      "--controls",
      ws.controls,
      "--now",
      NOW,
    ]);

    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("1 findings: 0 fail, 0 error, 0 waived, 1 pass");
  });

  it("exits 1 on a failing finding at or above --fail-on, 0 below it", () => {
    const high = vigil([
      "scan",
      "--snapshot",
      join(ws.dir, "failing"),
      "--controls",
      ws.controls,
      "--now",
      NOW,
    ]);
    const critical = vigil([
      "scan",
      "--snapshot",
      join(ws.dir, "failing"),
      "--controls",
      ws.controls,
      "--now",
      NOW,
      "--fail-on",
      "critical",
    ]);

    expect(high.code).toBe(1);
    expect(high.stdout).toContain(
      "properties.backup.geoRedundantBackup is 'Disabled'; expected 'Enabled'",
    );
    expect(critical.code).toBe(0);
  });

  it("exits 2, failing closed, on an error finding at or above the threshold", () => {
    const run = vigil([
      "scan",
      "--snapshot",
      join(ws.dir, "broken"),
      "--controls",
      ws.controls,
      "--now",
      NOW,
    ]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("could not be evaluated (error): failing closed");
  });

  it("exits 2 on malformed JSON, naming the file and line", () => {
    const run = vigil(["scan", "--snapshot", join(ws.dir, "malformed"), "--controls", ws.controls]);

    expect(run.code).toBe(2);
    expect(run.stderr).toMatch(/server\.json #: malformed JSON at line 1/);
  });

  it.each([
    [["scan"], "scan needs --snapshot DIR"],
    [
      ["scan", "--snapshot", ".", "--format", "xml"],
      "--format must be one of table, json, csv, sarif",
    ],
    [["scan", "--snapshot", ".", "--now", "yesterday"], "--now must be an ISO 8601 date-time"],
    [["scan", "--snapshot", ".", "--bogus"], "Unknown option '--bogus'"],
    [["frobnicate"], "unknown command 'frobnicate'"],
  ])("exits 2 on usage error %j", (args, message) => {
    const run = vigil(args);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain(message);
  });

  it("writes JSON output to --out whole, with run, findings and summary", () => {
    const out = join(ws.dir, "result.json");

    const run = vigil([
      "scan",
      "--snapshot",
      join(ws.dir, "failing"),
      "--controls",
      ws.controls,
      "--now",
      NOW,
      "--format",
      "json",
      "--out",
      out,
    ]);

    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    const result = JSON.parse(readFileSync(out, "utf8")) as {
      run: { now: string; controls: number };
      findings: {
        controlId: string;
        status: string;
        trace: unknown[];
        parameters: unknown;
        frameworks: unknown;
      }[];
      summary: { byStatus: Record<string, number> };
    };
    expect(result.run.now).toBe("2026-11-23T06:00:00.0000000Z");
    expect(result.findings.map((f) => f.status).sort()).toEqual(["fail", "pass"]);
    expect(result.findings[0]).toHaveProperty("trace");
    expect(result.findings[0]).toHaveProperty("frameworks");
    expect(result.summary.byStatus.fail).toBe(1);
    expect(readdirSync(ws.dir).filter((f) => f.endsWith(".tmp"))).toEqual([]);
  });

  it("leaves no file behind when --out cannot be written", () => {
    const out = join(ws.dir, "no-such-folder", "result.json");

    const run = vigil([
      "scan",
      "--snapshot",
      join(ws.dir, "ok"),
      "--controls",
      ws.controls,
      "--out",
      out,
    ]);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain("cannot write");
    expect(existsSync(out)).toBe(false);
  });

  it("validates controls: exit 0 when valid, 2 with file and pointer when not", () => {
    const bad = tempDir();
    writeTree(bad, {
      "mfa/x-y/control.json": { ...makeControl({ id: "x-y", family: "mfa" }), severity: "urgent" },
    });

    const good = vigil(["policies", "validate", ws.controls]);
    const invalid = vigil(["policies", "validate", bad]);

    expect(good.code).toBe(0);
    expect(good.stdout).toBe("1 controls valid\n");
    expect(invalid.code).toBe(2);
    expect(invalid.stderr).toContain("mfa/x-y/control.json #/severity: expected one of");
  });

  it("tests fixtures: exit 1 when a fixture yields the wrong status", () => {
    const dir = tempDir();
    writeTree(dir, {
      "backup-encryption/postgresql-geo-redundant-backup-enabled/control.json": makeControl(),
      "backup-encryption/postgresql-geo-redundant-backup-enabled/fixtures/pass.wrong.json": {
        description: "labelled pass but fails",
        observation: pgServer("b", { backup: { geoRedundantBackup: "Disabled" } }),
      },
      "backup-encryption/postgresql-geo-redundant-backup-enabled/fixtures/fail.disabled.json": {
        description: "fails",
        observation: pgServer("b", { backup: { geoRedundantBackup: "Disabled" } }),
      },
    });

    const run = vigil(["policies", "test", "--controls", dir]);

    expect(run.code).toBe(1);
    expect(run.stdout).toContain("MISS");
    expect(run.stdout).toContain("1 passed, 1 failed");
  });

  it("tests fixtures: a misspelt parameter and a waived. fixture are misses, not silent passes", () => {
    const dir = tempDir();
    const folder = "backup-encryption/postgresql-geo-redundant-backup-enabled";
    writeTree(dir, {
      [`${folder}/control.json`]: makeControl(),
      [`${folder}/fixtures/pass.enabled.json`]: {
        description: "passes, but names a parameter the control does not have",
        parameters: { maxAgeHour: 3 },
        observation: pgServer("b", { backup: { geoRedundantBackup: "Enabled" } }),
      },
      [`${folder}/fixtures/fail.disabled.json`]: {
        description: "fails",
        observation: pgServer("b", { backup: { geoRedundantBackup: "Disabled" } }),
      },
      [`${folder}/fixtures/waived.disabled.json`]: {
        description: "fixtures run without waivers",
        observation: pgServer("b", { backup: { geoRedundantBackup: "Disabled" } }),
      },
    });

    const run = vigil(["policies", "test", "--controls", dir]);

    expect(run.code).toBe(1);
    expect(run.stdout).toContain(
      "'parameters' names 'maxAgeHour', which the control does not declare",
    );
    expect(run.stdout).toMatch(/MISS .*waived\.disabled\.json/);
    expect(run.stdout).toContain("1 passed, 2 failed");
  });
});

describe("the demo estate", () => {
  it("shows findings in all seven families, a waiver and fails closed on its uncollected backups", () => {
    const run = vigil([
      "scan",
      "--snapshot",
      "estates/demo/snapshot",
      "--config",
      "estates/demo/vigil.config.json",
      "--now",
      NOW,
    ]);

    for (const family of FAMILIES) expect(run.stdout).toContain(`== ${family} ==`);
    expect(run.stdout).toMatch(/^WAIVED /m);
    expect(run.stdout).toMatch(/^ERROR .*postgresql-latest-backup-fresh/m);
    expect(run.code).toBe(2);
  });

  it("applies the staging environment's parameters from the config", () => {
    const run = vigil([
      "scan",
      "--snapshot",
      "estates/demo/snapshot",
      "--config",
      "estates/demo/vigil.config.json",
      "--now",
      NOW,
      "--format",
      "json",
    ]);

    const result = JSON.parse(run.stdout) as {
      findings: { controlId: string; environment?: string; parameters: Record<string, unknown> }[];
    };
    const fresh = result.findings.filter((f) => f.controlId === "postgresql-latest-backup-fresh");
    expect(new Set(fresh.map((f) => `${f.environment}:${f.parameters.maxBackupAgeHours}`))).toEqual(
      new Set(["prod:26", "staging:48"]),
    );
  });
});

describe("the bundled catalogue", () => {
  it("passes every fixture, with at least 24 controls across all seven families", () => {
    const run = vigil(["policies", "test"]);

    expect(run.stdout).toMatch(/\d+ passed, 0 failed/);
    expect(run.code).toBe(0);
    const count = Number(/(\d+) controls in 7 families \(all present\)/.exec(run.stdout)?.[1]);
    expect(count).toBeGreaterThanOrEqual(24);
  });

  it("lists controls by framework with their requirement ids", () => {
    const run = vigil(["policies", "list", "--framework", "iso27001", "--format", "json"]);

    expect(run.code).toBe(0);
    const controls = JSON.parse(run.stdout) as {
      id: string;
      family: string;
      frameworks: { iso27001: string[] };
    }[];
    expect(new Set(controls.map((c) => c.family))).toEqual(new Set(FAMILIES));
    expect(
      controls.every((c) => c.frameworks.iso27001.every((id) => /^A\.[5-8]\.\d+$/.test(id))),
    ).toBe(true);
  });
});
