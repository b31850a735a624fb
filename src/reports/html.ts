/**
 * The evidence report as one self-contained HTML file (inline CSS and SVG, no external URL, a
 * Content-Security-Policy that forbids scripts and remote loads), and as PDF printed from that
 * HTML by headless Chromium.
 */
import {
  type Framework,
  SEVERITIES,
  STATUSES,
  type Status,
  sha256Hex,
  type TraceEntry,
} from "../core/index.js";
import {
  boundedJson,
  type EvidenceItem,
  type EvidenceReportModel,
  FRAMEWORK_NAMES,
  type RequirementControl,
} from "./evidence-report.js";

/** The Content-Security-Policy the report carries: nothing loads, nothing runs. */
export const REPORT_CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

/** Bidi controls, zero-width characters, the BOM, line/paragraph separators, lone surrogates. */
const INVISIBLE = /^(?:[\u061c\u200b-\u200f\u2028-\u202e\u2060-\u2069\ufeff]|\p{Cs})$/u;

/**
 * Escape text for HTML element content and quoted attribute values: `& < > " '` and the backtick
 * become character references; control characters (C0 except tab and line breaks, DEL, C1), which
 * an estate string may carry to confuse a reader, become a visible `\xNN`; and invisible format
 * characters that could make one value read as another (bidi overrides and isolates, zero-width
 * characters, the BOM, line and paragraph separators) and lone surrogates become a visible
 * `\uNNNN`.
 */
export function escapeHtml(text: string): string {
  let out = "";
  for (const ch of text) {
    const code = ch.codePointAt(0) as number;
    switch (ch) {
      case "&":
        out += "&amp;";
        break;
      case "<":
        out += "&lt;";
        break;
      case ">":
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case "'":
        out += "&#39;";
        break;
      case "`":
        out += "&#96;";
        break;
      default:
        if (
          (code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) ||
          (code >= 0x7f && code <= 0x9f)
        ) {
          out += `\\x${code.toString(16).toUpperCase().padStart(2, "0")}`;
        } else if (INVISIBLE.test(ch)) {
          out += `\\u${code.toString(16).toUpperCase().padStart(4, "0")}`;
        } else {
          out += ch;
        }
    }
  }
  return out;
}

const e = escapeHtml;

const STATUS_LABEL: Record<Status, string> = {
  pass: "PASS",
  fail: "FAIL",
  error: "ERROR",
  waived: "WAIVED",
  not_applicable: "N/A",
};

/** Line styles that stay distinct in black and white: a dash pattern and a marker per family. */
const SERIES: { color: string; dash: string; marker: "circle" | "square" | "triangle" }[] = [
  { color: "#1f4e79", dash: "", marker: "circle" },
  { color: "#a33c1a", dash: "6 3", marker: "square" },
  { color: "#2e7d32", dash: "2 3", marker: "triangle" },
  { color: "#6a1b9a", dash: "10 3 2 3", marker: "circle" },
  { color: "#8d6e00", dash: "1 2", marker: "square" },
  { color: "#00695c", dash: "8 2 8 2 2 2", marker: "triangle" },
  { color: "#444444", dash: "4 1", marker: "circle" },
];

