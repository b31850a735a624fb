/**
 * The release gate (DESIGN.md "Who uses it"): may this release go on? Answered from current state,
 * failing closed: `pass` only when every scope asked about was scanned recently enough, holds no
 * `error` finding at or above the severity floor and no `fail` at or above it.
 */

import {
  InputError,
  likePattern,
  parseInstant,
  SEVERITIES,
  type Severity,
  type StateRow,
} from "../core/index.js";
import { type AppRuntime, type CachedRead, readState, type StateCache } from "./runtime.js";

/** What a pipeline asks. */
export interface GateQuery {
  /** One scope (a subscription id, a cluster name, a TLS set, the tenant id). */
  scope?: string;
  /** A name from the config's `environments`, standing for its scopes. */
  environment?: string;
  /** Findings below this severity do not block (default `low`: everything blocks). */
  minSeverity?: Severity;
  /** State older than this is `unknown` (default 60). */
  maxAgeMinutes?: number;
}

/** One failing or erroring pair the gate names. */
export interface GateFinding {
  scope: string;
  controlId: string;
  resourceId: string;
  status: "fail" | "error";
  severity: Severity;
  title?: string;
  reason?: string;
  /** ISO 8601: when the pair's status last changed. */
  since: string;
}

/** The gate's answer. */
export interface GateAnswer {
  decision: "pass" | "fail" | "unknown";
  /** Why, in sentences: one per scope that is not clean, or one saying all are. */
  reasons: string[];
  /** The failing pairs (decision `fail`) and the erroring ones. */
  failing: GateFinding[];
  /** ISO 8601: the oldest evaluation among the scopes (`null` when one was never scanned). */
  evaluatedAt: string | null;
  /** The run that evaluated the oldest scope. */
  runId: string | null;
  /** The evidence ledger's head as read with the state. */
  ledgerHead: { seq: number; hash: string } | null;
  /**
   * ISO 8601: when the oldest part of the state this answer rests on was read from the store. An
   * instance answers from its state cache: its own writes show at once, another instance's within
   * `STATE_CACHE_TTL_MS` (5 s).
   */
  stateReadAt: string;
}

/** Default of `maxAgeMinutes`: two 30-minute sweeps. */
export const DEFAULT_GATE_MAX_AGE_MINUTES = 60;
/** Most failing pairs an answer lists; the reasons still count them all. */
const MAX_LISTED = 200;

const RANK: Record<Severity, number> = Object.fromEntries(
  [...SEVERITIES].reverse().map((s, i) => [s, i]),
) as Record<Severity, number>;

/**
 * Parse the gate's query parameters.
 * @throws InputError naming the parameter that is wrong
 */
export function parseGateQuery(params: URLSearchParams): GateQuery {
  const query: GateQuery = {};
  for (const key of params.keys())
    if (!["scope", "environment", "minSeverity", "maxAgeMinutes"].includes(key))
      throw new InputError(`unknown query parameter ${key}`, { pointer: key });
  const scope = params.get("scope");
  const environment = params.get("environment");
  if (scope !== null && scope !== "") query.scope = scope;
  if (environment !== null && environment !== "") query.environment = environment;
  if (query.scope === undefined && query.environment === undefined)
    throw new InputError("the gate needs scope or environment", { pointer: "scope" });
  const minSeverity = params.get("minSeverity");
  if (minSeverity !== null) {
    if (!(SEVERITIES as readonly string[]).includes(minSeverity))
      throw new InputError(`minSeverity must be one of ${SEVERITIES.join(", ")}`, {
        pointer: "minSeverity",
      });
    query.minSeverity = minSeverity as Severity;
  }
  const maxAge = params.get("maxAgeMinutes");
  if (maxAge !== null) {
    const minutes = Number(maxAge);
    if (!/^\d+$/.test(maxAge) || minutes < 1 || minutes > 7 * 24 * 60)
      throw new InputError("maxAgeMinutes must be a whole number from 1 to 10080", {
        pointer: "maxAgeMinutes",
      });
    query.maxAgeMinutes = minutes;
  }
  return query;
}

/** What the gate knows of one scope: its freshness and its failing and erroring pairs. */
interface ScopeState {
  fresh: { lastEvaluatedAt: string; lastRunId: string } | undefined;
  /** Every `fail` and `error` pair of the scope, most severe first, with its severity's rank. */
  failing: { rank: number; finding: GateFinding }[];
}

