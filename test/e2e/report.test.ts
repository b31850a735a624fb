/**
 * `vigil report` end to end: one emulated demo run recorded in a local store, the evidence report
 * written as HTML and rendered in headless Chromium (assertions on visible text: every seeded
 * violation with its evidence, and that the page requests nothing), and the OSCAL and CSV formats
 * checked.
 */
import { existsSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { Ajv } from "ajv";
import addFormats from "ajv-formats";
import { type Browser, chromium } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type CliIo, main } from "../../src/cli/main.js";
import { reportCommand } from "../../src/cli/report.js";
import { CHROMIUM_ARGS } from "../../src/reports/index.js";
import { ROOT, tempDir, vigil } from "../support/cli.js";
import { DEMO_NON_PASSING, stableId } from "../support/demo.js";

const CHROMIUM = "/usr/bin/chromium";

/** Every seeded non-passing result of the demo, with the status the report shows. */
const SEEDED: [controlId: string, resourceSuffix: string, status: string][] = DEMO_NON_PASSING.map(
  ([controlId, suffix, status]) => [controlId, suffix, status.toUpperCase()],
);

interface CsvRow {
  controlId: string;
  resourceId: string;
  status: string;
  ledgerRecordSha256: string;
}

/** Parse the report's CSV (RFC 4180, quoted cells may hold commas, quotes and line breaks). */
function parseCsv(text: string): Record<string, string>[] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(cell);
      cell = "";
    } else if (ch === "\r" && text[i + 1] === "\n") {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = "";
      i++;
    } else cell += ch;
  }
  const [header, ...body] = rows;
  return body.map((r) => Object.fromEntries((header ?? []).map((h, i) => [h, r[i] ?? ""])));
}

async function report(args: string[]): Promise<{ code: number; stderr: string }> {
  let stderr = "";
  const io: CliIo = {
    stdout: () => {},
    stderr: (text) => {
      stderr += text;
    },
    now: () => Date.parse("2026-11-20T09:00:00Z"),
    env: {},
  };
  return { code: await reportCommand(args, io), stderr };
}

interface Prepared {
  dir: string;
  findingsCount: number;
  rows: CsvRow[];
  outputs: Record<string, { code: number; stderr: string }>;
}

let preparing: Promise<Prepared> | undefined;

/** Record one demo run and write the HTML, CSV and OSCAL reports of it, once for the file. */
function prepared(): Promise<Prepared> {
  preparing ??= (async () => {
    const dir = tempDir("vigil-report-");
    const scan = vigil([
      "scan",
      "--emulate",
      "estates/demo",
      "--config",
      "estates/demo/vigil.config.json",
      "--store-dir",
      join(dir, "store"),
      "--fail-on",
      "none",
      "-q",
      "--format",
      "json",
      "--out",
      join(dir, "scan.json"),
    ]);
    if (scan.code !== 0) throw new Error(`vigil scan exited ${scan.code}: ${scan.stderr}`);
    const findingsCount = JSON.parse(readFileSync(join(dir, "scan.json"), "utf8")).findings.length;
    const outputs: Prepared["outputs"] = {};
    for (const format of ["html", "csv", "oscal"]) {
      outputs[format] = await report([
        "--framework",
        "all",
        "--format",
        format,
        "--out",
        join(dir, `report.${format}`),
        "--store-dir",
        join(dir, "store"),
        "--config",
        join(ROOT, "estates", "demo", "vigil.config.json"),
      ]);
    }
    const rows = parseCsv(readFileSync(join(dir, "report.csv"), "utf8")) as unknown as CsvRow[];
    return { dir, findingsCount, rows, outputs };
  })();
  return preparing;
}

afterAll(async () => {
  if (preparing !== undefined) rmSync((await preparing).dir, { recursive: true, force: true });
});

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

