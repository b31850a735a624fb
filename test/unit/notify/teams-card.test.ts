/** buildTeamsMessage and plainText: the Teams envelope, its Adaptive Card, its size and escaping. */

import { describe, expect, it } from "vitest";
import type { Digest, DigestEntry, Severity } from "../../../src/core/index.js";
import { buildTeamsMessage, plainText, type TeamsMessage } from "../../../src/notify/index.js";

function entry(overrides: Partial<DigestEntry> = {}): DigestEntry {
  return {
    kind: "new-failure",
    scope: "sub-1",
    controlId: "postgresql-geo-redundant-backup-enabled",
    title: "PostgreSQL flexible server backups are geo-redundant",
    resourceId:
      "/subscriptions/0000/resourceGroups/erp/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-erp",
    severity: "high",
    from: null,
    to: "fail",
    reason: "properties.backup.geoRedundantBackup is Disabled, expected Enabled",
    ...overrides,
  };
}

function digestOf(transitions: DigestEntry[]): Digest {
  const counts: Digest["counts"] = {};
  for (const t of transitions) counts[t.kind] = (counts[t.kind] ?? 0) + 1;
  return {
    id: "d".repeat(64),
    runId: "run-1",
    trigger: "timer",
    evaluatedAt: "2026-11-23T06:00:00Z",
    transitions,
    counts,
  };
}

const SEVERITIES: Severity[] = ["critical", "high", "medium", "low"];

function manyEntries(count: number, resourceId: (i: number) => string): DigestEntry[] {
  return Array.from({ length: count }, (_, i) =>
    entry({
      severity: SEVERITIES[Math.min(3, Math.floor((i * 4) / count))] ?? "low",
      controlId: `control-${String(i).padStart(4, "0")}`,
      resourceId: resourceId(i),
      reason: `observed value ${"x".repeat(200)} ${i}`,
    }),
  );
}

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** Every object in the message, depth first. */
function objects(value: Json, out: { [key: string]: Json }[] = []): { [key: string]: Json }[] {
  if (Array.isArray(value)) {
    for (const item of value) objects(item, out);
  } else if (typeof value === "object" && value !== null) {
    out.push(value);
    for (const item of Object.values(value)) objects(item, out);
  }
  return out;
}

function nodes(message: TeamsMessage): { [key: string]: Json }[] {
  return objects(JSON.parse(JSON.stringify(message)) as Json);
}

/** Texts Teams renders as Markdown: TextBlock text and FactSet titles and values. */
function markdownTexts(message: TeamsMessage): string[] {
  const texts: string[] = [];
  for (const node of nodes(message)) {
    if (node.type === "TextBlock" && typeof node.text === "string") texts.push(node.text);
    if (node.type === "FactSet") texts.push(JSON.stringify(node.facts));
  }
  return texts;
}

function textRuns(message: TeamsMessage): string[] {
  return nodes(message)
    .filter((node) => node.type === "TextRun")
    .map((node) => String(node.text));
}

function bytes(message: TeamsMessage): number {
  return Buffer.byteLength(JSON.stringify(message), "utf8");
}

/** Entries shown: each starts with the separated severity line. */
function shownEntries(message: TeamsMessage): number {
  return message.attachments[0].content.body.filter(
    (element) => element.type === "RichTextBlock" && element.separator === true,
  ).length;
}

