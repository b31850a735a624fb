/**
 * Value semantics shared by operators and template functions: Azure Policy's case-insensitive
 * equality, ordering of numbers, strings and ISO 8601 date-times, and date arithmetic.
 */
import { RuleEvaluationError } from "../errors.js";

/** True for `undefined` (absent) and `null`: Azure Policy selects `null` for a missing field. */
export function isMissing(value: unknown): value is null | undefined {
  return value === undefined || value === null;
}

/** A short JSON-ish type name for messages. */
export function typeName(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  return typeof value;
}

/**
 * Equality as Azure Policy compares: strings case-insensitively; a boolean or number against a
 * string by its string form (`true` equals `"True"`, documented for `value` conditions);
 * arrays and objects member by member. A missing value equals only `null`.
 */
export function looseEquals(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isMissing(a) || isMissing(b))
    return isMissing(a) && isMissing(b) && (a === null || b === null);
  const ta = typeof a;
  const tb = typeof b;
  if (ta === "string" && tb === "string") {
    return (
      (a as string).length === (b as string).length &&
      (a as string).toLowerCase() === (b as string).toLowerCase()
    );
  }
  if (ta === "string" && (tb === "boolean" || tb === "number"))
    return (a as string).toLowerCase() === String(b).toLowerCase();
  if (tb === "string" && (ta === "boolean" || ta === "number"))
    return (b as string).toLowerCase() === String(a).toLowerCase();
  if (Array.isArray(a) || Array.isArray(b)) {
    if (!Array.isArray(a) || !Array.isArray(b) || a.length !== b.length) return false;
    for (let i = 0; i < a.length; i += 1) if (!looseEquals(a[i], b[i])) return false;
    return true;
  }
  if (ta === "object" && tb === "object") {
    const ka = Object.keys(a as object);
    const kb = Object.keys(b as object);
    if (ka.length !== kb.length) return false;
    const rb = b as Record<string, unknown>;
    const lowerB = new Map(kb.map((k) => [k.toLowerCase(), k]));
    for (const k of ka) {
      const match = lowerB.get(k.toLowerCase());
      if (match === undefined || !looseEquals((a as Record<string, unknown>)[k], rb[match]))
        return false;
    }
    return true;
  }
  return false;
}

const ISO_DATE =
  /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/i;

/**
 * Parse an ISO 8601 date or date-time (any number of fractional digits, `Z` or an offset; no
 * offset means UTC) into epoch milliseconds, or `undefined` when `text` is not one.
 */
export function parseInstant(text: string): number | undefined {
  if (text.length < 10 || text.length > 40) return undefined;
  const hit = instantCache.get(text);
  if (hit !== undefined || instantCache.has(text)) return hit;
  const parsed = parseInstantUncached(text);
  if (instantCache.size >= INSTANT_CACHE_SIZE) instantCache.clear();
  instantCache.set(text, parsed);
  return parsed;
}

// Date strings repeat (thresholds, the same backup seen by several controls): cache their parse.
const INSTANT_CACHE_SIZE = 50_000;
const instantCache = new Map<string, number | undefined>();

function parseInstantUncached(text: string): number | undefined {
  const m = ISO_DATE.exec(text);
  if (m === null) return undefined;
  const [, y, mo, d, h, mi, s, frac, zone] = m;
  const month = Number(mo);
  const day = Number(d);
  const hour = h === undefined ? 0 : Number(h);
  const minute = mi === undefined ? 0 : Number(mi);
  const second = s === undefined ? 0 : Number(s);
  if (month < 1 || month > 12 || day < 1 || day > 31 || hour > 23 || minute > 59 || second > 60)
    return undefined;
  const year = Number(y);
  // Date.UTC reads years 0–99 as 1900–1999; set the year explicitly.
  const date = new Date(Date.UTC(2000, month - 1, day, hour, minute, second));
  date.setUTCFullYear(year);
  if (date.getUTCDate() !== day || date.getUTCMonth() !== month - 1) return undefined;
  let ms = date.getTime();
  if (frac !== undefined) ms += Number(`0.${frac.slice(0, 3)}`) * 1000;
  if (zone !== undefined && zone.toUpperCase() !== "Z") {
    const sign = zone[0] === "-" ? -1 : 1;
    const digits = zone.slice(1).replace(":", "");
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4))) * 60_000;
  }
  return Number.isFinite(ms) ? ms : undefined;
}

/**
 * The digits of an ISO date-time's fraction below the millisecond, in units of 100 ns (0–9999):
 * epoch milliseconds in a double cannot hold them, and `utcNow()` writes seven digits.
 */
export function subMillisecond(text: string): number {
  const m = /\.\d{3}(\d{1,4})/.exec(text);
  return m === null ? 0 : Number((m[1] as string).padEnd(4, "0"));
}