/** One scope's state: through the runtime's state cache when it has one (`withStateCache`). */
function scopeState(rt: AppRuntime, scope: string) {
  return readState(rt, `gate\u0000${scope}`, async (): Promise<ScopeState> => {
    const failing: ScopeState["failing"] = [];
    const rows = (async () => {
      for await (const row of rt.store.listState(scope))
        if (row.status === "fail" || row.status === "error")
          failing.push({ rank: RANK[row.severity], finding: gateFinding(row) });
    })();
    const [fresh] = await Promise.all([rt.store.runs.getScope(scope), rows]);
    failing.sort((a, b) => order(a.finding, b.finding));
    return {
      fresh:
        fresh === undefined
          ? undefined
          : { lastEvaluatedAt: fresh.lastEvaluatedAt, lastRunId: fresh.lastRunId },
      failing,
    };
  });
}

/**
 * Decide from current state. `fail` when any failing pair at or above the floor exists (with
 * every reason, also the unknown ones); otherwise `unknown` when a scope was never scanned, is
 * stale, or holds `error` pairs at or above the floor; otherwise `pass`. The state may come from
 * the runtime's state cache (`withStateCache`: dropped by every write through this runtime, at
 * most `STATE_CACHE_TTL_MS` old otherwise); the staleness check always uses the time of the
 * question, and `stateReadAt` says when the oldest part of the state was read.
 * @throws InputError for an environment the config does not name
 */
export async function decideGate(rt: AppRuntime, query: GateQuery): Promise<GateAnswer> {
  const [scopes, head] = await Promise.all([
    resolveScopes(rt, query),
    readState(rt, "ledger-head", () => rt.store.head()),
  ]);
  const maxAgeMs = (query.maxAgeMinutes ?? DEFAULT_GATE_MAX_AGE_MINUTES) * 60_000;
  const nowMs = rt.evaluationTime();
  const states = await Promise.all(scopes.value.map((scope) => scopeState(rt, scope)));
  // A named scope is no read of the store; an environment's list of scanned scopes is.
  const reads = [head, ...states, ...(scopes.source !== undefined ? [scopes.source] : [])];
  // The same reads (the cache hands out the same objects while they are fresh) and no scope too
  // old now: the answer is the one given last time, and is not built and rendered again.
  const cache =
    rt.stateCache !== undefined && rt.stateCache.store === rt.store ? rt.stateCache : undefined;
  const key = JSON.stringify([query.scope, query.environment, query.minSeverity, maxAgeMs]);
  const anyStale = states.some(
    ({ value: { fresh } }) => fresh !== undefined && isStale(fresh, nowMs, maxAgeMs),
  );
  const memo = cache !== undefined ? answers.get(cache)?.get(key) : undefined;
  if (
    memo !== undefined &&
    !anyStale &&
    memo.reads.length === reads.length &&
    memo.reads.every((read, i) => read === reads[i])
  )
    return memo.answer;
  const answer = decide(query, scopes.value, head, states, reads, nowMs, maxAgeMs);
  if (cache !== undefined && !anyStale) {
    let byKey = answers.get(cache);
    // Bounded: clients choose the scopes they ask about.
    if (byKey === undefined || byKey.size >= MAX_MEMO_ANSWERS) {
      byKey = new Map();
      answers.set(cache, byKey);
    }
    byKey.set(key, { reads, answer });
  }
  return answer;
}

/** Most remembered answers per state cache (distinct questions); more start the memory afresh. */
const MAX_MEMO_ANSWERS = 256;

/** The last answer per question, per state cache, with the reads it rests on. */
interface MemoAnswer {
  reads: readonly unknown[];
  answer: GateAnswer;
}
const answers = new WeakMap<StateCache, Map<string, MemoAnswer>>();

function isStale(fresh: { lastEvaluatedAt: string }, nowMs: number, maxAgeMs: number): boolean {
  return nowMs - (parseInstant(fresh.lastEvaluatedAt) ?? 0) > maxAgeMs;
}

