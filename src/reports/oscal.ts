/**
 * The evidence report as OSCAL 1.1.2 assessment-results JSON: one result for the period, one
 * observation per (control, resource) with the ledger record and hashes it rests on, one finding
 * per (requirement, control) targeting the requirement as an objective. UUIDs are derived from
 * content (name-based, v5 layout over SHA-256), so the same report always has the same UUIDs.
 */
import { sha256Hex } from "../core/index.js";
import {
  type EvidenceItem,
  type EvidenceReportModel,
  FRAMEWORK_NAMES,
  observedText,
} from "./evidence-report.js";

/** The OSCAL version the output is written against. */
export const OSCAL_VERSION = "1.1.2";

/** The namespace of vigil's own `props` (OSCAL requires a URI for non-OSCAL property names). */
export const VIGIL_OSCAL_NS = "https://vigil.invalid/ns/oscal";

/** Options of {@link renderOscalAssessmentResults}. */
export interface RenderOscalOptions {
  /** vigil's version, the document's `metadata.version`. */
  vigilVersion: string;
  /**
   * The assessment plan the results import. vigil has no separate plan document: by default
   * `import-ap` points at a back-matter resource describing the plan (the control catalogue
   * run on a schedule), which OSCAL allows as a fragment reference.
   */
  importApHref?: string;
}

/**
 * A deterministic UUID for `parts`: SHA-256 of the joined parts, cut to 128 bits, with the
 * version nibble set to 5 and the RFC 4122 variant, which OSCAL's UUID pattern accepts.
 */
