/**
 * `vigil report`: an evidence report for a framework and a period, built from the evidence
 * ledger in vigil's store, as HTML, PDF, CSV, JSON or OSCAL assessment-results.
 * Exit codes: 0 written; 2 a usage or input error, no Chromium for a PDF, or a store that cannot
 * be read.
 */
import { parseArgs } from "node:util";
import {
  buildEvidenceReport,
  CHROMIUM_CANDIDATES,
  type EvidenceStore,
  findChromium,
  loadCatalogue,
  loadConfig,
  openEvidenceStore,
  periodBoundary,
  renderEvidence,
  vigilVersion,
} from "../app/index.js";
import { type Catalogue, InputError, type Waiver } from "../core/index.js";
import {
  type EvidenceReportModel,
  REPORT_FRAMEWORKS,
  type ReportFramework,
  terminalSafe,
} from "../reports/index.js";
import { storeLocation, writeAtomically } from "./io.js";
import { type CliIo, UsageError } from "./main.js";

/** The formats `vigil report` writes. */
export const REPORT_FORMATS = ["html", "pdf", "csv", "json", "oscal"] as const;
type ReportFormat = (typeof REPORT_FORMATS)[number];

/** A --from/--to value as an ISO 8601 instant (a date alone means its start or its end). */
function boundary(text: string | undefined, flag: string, side: "start" | "end") {
  try {
    return periodBoundary(text, flag, side);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

export const REPORT_HELP = `Usage: vigil report --framework F [options]

Build an evidence report from the evidence ledger: requirement → controls → resources, each
with its latest status in the period and the evidence it rests on (observed values, time, run,
ledger record and its SHA-256, observation snapshot); an executive summary; the exceptions
(waivers); and the pass rate per family per day.

  --framework F     iso27001, soc2, nist80053, mcsb or all (required)
  --from ISO        leave out evaluations before this date-time (a date means its start)
  --to ISO          leave out evaluations after this date-time (a date means its end)
  --scope S         only findings whose scope is S or whose resource id starts with S
  --format F        html (default), pdf, csv, json or oscal (OSCAL 1.1.2 assessment-results)
  --out FILE        write the report to FILE (whole or not at all); default: standard output
                    (a PDF needs --out)
  --store-dir DIR   the local store (default .vigil); VIGIL_STORAGE_CONNECTION_STRING or
                    VIGIL_STORAGE_ACCOUNT_URL select an Azure Storage account instead
  --config FILE     list the config's waivers among the exceptions, also those that waived
                    nothing in the period
  --waivers FILE    a separate waiver file, as for scan

The PDF is printed from the HTML by headless Chromium: VIGIL_CHROMIUM_PATH, else
${CHROMIUM_CANDIDATES.join(", ")}.

Exit codes: 0 written; 2 a usage or input error, no Chromium for --format pdf, or a store that
cannot be read.
`;

/**
 * Run `vigil report ARGS` (the arguments after `report`); resolves to the exit code.
 * @throws UsageError for a bad flag or value; InputErrors or FileAccessError for a bad config
 *   (the caller's error handler prints these and exits 2).
 */
export async function reportCommand(argv: readonly string[], io: CliIo): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: [...argv],
      options: {
        framework: { type: "string" },
        from: { type: "string" },
        to: { type: "string" },
        scope: { type: "string" },
        format: { type: "string" },
        out: { type: "string" },
        "store-dir": { type: "string" },
        config: { type: "string" },
        waivers: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw new UsageError(
      (error as Error).message.replace(/\. To specify a positional argument.*$/s, ""),
    );
  }
  if (values.help === true) {
    io.stdout(REPORT_HELP);
    return 0;
  }
  const framework = values.framework as string | undefined;
  if (framework === undefined)
    throw new UsageError(`report needs --framework (${REPORT_FRAMEWORKS.join(", ")})`);
  if (!(REPORT_FRAMEWORKS as readonly string[]).includes(framework))
    throw new UsageError(`--framework must be one of ${REPORT_FRAMEWORKS.join(", ")}`);
  const format = ((values.format as string | undefined) ?? "html") as ReportFormat;
  if (!(REPORT_FORMATS as readonly string[]).includes(format))
    throw new UsageError(`--format must be one of ${REPORT_FORMATS.join(", ")}`);
  const from = boundary(values.from as string | undefined, "--from", "start");
  const to = boundary(values.to as string | undefined, "--to", "end");
  if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to))
    throw new UsageError(`--from (${values.from}) is after --to (${values.to})`);
  const out = values.out as string | undefined;
  if (format === "pdf" && out === undefined)
    throw new UsageError("--format pdf needs --out FILE (a PDF is not written to a terminal)");
  let chromium: string | undefined;
  if (format === "pdf") {
    chromium = findChromium(io.env ?? {});
    if (chromium === undefined) {
      io.stderr(
        `vigil report: --format pdf needs Chromium, and none was found (set VIGIL_CHROMIUM_PATH, or install it: apt-get install -y chromium). Looked for: ${CHROMIUM_CANDIDATES.join(", ")}. --format html gives the same report, printable from any browser.\n`,
      );
      return 2;
    }
  }

  const catalogue = loadCatalogue();
  const waivers = reportWaivers(
    catalogue,
    values.config as string | undefined,
    values.waivers as string | undefined,
    io,
  );

  let model: EvidenceReportModel;
  let store: EvidenceStore | undefined;
  try {
    store = await openEvidenceStore(storeLocation(values["store-dir"], io));
    model = await buildEvidenceReport(store, catalogue, {
      framework: framework as ReportFramework,
      ...(from !== undefined ? { from } : {}),
      ...(to !== undefined ? { to } : {}),
      ...(values.scope !== undefined ? { scope: values.scope as string } : {}),
      generatedAt: new Date(io.now()).toISOString(),
      waivers,
    });
  } catch (error) {
    if (error instanceof InputError) throw error;
    io.stderr(
      `vigil report: cannot read the evidence store: ${terminalSafe(error instanceof Error ? error.message : String(error))}\n`,
    );
    return 2;
  } finally {
    await store?.close();
  }

  let output: string | Uint8Array;
  try {
    output = await renderEvidence(model, format, {
      vigilVersion: vigilVersion(),
      ...(chromium !== undefined ? { chromium } : {}),
    });
  } catch (error) {
    io.stderr(
      `vigil report: Chromium (${chromium}) could not print the PDF: ${terminalSafe(error instanceof Error ? error.message : String(error))}\n`,
    );
    return 2;
  }

  const counts = model.summary.byStatus;
  const verified = model.ledger.verified
    ? "ledger verified"
    : `ledger NOT verified (${model.ledger.problems} problem(s): run vigil verify)`;
  if (out !== undefined) {
    writeAtomically(out, output);
    io.stderr(
      `vigil report: wrote ${format} to ${out}: ${model.summary.total} result(s) (${counts.fail} fail, ${counts.error} error, ${counts.waived} waived, ${counts.pass} pass) from ${model.ledger.recordsInPeriod} record(s); ${verified}\n`,
    );
  } else {
    // Only a PDF is bytes, and a PDF needs --out.
    io.stdout(output as string);
  }
  if (!model.ledger.verified && out === undefined) io.stderr(`vigil report: ${verified}\n`);
  return 0;
}

/**
 * The waivers a report lists among its exceptions: the config's and the waiver file's, each once.
 * @throws InputErrors or FileAccessError for a bad config or waiver file
 */
export function reportWaivers(
  catalogue: Catalogue,
  configPath: string | undefined,
  waiverPath: string | undefined,
  io: CliIo,
): Waiver[] {
  if (configPath === undefined && waiverPath === undefined) return [];
  const loaded = loadConfig(catalogue, configPath, waiverPath, { env: io.env ?? {} });
  const waivers = [...(loaded.config?.waivers ?? [])];
  for (const list of loaded.waivers?.byControl.values() ?? [])
    for (const { waiver } of list)
      if (!waivers.some((x) => x.id === waiver.id)) waivers.push(waiver);
  return waivers;
}
