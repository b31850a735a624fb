/**
 * The one step vigil is built around: evaluate compiled controls over observations into
 * findings. Pure and deterministic: `now` is an input, and a finding starts as `error` until a
 * completed evaluation makes it `pass` or `fail`.
 */
import type { Catalogue, CompiledControl } from "./catalogue.js";
import { effectiveParameters, environmentFor, isControlEnabled } from "./config.js";
import { type EvalContext, FALSE, type Tri, TRUE, type UnknownNote } from "./rule/context.js";
import { describeExpectation } from "./rule/operators.js";
import { parsePath, formatPath } from "./rule/path.js";
import { formatInstant, preview } from "./rule/values.js";
import type { EnvironmentConfig, Finding, Observation, Status, TraceEntry, VigilConfig } from "./types.js";
import { findWaiver, type WaiverIndex } from "./waivers.js";

/** Inputs of an evaluation besides controls and observations. */
export interface EvaluateOptions {
  /** Evaluation time, epoch milliseconds. */
  nowMs: number;
  config?: VigilConfig;
  waivers?: WaiverIndex;
  /** Also report `not_applicable` for observations whose type no control applies to. Default false. */
  includeTypeMismatches?: boolean;
}

const MAX_REASON_ENTRIES = 3;

/** Why an observation cannot be evaluated at all, or `undefined` when it can. */
export function observationProblem(observation: unknown): string | undefined {
  if (observation === null || typeof observation !== "object" || Array.isArray(observation)) return "the observation is not an object";
  const o = observation as Record<string, unknown>;
  if (typeof o.id !== "string" || o.id === "") return "the observation has no 'id' string";
  if (typeof o.type !== "string" || o.type === "") return "the observation has no 'type' string";
  if (o.error === undefined && (o.document === null || typeof o.document !== "object")) return "the observation has no 'document' object and no 'error'";
  if (o.gaps !== undefined && (!Array.isArray(o.gaps) || o.gaps.some((g) => g === null || typeof g !== "object" || typeof (g as { path?: unknown }).path !== "string"))) {
    return "'gaps' must be an array of { path, message }";
  }
  return undefined;
}

interface PreparedObservation {
  gaps: readonly string[] | null;
  gapNotes: readonly UnknownNote[] | null;
}

function prepare(observation: Observation): PreparedObservation | string {
  if (observation.gaps === undefined || observation.gaps.length === 0) return { gaps: null, gapNotes: null };
  const gaps: string[] = [];
  const notes: UnknownNote[] = [];
  for (const gap of observation.gaps) {
    try {
      gaps.push(formatPath(parsePath(gap.path).segments).toLowerCase());
    } catch (error) {
      return `gap path '${gap.path}' is not a valid path: ${(error as Error).message}`;
    }
    notes.push({ path: gap.path, message: `${gap.path} was not collected${gap.message ? `: ${gap.message}` : ""}` });
  }
  return { gaps, gapNotes: notes };
}

/**
 * Evaluate every enabled control over every observation. Observations whose type a control does
 * not apply to yield no finding for it (unless `includeTypeMismatches`); an invalid observation
 * yields `error` findings for every control that could apply, never an exception.
 */
export function evaluate(catalogue: Catalogue, observations: Iterable<unknown>, options: EvaluateOptions): Finding[] {
  const findings: Finding[] = [];
  const enabled = catalogue.controls.filter((c) => isControlEnabled(c, options.config));
  const byType = new Map<string, CompiledControl[]>();
  for (const c of enabled) {
    for (const t of c.types) {
      const list = byType.get(t) ?? [];
      list.push(c);
      byType.set(t, list);
    }
  }
  const evaluatedAt = formatInstant(options.nowMs);
  for (const raw of observations) {
    const problem = observationProblem(raw);
    if (problem !== undefined) {
      const o = (raw ?? {}) as Partial<Observation>;
      const type = typeof o.type === "string" ? o.type : undefined;
      const targets = type === undefined ? enabled : (byType.get(type.toLowerCase()) ?? []);
      for (const c of targets) findings.push(invalidFinding(c, o, problem, evaluatedAt, options));
      continue;
    }
    const observation = raw as Observation;
    const targets = byType.get(observation.type.toLowerCase());
    if (targets === undefined) continue;
    const env = environmentFor(options.config, observation);
    for (const c of targets) findings.push(evaluateControl(c, observation, options, env, evaluatedAt));
  }
  return findings;
}

function baseFinding(c: CompiledControl, observation: Partial<Observation>, params: Record<string, unknown>, env: EnvironmentConfig | undefined, evaluatedAt: string): Finding {
  const control = c.control;
  return {
    controlId: control.id,
    controlVersion: control.version,
    title: control.title,
    resourceId: typeof observation.id === "string" ? observation.id : "(unknown)",
    resourceType: typeof observation.type === "string" ? observation.type : "(unknown)",
    ...(typeof observation.scope === "string" ? { scope: observation.scope } : {}),
    status: "error",
    severity: control.severity,
    family: control.family,
    reason: "not evaluated",
    trace: [],
    parameters: params,
    ...(env !== undefined ? { environment: env.name } : {}),
    frameworks: control.frameworks,
    evaluatedAt,
  };
}