const CSS = `
:root { color-scheme: light; }
* { box-sizing: border-box; }
body { font: 13px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Liberation Sans", Arial, sans-serif; color: #111; margin: 0; padding: 24px 32px; background: #fff; }
h1 { font-size: 22px; margin: 0 0 4px; }
h2 { font-size: 17px; margin: 28px 0 8px; border-bottom: 2px solid #222; padding-bottom: 3px; }
h3 { font-size: 15px; margin: 18px 0 6px; }
h4 { font-size: 13px; margin: 12px 0 4px; }
table { border-collapse: collapse; width: 100%; margin: 6px 0 12px; }
th, td { border: 1px solid #999; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #eee; }
td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
.meta { color: #333; margin: 0 0 12px; }
.meta dt { font-weight: 600; display: inline; }
.meta dd { display: inline; margin: 0 16px 0 4px; }
.mono, code { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Consolas, monospace; font-size: 11px; }
.hash { font-family: ui-monospace, "DejaVu Sans Mono", "Liberation Mono", Consolas, monospace; font-size: 10.5px; word-break: break-all; }
.rid { word-break: break-all; }
.badge { display: inline-block; min-width: 52px; text-align: center; font-weight: 700; font-size: 11px; padding: 0 4px; border: 1.5px solid #111; border-radius: 3px; }
.s-pass { background: #e3f2e5; border-style: solid; }
.s-fail { background: #fbe2df; border-width: 2.5px; }
.s-error { background: #fff1cc; border-style: dashed; }
.s-waived { background: #e8eaf6; border-style: dotted; }
.s-not_applicable, .s-none { background: #f3f3f3; color: #444; border-color: #888; }
.ok { font-weight: 700; }
.bad { font-weight: 700; text-decoration: underline; }
.evidence { margin: 4px 0 10px 0; }
.evidence td { font-size: 11.5px; }
.trace { margin: 2px 0 0; }
.trace td, .trace th { font-size: 11px; padding: 1px 4px; }
.requirement { border-top: 1px solid #bbb; margin-top: 18px; }
.control { margin-left: 8px; }
.note { color: #444; font-style: italic; }
.chart { max-width: 760px; }
.chart text { font: 10px system-ui, Arial, sans-serif; fill: #111; }
@media print {
  @page { size: A4; margin: 14mm 12mm; }
  body { padding: 0; font-size: 11px; }
  h2 { break-after: avoid; }
  .requirement { break-before: page; border-top: none; margin-top: 0; }
  table, .evidence { break-inside: auto; }
  tr, .trace { break-inside: avoid; }
  th { background: #ddd !important; -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  .badge { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
`;

/**
 * Render the report as one HTML document. Every string from the estate, the findings or the
 * ledger is escaped; the page has no script, loads nothing (CSP `default-src 'none'`), and its
 * only link targets are fragments within itself.
 */
export function renderEvidenceHtml(model: EvidenceReportModel): string {
  const parts: string[] = [];
  parts.push(
    "<!DOCTYPE html>",
    '<html lang="en">',
    "<head>",
    '<meta charset="utf-8">',
    `<meta http-equiv="Content-Security-Policy" content="${e(REPORT_CSP)}">`,
    '<meta name="referrer" content="no-referrer">',
    '<meta name="viewport" content="width=device-width, initial-scale=1">',
    `<title>${e(model.title)}</title>`,
    `<style>${CSS}</style>`,
    "</head>",
    "<body>",
  );
  parts.push(header(model));
  parts.push(summarySection(model));
  parts.push(trendSection(model));
  parts.push(exceptionsSection(model));
  parts.push(requirementsSection(model));
  parts.push("</body>", "</html>");
  return `${parts.join("\n")}\n`;
}

function header(model: EvidenceReportModel): string {
  const period = `${model.period.from ?? "start of the ledger"} to ${model.period.to ?? "latest record"}`;
  const ledger = model.ledger;
  const verified = ledger.verified
    ? '<span class="ok">verified: chain intact</span>'
    : `<span class="bad">NOT verified: ${ledger.problems} problem(s); run vigil verify</span>`;
  return [
    `<header id="top">`,
    `<h1>${e(model.title)}</h1>`,
    `<dl class="meta">`,
    `<dt>Frameworks</dt><dd>${e(model.frameworks.map((f) => FRAMEWORK_NAMES[f]).join(", "))}</dd>`,
    `<dt>Period</dt><dd>${e(period)}</dd>`,
    model.observedPeriod === null
      ? ""
      : `<dt>Evaluations</dt><dd>${e(model.observedPeriod.first)} to ${e(model.observedPeriod.last)}</dd>`,
    `<dt>Scope</dt><dd>${e(model.scope ?? "all")}</dd>`,
    `<dt>Generated</dt><dd>${e(model.generatedAt)}</dd>`,
    `</dl>`,
    `<dl class="meta">`,
    `<dt>Evidence ledger</dt><dd>${ledger.recordsInPeriod} of ${ledger.records} record(s) in the period, ${ledger.runIds.length} run(s); ${verified}</dd>`,
    `<dt>Chain head</dt><dd>${ledger.head === null ? "empty" : `#${ledger.head.seq} <span class="hash" data-field="head">${e(ledger.head.hash)}</span>`}</dd>`,
    `</dl>`,
    `</header>`,
  ].join("\n");
}