function decide(
  query: GateQuery,
  scopeList: readonly string[],
  head: CachedRead<{ seq: number; hash: string } | null>,
  states: readonly CachedRead<ScopeState>[],
  reads: readonly CachedRead<unknown>[],
  nowMs: number,
  maxAgeMs: number,
): GateAnswer {
  const floor = RANK[query.minSeverity ?? "low"];
  const stateReadAt = Math.min(...reads.map((read) => read.readAt));
  const scopes = { value: scopeList };
  if (scopes.value.length === 0)
    return {
      decision: "unknown",
      reasons: [`no scanned scope matches environment ${query.environment}`],
      failing: [],
      evaluatedAt: null,
      runId: null,
      ledgerHead: head.value,
      stateReadAt: new Date(stateReadAt).toISOString(),
    };
  const reasons: string[] = [];
  const failing: GateFinding[] = [];
  let unknown = false;
  let failed = false;
  let oldest: { at: string; runId: string } | null = null;
  let neverScanned = false;
  for (const [i, scope] of scopes.value.entries()) {
    const { fresh, failing: pairs } = (states[i] as CachedRead<ScopeState>).value;
    if (fresh === undefined) {
      unknown = true;
      neverScanned = true;
      reasons.push(`scope ${scope} was never scanned`);
      continue;
    }
    if (oldest === null || fresh.lastEvaluatedAt < oldest.at)
      oldest = { at: fresh.lastEvaluatedAt, runId: fresh.lastRunId };
    const ageMs = nowMs - (parseInstant(fresh.lastEvaluatedAt) ?? 0);
    if (isStale(fresh, nowMs, maxAgeMs)) {
      unknown = true;
      reasons.push(
        `scope ${scope} was last evaluated ${Math.round(ageMs / 60_000)} minute(s) ago (${fresh.lastEvaluatedAt}), more than ${maxAgeMs / 60_000}`,
      );
    }
    let fails = 0;
    let errors = 0;
    for (const { rank, finding } of pairs) {
      if (rank < floor) continue;
      if (finding.status === "fail") fails += 1;
      else errors += 1;
      failing.push(finding);
    }
    if (fails > 0) {
      failed = true;
      reasons.push(`scope ${scope} has ${fails} failing control result(s)`);
    }
    if (errors > 0) {
      unknown = true;
      reasons.push(`scope ${scope} has ${errors} control result(s) that could not be evaluated`);
    }
  }
  const decision = failed ? "fail" : unknown ? "unknown" : "pass";
  if (decision === "pass")
    reasons.push(
      `${scopes.value.length} scope(s) evaluated, no failing or erroring result at or above ${query.minSeverity ?? "low"}`,
    );
  // Each scope's list is sorted already: one scope needs no sort, several are merged by one.
  if (scopes.value.length > 1) failing.sort(order);
  return {
    decision,
    reasons,
    failing: failing.slice(0, MAX_LISTED),
    evaluatedAt: neverScanned ? null : (oldest?.at ?? null),
    runId: neverScanned ? null : (oldest?.runId ?? null),
    ledgerHead: head.value,
    stateReadAt: new Date(stateReadAt).toISOString(),
  };
}

/** The order of the failing list: most severe first, `fail` before `error`, then by ids. */
function order(a: GateFinding, b: GateFinding): number {
  return (
    RANK[b.severity] - RANK[a.severity] ||
    (a.status === b.status ? 0 : a.status === "fail" ? -1 : 1) ||
    compare(a.controlId, b.controlId) ||
    compare(a.resourceId, b.resourceId)
  );
}

/**
 * The scopes a query stands for: the one named, or every scanned scope an environment's
 * `match.scopes` patterns (`*` wildcards) take in.
 * @throws InputError for an environment the config does not name, or one that matches by tags only
 */
export async function scopesOf(rt: AppRuntime, query: GateQuery): Promise<CachedRead<string[]>> {
  const { value, readAt } = await resolveScopes(rt, query);
  return { value, readAt };
}

/** {@link scopesOf}, with the read of the scanned scopes it rests on (none for a named scope). */
async function resolveScopes(
  rt: AppRuntime,
  query: GateQuery,
): Promise<CachedRead<string[]> & { source?: CachedRead<string[]> }> {
  if (query.scope !== undefined) return { value: [query.scope], readAt: rt.clock() };
  const name = query.environment as string;
  const environments = rt.config.environments ?? [];
  const environment = environments.find((e) => e.name === name);
  if (environment === undefined)
    throw new InputError(
      `environment ${JSON.stringify(name)} is not in the config's environments (${environments.map((e) => e.name).join(", ") || "none"})`,
      { pointer: "environment", code: "UnknownEnvironment" },
    );
  const patterns = environment.match.scopes;
  if (patterns === undefined)
    throw new InputError(
      `environment ${JSON.stringify(name)} matches resources by tags only: give it match.scopes for the gate, or ask by scope`,
      { pointer: "environment", code: "EnvironmentWithoutScopes" },
    );
  const scanned = await readState(rt, "scopes", async () => {
    const all: string[] = [];
    for await (const row of rt.store.runs.listScopes()) all.push(row.scope);
    return all;
  });
  const matching = scanned.value.filter((scope) =>
    patterns.some((p) => likePattern(p).test(scope)),
  );
  // A pattern without a wildcard names a scope that must be there, scanned or not.
  for (const p of patterns) if (!p.includes("*") && !matching.includes(p)) matching.push(p);
  return { value: matching.sort(compare), readAt: scanned.readAt, source: scanned };
}

function gateFinding(row: StateRow): GateFinding {
  return {
    scope: row.scope,
    controlId: row.controlId,
    resourceId: row.resourceId,
    status: row.status as "fail" | "error",
    severity: row.severity,
    ...(row.finding?.title !== undefined ? { title: row.finding.title } : {}),
    ...(row.finding?.reason !== undefined ? { reason: row.finding.reason } : {}),
    since: row.lastChanged,
  };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
