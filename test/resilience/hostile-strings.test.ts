/**
 * Hostile estate strings through every output. The seed `test/fixtures/seeds/hostile` puts HTML,
 * `<script>`, attribute breakers, control characters and ANSI escapes, line separators, bidi
 * overrides, zero-width characters, lone surrogates, CSV formula leaders and Markdown into resource
 * names, labels, tags and the fields controls read, so they reach findings' resource ids, reasons
 * and traces. `vigil serve` sweeps it through the real collectors, store and sinks; the test then
 * reads the rendered bytes of every output: the evidence report (HTML, CSV, JSON, OSCAL), the
 * findings API (JSON, CSV, SARIF, OCSF), the signed webhook and the Teams card as delivered, the
 * CLI's terminal table, and the log lines.
 */
import { readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadCatalogue, scanObservations } from "../../src/app/index.js";
import { main } from "../../src/cli/main.js";
import { type Served, startServe } from "../../src/cli/serve.js";
import { verifyWebhookSignature } from "../../src/notify/index.js";
import { csvCell, escapeHtml, renderCsv, terminalSafe } from "../../src/reports/index.js";
import { ROOT, tempDir } from "../support/cli.js";
import { type HttpReceiver, startHttpReceiver } from "../support/http-receiver.js";

const SEED = join(ROOT, "test", "fixtures", "seeds", "hostile");
const SECRET = "hostile-strings-webhook-secret";

/** Strings the seed carries (as JSON/YAML escapes) that must come out neutralised. */
const SCRIPT = '<script>alert("vigil")</script><img src=x onerror=alert(1)>';
const ATTRIBUTE = "\"'><svg onload=alert(2)>";
const FORMULA = '=HYPERLINK("http://evil.test","click")';

/** A raw C0 character other than the line breaks and tabs of pretty-printing: JSON escapes them. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters looked for.
const RAW_C0 = /[\u0000-\u0008\u000b\u000c\u000e-\u001f]/;
/** Characters that must never reach a terminal or a Teams card raw. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: these are the characters looked for.
const C0_C1 = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f-\u009f]/;
const BIDI = /[\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;
const INVISIBLE = /[\u200b-\u200d\u2060\ufeff]/;
const SEPARATORS = /[\u2028\u2029]/;
const LONE_SURROGATE = /[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

let dir: string;
let served: Served;
let receiver: HttpReceiver;
const logLines: string[] = [];

async function api(path: string): Promise<{ status: number; type: string; text: string }> {
  const response = await fetch(`${served.host.baseUrl}${path}`, {
    headers: { "x-functions-key": served.key },
  });
  return {
    status: response.status,
    type: response.headers.get("content-type") ?? "",
    text: await response.text(),
  };
}

beforeAll(async () => {
  dir = tempDir("vigil-hostile-");
  receiver = await startHttpReceiver({ status: 204 });
  served = await startServe({
    emulate: SEED,
    storeDir: join(dir, "store"),
    port: 0,
    sweepEveryMinutes: 0,
    io: {
      stdout: (t) => logLines.push(t),
      stderr: (t) => logLines.push(t),
      now: () => Date.now(),
      env: {
        VIGIL_WEBHOOK_URL: `${receiver.origin}/hook`,
        VIGIL_WEBHOOK_SECRET: SECRET,
        VIGIL_TEAMS_WEBHOOK_URL: `${receiver.origin}/teams`,
        // Known bug, left to the store: the table answers 500 to the upsert of this cluster's
        // findings. One attempt, then poison and `error` findings (fail closed), not five.
        VIGIL_MAX_DEQUEUE_COUNT: "1",
      },
    },
  });
  await served.host.idle();
}, 180_000);

/** `vigil scan --emulate <hostile seed> --all` as a terminal sees it (run once, on first use). */
let terminalRun: Promise<{ code: number; stdout: string; stderr: string }> | undefined;
function terminalOutput() {
  terminalRun ??= (async () => {
    let stdout = "";
    let stderr = "";
    const code = await main(["scan", "--emulate", SEED, "--all"], {
      stdout: (t) => {
        stdout += t;
      },
      stderr: (t) => {
        stderr += t;
      },
      now: () => Date.now(),
      env: {},
    });
    return { code, stdout, stderr };
  })();
  return terminalRun;
}

