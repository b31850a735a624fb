/**
 * The one step vigil is built around: evaluate compiled controls over observations into
 * findings. Pure and deterministic: `now` is an input, and a finding starts as `error` until a
 * completed evaluation makes it `pass` or `fail`.
 */
import type { Catalogue, CompiledControl } from "./catalogue.js";
import { effectiveParameters, environmentFor, isControlEnabled } from "./config.js";
import { TRACE_BUDGET } from "./rule/compiler.js";
import { type EvalContext, FALSE, TRUE, type Tri, type UnknownNote } from "./rule/context.js";
import { describeExpectation, describeRequirement } from "./rule/operators.js";
import { formatPath, parsePath } from "./rule/path.js";
import { formatInstant, preview } from "./rule/values.js";
import type {
  EnvironmentConfig,
  Finding,
  Observation,
  Status,
  TraceEntry,
  VigilConfig,
} from "./types.js";
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
const NONE: readonly CompiledControl[] = Object.freeze([]);

/** Why an observation cannot be evaluated at all, or `undefined` when it can. */
export function observationProblem(observation: unknown): string | undefined {
  if (observation === null || typeof observation !== "object" || Array.isArray(observation))
    return "the observation is not an object";
  const o = observation as Record<string, unknown>;
  if (typeof o.id !== "string" || o.id === "") return "the observation has no 'id' string";
  if (typeof o.type !== "string" || o.type === "") return "the observation has no 'type' string";
  if (o.error === undefined && (o.document === null || typeof o.document !== "object"))
    return "the observation has no 'document' object and no 'error'";
  if (
    o.gaps !== undefined &&
    (!Array.isArray(o.gaps) ||
      o.gaps.some(
        (g) =>
          g === null || typeof g !== "object" || typeof (g as { path?: unknown }).path !== "string",
      ))
  ) {
    return "'gaps' must be an array of { path, message }";
  }
  return undefined;
}

/** An observation's gaps, parsed once for all the controls that read it. */
export interface PreparedObservation {
  gaps: readonly string[] | null;
  gapNotes: readonly UnknownNote[] | null;
}

const NO_GAPS: PreparedObservation = Object.freeze({ gaps: null, gapNotes: null });

function prepare(observation: Observation): PreparedObservation | string {
  if (observation.gaps === undefined || observation.gaps.length === 0) return NO_GAPS;
  const gaps: string[] = [];
  const notes: UnknownNote[] = [];
  for (const gap of observation.gaps) {
    try {
      gaps.push(formatPath(parsePath(gap.path).segments).toLowerCase());
    } catch (error) {
      return `gap path '${gap.path}' is not a valid path: ${(error as Error).message}`;
    }
    notes.push({
      path: gap.path,
      message: `${gap.path} was not collected${gap.message ? `: ${gap.message}` : ""}`,
    });
  }
  return { gaps, gapNotes: notes };
}

/**
 * Evaluate every enabled control over every observation. Observations whose type a control does
 * not apply to yield no finding for it (unless `includeTypeMismatches`); an invalid observation
 * yields `error` findings for every control that could apply, never an exception.
 */
export function evaluate(
  catalogue: Catalogue,
  observations: Iterable<unknown>,
  options: EvaluateOptions,
): Finding[] {
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
  // One evaluation context, reset for each finding (its trace is always a new array).
  const ctx = newContext();
  // Types as spelled in observations, resolved once each (the lookup is case-insensitive).
  const byExactType = new Map<string, readonly CompiledControl[]>();
  // One parameters object per (control, environment): findings share it, and expressions that
  // read only parameters and `now` are computed once for all of them.
  const paramCache = new Map<CompiledControl, Map<string, Record<string, unknown>>>();
  const paramsFor = (c: CompiledControl, env: EnvironmentConfig | undefined) => {
    let byEnv = paramCache.get(c);
    if (byEnv === undefined) {
      byEnv = new Map();
      paramCache.set(c, byEnv);
    }
    const key = env?.name ?? "";
    let params = byEnv.get(key);
    if (params === undefined) {
      params = effectiveParameters(c, options.config, env);
      byEnv.set(key, params);
    }
    return params;
  };
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
    let targets = byExactType.get(observation.type);
    if (targets === undefined) {
      targets = byType.get(observation.type.toLowerCase()) ?? NONE;
      if (byExactType.size < 1000) byExactType.set(observation.type, targets);
    }
    if (targets.length === 0) continue;
    const env = environmentFor(options.config, observation);
    const prepared = prepare(observation);
    for (const c of targets) {
      findings.push(
        evaluateApplicable(
          c,
          observation,
          options,
          env,
          evaluatedAt,
          paramsFor(c, env),
          prepared,
          ctx,
        ),
      );
    }
  }
  return findings;
}

function baseFinding(
  c: CompiledControl,
  observation: Partial<Observation>,
  params: Record<string, unknown>,
  env: EnvironmentConfig | undefined,
  evaluatedAt: string,
): Finding {
  const control = c.control;
  return {
    controlId: control.id,
    controlVersion: control.version,
    title: control.title,
    resourceId: typeof observation.id === "string" ? observation.id : "(unknown)",
    resourceType: typeof observation.type === "string" ? observation.type : "(unknown)",
    // Every finding gets the same properties in the same order (absent ones undefined, which
    // JSON leaves out), so that engines keep one shape for them all.
    scope: typeof observation.scope === "string" ? observation.scope : undefined,
    status: "error",
    severity: control.severity,
    family: control.family,
    reason: "not evaluated",
    trace: [],
    parameters: params,
    environment: env?.name,
    frameworks: control.frameworks,
    waiver: undefined,
    evaluatedAt,
  };
}