describe("buildTeamsMessage", () => {
  it("wraps one Adaptive Card 1.4 in the Teams message envelope", () => {
    const message = buildTeamsMessage(digestOf([entry()]));

    expect(message).toMatchObject({
      type: "message",
      attachments: [
        {
          contentType: "application/vnd.microsoft.card.adaptive",
          contentUrl: null,
          content: { type: "AdaptiveCard", version: "1.4" },
        },
      ],
    });
    expect(message.attachments).toHaveLength(1);
  });

  it("heads the card with the count of each kind, most pressing first", () => {
    const message = buildTeamsMessage(
      digestOf([
        entry({ kind: "resolved", from: "fail", to: "pass", resourceId: "r1" }),
        entry({ kind: "resolved", from: "fail", to: "pass", resourceId: "r2" }),
        entry({ kind: "new-failure", resourceId: "r3" }),
        entry({ kind: "error-started", to: "error", resourceId: "r4" }),
      ]),
    );

    expect(message.attachments[0].content.body[0]).toMatchObject({
      type: "TextBlock",
      text: "vigil: 1 new failure, 1 new error, 2 resolved",
    });
  });

  it("lists severity, kind, control title and id, resource and reason of an entry", () => {
    const message = buildTeamsMessage(digestOf([entry({ severity: "critical" })]));

    expect(textRuns(message)).toEqual([
      "Run run-1 · timer · 2026-11-23T06:00:00Z",
      "CRITICAL",
      " · new failure · ",
      "PostgreSQL flexible server backups are geo-redundant",
      " (postgresql-geo-redundant-backup-enabled)",
      "/subscriptions/0000/resourceGroups/erp/providers/Microsoft.DBforPostgreSQL/flexibleServers/pg-erp",
      "properties.backup.geoRedundantBackup is Disabled, expected Enabled",
    ]);
  });

  it("marks a deleted resource and shows no reason for it", () => {
    const deleted = entry({ kind: "resolved", to: "not_applicable", resourceDeleted: true });
    delete deleted.reason;

    const runs = textRuns(buildTeamsMessage(digestOf([deleted])));

    expect(runs.at(-1)).toBe(`${deleted.resourceId} (deleted)`);
  });

  it("has no Action.Submit and no element beyond TextBlock, RichTextBlock and Action.OpenUrl", () => {
    const message = buildTeamsMessage(digestOf(manyEntries(50, (i) => `r${i}`)), {
      reportUrl: "https://vigil.example/reports/run-1",
    });

    const types = new Set(
      nodes(message)
        .filter((node) => "type" in node)
        .map((node) => node.type),
    );

    expect(JSON.stringify(message)).not.toContain("Action.Submit");
    expect([...types].sort()).toEqual([
      "Action.OpenUrl",
      "AdaptiveCard",
      "RichTextBlock",
      "TextBlock",
      "TextRun",
      "message",
    ]);
  });

  it("adds an Open report button only when a report URL is given", () => {
    const without = buildTeamsMessage(digestOf([entry()]));
    const withUrl = buildTeamsMessage(digestOf([entry()]), {
      reportUrl: "https://vigil.example/reports/run-1",
    });

    expect(without.attachments[0].content.actions).toBeUndefined();
    expect(withUrl.attachments[0].content.actions).toEqual([
      { type: "Action.OpenUrl", title: "Open report", url: "https://vigil.example/reports/run-1" },
    ]);
  });

  it.each([
    ["a javascript: URL", "javascript:alert(1)"],
    ["a relative URL", "reports/run-1"],
    ["a URL over 2,048 characters", `https://vigil.example/${"a".repeat(2100)}`],
  ])("refuses %s as the report URL", (_case, reportUrl) => {
    expect(() => buildTeamsMessage(digestOf([entry()]), { reportUrl })).toThrow(RangeError);
  });

  it("stays under 24 KB with 2,000 entries and says how many it leaves out", () => {
    const digest = digestOf(
      manyEntries(2000, (i) => `/subscriptions/${"0".repeat(36)}/resourceGroups/rg-${i}/x/${i}`),
    );

    const message = buildTeamsMessage(digest, { maxEntries: 2000 });

    const shown = shownEntries(message);
    expect(bytes(message)).toBeLessThanOrEqual(24_000);
    expect(bytes(message)).toBeGreaterThan(20_000);
    expect(shown).toBeGreaterThan(10);
    expect(message.attachments[0].content.body.at(-1)).toMatchObject({
      type: "TextBlock",
      text: `… and ${2000 - shown} more changes not shown`,
    });
  });

  it("stays under the budget when every string is long and multi-byte", () => {
    const wide = "漢字🔥".repeat(200);
    const digest = digestOf(
      manyEntries(2000, (i) => `${wide}${i}`).map((e) => ({ ...e, title: wide, reason: wide })),
    );

    const message = buildTeamsMessage(
      { ...digest, runId: wide, trigger: wide },
      { maxEntries: 2000, maxPayloadSizeInBytes: 8_000 },
    );

    expect(bytes(message)).toBeLessThanOrEqual(8_000);
    expect(shownEntries(message)).toBeGreaterThan(0);
  });

  it("shows the first entries of the digest, which are the most severe", () => {
    const digest = digestOf(manyEntries(2000, (i) => `r${i}`));

    const runs = textRuns(buildTeamsMessage(digest));

    expect(runs[1]).toBe("CRITICAL");
    expect(runs).not.toContain("LOW");
  });

  it("lists at most maxEntries entries", () => {
    const message = buildTeamsMessage(digestOf(manyEntries(10, (i) => `r${i}`)), {
      maxEntries: 3,
    });

    expect(shownEntries(message)).toBe(3);
    expect(message.attachments[0].content.body.at(-1)).toMatchObject({
      text: "… and 7 more changes not shown",
    });
  });

  it("adds no 'more' line when every entry is shown", () => {
    const message = buildTeamsMessage(digestOf(manyEntries(3, (i) => `r${i}`)));

    expect(markdownTexts(message).some((text) => text.includes("more"))).toBe(false);
  });

  const HOSTILE = [
    "[click](http://evil.example)",
    "<script>alert(1)</script>",
    "**bold** _italic_",
    "line1\nline2\r\n- item\r1. numbered\n# header",
    "\u0000bell\u0007 esc\u001b[31m del\u007f c1\u0085\u009b",
    "\u202Egnp.exe \u2066iso\u2069 zw\u200Bsp\uFEFF",
    "{{DATE(2017-02-14T06:00:00Z, SHORT)}}",
  ].join(" ");

  it("puts hostile estate strings only in TextRuns, never in text rendered as Markdown", () => {
    const hostile = entry({
      resourceId: HOSTILE,
      reason: HOSTILE,
      title: HOSTILE,
      controlId: HOSTILE,
      scope: HOSTILE,
    });
    const digest = { ...digestOf([hostile]), runId: HOSTILE, trigger: HOSTILE };

    const message = buildTeamsMessage(digest, { reportUrl: "https://vigil.example/r" });

    for (const text of markdownTexts(message)) {
      expect(text).toMatch(/^[\w :,.…]*$/u);
    }
    for (const text of textRuns(message)) {
      expect(text).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
      expect(text).not.toContain("{{");
    }
  });

  it("shows a hostile resource id as literal text, flattened to one line", () => {
    const message = buildTeamsMessage(digestOf([entry({ resourceId: HOSTILE })]));

    expect(textRuns(message)).toContain(
      "[click](http://evil.example) <script>alert(1)</script> **bold** _italic_ line1 line2 - item 1. numbered # header bell esc[31m del c1  gnp.exe iso zwsp {\u00a0{DATE(2017-02-14T06:00:00Z, SHORT)}}",
    );
  });

  it.each([
    ["maxEntries", { maxEntries: -1 }],
    ["maxPayloadSizeInBytes", { maxPayloadSizeInBytes: 1000 }],
  ])("refuses %s out of range", (_name, options) => {
    expect(() => buildTeamsMessage(digestOf([entry()]), options)).toThrow(RangeError);
  });
});

describe("plainText", () => {
  it.each([
    ["a\nb\r\nc\td", "a b c d"],
    ["a\u2028b\u2029c", "a b c"],
    ["x\u0000\u001b\u007f\u009by", "xy"],
    ["\u202Eabc\u202C", "abc"],
    ["{{{{", "{\u00a0{\u00a0{\u00a0{"],
    ["[a](b) **c**", "[a](b) **c**"],
  ])("turns %j into %j", (input, expected) => {
    expect(plainText(input, 100)).toBe(expected);
  });

  it("cuts at maxLength code points without splitting a surrogate pair", () => {
    expect(plainText("🔥🔥🔥🔥", 3)).toBe("🔥🔥…");
  });
});
