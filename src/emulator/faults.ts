/**
 * Injected failures: rules that pick requests (by API, path and method, a seeded random rate and
 * a count) and make them slow, throttled, failed, cut off or truncated, so collectors' retry and
 * fail-closed paths can be tested on purpose.
 */

/** The APIs a fault rule (and the request log) distinguishes. */
export type EmulatorApi = "arm" | "resource-graph" | "graph" | "kubernetes" | "blob";

/** One injected failure, as in `estate.json` `faults` or `PUT /_emulator/faults`. */
export interface FaultRule {
  /** Which API the rule applies to; default `"*"` (all but admin). */
  api?: EmulatorApi | "*";
  /** Regular expression source tested against the request path (without query) after the API
   * prefix (`/graph`, `/k8s/<cluster>`, `/blob`); the full path is tried too. */
  path?: string;
  /** HTTP method, case-insensitive; default any. */
  method?: string;
  kind: "latency" | "throttle" | "error" | "reset" | "truncate";
  /** Status for `error` (default 503). */
  status?: number;
  /** `Retry-After` (seconds) sent with `throttle`; without it the 429 carries no `Retry-After`. */
  retryAfterSeconds?: number;
  /** `retry-after-ms` (and `x-ms-retry-after-ms`) sent with `throttle`. */
  retryAfterMs?: number;
  /** Delay for `latency`. */
  latencyInMs?: number;
  /** Probability 0..1 that a matching request is hit (default 1), drawn from the seeded PRNG. */
  rate?: number;
  /** Only the first N hits; afterwards the rule is spent. */
  times?: number;
}

const KINDS = new Set(["latency", "throttle", "error", "reset", "truncate"]);
const APIS = new Set(["arm", "resource-graph", "graph", "kubernetes", "blob", "*"]);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

/**
 * Validates a list of fault rules.
 * @param pointer field name used in messages (e.g. `faults`)
 * @throws {RangeError} naming the offending field
 */
export function parseFaultRules(value: unknown, pointer: string): FaultRule[] {
  if (!Array.isArray(value)) throw new RangeError(`field "${pointer}": expected an array`);
  return value.map((entry, index) => parseFaultRule(entry, `${pointer}[${index}]`));
}

function parseFaultRule(value: unknown, at: string): FaultRule {
  const fail = (field: string, expected: string): never => {
    throw new RangeError(`field "${at}${field}": expected ${expected}`);
  };
  if (!isRecord(value)) return fail("", "an object");
  if (typeof value.kind !== "string" || !KINDS.has(value.kind)) {
    fail(".kind", "one of latency, throttle, error, reset, truncate");
  }
  const rule: FaultRule = { kind: value.kind as FaultRule["kind"] };
  if (value.api !== undefined) {
    if (typeof value.api !== "string" || !APIS.has(value.api)) {
      fail(".api", 'one of "arm", "resource-graph", "graph", "kubernetes", "blob", "*"');
    }
    rule.api = value.api as FaultRule["api"];
  }
  if (value.path !== undefined) {
    if (typeof value.path !== "string") fail(".path", "a regular expression string");
    try {
      new RegExp(value.path as string);
    } catch {
      fail(".path", "a valid regular expression");
    }
    rule.path = value.path as string;
  }
  if (value.method !== undefined) {
    if (typeof value.method !== "string") fail(".method", "an HTTP method");
    rule.method = value.method as string;
  }
  const numbers = ["status", "retryAfterSeconds", "retryAfterMs", "latencyInMs", "rate", "times"];
  for (const field of numbers) {
    const number = value[field];
    if (number === undefined) continue;
    if (typeof number !== "number" || !Number.isFinite(number) || number < 0) {
      fail(`.${field}`, "a non-negative number");
    }
    (rule as unknown as Record<string, number>)[field] = number as number;
  }
  if (rule.rate !== undefined && rule.rate > 1) fail(".rate", "a probability between 0 and 1");
  if (rule.status !== undefined && (rule.status < 100 || rule.status > 599)) {
    fail(".status", "an HTTP status code");
  }
  return rule;
}

/** A deterministic pseudo-random generator (mulberry32) returning numbers in [0, 1). */
export function createRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** What the server should do to one request. */
export interface FaultDecision {
  /** Milliseconds to wait before answering (latency rules). */
  delayInMs: number;
  /** The failing rule, if one fired. */
  failure?: FaultRule;
  /** Names of every rule kind that fired, for the request log. */
  labels: string[];
}

/** The request fields a fault rule is matched against. */
export interface FaultTarget {
  api: EmulatorApi;
  method: string;
  /** Path after the API prefix, without query. */
  path: string;
  /** Full request path, without query. */
  fullPath: string;
}

/** The live set of fault rules with their hit counters. */
export class FaultInjector {
  #rules: { rule: FaultRule; pattern: RegExp | undefined; hits: number }[] = [];
  readonly #random: () => number;

  constructor(rules: FaultRule[], random: () => number) {
    this.#random = random;
    this.set(rules);
  }

  /** Replaces every rule (and resets their counters). */
  set(rules: FaultRule[]): void {
    this.#rules = rules.map((rule) => ({
      rule,
      pattern: rule.path === undefined ? undefined : new RegExp(rule.path, "i"),
      hits: 0,
    }));
  }

  /** The rules in force. */
  get rules(): FaultRule[] {
    return this.#rules.map((entry) => entry.rule);
  }

  /** Decides which rules hit this request; every failure rule after the first that fires is skipped. */
  decide(target: FaultTarget): FaultDecision {
    const decision: FaultDecision = { delayInMs: 0, labels: [] };
    for (const entry of this.#rules) {
      const { rule } = entry;
      if (decision.failure !== undefined && rule.kind !== "latency") continue;
      if (rule.api !== undefined && rule.api !== "*" && rule.api !== target.api) continue;
      if (rule.method !== undefined && rule.method.toUpperCase() !== target.method.toUpperCase()) {
        continue;
      }
      if (
        entry.pattern !== undefined &&
        !entry.pattern.test(target.path) &&
        !entry.pattern.test(target.fullPath)
      ) {
        continue;
      }
      if (rule.times !== undefined && entry.hits >= rule.times) continue;
      // Draw only for rules with a rate, so adding a rate to one rule does not reshuffle the others.
      if (rule.rate !== undefined && rule.rate < 1 && this.#random() >= rule.rate) continue;
      entry.hits++;
      decision.labels.push(rule.kind);
      if (rule.kind === "latency") decision.delayInMs += rule.latencyInMs ?? 0;
      else decision.failure = rule;
    }
    return decision;
  }
}