function badge(status: Status | null): string {
  const cls = status === null ? "s-none" : `s-${status}`;
  const label = status === null ? "NO EVIDENCE" : STATUS_LABEL[status];
  return `<span class="badge ${cls}">${label}</span>`;
}

function percent(rate: number | null): string {
  return rate === null ? "n/a" : `${(rate * 100).toFixed(1)}%`;
}

function summarySection(model: EvidenceReportModel): string {
  const s = model.summary;
  const statusRows = STATUSES.map(
    (status) =>
      `<tr><td>${badge(status)}</td><td class="num" data-status="${status}">${s.byStatus[status]}</td></tr>`,
  ).join("\n");
  const severityRows = SEVERITIES.map((severity) => {
    const c = s.bySeverity[severity];
    return `<tr><td>${severity}</td><td class="num">${c.fail}</td><td class="num">${c.error}</td><td class="num">${c.total}</td></tr>`;
  }).join("\n");
  const familyRows = s.passRateByFamily
    .map(
      (f) =>
        `<tr><td>${e(f.family)}</td><td class="num">${percent(f.rate)}</td><td class="num">${f.pass}</td><td class="num">${f.fail}</td><td class="num">${f.error}</td><td class="num">${f.waived}</td></tr>`,
    )
    .join("\n");
  const critical =
    s.failingCriticalHigh.length === 0
      ? '<p class="note">No critical or high severity control is failing or in error.</p>'
      : `<table><thead><tr><th>Status</th><th>Severity</th><th>Control</th><th>Resource</th><th>Reason</th><th>Evidence</th></tr></thead><tbody>
${s.failingCriticalHigh
  .map(
    (i) =>
      `<tr><td>${badge(i.status)}</td><td>${e(i.severity)}</td><td><code>${e(i.controlId)}</code></td><td class="rid">${e(i.resourceId)}</td><td>${e(i.reason)}</td><td><a href="#${itemAnchor(i)}">${e(i.record.name)}</a></td></tr>`,
  )
  .join("\n")}
</tbody></table>`;
  return `<section id="summary">
<h2>Executive summary</h2>
<p>${s.total} control-resource result(s) in scope: <strong>${s.byStatus.fail} failing</strong>, ${s.byStatus.error} in error (could not be evaluated), ${s.byStatus.waived} waived, ${s.byStatus.pass} passing, ${s.byStatus.not_applicable} not applicable.</p>
<h3>Results by status</h3>
<table class="counts" style="width:auto"><thead><tr><th>Status</th><th class="num">Count</th></tr></thead><tbody>
${statusRows}
</tbody></table>
<h3>Failing and in error by severity</h3>
<table style="width:auto"><thead><tr><th>Severity</th><th class="num">Failing</th><th class="num">Error</th><th class="num">Total</th></tr></thead><tbody>
${severityRows}
</tbody></table>
<h3>Pass rate per family</h3>
<p class="note">Pass rate = pass / (pass + fail + error); waived and not-applicable results are left out.</p>
<table style="width:auto"><thead><tr><th>Family</th><th class="num">Pass rate</th><th class="num">Pass</th><th class="num">Fail</th><th class="num">Error</th><th class="num">Waived</th></tr></thead><tbody>
${familyRows}
</tbody></table>
<h3>Failing critical and high severity controls</h3>
${critical}
</section>`;
}