export function contentUuid(...parts: readonly string[]): string {
  const hex = sha256Hex(["vigil-oscal", ...parts].join("\u0000"))
    .slice(0, 32)
    .split("");
  hex[12] = "5";
  hex[16] = ((Number.parseInt(hex[16] as string, 16) & 0x3) | 0x8).toString(16);
  const h = hex.join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/**
 * A requirement id as an OSCAL control/objective id (a token: a letter or `_`, then letters,
 * digits, `.`, `-`, `_`). NIST SP 800-53 ids take the OSCAL catalogue's form (`CP-9(1)` →
 * `cp-9.1`); others keep their letters, with anything else replaced by `_`.
 */
export function oscalControlId(framework: string, requirement: string): string {
  let id =
    framework === "nist80053"
      ? requirement.toLowerCase().replace(/\((\w+)\)/g, ".$1")
      : requirement.trim();
  id = id.replace(/[^\p{L}\p{N}._-]/gu, "_");
  return /^[\p{L}_]/u.test(id) ? id : `_${id}`;
}

type Prop = { name: string; ns?: string; value: string; class?: string };

/**
 * A value for an OSCAL `StringDatatype` field (property values, `metadata.version`): non-empty,
 * no leading or trailing whitespace, and on one line, since the official pattern's `.` matches
 * no line terminator. Line breaks become spaces; an empty value becomes `(empty)`.
 */
function oscalString(value: string): string {
  const text = value.replace(/[\r\n\u2028\u2029]+/g, " ").trim();
  return text === "" ? "(empty)" : text;
}

function prop(name: string, value: string, ns: string | undefined = VIGIL_OSCAL_NS): Prop {
  const text = oscalString(value);
  return ns === undefined ? { name, value: text } : { name, ns, value: text };
}

/** A ledger blob name as a relative URI reference: each path segment percent-encoded. */
function uriPath(name: string): string {
  return name.split("/").map(encodeURIComponent).join("/");
}

/**
 * An OSCAL date-time: seconds and a zone are required, and the official pattern only accepts
 * years 1900 to 2999, so what the ledger holds is normalised to UTC (`toISOString`).
 * @throws RangeError when `text` is not a date-time or falls outside those years.
 */
function dateTime(text: string, what: string): string {
  const ms = Date.parse(text);
  const year = new Date(ms).getUTCFullYear();
  if (Number.isNaN(ms) || year < 1900 || year > 2999) {
    throw new RangeError(`${what} is not a date-time OSCAL can carry: ${JSON.stringify(text)}`);
  }
  return new Date(ms).toISOString();
}

/**
 * Render the report as OSCAL assessment-results JSON (pretty-printed), valid against NIST's
 * official OSCAL 1.1.2 assessment-results JSON schema.
 * @throws RangeError when an evaluation time, the period or `generatedAt` is not a date-time
 *   OSCAL can carry (see `dateTime`): the document is never written with an invalid date.
 */
export function renderOscalAssessmentResults(
  model: EvidenceReportModel,
  options: RenderOscalOptions,
): string {
  const seed = [
    model.framework,
    model.period.from ?? "",
    model.period.to ?? "",
    model.scope ?? "",
    model.ledger.head?.hash ?? "",
  ];
  const toolUuid = contentUuid("component", "vigil");
  const planUuid = contentUuid("assessment-plan", ...seed);
  const recordUuid = (item: EvidenceItem) => contentUuid("record", item.record.hash);
  const resourceUuid = (resourceId: string) => contentUuid("resource", resourceId);
  const observationUuid = (item: EvidenceItem) =>
    contentUuid("observation", item.record.hash, item.controlId, item.resourceId);

  const observations = model.items.map((item) => {
    const evidenceProps = [
      prop("ledger-record", item.record.name),
      prop("ledger-seq", String(item.record.seq)),
      prop("ledger-record-sha256", item.record.hash),
      ...(item.snapshotHash === null ? [] : [prop("snapshot-sha256", item.snapshotHash)]),
    ];
    const observed = observedText(item.observed);
    return {
      uuid: observationUuid(item),
      title: `${item.controlId} on ${item.resourceId}`,
      description: item.reason === "" ? `${item.controlTitle}: ${item.status}` : item.reason,
      props: [
        prop("control-id", item.controlId),
        prop("status", item.status),
        prop("severity", item.severity),
        prop("family", item.family),
        prop("run-id", item.runId),
        prop("resource-type", item.resourceType),
        ...(observed === "" ? [] : [prop("observed", observed)]),
        ...(item.waiver === undefined
          ? []
          : [
              prop("waiver-id", item.waiver.id),
              prop("waiver-approver", item.waiver.approver),
              prop("waiver-expires", item.waiver.expires),
            ]),
      ],
      methods: ["TEST"],
      types: ["finding"],
      origins: [{ actors: [{ type: "tool", "actor-uuid": toolUuid }] }],
      subjects: [
        {
          "subject-uuid": resourceUuid(item.resourceId),
          type: "resource",
          title: item.resourceId,
        },
      ],
      "relevant-evidence": [
        {
          href: `#${recordUuid(item)}`,
          description: `Evidence ledger record ${item.record.name} (seq ${item.record.seq}), SHA-256 ${item.record.hash}${item.snapshotHash === null ? "" : `; observation snapshot snapshots/${item.snapshotHash}.json`}`,
          props: evidenceProps,
        },
      ],
      collected: dateTime(
        item.evaluatedAt,
        `evaluatedAt of ${item.controlId} on ${item.resourceId}`,
      ),
    };
  });

  const findings = model.requirements.flatMap((section) =>
    section.controls
      .filter((c) => c.resources.length > 0)
      .map((control) => {
        const decided = control.resources.filter((r) => r.status !== "not_applicable");
        const status = control.status;
        const satisfied = status !== "fail" && status !== "error";
        const objective = oscalControlId(section.framework, section.requirement);
        return {
          uuid: contentUuid(
            "finding",
            ...seed,
            section.framework,
            section.requirement,
            control.controlId,
          ),
          title: `${FRAMEWORK_NAMES[section.framework]} ${section.requirement}: ${control.title}`,
          description: `${control.controlId}: ${decided.length} resource(s) evaluated; worst status ${status ?? "none"}.`,
          props: [
            prop("framework", section.framework),
            prop("requirement", section.requirement),
            prop("control-id", control.controlId),
            prop("status", status ?? "none"),
          ],
          origins: [{ actors: [{ type: "tool", "actor-uuid": toolUuid }] }],
          target: {
            type: "objective-id",
            "target-id": objective,
            status: {
              state: satisfied ? "satisfied" : "not-satisfied",
              reason: status === "error" ? "other" : satisfied ? "pass" : "fail",
            },
          },
          "related-observations": control.resources.map((r) => ({
            "observation-uuid": observationUuid(r),
          })),
        };
      }),
  );

  const controlIds = [
    ...new Set(model.requirements.map((s) => oscalControlId(s.framework, s.requirement))),
  ];
  const records = new Map<string, EvidenceItem>();
  for (const item of model.items)
    if (!records.has(item.record.hash)) records.set(item.record.hash, item);
  const resources = [...new Set(model.items.map((i) => i.resourceId))];

  const first = model.observedPeriod?.first ?? model.period.from ?? model.generatedAt;
  const last = model.observedPeriod?.last ?? model.period.to ?? model.generatedAt;
  const result = {
    uuid: contentUuid("result", ...seed),
    title: `vigil evidence for ${model.frameworks.map((f) => FRAMEWORK_NAMES[f]).join(", ")}`,
    description: `Latest status of each control on each resource evaluated ${model.period.from ?? "since the start of the ledger"} to ${model.period.to ?? "the latest record"}${model.scope === null ? "" : ` in scope ${model.scope}`}, from vigil's hash-chained evidence ledger (${model.ledger.recordsInPeriod} record(s); chain ${model.ledger.verified ? "verified" : `NOT verified, ${model.ledger.problems} problem(s)`}).`,
    start: dateTime(model.period.from ?? first, "the period start"),
    end: dateTime(model.period.to ?? last, "the period end"),
    props: [
      prop("ledger-verified", String(model.ledger.verified)),
      ...(model.ledger.head === null
        ? []
        : [
            prop("ledger-head-seq", String(model.ledger.head.seq)),
            prop("ledger-head-sha256", model.ledger.head.hash),
          ]),
    ],
    "local-definitions": {
      components: [
        {
          uuid: toolUuid,
          type: "software",
          title: "vigil",
          description:
            "vigil policy-and-compliance scanner: evaluates codified controls against the estate's API documents and records the evidence in a hash-chained ledger.",
          props: [prop("version", options.vigilVersion)],
          status: { state: "operational" },
        },
      ],
    },
    "reviewed-controls": {
      "control-selections": [
        controlIds.length === 0
          ? { "include-all": {} }
          : { "include-controls": controlIds.map((id) => ({ "control-id": id })) },
      ],
    },
    ...(observations.length > 0 ? { observations } : {}),
    ...(findings.length > 0 ? { findings } : {}),
  };

  const backMatter = {
    resources: [
      {
        uuid: planUuid,
        title: "vigil assessment plan",
        description:
          "The control catalogue (policies/controls) evaluated on every scheduled sweep and on change events; each control's hash is in every evidence record.",
      },
      ...[...records.values()].map((item) => ({
        uuid: recordUuid(item),
        title: `Evidence ledger record ${item.record.name}`,
        props: [prop("ledger-seq", String(item.record.seq)), prop("run-id", item.runId)],
        rlinks: [
          {
            href: uriPath(item.record.name),
            "media-type": "application/json",
            hashes: [{ algorithm: "SHA-256", value: item.record.hash }],
          },
        ],
      })),
      ...resources.map((resourceId) => ({
        uuid: resourceUuid(resourceId),
        title: resourceId,
        props: [prop("resource-id", resourceId)],
      })),
    ],
  };

  const document = {
    "assessment-results": {
      uuid: contentUuid("assessment-results", ...seed, model.generatedAt),
      metadata: {
        title: model.title,
        "last-modified": dateTime(model.generatedAt, "generatedAt"),
        version: oscalString(options.vigilVersion),
        "oscal-version": OSCAL_VERSION,
      },
      "import-ap": { href: options.importApHref ?? `#${planUuid}` },
      results: [result],
      "back-matter": backMatter,
    },
  };
  return `${JSON.stringify(document, null, 2)}\n`;
}
