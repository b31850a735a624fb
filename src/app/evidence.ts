/**
 * Evidence for auditors, shared by `vigil report`/`export`/`verify` and the evidence API: the
 * report of a framework over a period in one format, and the pack that carries the period's
 * records, snapshots and the report in every format.
 */

import { existsSync } from "node:fs";
import {
  type Catalogue,
  InputError,
  type LedgerVerification,
  parseInstant,
  type Waiver,
} from "../core/index.js";
import {
  EVIDENCE_CONTENT_TYPES,
  EVIDENCE_FORMATS,
  type EvidenceFormat,
  type EvidenceStore,
  renderEvidence,
} from "./deps.js";
import { exportPack, PackExportError } from "./pack.js";
import { buildEvidenceReport } from "./report.js";

/** Where vigil looks for Chromium when VIGIL_CHROMIUM_PATH is not set. */
export const CHROMIUM_CANDIDATES = [
  "/usr/bin/chromium",
  "/usr/bin/chromium-browser",
  "/usr/bin/google-chrome-stable",
  "/usr/bin/google-chrome",
];

/** The frameworks a report covers. */
export const EVIDENCE_FRAMEWORKS = ["iso27001", "soc2", "nist80053", "mcsb", "all"] as const;
export type EvidenceFramework = (typeof EVIDENCE_FRAMEWORKS)[number];

/** The Chromium to print with: VIGIL_CHROMIUM_PATH when it exists, else the first candidate found. */
export function findChromium(
  env: Readonly<Record<string, string | undefined>>,
): string | undefined {
  const configured = env.VIGIL_CHROMIUM_PATH;
  if (configured !== undefined && configured !== "")
    return existsSync(configured) ? configured : undefined;
  return CHROMIUM_CANDIDATES.find((path) => existsSync(path));
}

/** A report request. */
export interface EvidenceReportQuery {
  framework: EvidenceFramework;
  format: EvidenceFormat;
  /** ISO 8601 instants. */
  from?: string;
  to?: string;
  scope?: string;
}

const DATE_ONLY = /^\d{4}-\d{2}-\d{2}$/;

/**
 * A --from/--to (or `from`/`to` parameter) value as an ISO 8601 instant; a date alone means its
 * start (from) or its end (to).
 * @throws InputError naming the parameter
 */
export function periodBoundary(
  text: string | undefined,
  name: string,
  side: "start" | "end",
): string | undefined {
  if (text === undefined) return undefined;
  const ms = parseInstant(text);
  if (ms === undefined)
    throw new InputError(`${name} must be an ISO 8601 date-time, got '${text}'`, { pointer: name });
  return new Date(DATE_ONLY.test(text) && side === "end" ? ms + 86_399_999 : ms).toISOString();
}

/**
 * Parse the evidence report API's query: framework (default all), format (default html), from,
 * to, scope.
 * @throws InputError naming the parameter that is wrong
 */
export function parseEvidenceReportQuery(params: URLSearchParams): EvidenceReportQuery {
  for (const key of params.keys())
    if (!["framework", "format", "from", "to", "scope"].includes(key))
      throw new InputError(`unknown query parameter ${key}`, { pointer: key });
  const framework = params.get("framework") ?? "all";
  if (!(EVIDENCE_FRAMEWORKS as readonly string[]).includes(framework))
    throw new InputError(`framework must be one of ${EVIDENCE_FRAMEWORKS.join(", ")}`, {
      pointer: "framework",
    });
  const format = params.get("format") ?? "html";
  if (!(EVIDENCE_FORMATS as readonly string[]).includes(format))
    throw new InputError(`format must be one of ${EVIDENCE_FORMATS.join(", ")}`, {
      pointer: "format",
    });
  const query: EvidenceReportQuery = {
    framework: framework as EvidenceFramework,
    format: format as EvidenceFormat,
    ...parsePeriod(params),
  };
  const scope = params.get("scope");
  if (scope !== null && scope !== "") query.scope = scope;
  return query;
}

/**
 * `from` and `to` of a query, checked and ordered.
 * @throws InputError naming the parameter that is wrong
 */
export function parsePeriod(params: URLSearchParams): { from?: string; to?: string } {
  const from = periodBoundary(params.get("from") ?? undefined, "from", "start");
  const to = periodBoundary(params.get("to") ?? undefined, "to", "end");
  if (from !== undefined && to !== undefined && Date.parse(from) > Date.parse(to))
    throw new InputError("from is after to", { pointer: "from" });
  return { ...(from !== undefined ? { from } : {}), ...(to !== undefined ? { to } : {}) };
}

