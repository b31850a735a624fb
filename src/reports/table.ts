/** Findings as a plain-text table for terminals, grouped by family, most severe first. */
import { FAMILIES, type Finding, type Summary, severityRank } from "../core/index.js";

const STATUS_ORDER = { fail: 0, error: 1, waived: 2, pass: 3, not_applicable: 4 } as const;

/** Bidi controls, zero-width characters and the BOM: invisible, yet they change what is read. */
const INVISIBLE = /^[\u061c\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff]$/;

/**
 * Make an estate string safe for a terminal: ANSI escape sequences are dropped, tabs, line breaks
 * and line/paragraph separators become spaces (a cell stays one line), other control characters,
 * bidi overrides and isolates, zero-width characters and lone surrogates become `?`.
 */
export function terminalSafe(text: string): string {
  let out = "";
  for (let i = 0; i < text.length; i += 1) {
    const code = text.charCodeAt(i);
    if (code === 0x1b && text[i + 1] === "[") {
      // A CSI sequence ends at its final byte, 0x40–0x7e.
      let j = i + 2;
      while (j < text.length && !(text.charCodeAt(j) >= 0x40 && text.charCodeAt(j) <= 0x7e)) j += 1;
      i = j;
    } else if (
      code === 0x09 ||
      code === 0x0a ||
      code === 0x0d ||
      code === 0x2028 ||
      code === 0x2029
    ) {
      out += " ";
    } else if (code < 0x20 || (code >= 0x7f && code <= 0x9f) || INVISIBLE.test(text[i] as string)) {
      out += "?";
    } else if (code >= 0xd800 && code <= 0xdbff) {
      // A surrogate pair stays whole; a high surrogate without its low half is not text.
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) {
        out += text.slice(i, i + 2);
        i += 1;
      } else out += "?";
    } else if (code >= 0xdc00 && code <= 0xdfff) {
      out += "?";
    } else {
      out += text[i];
    }
  }
  return out;
}

function pad(text: string, width: number): string {
  const chars = [...text];
  if (chars.length > width) return `${chars.slice(0, width - 1).join("")}…`;
  return text + " ".repeat(width - chars.length);
}

function shortResource(id: string): string {
  const parts = id.split("/").filter((p) => p !== "");
  if (id.startsWith("/subscriptions/") && parts.length >= 2) return parts.slice(-2).join("/");
  return id;
}

/** Options of the table renderer. */
export interface RenderTableOptions {
  /** Include passing and not-applicable findings. Default false: only fail, error and waived rows. */
  all?: boolean;
}

/** Render findings as a table, then the summary line. */
export function renderTable(
  findings: readonly Finding[],
  summary: Summary,
  options: RenderTableOptions = {},
): string {
  const rows = findings
    .filter(
      (f) =>
        options.all === true ||
        f.status === "fail" ||
        f.status === "error" ||
        f.status === "waived",
    )
    .sort(
      (a, b) =>
        FAMILIES.indexOf(a.family) - FAMILIES.indexOf(b.family) ||
        STATUS_ORDER[a.status] - STATUS_ORDER[b.status] ||
        severityRank(b.severity) - severityRank(a.severity) ||
        a.controlId.localeCompare(b.controlId) ||
        a.resourceId.localeCompare(b.resourceId),
    );
  const out: string[] = [];
  const header = `${pad("STATUS", 8)} ${pad("SEVERITY", 9)} ${pad("CONTROL", 46)} ${pad("RESOURCE", 40)} REASON`;
  let family = "";
  for (const f of rows) {
    if (f.family !== family) {
      family = f.family;
      out.push("", `== ${family} ==`, header);
    }
    out.push(
      `${pad(f.status.toUpperCase(), 8)} ${pad(f.severity, 9)} ${pad(f.controlId, 46)} ${pad(terminalSafe(shortResource(f.resourceId)), 40)} ${terminalSafe(f.reason)}`,
    );
  }
  if (rows.length === 0) out.push("", "No failing, error or waived findings.");
  const s = summary.byStatus;
  out.push(
    "",
    `${summary.total} findings: ${s.fail} fail, ${s.error} error, ${s.waived} waived, ${s.pass} pass, ${s.not_applicable} not applicable` +
      ` | failing by severity: ${summary.failingBySeverity.critical} critical, ${summary.failingBySeverity.high} high, ${summary.failingBySeverity.medium} medium, ${summary.failingBySeverity.low} low`,
  );
  const families = FAMILIES.map((fam) => {
    const c = summary.byFamily[fam];
    return c === undefined ? `${fam} -` : `${fam} ${c.fail}✗ ${c.error}? ${c.pass}✓`;
  });
  out.push(`by family: ${families.join(" · ")}`);
  return `${out.join("\n")}\n`;
}
