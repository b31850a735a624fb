/**
 * The Teams message of a digest: the envelope a Teams Workflows webhook expects, holding one
 * Adaptive Card 1.4 (the highest version Teams Workflows render; no Action.Submit, which they
 * cannot answer). Strings from the estate (resource ids, reasons, and anything else the caller
 * passes) go only into RichTextBlock TextRuns, which Adaptive Cards render without Markdown, with
 * line breaks and control characters taken out; TextBlocks, which render Markdown, hold only
 * vigil's own words and numbers. The card is cut to fit a byte budget, saying how many entries it
 * leaves out.
 */

import type { Digest, DigestEntry, DigestKind, Severity } from "../core/index.js";
import { DIGEST_KIND_ORDER } from "./digest.js";

/** Adaptive Card schema version of the card (Teams Workflows accept at most 1.4). */
export const TEAMS_CARD_VERSION = "1.4";
/**
 * Default budget of the serialised message in UTF-8 bytes: Teams refuses messages above about
 * 28 KB, and the Workflow adds its own wrapping on the way.
 */
export const DEFAULT_TEAMS_PAYLOAD_SIZE_IN_BYTES = 24_000;
/** Default most entries a card lists, however small they are: a card is read, not searched. */
export const DEFAULT_TEAMS_MAX_ENTRIES = 30;

// Longest text, in code points, a card shows of each estate string; the rest becomes "…".
const MAX_TITLE = 160;
const MAX_CONTROL_ID = 120;
const MAX_RESOURCE_ID = 300;
const MAX_REASON = 300;
const MAX_RUN_FIELD = 120;
const MAX_REPORT_URL = 2048;
const MIN_PAYLOAD_SIZE_IN_BYTES = 4096;

/** A TextRun: plain text, never Markdown. */
export interface TextRun {
  type: "TextRun";
  text: string;
  weight?: "Bolder";
  color?: "Attention" | "Warning" | "Good" | "Accent";
  isSubtle?: true;
  size?: "Small";
  fontType?: "Monospace";
}

/** The card elements vigil uses. */
export type CardElement =
  | {
      type: "TextBlock";
      text: string;
      wrap: true;
      size?: "Medium";
      weight?: "Bolder";
      isSubtle?: true;
      separator?: true;
    }
  | { type: "RichTextBlock"; inlines: TextRun[]; separator?: true; spacing?: "None" };

/** An Adaptive Card as vigil writes it. */
export interface AdaptiveCard {
  $schema: string;
  type: "AdaptiveCard";
  version: typeof TEAMS_CARD_VERSION;
  msteams: { width: "Full" };
  body: CardElement[];
  actions?: { type: "Action.OpenUrl"; title: string; url: string }[];
}

/** The message a Teams Workflows "webhook request" trigger takes. */
export interface TeamsMessage {
  type: "message";
  attachments: [
    {
      contentType: "application/vnd.microsoft.card.adaptive";
      contentUrl: null;
      content: AdaptiveCard;
    },
  ];
}

/** Options of {@link buildTeamsMessage}. */
export interface BuildTeamsMessageOptions {
  /** An http(s) link to the run's report, shown as an "Open report" button. */
  reportUrl?: string;
  /** Most entries to list; default 30. */
  maxEntries?: number;
  /** Budget of the serialised message in UTF-8 bytes; default 24 000, at least 4 096. */
  maxPayloadSizeInBytes?: number;
}

const KIND_LABELS: Record<DigestKind, [singular: string, plural: string]> = {
  "new-failure": ["new failure", "new failures"],
  regression: ["regression", "regressions"],
  "error-started": ["new error", "new errors"],
  resolved: ["resolved", "resolved"],
  "error-cleared": ["error cleared", "errors cleared"],
};

const SEVERITY_COLORS: Record<Severity, TextRun["color"]> = {
  critical: "Attention",
  high: "Attention",
  medium: "Warning",
  low: undefined,
};