/** A rendered evidence report. */
export interface RenderedEvidence {
  body: string | Uint8Array;
  contentType: string;
  /** A file name for downloads: `vigil-evidence-<framework>.<ext>`. */
  fileName: string;
  ledgerVerified: boolean;
}

/**
 * Build and render one evidence report.
 * @throws InputError when a PDF is asked for and no Chromium is installed; StoreError when the
 *   store cannot be read
 */
export async function evidenceReport(
  store: EvidenceStore,
  catalogue: Catalogue,
  query: EvidenceReportQuery,
  options: {
    generatedAt: string;
    vigilVersion: string;
    waivers?: readonly Waiver[];
    env?: Readonly<Record<string, string | undefined>>;
  },
): Promise<RenderedEvidence> {
  const chromium = query.format === "pdf" ? findChromium(options.env ?? {}) : undefined;
  if (query.format === "pdf" && chromium === undefined)
    throw new InputError(
      "a PDF needs Chromium, which this host does not have: ask for format=html and print it",
      { pointer: "format", code: "NoChromium" },
    );
  const model = await buildEvidenceReport(store, catalogue, {
    framework: query.framework,
    ...(query.from !== undefined ? { from: query.from } : {}),
    ...(query.to !== undefined ? { to: query.to } : {}),
    ...(query.scope !== undefined ? { scope: query.scope } : {}),
    generatedAt: options.generatedAt,
    waivers: options.waivers ?? [],
  });
  const body = await renderEvidence(model, query.format, {
    vigilVersion: options.vigilVersion,
    ...(chromium !== undefined ? { chromium } : {}),
  });
  const extension = query.format === "oscal" ? "oscal.json" : query.format;
  return {
    body,
    contentType: EVIDENCE_CONTENT_TYPES[query.format],
    fileName: `vigil-evidence-${query.framework}.${extension}`,
    ledgerVerified: model.ledger.verified,
  };
}

/** The report renderings a pack carries (`reports/evidence-all.<ext>`); PDF when Chromium is there. */
const PACK_REPORT_FORMATS: readonly { format: EvidenceFormat; extension: string }[] = [
  { format: "html", extension: "html" },
  { format: "json", extension: "json" },
  { format: "csv", extension: "csv" },
  { format: "oscal", extension: "oscal.json" },
  { format: "pdf", extension: "pdf" },
];

/**
 * The evidence pack of a period (the whole history without one): records, snapshots, the report
 * for every framework in every format (PDF only with Chromium) and the manifest.
 * @throws PackExportError when the store's ledger does not verify or holds nothing;
 *   StoreError when it cannot be read
 */
export async function evidencePack(
  store: EvidenceStore,
  catalogue: Catalogue,
  options: {
    from?: string;
    to?: string;
    generatedAt: string;
    vigilVersion: string;
    waivers?: readonly Waiver[];
    env?: Readonly<Record<string, string | undefined>>;
  },
): Promise<{ zip: Uint8Array; withPdf: boolean }> {
  const period = {
    ...(options.from !== undefined ? { from: options.from } : {}),
    ...(options.to !== undefined ? { to: options.to } : {}),
  };
  // An empty ledger is answered before any report is rendered (a PDF takes seconds).
  let any = false;
  for await (const _ of store.listRecords()) {
    any = true;
    break;
  }
  if (!any) throw new PackExportError("empty", "the evidence ledger holds no record yet");
  const model = await buildEvidenceReport(store, catalogue, {
    framework: "all",
    ...period,
    // The pack takes the records written in the period; its report covers those same records.
    periodBy: "recordedAt",
    generatedAt: options.generatedAt,
    waivers: options.waivers ?? [],
  });
  const chromium = findChromium(options.env ?? {});
  const reports: { name: string; content: string | Uint8Array }[] = [];
  for (const { format, extension } of PACK_REPORT_FORMATS) {
    if (format === "pdf" && chromium === undefined) continue;
    reports.push({
      name: `evidence-all.${extension}`,
      content: await renderEvidence(model, format, {
        vigilVersion: options.vigilVersion,
        ...(chromium !== undefined ? { chromium } : {}),
      }),
    });
  }
  const zip = await exportPack(store, {
    ...period,
    generatedAt: options.generatedAt,
    vigilVersion: options.vigilVersion,
    reports,
  });
  return { zip, withPdf: chromium !== undefined };
}

/** The store's ledger check, for the evidence API (the same as `vigil verify`). */
export async function verifyEvidence(store: EvidenceStore): Promise<LedgerVerification> {
  return store.verify();
}