describe("vigil report over a recorded demo run", () => {
  let p: Prepared;

  beforeAll(async () => {
    p = await prepared();
  });

  it("writes each format and says the ledger verified", () => {
    for (const format of ["html", "csv", "oscal"]) {
      expect(p.outputs[format]?.code).toBe(0);
      expect(p.outputs[format]?.stderr).toMatch(/ledger verified/);
    }
  });

  it("lists every seeded violation, error and waiver of the demo in the CSV", () => {
    const listed = p.rows
      .filter((r) => r.status !== "pass" && r.status !== "not_applicable")
      .map((r) => `${r.controlId} ${stableId(r.resourceId)} ${r.status}`)
      .sort();
    const expected = DEMO_NON_PASSING.map(
      ([controlId, suffix, status]) =>
        listed.find((l) => l.startsWith(`${controlId} `) && l.endsWith(`${suffix} ${status}`)) ??
        `MISSING ${controlId} …${suffix} ${status}`,
    ).sort();

    expect(listed).toEqual(expected);
  });

  it("writes a CSV row per finding of the run", () => {
    expect(p.rows).toHaveLength(p.findingsCount);
    expect(p.rows.every((r) => /^[0-9a-f]{64}$/.test(r.ledgerRecordSha256))).toBe(true);
  });

  it("writes OSCAL assessment-results that validate", () => {
    const ajv = new Ajv({ allErrors: true, strict: false });
    addFormats.default(ajv);
    const schema = join(
      ROOT,
      "test",
      "fixtures",
      "oscal",
      "assessment-results.structure.schema.json",
    );
    const validate = ajv.compile(JSON.parse(readFileSync(schema, "utf8")));
    const document = JSON.parse(readFileSync(join(p.dir, "report.oscal"), "utf8"));

    const valid = validate(document);

    expect(validate.errors ?? []).toEqual([]);
    expect(valid).toBe(true);
    expect(document["assessment-results"].results[0].observations).toHaveLength(p.findingsCount);
  });

  it("exits 2 with a clear message when --format pdf finds no Chromium", async () => {
    let stderr = "";
    const code = await reportCommand(
      [
        "--framework",
        "all",
        "--format",
        "pdf",
        "--out",
        join(p.dir, "r.pdf"),
        "--store-dir",
        p.dir,
      ],
      {
        stdout: () => {},
        stderr: (t) => {
          stderr += t;
        },
        now: () => 0,
        env: { VIGIL_CHROMIUM_PATH: join(p.dir, "no-such-chromium") },
      },
    );

    expect(code).toBe(2);
    expect(stderr).toMatch(/needs Chromium, and none was found/);
  });

  it("exits 2 naming the file when --out cannot be written, through the CLI's entry", async () => {
    let stderr = "";
    const out = join(p.dir, "no-such-folder", "r.csv");
    const code = await main(
      [
        "report",
        "--framework",
        "all",
        "--format",
        "csv",
        "--out",
        out,
        "--store-dir",
        join(p.dir, "store"),
        "--config",
        join(ROOT, "estates", "demo", "vigil.config.json"),
      ],
      {
        stdout: () => {},
        stderr: (t) => {
          stderr += t;
        },
        now: () => Date.now(),
        env: {},
      },
    );

    expect(code).toBe(2);
    expect(stderr).toBe(`vigil: cannot write ${out}: ENOENT\n`);
  });
});

describe.runIf(existsSync(CHROMIUM))(
  "vigil report's HTML in headless Chromium (needs /usr/bin/chromium)",
  () => {
    let p: Prepared;
    let browser: Browser;
    let text = "";
    const requests: string[] = [];
    const evidence = new Map<string, string>();
    const screenshot = join(
      process.env.VIGIL_REPORT_SCREENSHOT_DIR ?? tempDir("vigil-report-shot-"),
      "vigil-report.png",
    );

    beforeAll(async () => {
      p = await prepared();
      browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS });
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      page.on("request", (request) => requests.push(request.url()));
      await page.goto(`file://${join(p.dir, "report.html")}`, { waitUntil: "load" });
      text = await page.locator("body").innerText();
      for (const [controlId, suffix] of SEEDED) {
        const control = page.locator("div.control", {
          has: page.locator("h4 code", { hasText: new RegExp(`^${escapeRegExp(controlId)}$`) }),
        });
        const block = control
          .locator("div.evidence", {
            has: page.locator(".rid", {
              hasText: new RegExp(`${escapeRegExp(suffix)}(:\\d+)?$`),
            }),
          })
          .first();
        evidence.set(`${controlId} ${suffix}`, await block.innerText());
      }
      await page.screenshot({ path: screenshot });
    });

    afterAll(async () => {
      await browser?.close();
    });

    it("requests nothing but the file itself", () => {
      expect(requests).toEqual([`file://${join(p.dir, "report.html")}`]);
    });

    it("shows the executive summary's counts and the waiver", () => {
      const count = (status: string) => p.rows.filter((r) => r.status === status).length;

      expect(text).toContain("Executive summary");
      expect(text).toContain(
        `${p.rows.length} control-resource result(s) in scope: ${count("fail")} failing, ${count("error")} in error (could not be evaluated), ${count("waived")} waived, ${count("pass")} passing, ${count("not_applicable")} not applicable.`,
      );
      expect(text).toMatch(/verified: chain intact/);
      expect(text).toContain("WVR-2026-014");
      expect(text).toContain("Rachel Annesley (Head of IT Operations)");
    });

    it.each(SEEDED)(
      "shows %s on …%s as %s with its ledger record hash",
      (controlId, suffix, status) => {
        const row = p.rows.find(
          (r) => r.controlId === controlId && stableId(r.resourceId).endsWith(suffix),
        );
        const block = evidence.get(`${controlId} ${suffix}`);

        expect(row?.status.toUpperCase()).toBe(status);
        expect(block).toContain(status);
        expect(block).toContain(row?.resourceId);
        expect(block).toContain(row?.ledgerRecordSha256);
        expect(block).toMatch(/Ledger record\s+ledger\/\d{12}\.json/);
        expect(block).toMatch(/Evaluated\s+\d{4}-\d{2}-\d{2}T\S+, run \S+, target \S/);
        expect(block).toMatch(/Observation snapshot\s+SHA-256 [0-9a-f]{64}/);
        // The observed values the verdict rests on, or the reason none could be read.
        expect(block).toMatch(/Field read\s+Observed|No values were read/);
      },
    );

    it("leaves a screenshot of the first screen", () => {
      expect(existsSync(screenshot)).toBe(true);
    });
  },
);
