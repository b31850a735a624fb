/**
 * `vigil export` and `vigil verify --pack` end to end: two recorded runs of the emulated demo
 * exported as a pack, which verifies from its bytes alone; a pack with one record byte changed,
 * or one byte of the zip changed, does not.
 */
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { unzipSync, zipSync } from "fflate";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CliIo } from "../../src/cli/main.js";
import { exportCommand, verifyPack } from "../../src/cli/pack.js";
import { recordName } from "../../src/core/index.js";
import { tempDir, vigil } from "../support/cli.js";

function bufferIo(): CliIo & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return {
    out,
    err,
    stdout: (text) => out.push(text),
    stderr: (text) => err.push(text),
    now: () => Date.parse("2026-11-23T12:00:00Z"),
    env: {},
  };
}

describe("vigil export and vigil verify --pack", () => {
  let dir: string;
  let pack: string;

  beforeAll(async () => {
    dir = tempDir("vigil-pack-");
    for (let i = 0; i < 2; i++) {
      const run = vigil([
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
      ]);
      expect(run.code, run.stderr).toBe(0);
    }
    pack = join(dir, "pack.zip");
    const io = bufferIo();
    const code = await exportCommand(["--store-dir", join(dir, "store"), "--out", pack], io);
    expect(code, io.err.join("")).toBe(0);
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it("exports both runs' records with the head of the chain", () => {
    const entries = unzipSync(readFileSync(pack));

    const records = Object.keys(entries).filter((p) => p.startsWith("ledger/"));
    expect(records).toHaveLength(12);
    expect(Object.keys(entries)).toContain("manifest.json");
    expect(Object.keys(entries).some((p) => p.startsWith("snapshots/"))).toBe(true);
  });

  it("carries the evidence report of the period, listed in the manifest", () => {
    const entries = unzipSync(readFileSync(pack));
    const manifest = JSON.parse(new TextDecoder().decode(entries["manifest.json"])) as {
      files: { path: string }[];
      head: { seq: number; hash: string };
    };
    const reports = Object.keys(entries).filter((p) => p.startsWith("reports/"));

    expect(reports).toEqual(
      expect.arrayContaining([
        "reports/evidence-all.html",
        "reports/evidence-all.json",
        "reports/evidence-all.csv",
        "reports/evidence-all.oscal.json",
      ]),
    );
    for (const report of reports) expect(manifest.files.map((f) => f.path)).toContain(report);
    const model = JSON.parse(new TextDecoder().decode(entries["reports/evidence-all.json"])) as {
      summary: { byStatus: { fail: number } };
      ledger: { head: { seq: number; hash: string } | null; verified: boolean };
    };
    expect(model.ledger.verified).toBe(true);
    expect(model.ledger.head).toMatchObject(manifest.head);
    expect(model.summary.byStatus.fail).toBeGreaterThan(0);
    expect(new TextDecoder().decode(entries["reports/evidence-all.html"])).toMatch(/<html/i);
  });

  it("reports a pack whose report was edited, naming the file", async () => {
    const entries = unzipSync(readFileSync(pack));
    const html = new TextDecoder().decode(entries["reports/evidence-all.html"]);
    entries["reports/evidence-all.html"] = new TextEncoder().encode(html.replace(/fail/i, "pass"));
    const tampered = join(dir, "tampered-report.zip");
    writeFileSync(tampered, zipSync(entries));
    const io = bufferIo();

    const code = await verifyPack(tampered, io);

    expect(code).toBe(1);
    expect(io.out.join("")).toMatch(/changed +reports\/evidence-all\.html/);
  });

  it("verifies the pack as intact, naming its head", async () => {
    const io = bufferIo();

    const code = await verifyPack(pack, io);

    expect(code).toBe(0);
    expect(io.out.join("")).toMatch(/^pack intact: .*12 record\(s\).*head #12 [0-9a-f]{64}/);
  });

  it("reports a pack whose record had one byte changed, naming the record", async () => {
    const entries = unzipSync(readFileSync(pack));
    const name = recordName(5);
    const bytes = entries[name]!.slice();
    const at = new TextDecoder().decode(bytes).indexOf('"status":"fail"') + '"status":"'.length;
    bytes[at] = "F".charCodeAt(0);
    entries[name] = bytes;
    const tampered = join(dir, "tampered-record.zip");
    writeFileSync(tampered, zipSync(entries));
    const io = bufferIo();

    const code = await verifyPack(tampered, io);

    expect(code).toBe(1);
    const out = io.out.join("");
    expect(out).toMatch(/^pack TAMPERED: /);
    expect(out).toMatch(/changed +#5 ledger\/000000000005\.json/);
  });

  it.each([
    ["in the first entry's header", (_zip: Uint8Array) => 10],
    ["in the middle", (zip: Uint8Array) => Math.floor(zip.length / 2)],
    ["in the central directory", (zip: Uint8Array) => zip.length - 40],
  ])("never calls a pack intact with one byte of the zip changed %s", async (_where, offset) => {
    const zip = new Uint8Array(readFileSync(pack));
    const at = offset(zip);
    zip[at] = (zip[at] as number) ^ 0x01;
    const changed = join(dir, `changed-${at}.zip`);
    writeFileSync(changed, zip);
    const io = bufferIo();

    const code = await verifyPack(changed, io);

    expect([1, 2]).toContain(code);
    expect(io.out.join("")).not.toMatch(/pack intact/);
  });

  it("exits 2 for a file that is not a pack", async () => {
    const notPack = join(dir, "not-a-pack.zip");
    writeFileSync(notPack, "hello");
    const io = bufferIo();

    const code = await verifyPack(notPack, io);

    expect(code).toBe(2);
    expect(io.err.join("")).toMatch(/unreadable: not a readable zip/);
  });

  it("reads a --to date as the end of that day, and the pack's report covers the pack's records", async () => {
    const today = new Date().toISOString().slice(0, 10);
    const dated = join(dir, "dated.zip");
    const io = bufferIo();

    const code = await exportCommand(
      ["--store-dir", join(dir, "store"), "--from", "2000-01-01", "--to", today, "--out", dated],
      io,
    );

    expect(code, io.err.join("")).toBe(0);
    const entries = unzipSync(readFileSync(dated));
    const records = Object.keys(entries).filter((p) => p.startsWith("ledger/"));
    const model = JSON.parse(new TextDecoder().decode(entries["reports/evidence-all.json"])) as {
      ledger: { recordsInPeriod: number };
      summary: { total: number };
    };
    expect(records).toHaveLength(12);
    expect(model.ledger.recordsInPeriod).toBe(12);
    expect(model.summary.total).toBeGreaterThan(100);
  });

  it("exits 2 when export is given no --out", async () => {
    const io = bufferIo();

    const code = await exportCommand(["--store-dir", join(dir, "store")], io);

    expect(code).toBe(2);
    expect(io.err.join("")).toMatch(/export needs --out FILE/);
  });
});