function invalidFinding(c: CompiledControl, o: Partial<Observation>, problem: string, evaluatedAt: string, options: EvaluateOptions): Finding {
  const finding = baseFinding(c, o, effectiveParameters(c, options.config, undefined), undefined, evaluatedAt);
  finding.reason = `invalid observation: ${problem}`;
  return finding;
}

/**
 * Evaluate one control on one observation. The observation's type decides applicability first;
 * a collection error makes the finding `error`; then `appliesWhen`, then the rule.
 */
export function evaluateControl(
  c: CompiledControl,
  observation: Observation,
  options: EvaluateOptions,
  env: EnvironmentConfig | undefined = environmentFor(options.config, observation),
  evaluatedAt: string = formatInstant(options.nowMs),
): Finding {
  const params = effectiveParameters(c, options.config, env);
  const finding = baseFinding(c, observation, params, env, evaluatedAt);
  if (!c.types.has(observation.type.toLowerCase())) {
    finding.status = "not_applicable";
    finding.reason = `the control applies to ${c.control.appliesTo.join(", ")}, not ${observation.type}`;
    return finding;
  }
  if (observation.error !== undefined) {
    const e = observation.error;
    finding.reason = `the resource could not be collected: ${e.message ?? "unknown error"}${e.statusCode !== undefined ? ` (HTTP ${e.statusCode}${e.code ? ` ${e.code}` : ""})` : ""}`;
    return finding;
  }
  const prepared = prepare(observation);
  if (typeof prepared === "string") {
    finding.reason = `invalid observation: ${prepared}`;
    return finding;
  }
  const ctx: EvalContext = {
    doc: observation.document,
    params,
    nowMs: options.nowMs,
    nowText: evaluatedAt,
    gaps: prepared.gaps,
    gapNotes: prepared.gapNotes,
    frames: [],
    trace: [],
    negated: false,
    unknowns: [],
  };
  if (c.appliesWhen !== undefined) {
    const applies = c.appliesWhen(ctx);
    if (applies !== TRUE) {
      finding.trace = ctx.trace as TraceEntry[];
      if (applies === FALSE) {
        finding.status = "not_applicable";
        finding.reason = `out of scope: ${explain(finding.trace, false) || "appliesWhen does not hold"}`;
      } else {
        finding.reason = `cannot tell whether the control applies: ${unknownReason(ctx.unknowns)}`;
      }
      return finding;
    }
    ctx.trace = [];
  }
  const result: Tri = c.rule(ctx);
  finding.trace = ctx.trace as TraceEntry[];
  finding.status = statusOf(result);
  if (finding.status === "error") {
    finding.reason = unknownReason(ctx.unknowns);
  } else {
    finding.reason = explain(finding.trace, finding.status === "fail") || (finding.status === "pass" ? "compliant" : "non-compliant");
  }
  if (finding.status === "fail") {
    const waiver = findWaiver(options.waivers, [c.control.id, ...(c.control.aliases ?? [])], observation.id, options.nowMs);
    if (waiver !== undefined) {
      finding.status = "waived";
      finding.waiver = {
        id: waiver.id,
        justification: waiver.justification,
        approver: waiver.approver,
        expires: waiver.expires,
        ...(waiver.ticket !== undefined ? { ticket: waiver.ticket } : {}),
        statusWithoutWaiver: "fail",
      };
    }
  }
  return finding;
}

function statusOf(result: Tri): Status {
  if (result === TRUE) return "fail";
  if (result === FALSE) return "pass";
  return "error";
}

function unknownReason(unknowns: readonly UnknownNote[]): string {
  if (unknowns.length === 0) return "the rule could not be evaluated";
  const unique = [...new Set(unknowns.map((u) => u.message))];
  return `cannot decide: ${unique.slice(0, MAX_REASON_ENTRIES).join("; ")}${unique.length > MAX_REASON_ENTRIES ? ` (+${unique.length - MAX_REASON_ENTRIES} more)` : ""}`;
}

/**
 * Build a reason from the trace: the entries whose outcome supports the status (for a failure,
 * the non-compliant conditions that held; for a pass, those that did not), each as
 * "<field> is <observed>; expected <compliant value>".
 */
export function explain(trace: readonly TraceEntry[], failing: boolean): string {
  const parts: string[] = [];
  for (const entry of trace) {
    if (entry.result === "unknown" || entry.within !== undefined) continue;
    const effective = entry.negated === true ? !entry.result : entry.result;
    if (effective !== failing) continue;
    parts.push(describeEntry(entry));
    if (parts.length >= MAX_REASON_ENTRIES) break;
  }
  return parts.join("; and ");
}

function describeEntry(entry: TraceEntry): string {
  const subject = entry.field !== undefined ? entry.field : `value ${entry.value ?? ""}`;
  const isCount = entry.matched !== undefined || (typeof entry.observed === "number" && (entry.field?.endsWith("[*]") ?? false));
  const observed = entry.missing === true ? "missing" : preview(entry.observed);
  const what = isCount ? `${subject} count is ${observed}` : `${subject} is ${observed}`;
  // The condition describes the non-compliant state, so compliance needs it false overall: the
  // operator itself must hold exactly when an odd number of `not`s sits above it.
  const mustHold = entry.negated === true;
  return `${what}; ${describeExpectation(entry.operator, entry.expected, mustHold)}`;
}