/**
 * Build the Teams message of a digest: a headline with the count of each kind, the run, then as
 * many entries (most severe first) as fit both `maxEntries` and the byte budget, then "… and K
 * more" when some were left out.
 * @throws RangeError for an option out of range, or a `reportUrl` that is not an http(s) URL
 */
export function buildTeamsMessage(
  digest: Digest,
  options: BuildTeamsMessageOptions = {},
): TeamsMessage {
  const maxEntries = options.maxEntries ?? DEFAULT_TEAMS_MAX_ENTRIES;
  if (!Number.isSafeInteger(maxEntries) || maxEntries < 0) {
    throw new RangeError(`maxEntries must be a whole number ≥ 0, got ${maxEntries}`);
  }
  const budget = options.maxPayloadSizeInBytes ?? DEFAULT_TEAMS_PAYLOAD_SIZE_IN_BYTES;
  if (!Number.isSafeInteger(budget) || budget < MIN_PAYLOAD_SIZE_IN_BYTES) {
    throw new RangeError(
      `maxPayloadSizeInBytes must be a whole number ≥ ${MIN_PAYLOAD_SIZE_IN_BYTES}, got ${budget}`,
    );
  }
  const reportUrl = options.reportUrl === undefined ? undefined : checkReportUrl(options.reportUrl);

  const header = headerElements(digest);
  const entries = digest.transitions;
  const candidates = entries.slice(0, maxEntries).map(entryElements);

  // Elements of a JSON array are joined by one comma, so the size of the message grows by exactly
  // the bytes of each added element plus a comma. The "and K more" line is measured at its
  // longest (every entry left out), so the sum never undershoots.
  let size = byteSize(message(header, [], moreElement(entries.length), reportUrl));
  let shown = 0;
  for (const elements of candidates) {
    const added = elements.reduce((sum, element) => sum + byteSize(element) + 1, 0);
    if (size + added > budget) break;
    size += added;
    shown++;
  }
  const result = message(
    header,
    candidates.slice(0, shown).flat(),
    shown < entries.length ? moreElement(entries.length - shown) : undefined,
    reportUrl,
  );
  // Cannot happen while the sum above is exact; checked so that a mistake fails loudly here
  // rather than as a card Teams refuses.
  if (byteSize(result) > budget) {
    throw new RangeError(`the Teams message is ${byteSize(result)} bytes, over ${budget}`);
  }
  return result;
}

/**
 * Make an estate string safe for a TextRun: line breaks, tabs and other separators become
 * spaces; control, bidirectional-override and zero-width characters are removed (they could make
 * one resource id look like another); `{{` is broken so that no date function is expanded; and
 * the text is cut to `maxLength` code points with "…".
 */