function marker(kind: string, x: number, y: number, color: string): string {
  const p = (n: number) => n.toFixed(1);
  if (kind === "square")
    return `<rect x="${p(x - 3)}" y="${p(y - 3)}" width="6" height="6" fill="${color}"/>`;
  if (kind === "triangle")
    return `<polygon points="${p(x)},${p(y - 4)} ${p(x - 4)},${p(y + 3)} ${p(x + 4)},${p(y + 3)}" fill="${color}"/>`;
  return `<circle cx="${p(x)}" cy="${p(y)}" r="3.2" fill="${color}"/>`;
}

/** The trend as an inline SVG line chart (no script, no external resource) and a table. */
function trendSection(model: EvidenceReportModel): string {
  const { families, days } = model.trend;
  if (days.length === 0)
    return `<section id="trend"><h2>Trend</h2><p class="note">No evaluations in the period.</p></section>`;
  const width = 760;
  const height = 280;
  const left = 44;
  const right = 150;
  const top = 14;
  const bottom = 40;
  const plotW = width - left - right;
  const plotH = height - top - bottom;
  const x = (i: number) => left + (days.length === 1 ? plotW / 2 : (i * plotW) / (days.length - 1));
  const y = (rate: number) => top + (1 - rate) * plotH;
  const out: string[] = [];
  out.push(
    `<svg class="chart" role="img" aria-label="Pass rate per family per day" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" xmlns="http://www.w3.org/2000/svg">`,
  );
  for (const tick of [0, 0.25, 0.5, 0.75, 1]) {
    const ty = y(tick).toFixed(1);
    out.push(
      `<line x1="${left}" y1="${ty}" x2="${left + plotW}" y2="${ty}" stroke="#bbb" stroke-width="0.6"/>`,
      `<text x="${left - 6}" y="${ty}" text-anchor="end" dominant-baseline="middle">${tick * 100}%</text>`,
    );
  }
  const labelEvery = Math.max(1, Math.ceil(days.length / 10));
  days.forEach((d, i) => {
    if (i % labelEvery !== 0 && i !== days.length - 1) return;
    out.push(
      `<text x="${x(i).toFixed(1)}" y="${top + plotH + 16}" text-anchor="middle">${e(d.day)}</text>`,
    );
  });
  out.push(
    `<rect x="${left}" y="${top}" width="${plotW}" height="${plotH}" fill="none" stroke="#333" stroke-width="0.8"/>`,
  );
  families.forEach((family, n) => {
    const style = SERIES[n % SERIES.length] as (typeof SERIES)[number];
    const points = days.flatMap((d, i) => {
      const rate = d.rates[family];
      return rate === undefined || rate === null ? [] : [{ x: x(i), y: y(rate) }];
    });
    if (points.length > 1)
      out.push(
        `<polyline fill="none" stroke="${style.color}" stroke-width="1.8"${style.dash === "" ? "" : ` stroke-dasharray="${style.dash}"`} points="${points.map((p) => `${p.x.toFixed(1)},${p.y.toFixed(1)}`).join(" ")}"/>`,
      );
    for (const p of points) out.push(marker(style.marker, p.x, p.y, style.color));
    const ly = top + 10 + n * 18;
    const lx = left + plotW + 14;
    out.push(
      `<line x1="${lx}" y1="${ly}" x2="${lx + 22}" y2="${ly}" stroke="${style.color}" stroke-width="1.8"${style.dash === "" ? "" : ` stroke-dasharray="${style.dash}"`}/>`,
      marker(style.marker, lx + 11, ly, style.color),
      `<text x="${lx + 28}" y="${ly}" dominant-baseline="middle">${e(family)}</text>`,
    );
  });
  out.push("</svg>");
  const table = `<table style="width:auto"><thead><tr><th>Day</th>${families.map((f) => `<th class="num">${e(f)}</th>`).join("")}</tr></thead><tbody>
${days.map((d) => `<tr><td>${e(d.day)}</td>${families.map((f) => `<td class="num">${percent(d.rates[f] ?? null)}</td>`).join("")}</tr>`).join("\n")}
</tbody></table>`;
  return `<section id="trend">
<h2>Trend: pass rate per family per day</h2>
${out.join("\n")}
${table}
</section>`;
}

