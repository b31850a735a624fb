import { describe, expect, it } from "vitest";
import {
  type EvidenceItem,
  type EvidenceReportModel,
  escapeHtml,
  REPORT_CSP,
  renderEvidenceHtml,
} from "../../../src/reports/index.js";

const SCRIPT = "<script>alert(1)</script>";
const ATTRIBUTE = '"><img src=x onerror=alert(1)>';
const CONTROL = "evil\u001b[31mred\u0007\u0085end";

function item(overrides: Partial<EvidenceItem> = {}): EvidenceItem {
  return {
    controlId: "storage-account-https-only-tls12",
    controlTitle: "Storage accounts accept only HTTPS with TLS 1.2 or later",
    family: "backup-encryption",
    severity: "high",
    resourceId: "/subscriptions/s1/providers/Microsoft.Storage/storageAccounts/st1",
    resourceType: "Microsoft.Storage/storageAccounts",
    status: "fail",
    reason: "properties.minimumTlsVersion is TLS1_0",
    observed: [
      {
        field: "properties.minimumTlsVersion",
        observed: "TLS1_0",
        operator: "notEquals",
        expected: "TLS1_2",
        result: true,
      },
    ],
    evaluatedAt: "2026-11-01T06:00:00.000Z",
    runId: "run-1",
    target: "subscription s1",
    record: { name: "ledger/000000000001.json", seq: 1, hash: "c".repeat(64) },
    snapshotHash: "d".repeat(64),
    frameworks: { iso27001: ["A.8.24"] },
    ...overrides,
  };
}

function model(items: EvidenceItem[]): EvidenceReportModel {
  const byStatus = { pass: 0, fail: 0, error: 0, waived: 0, not_applicable: 0 };
  for (const i of items) byStatus[i.status] += 1;
  return {
    title: "Compliance evidence report",
    framework: "iso27001",
    frameworks: ["iso27001"],
    period: { from: null, to: null },
    observedPeriod: { first: "2026-11-01T06:00:00Z", last: "2026-11-01T06:00:00Z" },
    scope: null,
    generatedAt: "2026-11-02T00:00:00.000Z",
    ledger: {
      head: { seq: 1, hash: "c".repeat(64) },
      verified: true,
      problems: 0,
      records: 1,
      recordsInPeriod: 1,
      runIds: ["run-1"],
    },
    summary: {
      total: items.length,
      byStatus,
      bySeverity: {
        critical: { fail: 0, error: 0, total: 0 },
        high: { fail: byStatus.fail, error: 0, total: items.length },
        medium: { fail: 0, error: 0, total: 0 },
        low: { fail: 0, error: 0, total: 0 },
      },
      passRateByFamily: [
        { family: "backup-encryption", pass: 0, fail: items.length, error: 0, waived: 0, rate: 0 },
      ],
      failingCriticalHigh: items,
    },
    requirements: [
      {
        framework: "iso27001",
        requirement: "A.8.24",
        status: "fail",
        controls: [
          {
            controlId: "storage-account-https-only-tls12",
            title: "Storage accounts accept only HTTPS with TLS 1.2 or later",
            family: "backup-encryption",
            severity: "high",
            status: "fail",
            resources: items,
          },
        ],
      },
    ],
    items,
    exceptions: [
      {
        waiverId: "WVR-1",
        controlId: "storage-account-https-only-tls12",
        resourceIds: [ATTRIBUTE],
        approver: SCRIPT,
        expires: "2027-01-01T00:00:00Z",
        justification: CONTROL,
        statusWithoutWaiver: ["fail"],
        expired: false,
      },
    ],
    trend: {
      families: ["backup-encryption"],
      days: [
        { day: "2026-11-01", rates: { "backup-encryption": 0 } },
        { day: "2026-11-02", rates: { "backup-encryption": 0.5 } },
      ],
    },
  };
}

describe("escapeHtml", () => {
  it.each([
    ["<script>", "&lt;script&gt;"],
    ['a"b', "a&quot;b"],
    ["a'b", "a&#39;b"],
    ["a&b", "a&amp;b"],
    ["a`b", "a&#96;b"],
    ["\u001b[31m", "\\x1B[31m"],
    ["\u0085", "\\x85"],
    ["tab\tand\nline", "tab\tand\nline"],
  ])("escapes %j as %j", (input, output) => {
    expect(escapeHtml(input)).toBe(output);
  });
});

describe("renderEvidenceHtml", () => {
  const hostile = item({
    resourceId: `/subscriptions/s1/${SCRIPT}/${ATTRIBUTE}`,
    reason: `${ATTRIBUTE} ${SCRIPT} ${CONTROL}`,
    controlTitle: SCRIPT,
    runId: ATTRIBUTE,
    observed: [
      {
        field: SCRIPT,
        observed: ATTRIBUTE,
        operator: "equals",
        expected: CONTROL,
        result: true,
      },
    ],
  });

  it("shows estate strings only escaped: no tag, attribute or control character gets through", () => {
    const html = renderEvidenceHtml(model([hostile]));

    expect(html).not.toContain(SCRIPT);
    expect(html).not.toContain("<img");
    expect(html).not.toContain(ATTRIBUTE);
    const controls = [...html].filter((ch) => {
      const code = ch.codePointAt(0) as number;
      return (
        (code < 0x20 && ch !== "\t" && ch !== "\n" && ch !== "\r") || (code >= 0x7f && code <= 0x9f)
      );
    });
    expect(controls).toEqual([]);
    expect(html).toContain("&lt;script&gt;alert(1)&lt;/script&gt;");
    expect(html).toContain("&quot;&gt;&lt;img src=x onerror=alert(1)&gt;");
    expect(html).toContain("evil\\x1B[31mred\\x07\\x85end");
    expect(html).not.toMatch(/<script/i);
    // Every `<` left in the document opens a real tag: none of them carries an event handler.
    expect(html).not.toMatch(/<[^>]*\son\w+\s*=/i);
  });

  it("is one self-contained file: a strict CSP and no external URL", () => {
    const html = renderEvidenceHtml(model([item()]));

    expect(html).toContain(
      `<meta http-equiv="Content-Security-Policy" content="${escapeHtml(REPORT_CSP)}">`,
    );
    expect(REPORT_CSP).toBe("default-src 'none'; style-src 'unsafe-inline'; img-src data:");
    // The SVG namespace is an identifier, not a fetched URL; nothing else may name a scheme.
    const urls = html.match(/\b(?:https?|ftp|wss?):\/\/[^\s"'<>]+/g) ?? [];
    expect(urls.filter((u) => u !== "http://www.w3.org/2000/svg")).toEqual([]);
    expect(html).not.toMatch(/<link\b|@import|url\(|<[^>]*\b(?:src|href)="(?!#)/i);
  });

  it("shows each item's evidence: ledger record, its hash, the snapshot and the observed values", () => {
    const html = renderEvidenceHtml(model([item()]));

    expect(html).toContain("ledger/000000000001.json");
    expect(html).toContain("c".repeat(64));
    expect(html).toContain("d".repeat(64));
    expect(html).toContain("properties.minimumTlsVersion");
    expect(html).toContain("&quot;TLS1_0&quot;");
  });

  it("draws the trend as inline SVG and prints each requirement on its own page", () => {
    const html = renderEvidenceHtml(model([item()]));

    expect(html).toMatch(/<svg [^>]*role="img"/);
    expect(html).toContain("<polyline");
    expect(html).toMatch(/@media print \{[\s\S]*\.requirement \{ break-before: page;/);
  });
});