export function plainText(value: string, maxLength: number): string {
  const text = value
    .replace(/[\t\n\v\f\r\u0085\p{Zl}\p{Zp}]+/gu, " ")
    // Cc: C0, DEL and C1 controls; Cf: format characters (bidirectional overrides and isolates,
    // zero-width characters, the BOM); Cs: lone surrogates.
    .replace(/[\p{Cc}\p{Cf}\p{Cs}]/gu, "")
    .replace(/\{(?=\{)/g, "{\u00a0");
  const points = Array.from(text);
  return points.length <= maxLength ? text : `${points.slice(0, maxLength - 1).join("")}…`;
}

function message(
  header: CardElement[],
  entries: CardElement[],
  more: CardElement | undefined,
  reportUrl: string | undefined,
): TeamsMessage {
  const card: AdaptiveCard = {
    $schema: "http://adaptivecards.io/schemas/adaptive-card.json",
    type: "AdaptiveCard",
    version: TEAMS_CARD_VERSION,
    msteams: { width: "Full" },
    body: more === undefined ? [...header, ...entries] : [...header, ...entries, more],
  };
  if (reportUrl !== undefined) {
    card.actions = [{ type: "Action.OpenUrl", title: "Open report", url: reportUrl }];
  }
  return {
    type: "message",
    attachments: [
      { contentType: "application/vnd.microsoft.card.adaptive", contentUrl: null, content: card },
    ],
  };
}

/** Headline (vigil's words and numbers only) and the run line (caller strings, as TextRuns). */
function headerElements(digest: Digest): CardElement[] {
  const kinds = (Object.keys(digest.counts) as DigestKind[])
    .filter((kind) => (digest.counts[kind] ?? 0) > 0 && kind in KIND_LABELS)
    .sort((a, b) => DIGEST_KIND_ORDER[a] - DIGEST_KIND_ORDER[b]);
  const parts = kinds.map((kind) => {
    const count = digest.counts[kind] ?? 0;
    const [singular, plural] = KIND_LABELS[kind];
    return `${count} ${count === 1 ? singular : plural}`;
  });
  const headline = parts.length === 0 ? "vigil: no changes" : `vigil: ${parts.join(", ")}`;
  return [
    { type: "TextBlock", text: headline, wrap: true, size: "Medium", weight: "Bolder" },
    {
      type: "RichTextBlock",
      spacing: "None",
      inlines: [
        {
          type: "TextRun",
          text: `Run ${plainText(digest.runId, MAX_RUN_FIELD)} · ${plainText(digest.trigger, MAX_RUN_FIELD)} · ${plainText(digest.evaluatedAt, MAX_RUN_FIELD)}`,
          isSubtle: true,
          size: "Small",
        },
      ],
    },
  ];
}

/** One entry: severity, kind, control title and id; the resource; the reason. */
function entryElements(entry: DigestEntry): CardElement[] {
  const severity: TextRun = {
    type: "TextRun",
    text: entry.severity.toUpperCase(),
    weight: "Bolder",
  };
  const color = SEVERITY_COLORS[entry.severity];
  if (color !== undefined) severity.color = color;
  const elements: CardElement[] = [
    {
      type: "RichTextBlock",
      separator: true,
      inlines: [
        severity,
        { type: "TextRun", text: ` · ${KIND_LABELS[entry.kind][0]} · ` },
        { type: "TextRun", text: plainText(entry.title, MAX_TITLE), weight: "Bolder" },
        {
          type: "TextRun",
          text: ` (${plainText(entry.controlId, MAX_CONTROL_ID)})`,
          isSubtle: true,
        },
      ],
    },
    {
      type: "RichTextBlock",
      spacing: "None",
      inlines: [
        {
          type: "TextRun",
          text: `${plainText(entry.resourceId, MAX_RESOURCE_ID)}${entry.resourceDeleted ? " (deleted)" : ""}`,
          fontType: "Monospace",
          size: "Small",
        },
      ],
    },
  ];
  if (entry.reason !== undefined && entry.reason !== "") {
    elements.push({
      type: "RichTextBlock",
      spacing: "None",
      inlines: [
        {
          type: "TextRun",
          text: plainText(entry.reason, MAX_REASON),
          isSubtle: true,
          size: "Small",
        },
      ],
    });
  }
  return elements;
}

function moreElement(omitted: number): CardElement {
  return {
    type: "TextBlock",
    text: `… and ${omitted} more ${omitted === 1 ? "change" : "changes"} not shown`,
    wrap: true,
    isSubtle: true,
    separator: true,
  };
}

function checkReportUrl(url: string): string {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (error) {
    if (error instanceof TypeError) throw new RangeError("reportUrl is not an absolute URL");
    throw error;
  }
  if (parsed.protocol !== "https:" && parsed.protocol !== "http:") {
    throw new RangeError("reportUrl must be an http or https URL");
  }
  if (parsed.href.length > MAX_REPORT_URL) {
    throw new RangeError(`reportUrl is longer than ${MAX_REPORT_URL} characters`);
  }
  return parsed.href;
}

function byteSize(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value), "utf8");
}