/** Format epoch milliseconds as Azure Policy's `utcNow()` does: `yyyy-MM-ddTHH:mm:ss.fffffffZ`. */
export function formatInstant(ms: number, subMs = 0): string {
  if (!Number.isFinite(ms) || Math.abs(ms) > 8.64e15)
    throw new RuleEvaluationError(`date-time out of range: ${ms}`);
  const whole = Math.floor(ms);
  return new Date(whole)
    .toISOString()
    .replace(/\.(\d{3})Z$/, `.$1${String(subMs).padStart(4, "0")}Z`);
}

/**
 * Order two values for `less`/`greater`: numbers numerically, two ISO 8601 date-times as instants
 * (vigil's reading of "dateValue"; offsets are honoured), other strings ordinally ignoring case.
 * @throws RuleEvaluationError when the types differ or a side is missing (Azure Policy throws too).
 */
export function compareOrdered(a: unknown, b: unknown): number {
  if (typeof a === "number" && typeof b === "number") return a - b;
  if (typeof a === "string" && typeof b === "string") {
    const ia = parseInstant(a);
    const ib = ia === undefined ? undefined : parseInstant(b);
    if (ia !== undefined && ib !== undefined)
      return ia !== ib ? ia - ib : subMillisecond(a) - subMillisecond(b);
    const la = a.toUpperCase();
    const lb = b.toUpperCase();
    return la < lb ? -1 : la > lb ? 1 : 0;
  }
  const side = (v: unknown) =>
    v === undefined ? "a missing value" : `${typeName(v)} ${preview(v)}`;
  throw new RuleEvaluationError(`cannot order ${side(a)} against ${side(b)}`);
}

/** A short rendering of a value for messages and reasons; never walks more than it shows. */
export function preview(value: unknown, max = 80): string {
  if (value === undefined) return "missing";
  // Operands are mostly the same constant objects of a control: render each once.
  if (max === 80 && value !== null && typeof value === "object") {
    let cached = previewCache.get(value);
    if (cached === undefined) {
      cached = renderPreview(value, max);
      previewCache.set(value, cached);
    }
    return cached;
  }
  return renderPreview(value, max);
}

const previewCache = new WeakMap<object, string>();

function renderPreview(value: unknown, max: number): string {
  const text =
    typeof value === "string"
      ? `'${value.length > max ? value.slice(0, max) : value}'`
      : bounded(value, max);
  return text.length > max ? `${text.slice(0, max - 1)}…` : text;
}

function bounded(value: unknown, budget: number): string {
  if (value === null || typeof value !== "object")
    return typeof value === "string" ? JSON.stringify(value) : String(value);
  const parts: string[] = [];
  let used = 2;
  if (Array.isArray(value)) {
    for (const item of value) {
      if (used > budget) break;
      const text = bounded(item, budget - used);
      parts.push(text);
      used += text.length + 1;
    }
    return `[${parts.join(",")}]`;
  }
  for (const [k, v] of Object.entries(value)) {
    if (used > budget) break;
    const text = `${JSON.stringify(k)}:${bounded(v, budget - used)}`;
    parts.push(text);
    used += text.length + 1;
  }
  return `{${parts.join(",")}}`;
}

const DURATION =
  /^(-)?P(?:(\d+(?:\.\d+)?)Y)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$/i;

/**
 * Add an ISO 8601 duration (`P1D`, `-PT26H`, `P1Y2M`) to an instant, as ARM's `dateTimeAdd`
 * does: a year is 365 days and a month 30 (ARM documents this), the rest is fixed time.
 * @throws RuleEvaluationError for a malformed duration.
 */
export function addDuration(ms: number, duration: string): number {
  const m = DURATION.exec(duration);
  if (m === null || duration.replace(/^-/, "").toUpperCase() === "P" || /T$/i.test(duration)) {
    throw new RuleEvaluationError(
      `'${duration}' is not an ISO 8601 duration such as 'P1D' or '-PT26H'`,
    );
  }
  const sign = m[1] === "-" ? -1 : 1;
  const num = (i: number) => (m[i] === undefined ? 0 : Number(m[i]));
  // ARM's dateTimeAdd ignores the calendar: P1Y counts as P365D and P1M as P30D.
  const days = num(2) * 365 + num(3) * 30 + num(4) * 7 + num(5);
  const fixed = (days * 86_400 + num(6) * 3600 + num(7) * 60 + num(8)) * 1000;
  return ms + sign * fixed;
}

/** Parse a date-time argument of a template function. @throws RuleEvaluationError if it is not one. */
export function requireInstant(value: unknown, fn: string): number {
  if (typeof value === "string") {
    const ms = parseInstant(value);
    if (ms !== undefined) return ms;
  }
  throw new RuleEvaluationError(
    `${fn}() expects an ISO 8601 date-time, got ${typeName(value)} ${preview(value)}`,
  );
}