function invalidFinding(
  c: CompiledControl,
  o: Partial<Observation>,
  problem: string,
  evaluatedAt: string,
  options: EvaluateOptions,
): Finding {
  const finding = baseFinding(
    c,
    o,
    effectiveParameters(c, options.config, undefined),
    undefined,
    evaluatedAt,
  );
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
  params: Record<string, unknown> = effectiveParameters(c, options.config, env),
  prepared?: PreparedObservation | string,
): Finding {
  if (!c.types.has(observation.type.toLowerCase())) {
    const finding = baseFinding(c, observation, params, env, evaluatedAt);
    finding.status = "not_applicable";
    finding.reason = `the control applies to ${c.control.appliesTo.join(", ")}, not ${observation.type}`;
    return finding;
  }
  return evaluateApplicable(
    c,
    observation,
    options,
    env,
    evaluatedAt,
    params,
    prepared ?? prepare(observation),
  );
}

/** Evaluate a control on an observation of a type it applies to. */
function evaluateApplicable(
  c: CompiledControl,
  observation: Observation,
  options: EvaluateOptions,
  env: EnvironmentConfig | undefined,
  evaluatedAt: string,
  params: Record<string, unknown>,
  gaps: PreparedObservation | string,
  reuse?: EvalContext,
): Finding {
  const finding = baseFinding(c, observation, params, env, evaluatedAt);
  if (observation.error !== undefined) {
    const e = observation.error;
    finding.reason = `the resource could not be collected: ${e.message ?? "unknown error"}${e.statusCode !== undefined ? ` (HTTP ${e.statusCode}${e.code ? ` ${e.code}` : ""})` : ""}`;
    return finding;
  }
  if (typeof gaps === "string") {
    finding.reason = `invalid observation: ${gaps}`;
    return finding;
  }
  const ctx = reuse ?? newContext();
  ctx.doc = observation.document;
  ctx.params = params;
  ctx.nowMs = options.nowMs;
  ctx.nowText = evaluatedAt;
  ctx.gaps = gaps.gaps;
  ctx.gapNotes = gaps.gapNotes;
  ctx.depth = 0;
  ctx.trace = [];
  ctx.traceBudget = TRACE_BUDGET;
  ctx.negated = false;
  if (ctx.unknowns.length > 0) ctx.unknowns = [];
  if (c.appliesWhen !== undefined) {
    const applies = c.appliesWhen(ctx);
    if (applies !== TRUE) {
      finding.trace = ctx.trace as TraceEntry[];
      if (applies === FALSE) {
        finding.status = "not_applicable";
        finding.reason = `out of scope: ${explainScope(finding.trace) || "appliesWhen does not hold"}`;
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
    finding.reason =
      explain(finding.trace, finding.status === "fail") ||
      (finding.status === "pass" ? "compliant" : "non-compliant");
  }
  if (finding.status === "fail") {
    const waiver = findWaiver(
      options.waivers,
      [c.control.id, ...(c.control.aliases ?? [])],
      observation.id,
      options.nowMs,
    );
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
  return supporting(trace, failing).map(describeEntry).join("; and ");
}

/**
 * The top-level entries whose effective outcome is `outcome`, at most three. Existence checks
 * are dropped when value comparisons also support the outcome: they are usually guards that let
 * a comparison run, and the comparison says more.
 */
function supporting(trace: readonly TraceEntry[], outcome: boolean): TraceEntry[] {
  const comparisons: TraceEntry[] = [];
  let existence: TraceEntry[] | undefined;
  for (const entry of trace) {
    if (entry.result === "unknown" || entry.within !== undefined) continue;
    if ((entry.negated === true ? !entry.result : entry.result) !== outcome) continue;
    if (entry.operator !== "exists") {
      comparisons.push(entry);
      if (comparisons.length === MAX_REASON_ENTRIES) break;
    } else if (comparisons.length === 0) {
      existence ??= [];
      if (existence.length < MAX_REASON_ENTRIES) existence.push(entry);
    }
  }
  return comparisons.length > 0 || existence === undefined ? comparisons : existence;
}

function newContext(): EvalContext {
  return {
    doc: undefined,
    params: {},
    nowMs: 0,
    nowText: "",
    gaps: null,
    gapNotes: null,
    frames: [],
    depth: 0,
    trace: null,
    traceBudget: TRACE_BUDGET,
    negated: false,
    unknowns: [],
  };
}

/** Why `appliesWhen` did not hold: what was observed, and what the control covers. */
function explainScope(trace: readonly TraceEntry[]): string {
  return supporting(trace, false)
    .map(
      (entry) =>
        `${observedClause(entry)}; the control covers resources where it ${describeRequirement(entry.operator, entry.expected, entry.negated !== true)}`,
    )
    .join("; and ");
}

const MAX_LABEL = 60;

function observedClause(entry: TraceEntry): string {
  let subject = entry.field !== undefined ? entry.field : `value ${entry.value ?? ""}`;
  if (subject.length > MAX_LABEL) subject = `${subject.slice(0, MAX_LABEL - 1)}…`;
  const isCount =
    entry.matched !== undefined ||
    (typeof entry.observed === "number" && (entry.field?.endsWith("[*]") ?? false));
  const observed = entry.missing === true ? "missing" : preview(entry.observed);
  return isCount ? `${subject} count is ${observed}` : `${subject} is ${observed}`;
}

function describeEntry(entry: TraceEntry): string {
  const what = observedClause(entry);
  // The condition describes the non-compliant state, so compliance needs it false overall: the
  // operator itself must hold exactly when an odd number of `not`s sits above it.
  const mustHold = entry.negated === true;
  return `${what}; ${describeExpectation(entry.operator, entry.expected, mustHold)}`;
}