function exceptionsSection(model: EvidenceReportModel): string {
  if (model.exceptions.length === 0)
    return `<section id="exceptions"><h2>Exceptions (waivers)</h2><p class="note">No waiver applied in the period.</p></section>`;
  const rows = model.exceptions
    .map(
      (x) =>
        `<tr><td><code>${e(x.waiverId)}</code>${x.ticket === undefined ? "" : `<br>${e(x.ticket)}`}</td><td><code>${e(x.controlId)}</code></td><td class="rid">${x.resourceIds.length === 0 ? '<span class="note">waived nothing in the period</span>' : x.resourceIds.map(e).join("<br>")}</td><td>${e(x.approver)}</td><td>${e(x.expires)}${x.expired ? ' <span class="bad">EXPIRED</span>' : ""}</td><td>${e(x.statusWithoutWaiver.join(", "))}</td><td>${e(x.justification)}</td></tr>`,
    )
    .join("\n");
  return `<section id="exceptions">
<h2>Exceptions (waivers)</h2>
<table><thead><tr><th>Waiver</th><th>Control</th><th>Resources</th><th>Approver</th><th>Expires</th><th>Status without waiver</th><th>Justification</th></tr></thead><tbody>
${rows}
</tbody></table>
</section>`;
}

/** A stable fragment id for an item's first evidence block: derived from its hash, never from estate text. */
function itemAnchor(item: EvidenceItem): string {
  return `ev-${sha256Hex(`${item.controlId}\u0000${item.resourceId}`).slice(0, 16)}`;
}

function show(value: unknown): string {
  if (value === undefined) return "";
  return boundedJson(value);
}

function traceTable(trace: readonly TraceEntry[]): string {
  const deciding = trace.filter((t) => t.within === undefined);
  if (deciding.length === 0) return '<p class="note trace">No values were read (see reason).</p>';
  return `<table class="trace"><thead><tr><th>Field read</th><th>Observed</th><th>Operator</th><th>Expected (non-compliant when true)</th><th>Held</th></tr></thead><tbody>
${deciding
  .map(
    (t) =>
      `<tr><td class="mono rid">${e(t.field ?? t.value ?? "")}</td><td class="mono rid">${t.missing === true ? "(missing)" : e(show(t.observed))}</td><td class="mono">${t.negated === true ? "not " : ""}${e(t.operator)}</td><td class="mono rid">${e(show(t.expected))}</td><td>${e(String(t.result))}${t.note === undefined ? "" : ` (${e(t.note)})`}</td></tr>`,
  )
  .join("\n")}
</tbody></table>`;
}

function evidenceBlock(item: EvidenceItem, anchored: Set<string>): string {
  const anchor = itemAnchor(item);
  const id = anchored.has(anchor) ? "" : ` id="${anchor}"`;
  anchored.add(anchor);
  const waiver =
    item.waiver === undefined
      ? ""
      : `<tr><th>Waiver</th><td><code>${e(item.waiver.id)}</code> approved by ${e(item.waiver.approver)}, expires ${e(item.waiver.expires)}; status without waiver: ${e(item.waiver.statusWithoutWaiver)}</td></tr>`;
  return `<div class="evidence"${id}>
<table>
<tr><th style="width:150px">Status</th><td>${badge(item.status)} <span class="rid">${e(item.resourceId)}</span></td></tr>
<tr><th>Reason</th><td>${e(item.reason)}</td></tr>
<tr><th>Evaluated</th><td>${e(item.evaluatedAt)}, run <code>${e(item.runId)}</code>, target ${e(item.target)}</td></tr>
<tr><th>Ledger record</th><td><code>${e(item.record.name)}</code> (#${item.record.seq}) SHA-256 <span class="hash" data-field="record-hash">${e(item.record.hash)}</span></td></tr>
<tr><th>Observation snapshot</th><td>${item.snapshotHash === null ? '<span class="note">none recorded</span>' : `SHA-256 <span class="hash" data-field="snapshot-hash">${e(item.snapshotHash)}</span>`}</td></tr>
${waiver}
</table>
${traceTable(item.observed)}
</div>`;
}

