/**
 * Findings as SARIF 2.1.0 for GitHub code scanning and other SARIF consumers. Live-estate
 * findings have no source file, and GitHub rejects results without a physical location, so each
 * resource gets a stable synthetic repo-relative URI plus its id as a logical location.
 */
import { createHash } from "node:crypto";
import type { Control, Finding, Severity } from "../core/index.js";
import { boundedTrace } from "./evidence-report.js";

const LEVEL: Record<Severity, "error" | "warning" | "note"> = {
  critical: "error",
  high: "error",
  medium: "warning",
  low: "note",
};

/** GitHub maps security-severity > 9 to critical, 7–8.9 high, 4–6.9 medium, below low. */
const SECURITY_SEVERITY: Record<Severity, string> = {
  critical: "9.5",
  high: "8.0",
  medium: "5.5",
  low: "3.0",
};

const MAX_TAGS = 20;

function segment(text: string): string {
  const cleaned = text.replace(/[^A-Za-z0-9._-]+/g, "_").replace(/^\.+/, "_");
  return cleaned === "" ? "_" : cleaned.slice(0, 100);
}

/**
 * A stable repo-relative path standing for a resource: `azure/<subscription>/<group>/<type>/<name>`,
 * `kubernetes/<cluster>/<namespace>/<group>/<kind>/<name>`, `tls/<host>/<port>`, and so on.
 */
export function syntheticUri(resourceId: string): string {
  let parts: string[];
  if (resourceId.startsWith("/subscriptions/")) {
    // Drop the fixed words of an ARM id (subscriptions, resourceGroups, providers), keep the rest.
    const fixed = new Set(["subscriptions", "resourcegroups", "providers"]);
    parts = [
      "azure",
      ...resourceId.split("/").filter((p) => p !== "" && !fixed.has(p.toLowerCase())),
    ];
  } else {
    const m = /^([a-z0-9]+):\/\/(.*)$/i.exec(resourceId);
    const scheme = m?.[1]?.toLowerCase();
    const rest = (m?.[2] ?? resourceId).split(/[/:]/).filter((p) => p !== "");
    const root =
      scheme === "k8s"
        ? "kubernetes"
        : scheme === "graph"
          ? "entra"
          : scheme === "drill"
            ? "drills"
            : (scheme ?? "resources");
    parts = [root, ...rest];
  }
  return parts.map(segment).join("/");
}

/** A stable fingerprint of (control, resource), so alerts do not duplicate between uploads. */
export function findingFingerprint(controlId: string, resourceId: string): string {
  return createHash("sha256").update(`${controlId}\n${resourceId.toLowerCase()}`).digest("hex");
}

function ruleFor(control: Control) {
  const tags = [
    "security",
    "compliance",
    control.family,
    ...control.frameworks.iso27001.map((c) => `iso27001:${c}`),
    ...control.frameworks.nist80053.map((c) => `nist80053:${c}`),
  ];
  return {
    id: control.id,
    name: control.id.replace(/(^|-)([a-z0-9])/g, (_m, _d, ch: string) => ch.toUpperCase()),
    shortDescription: { text: control.title },
    fullDescription: { text: control.description },
    help: {
      text: `${control.rationale}\n\nRemediation: ${control.remediation}`,
      markdown: `${control.rationale}\n\n**Remediation:** ${control.remediation}`,
    },
    ...(control.references[0] !== undefined ? { helpUri: control.references[0].url } : {}),
    defaultConfiguration: { level: LEVEL[control.severity] },
    properties: {
      "security-severity": SECURITY_SEVERITY[control.severity],
      tags: tags.slice(0, MAX_TAGS),
      precision: "very-high",
      family: control.family,
      frameworks: control.frameworks,
    },
  };
}

/** Options of the SARIF renderer. */
export interface RenderSarifOptions {
  vigilVersion: string;
  /** The controls the scan ran; every one becomes a rule. */
  controls: readonly Control[];
  /** `automationDetails.id` category, e.g. the scope; default `vigil/scan/`. */
  category?: string;
  completedAt?: string;
}

/**
 * Render failing, error and waived findings as a SARIF 2.1.0 log (passing findings are not
 * results). Waived findings carry an accepted external suppression with the waiver's justification.
 */
export function renderSarif(findings: readonly Finding[], options: RenderSarifOptions): string {
  const rules = options.controls.map(ruleFor);
  const ruleIndex = new Map(rules.map((r, i) => [r.id, i]));
  const results = findings
    .filter((f) => f.status === "fail" || f.status === "error" || f.status === "waived")
    .map((f) => {
      const uri = syntheticUri(f.resourceId);
      const message =
        f.status === "error"
          ? `Could not evaluate ${f.resourceId}: ${f.reason}`
          : `${f.resourceId}: ${f.reason}`;
      return {
        ruleId: f.controlId,
        ...(ruleIndex.has(f.controlId) ? { ruleIndex: ruleIndex.get(f.controlId) } : {}),
        kind: f.status === "error" ? "review" : "fail",
        level: LEVEL[f.severity],
        message: { text: message },
        locations: [
          {
            physicalLocation: { artifactLocation: { uri }, region: { startLine: 1 } },
            logicalLocations: [{ fullyQualifiedName: f.resourceId, kind: "resource" }],
          },
        ],
        partialFingerprints: { "vigilFinding/v1": findingFingerprint(f.controlId, f.resourceId) },
        ...(f.waiver !== undefined
          ? {
              suppressions: [
                {
                  kind: "external",
                  status: "accepted",
                  justification: `${f.waiver.justification} (approved by ${f.waiver.approver}, expires ${f.waiver.expires})`,
                },
              ],
            }
          : {}),
        properties: {
          status: f.status,
          severity: f.severity,
          family: f.family,
          resourceType: f.resourceType,
          ...(f.scope !== undefined ? { scope: f.scope } : {}),
          parameters: f.parameters,
          trace: boundedTrace(f.trace),
        },
      };
    });
  const log = {
    $schema: "https://json.schemastore.org/sarif-2.1.0.json",
    version: "2.1.0",
    runs: [
      {
        tool: {
          driver: {
            name: "vigil",
            semanticVersion: options.vigilVersion,
            version: options.vigilVersion,
            rules,
          },
        },
        automationDetails: { id: options.category ?? "vigil/scan/" },
        invocations: [
          {
            executionSuccessful: true,
            ...(options.completedAt !== undefined ? { endTimeUtc: options.completedAt } : {}),
          },
        ],
        results,
      },
    ],
  };
  return `${JSON.stringify(log, null, 2)}\n`;
}
