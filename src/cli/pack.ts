import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { parseArgs } from "node:util";
import {
  evidencePack,
  FileAccessError,
  loadCatalogue,
  openEvidenceStore,
  PackExportError,
  PackFormatError,
  periodBoundary,
  verifyPackBytes,
  vigilVersion,
} from "../app/index.js";
import { InputError } from "../core/index.js";
import { terminalSafe } from "../reports/index.js";
import { storeLocation, writeAtomically } from "./io.js";
import type { CliIo } from "./main.js";
import { reportWaivers } from "./report.js";

/** Help for `vigil export`. */
export const EXPORT_HELP = `Usage: vigil export --out FILE [--from ISO] [--to ISO] [--store-dir DIR]

Write an evidence pack: a zip with the ledger records of the period (and the chain back to
record 1, so it verifies from its start), the snapshots they reference, the evidence report for
every framework over the period (reports/evidence-all.html, .json, .csv, .oscal.json, and .pdf
when Chromium is installed) and manifest.json, which lists every file's SHA-256 and the chain
head. Without --from/--to the whole history is packed.
A record belongs to the period when it was recorded at or after --from and at or before --to.
The store's ledger is verified first; a store that does not verify is not exported.

Check a pack anywhere with: vigil verify --pack FILE

Options:
  --out FILE       where to write the zip (written whole or not at all)
  --from ISO       start of the period (ISO 8601)
  --to ISO         end of the period (ISO 8601)
  --store-dir DIR  the local store (default .vigil; VIGIL_STORAGE_* settings take precedence)
  --config FILE    list the config's waivers among the reports' exceptions
  --waivers FILE   a separate waiver file, as for scan

Exit codes: 0 written, 1 the store's ledger does not verify, 2 usage error or unreadable store.
`;

/**
 * `vigil export ARGS` (the arguments after `export`); resolves to the exit code. Never throws for
 * expected failures: usage errors, an unreadable store and a tampered store are reported on
 * stderr.
 */
export async function exportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        out: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        "store-dir": { type: "string" },
        config: { type: "string" },
        waivers: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    return usage(
      io,
      (error as Error).message.replace(/\. To specify a positional argument.*$/s, ""),
    );
  }
  if (values.help === true) {
    io.stdout(EXPORT_HELP);
    return 0;
  }
  const out = values.out;
  if (typeof out !== "string" || out === "") return usage(io, "export needs --out FILE");

  let zip: Uint8Array;
  try {
    const catalogue = loadCatalogue();
    const waivers = reportWaivers(
      catalogue,
      values.config as string | undefined,
      values.waivers as string | undefined,
      io,
    );
    const store = await openEvidenceStore(storeLocation(values["store-dir"], io));
    try {
      const result = await evidencePack(store, catalogue, {
        // A date alone means its start (--from) or its end (--to), as for vigil report.
        ...(typeof values.from === "string"
          ? { from: periodBoundary(values.from, "--from", "start") as string }
          : {}),
        ...(typeof values.to === "string"
          ? { to: periodBoundary(values.to, "--to", "end") as string }
          : {}),
        generatedAt: new Date(io.now()).toISOString(),
        vigilVersion: vigilVersion(),
        waivers,
        env: io.env ?? {},
      });
      zip = result.zip;
      if (!result.withPdf)
        io.stderr(
          "vigil export: no Chromium found (VIGIL_CHROMIUM_PATH): the pack carries the report as HTML, JSON, CSV and OSCAL, without a PDF\n",
        );
    } finally {
      await store.close();
    }
  } catch (error) {
    if (error instanceof InputError) return usage(io, error.message);
    if (error instanceof FileAccessError) {
      io.stderr(`vigil export: ${terminalSafe(error.message)}\n`);
      return 2;
    }
    if (error instanceof PackExportError) {
      io.stderr(`vigil export: ${terminalSafe(error.message)}\n`);
      return error.reason === "tampered" ? 1 : 2;
    }
    io.stderr(`vigil export: cannot read the evidence store: ${terminalSafe(messageOf(error))}\n`);
    return 2;
  }
  try {
    writeAtomically(out, zip);
  } catch (error) {
    if (!(error instanceof FileAccessError)) throw error;
    io.stderr(`vigil export: ${terminalSafe(error.message)}\n`);
    return 2;
  }
  const manifest = verifyPackBytes(zip).manifest;
  const count = (prefix: string) => manifest.files.filter((f) => f.path.startsWith(prefix)).length;
  io.stdout(
    `vigil export: wrote ${out}: records ${manifest.period.firstSeq}–${manifest.period.lastSeq} of the period (pack holds 1–${manifest.period.lastSeq}), ${count("snapshots/")} snapshot(s), ${count("reports/")} report file(s), head #${manifest.head.seq} ${manifest.head.hash}\n`,
  );
  return 0;
}

/** Options of {@link verifyPack}. */
export interface VerifyPackOptions {
  /** `text` (default) or `json` (the whole verification). */
  format?: "text" | "json";
}

/**
 * `vigil verify --pack FILE`: check a pack from its bytes alone and print `pack intact …` or
 * `pack TAMPERED: …` with one line per problem naming the file (and record seq). Resolves to 0
 * intact, 1 tampered, 2 unreadable (no such file, not a zip, no readable manifest).
 */
export async function verifyPack(
  path: string,
  io: CliIo,
  options: VerifyPackOptions = {},
): Promise<number> {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(resolve(path));
  } catch (error) {
    io.stderr(
      `vigil verify: cannot read pack ${terminalSafe(path)}: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}\n`,
    );
    return 2;
  }
  let result: ReturnType<typeof verifyPackBytes>;
  try {
    result = verifyPackBytes(bytes);
  } catch (error) {
    if (!(error instanceof PackFormatError)) throw error;
    io.stderr(
      `vigil verify: pack ${terminalSafe(path)} is unreadable: ${terminalSafe(error.message)}\n`,
    );
    return 2;
  }
  if (options.format === "json") {
    io.stdout(`${JSON.stringify(result, null, 2)}\n`);
    return result.ok ? 0 : 1;
  }
  const { manifest } = result;
  const period =
    manifest.period.from === null && manifest.period.to === null
      ? "the whole history"
      : `${manifest.period.from ?? "the start"} to ${manifest.period.to ?? "the end"}`;
  if (result.ok) {
    io.stdout(
      `pack intact: ${manifest.files.length} file(s), ${result.ledger.records} record(s), ${result.ledger.snapshots} snapshot(s); period ${terminalSafe(period)} = records #${manifest.period.firstSeq}–#${manifest.period.lastSeq}; head #${manifest.head.seq} ${manifest.head.hash}\n` +
        "  compare the head with the store's ('vigil verify') or a head kept elsewhere: the manifest is not signed\n",
    );
    return 0;
  }
  const lines = result.problems.map(
    (p) =>
      `  ${p.kind.padEnd(17)} ${p.seq !== undefined ? `#${p.seq} ` : ""}${terminalSafe(p.path)}: ${terminalSafe(p.message)}`,
  );
  io.stdout(`pack TAMPERED: ${result.problems.length} problem(s):\n${lines.join("\n")}\n`);
  return 1;
}

function usage(io: CliIo, message: string): number {
  io.stderr(`vigil export: ${terminalSafe(message)}\nRun 'vigil export --help' for usage.\n`);
  return 2;
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