function controlBlock(control: RequirementControl, anchored: Set<string>): string {
  const shown = control.resources.filter((r) => r.status !== "not_applicable");
  const notApplicable = control.resources.length - shown.length;
  const head = `<h4>${badge(control.status)} <code>${e(control.controlId)}</code> ${e(control.title)}${control.severity === null ? "" : ` (${e(control.severity)}, ${e(control.family ?? "")})`}</h4>`;
  if (control.resources.length === 0)
    return `<div class="control">${head}<p class="note">No evidence in the period: the control did not run on any resource in scope.</p></div>`;
  return `<div class="control">${head}
${shown.map((r) => evidenceBlock(r, anchored)).join("\n")}
${notApplicable > 0 ? `<p class="note">${notApplicable} resource(s) not applicable.</p>` : ""}
</div>`;
}

function requirementsSection(model: EvidenceReportModel): string {
  const anchored = new Set<string>();
  const out: string[] = ['<section id="requirements">', "<h2>Requirements and evidence</h2>"];
  let framework: Framework | undefined;
  for (const section of model.requirements) {
    if (section.framework !== framework) {
      framework = section.framework;
      out.push(`<h2 class="framework">${e(FRAMEWORK_NAMES[framework])} (${e(framework)})</h2>`);
    }
    out.push(
      `<section class="requirement">`,
      `<h3>${badge(section.status)} ${e(framework)} ${e(section.requirement)}</h3>`,
      ...section.controls.map((c) => controlBlock(c, anchored)),
      "</section>",
    );
  }
  if (model.requirements.length === 0)
    out.push('<p class="note">No requirement has evidence in the period.</p>');
  out.push("</section>");
  return out.join("\n");
}

/** The Chromium flags TOOLCHAIN.md gives for headless rendering in containers and CI. */
export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--disable-dev-shm-usage",
];

/** Options of {@link renderPdf}. */
export interface RenderPdfOptions {
  /** The Chromium (or Chrome) executable. */
  executablePath: string;
  timeoutInMs?: number;
}

/**
 * Print the report's HTML to an A4 PDF with headless Chromium (through playwright-core, loaded
 * only when a PDF is asked for). Every request the page would make is aborted, so printing
 * cannot reach the network even if the HTML were changed to ask.
 * @throws Error when Chromium cannot be launched or the page cannot be printed.
 */
export async function renderPdf(html: string, options: RenderPdfOptions): Promise<Uint8Array> {
  const { chromium } = await import("playwright-core");
  const browser = await chromium.launch({
    executablePath: options.executablePath,
    args: CHROMIUM_ARGS,
    timeout: options.timeoutInMs ?? 30_000,
  });
  try {
    const page = await browser.newPage();
    await page.route("**/*", (route) => route.abort());
    await page.setContent(html, { waitUntil: "load", timeout: options.timeoutInMs ?? 30_000 });
    const pdf = await page.pdf({
      format: "A4",
      printBackground: true,
      preferCSSPageSize: true,
      displayHeaderFooter: true,
      headerTemplate: "<span></span>",
      footerTemplate:
        '<div style="font-size:8px;width:100%;text-align:center"><span class="pageNumber"></span> / <span class="totalPages"></span></div>',
      margin: { top: "14mm", bottom: "16mm", left: "12mm", right: "12mm" },
    });
    return new Uint8Array(pdf);
  } finally {
    await browser.close();
  }
}