afterAll(async () => {
  await served?.close();
  await receiver?.close();
  rmSync(dir, { recursive: true, force: true });
});

// ---------------------------------------------------------------------------------------------
// Checks on rendered bytes.

/** Tag names and attribute names the report renderer itself writes (read from its source). */
function rendererVocabulary(): { tags: Set<string>; attributes: Set<string> } {
  const source = readFileSync(join(ROOT, "src", "reports", "html.ts"), "utf8");
  const tags = new Set(
    [...source.matchAll(/<\/?([a-zA-Z][a-zA-Z0-9]*)/g)].map((m) => (m[1] as string).toLowerCase()),
  );
  const attributes = new Set(
    [...source.matchAll(/\s([a-zA-Z][a-zA-Z0-9:-]*)=["'$]/g)].map((m) =>
      (m[1] as string).toLowerCase(),
    ),
  );
  return { tags, attributes };
}

/** Every tag of an HTML document with its attribute names (a tokenizer for what html.ts writes). */
function tagsOf(html: string): { name: string; attributes: string[]; raw: string }[] {
  const out: { name: string; attributes: string[]; raw: string }[] = [];
  const withoutStyle = html.replace(/<style>[\s\S]*?<\/style>/g, "<style></style>");
  for (const m of withoutStyle.matchAll(
    /<\/?([a-zA-Z][a-zA-Z0-9]*)((?:[^>"']|"[^"]*"|'[^']*')*)>/g,
  )) {
    const attributes = [
      ...(m[2] as string).matchAll(/([^\s=/"']+)(?:=(?:"[^"]*"|'[^']*'|[^\s>]+))?/g),
    ].map((a) => (a[1] as string).toLowerCase());
    out.push({ name: (m[1] as string).toLowerCase(), attributes, raw: m[0] });
  }
  return out;
}

/** RFC 4180 rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = "";
  let quoted = false;
  for (let i = 0; i < text.length; i += 1) {
    const ch = text[i] as string;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i += 1;
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
      i += 1;
    } else cell += ch;
  }
  if (cell !== "" || row.length > 0) rows.push([...row, cell]);
  return rows;
}

/** Every string value inside a JSON document. */
function stringsOf(value: unknown, out: string[] = []): string[] {
  if (typeof value === "string") out.push(value);
  else if (Array.isArray(value)) for (const v of value) stringsOf(v, out);
  else if (value !== null && typeof value === "object")
    for (const [k, v] of Object.entries(value)) {
      out.push(k);
      stringsOf(v, out);
    }
  return out;
}

function expectSafeForTerminal(text: string, what: string): void {
  for (const [name, pattern] of [
    ["a control character or ANSI escape", C0_C1],
    ["a bidi control", BIDI],
    ["a line or paragraph separator", SEPARATORS],
    ["a lone surrogate", LONE_SURROGATE],
  ] as const) {
    const at = text.search(pattern);
    expect(
      at,
      `${what} has ${name} at ${at}: ${JSON.stringify(text.slice(Math.max(0, at - 30), at + 30))}`,
    ).toBe(-1);
  }
}

// ---------------------------------------------------------------------------------------------

describe("the hostile seed", () => {
  it("was swept into findings that carry the hostile strings", async () => {
    const findings = await api("/api/findings?format=json&limit=1000");

    expect(findings.status).toBe(200);
    const text = stringsOf(JSON.parse(findings.text)).join("\n");
    expect(text).toContain(SCRIPT);
    expect(text).toContain(ATTRIBUTE);
    expect(text).toContain(FORMULA);
    expect(text).toContain("\u202e");
    expect(text).toContain("\u001b[31m");
  });
});

describe("evidence report HTML", () => {
  it("injects no element and no attribute, and shows the hostile text escaped", async () => {
    const report = await api("/api/evidence/report?framework=all&format=html");
    const { tags, attributes } = rendererVocabulary();

    expect(report.status).toBe(200);
    const found = tagsOf(report.text);
    expect(found.length).toBeGreaterThan(50);
    for (const tag of found) {
      expect(tags.has(tag.name), `injected element: ${tag.raw.slice(0, 200)}`).toBe(true);
      for (const attribute of tag.attributes)
        expect(
          attributes.has(attribute),
          `injected attribute ${attribute}: ${tag.raw.slice(0, 200)}`,
        ).toBe(true);
    }
    expect(report.text).not.toMatch(/<script/i);
    expect(report.text).not.toContain(SCRIPT);
    expect(report.text).not.toContain(ATTRIBUTE);
    expect(report.text).toContain(escapeHtml(SCRIPT));
    expect(report.text).toContain("&quot;&#39;&gt;&lt;svg onload=alert(2)&gt;");
  });

  it("carries no raw control character, bidi control or lone surrogate", async () => {
    const report = await api("/api/evidence/report?framework=all&format=html");

    expect(report.text.search(LONE_SURROGATE)).toBe(-1);
    expect(report.text.search(C0_C1)).toBe(-1);
    expect(report.text.search(BIDI)).toBe(-1);
    // The hostile control characters are shown, visibly, instead.
    expect(report.text).toContain("\\x1B[31m");
  });
});

describe("CSV", () => {
  it.each([
    ["findings API", "/api/findings?format=csv&limit=1000"],
    ["evidence report", "/api/evidence/report?framework=all&format=csv"],
  ])(
    "%s CSV has rectangular rows and no cell starting with a formula leader",
    async (_name, path) => {
      const csv = await api(path);

      expect(csv.status).toBe(200);
      const rows = parseCsv(csv.text);
      expect(rows.length).toBeGreaterThan(10);
      const width = (rows[0] as string[]).length;
      for (const row of rows) {
        expect(row.length, JSON.stringify(row).slice(0, 300)).toBe(width);
        for (const cell of row) expect(cell, cell.slice(0, 100)).not.toMatch(/^[=+\-@\t\r]/);
      }
      expect(rows.flat().some((c) => c.includes(FORMULA))).toBe(true);
    },
  );

  it("prefixes an estate string that starts a cell with a formula leader", () => {
    // Resource ids and scopes start cells; an observation written by hand (a snapshot) can carry
    // any id, so put the formula where a spreadsheet would run it.
    const observations = [
      {
        id: FORMULA,
        type: "Microsoft.Storage/storageAccounts",
        scope: "@SUM(1+1)*cmd|' /C calc'!A0",
        document: { name: "x", properties: { supportsHttpsTrafficOnly: "+1+1" } },
      },
      { id: "-2+3", type: "Microsoft.Storage/storageAccounts", scope: "\t=1", document: {} },
    ];
    const scan = scanObservations(loadCatalogue(), observations, {
      nowMs: Date.parse("2026-11-23T06:00:00Z"),
      vigilVersion: "test",
    });

    const rows = parseCsv(renderCsv(scan.findings));
    const cells = rows.flat();
    expect(cells).toContain(`'${FORMULA}`);
    expect(cells).toContain("'-2+3");
    expect(cells).toContain("'@SUM(1+1)*cmd|' /C calc'!A0");
    for (const cell of cells) expect(cell).not.toMatch(/^\s*[=+\-@]|^[\t\r]/);
  });

  it("neutralises formula leaders after leading whitespace or a quote as well", () => {
    for (const cell of ["=1+1", "+1", "-1", "@SUM(1)", "\t=1", "\r=1", " =1", "\u00a0=1", "\n=1"])
      expect(parseCsv(`${csvCell(cell)}\r\n`)[0]?.[0], JSON.stringify(cell)).toMatch(/^'/);
  });
});

describe("JSON outputs", () => {
  it.each([
    ["findings JSON", "/api/findings?format=json&limit=1000"],
    ["SARIF", "/api/findings?format=sarif&limit=1000"],
    ["OCSF", "/api/findings?format=ocsf&limit=1000"],
    ["evidence JSON", "/api/evidence/report?framework=all&format=json"],
    ["OSCAL", "/api/evidence/report?framework=all&format=oscal"],
  ])(
    "%s parses, keeps the hostile strings as data, and is well-formed UTF-8 text",
    async (_name, path) => {
      const response = await api(path);

      expect(response.status).toBe(200);
      expect(response.text.search(LONE_SURROGATE)).toBe(-1);
      // No raw control character: JSON escapes them.
      expect(response.text.search(RAW_C0)).toBe(-1);
      const values = stringsOf(JSON.parse(response.text)).join("\n");
      expect(values).toContain(SCRIPT);
      expect(values).toContain(ATTRIBUTE);
    },
  );
});

describe("notifications", () => {
  it("delivers a signed webhook whose JSON keeps the hostile strings as data", () => {
    const hooks = receiver.requests.filter((r) => r.url === "/hook");

    expect(hooks.length).toBeGreaterThan(0);
    for (const hook of hooks) {
      const body = hook.body.toString("utf8");
      expect(verifyWebhookSignature(SECRET, hook.headers, body).valid).toBe(true);
      expect(body.search(RAW_C0)).toBe(-1);
      expect(body.search(LONE_SURROGATE)).toBe(-1);
      JSON.parse(body);
    }
    const values = hooks.flatMap((h) => stringsOf(JSON.parse(h.body.toString("utf8")))).join("\n");
    // The namespace named `ns"'><svg onload=alert(5)>` is in a resource id, byte for byte.
    expect(values).toContain("ns\"'><svg onload=alert(5)>");
  });

  it("delivers a Teams card whose every text is plain, one line, and free of controls", () => {
    const cards = receiver.requests.filter((r) => r.url === "/teams");

    expect(cards.length).toBeGreaterThan(0);
    for (const card of cards) {
      const body = JSON.parse(card.body.toString("utf8")) as unknown;
      const texts = stringsOf(body);
      expect(texts.join("\n")).toMatch(/svg onload|script/);
      for (const text of texts) {
        expectSafeForTerminal(text, "a Teams text");
        expect(text.search(INVISIBLE), JSON.stringify(text)).toBe(-1);
        expect(text).not.toContain("{{");
        expect(text).not.toMatch(/\r|\n/);
      }
    }
  });
});

describe("terminal and logs", () => {
  it("prints a table with no raw control character, ANSI escape, bidi control or separator", async () => {
    const terminal = await terminalOutput();

    // 2: the hostile values make some high-severity findings `error` (fail closed).
    expect(terminal.code).toBe(2);
    expect(terminal.stdout).toContain("svg onload=alert(2)");
    expectSafeForTerminal(terminal.stdout.replaceAll("\n", " "), "the table");
    expectSafeForTerminal(terminal.stderr.replaceAll("\n", " "), "the progress lines");
  });

  it("makes terminalSafe drop every escape sequence and mark every invisible control", () => {
    const out = terminalSafe(
      "a\u001b[31mb\u001b]8;;http://x\u0007c\u202ed\u2028e\u200bf\ud800g\u009bh",
    );

    expectSafeForTerminal(out, "terminalSafe");
    expect(out).not.toContain("\u001b");
    expect(out.search(INVISIBLE)).toBe(-1);
    expect(out).toContain("a");
    expect(out).toContain("h");
  });

  it("logs nothing raw from the estate", () => {
    const logs = logLines.join("");

    expect(logs.length).toBeGreaterThan(0);
    expectSafeForTerminal(logs.replaceAll("\n", " "), "the log");
  });
});
