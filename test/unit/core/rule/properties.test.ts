/**
 * Property-based tests of the rule engine, each against a small reference model written here
 * from the documented semantics (not from the engine's code).
 */
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { FALSE, TRUE, type Tri, UNKNOWN } from "../../../../src/core/rule/context.js";
import { OPERATORS } from "../../../../src/core/rule/operators.js";
import { appendPath, formatPath, parsePath, type Segment } from "../../../../src/core/rule/path.js";
import type { TraceEntry } from "../../../../src/core/types.js";
import { check, compile, makeContext, run } from "./rule-harness.js";

const RUNS = { numRuns: 200 };

function holds(operator: string, actual: unknown, expected: unknown): boolean {
  const op = OPERATORS[operator];
  if (op === undefined) throw new Error(`no operator ${operator}`);
  return op.test(actual, expected);
}

// ------------------------------------------------------------------------------------------------
// (a) case-insensitive string operators

/** Letters whose lower and upper case map one to one, a few symbols, and pattern characters. */
const TEXT_CHARS = [..."aAbBzZéÉñÑß0 1-_.?#"];
const textChar = fc.constantFrom(...TEXT_CHARS);
const text = fc.string({ unit: textChar, maxLength: 8 });

function flipCase(s: string, flags: readonly boolean[]): string {
  return [...s].map((c, i) => (flags[i] === true ? c.toUpperCase() : c.toLowerCase())).join("");
}

const caseVariant = (s: string) =>
  fc.array(fc.boolean(), { minLength: s.length, maxLength: s.length }).map((f) => flipCase(s, f));

/** A value and a second string that is often a case variant or a piece of it. */
const textPair = text.chain((a) =>
  fc.tuple(
    fc.constant(a),
    fc.oneof(
      text,
      caseVariant(a),
      fc
        .tuple(fc.nat({ max: a.length }), fc.nat({ max: a.length }))
        .chain(([i, j]) => caseVariant(a.slice(Math.min(i, j), Math.max(i, j)))),
    ),
  ),
);

const refEquals = (a: string, b: string) => a.toLowerCase() === b.toLowerCase();

/** Reference `like`: `*` matches any run, every other character itself ignoring case; whole string. */
function refLike(value: string, pattern: string): boolean {
  const v = [...value.toLowerCase()];
  const p = [...pattern.toLowerCase()];
  // can[i][j]: the first i pattern characters match the first j value characters.
  let row: boolean[] = [true, ...v.map(() => false)];
  for (const pc of p) {
    const next: boolean[] = [pc === "*" && (row[0] ?? false)];
    for (let j = 1; j <= v.length; j += 1) {
      next[j] =
        pc === "*"
          ? (row[j] ?? false) || (next[j - 1] ?? false)
          : (row[j - 1] ?? false) && pc === v[j - 1];
    }
    row = next;
  }
  return row[v.length] ?? false;
}

/** A like pattern: random, or the value with some characters turned into `*` and cases flipped. */
const likePair = text.chain((value) =>
  fc.tuple(
    fc.constant(value),
    fc.oneof(
      fc.string({ unit: fc.constantFrom(...TEXT_CHARS, "*"), maxLength: 8 }),
      fc
        .array(fc.constantFrom("keep", "star", "flip"), {
          minLength: value.length,
          maxLength: value.length,
        })
        .map((ops) =>
          [...value]
            .map((c, i) => (ops[i] === "star" ? "*" : ops[i] === "flip" ? c.toUpperCase() : c))
            .join(""),
        ),
    ),
  ),
);

describe("OPERATORS (property: case-insensitive string operators against a toLowerCase reference)", () => {
  it("equals and notEquals agree with comparing lower-cased strings", () => {
    fc.assert(
      fc.property(textPair, ([a, b]) => {
        const equals = check({ field: "s", equals: b }, { s: a });
        const notEquals = check({ field: "s", notEquals: b }, { s: a });

        expect(equals).toBe(refEquals(a, b) ? TRUE : FALSE);
        expect(notEquals).toBe(refEquals(a, b) ? FALSE : TRUE);
      }),
      RUNS,
    );
  });

  it("in and notIn agree with membership under lower-cased comparison", () => {
    fc.assert(
      fc.property(textPair, fc.array(text, { maxLength: 3 }), ([a, b], others) => {
        const list = [...others, b];

        const inList = holds("in", a, list);
        const notIn = holds("notIn", a, list);

        const want = list.some((x) => refEquals(a, x));
        expect(inList).toBe(want);
        expect(notIn).toBe(!want);
      }),
      RUNS,
    );
  });

  it("contains and notContains agree with a lower-cased substring test", () => {
    fc.assert(
      fc.property(textPair, ([a, b]) => {
        const contains = holds("contains", a, b);
        const notContains = holds("notContains", a, b);

        const want = a.toLowerCase().includes(b.toLowerCase());
        expect(contains).toBe(want);
        expect(notContains).toBe(!want);
      }),
      RUNS,
    );
  });

  it("like and notLike agree with a reference wildcard matcher", () => {
    fc.assert(
      fc.property(likePair, ([value, pattern]) => {
        const like = check({ field: "s", like: pattern }, { s: value });
        const notLike = check({ field: "s", notLike: pattern }, { s: value });

        const want = refLike(value, pattern);
        expect(like).toBe(want ? TRUE : FALSE);
        expect(notLike).toBe(want ? FALSE : TRUE);
      }),
      RUNS,
    );
  });
});

// ------------------------------------------------------------------------------------------------
// (b) match patterns

const DIGITS = [..."0123456789"];
const LETTERS = [..."abcxyzABCXYZ"];
const LITERALS = [..."aBz07+($^|\\/-* []{}"];
const VALUE_POOL = [...new Set([...DIGITS, ...LETTERS, ...LITERALS, "_", "!", "."])];

function refMatch(value: string, pattern: string, insensitive: boolean): boolean {
  if (value.length !== pattern.length) return false;
  for (let i = 0; i < pattern.length; i += 1) {
    const p = pattern[i] as string;
    const v = value[i] as string;
    if (p === "#") {
      if (!DIGITS.includes(v)) return false;
    } else if (p === "?") {
      if (!/^[A-Za-z]$/.test(v)) return false;
    } else if (p !== ".") {
      if (insensitive ? p.toLowerCase() !== v.toLowerCase() : p !== v) return false;
    }
  }
  return true;
}

const patternChar = fc.oneof(fc.constantFrom("#", "?", "."), fc.constantFrom(...LITERALS));
const matchPatternArb = fc.string({ unit: patternChar, maxLength: 6 });

/** A value built to match the pattern, then maybe damaged in one place. */
const matchPair = matchPatternArb.chain((pattern) =>
  fc
    .tuple(
      fc.constant(pattern),
      fc
        .tuple(
          ...[...pattern].map((p) =>
            p === "#"
              ? fc.constantFrom(...DIGITS)
              : p === "?"
                ? fc.constantFrom(...LETTERS)
                : p === "."
                  ? fc.constantFrom(...VALUE_POOL)
                  : fc.constantFrom(p, p.toUpperCase(), p.toLowerCase()),
          ),
        )
        .map((chars) => chars.join("")),
      fc.oneof(
        fc.constant({ kind: "none" as const }),
        fc.record({
          kind: fc.constant("replace" as const),
          at: fc.nat(),
          ch: fc.constantFrom(...VALUE_POOL),
        }),
        fc.record({ kind: fc.constant("append" as const), ch: fc.constantFrom(...VALUE_POOL) }),
        fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }),
      ),
    )
    .map(([p, built, damage]) => {
      let value = built;
      if (damage.kind === "replace" && value.length > 0) {
        const at = damage.at % value.length;
        value = value.slice(0, at) + damage.ch + value.slice(at + 1);
      } else if (damage.kind === "append") {
        value += damage.ch;
      } else if (damage.kind === "drop" && value.length > 0) {
        const at = damage.at % value.length;
        value = value.slice(0, at) + value.slice(at + 1);
      }
      return [p, value] as const;
    }),
);

describe("OPERATORS (property: match patterns against a reference matcher)", () => {
  it("match and notMatch agree with a case-sensitive reference: # digit, ? letter, . any", () => {
    fc.assert(
      fc.property(matchPair, ([pattern, value]) => {
        const match = holds("match", value, pattern);
        const notMatch = holds("notMatch", value, pattern);

        const want = refMatch(value, pattern, false);
        expect(match).toBe(want);
        expect(notMatch).toBe(!want);
      }),
      RUNS,
    );
  });

  it("matchInsensitively and notMatchInsensitively agree with a case-insensitive reference", () => {
    fc.assert(
      fc.property(matchPair, ([pattern, value]) => {
        const match = holds("matchInsensitively", value, pattern);
        const notMatch = holds("notMatchInsensitively", value, pattern);

        const want = refMatch(value, pattern, true);
        expect(match).toBe(want);
        expect(notMatch).toBe(!want);
      }),
      RUNS,
    );
  });
});

// ------------------------------------------------------------------------------------------------
// (c) ordering of integers and instants

const ORDERING: readonly [string, (d: number) => boolean][] = [
  ["less", (d) => d < 0],
  ["lessOrEquals", (d) => d <= 0],
  ["greater", (d) => d > 0],
  ["greaterOrEquals", (d) => d >= 0],
];

const CENTURY_MS = 100 * 365.25 * 86_400_000;

const pad = (n: number, width: number) => String(n).padStart(width, "0");

/** Write an instant as local time at an offset: `yyyy-MM-ddTHH:mm:ss[.fff]±HH:MM` (or `Z`). */
function writeAt(ms: number, offsetMinutes: number, withMillis: boolean, colon: boolean): string {
  const local = new Date(ms + offsetMinutes * 60_000);
  const date = `${pad(local.getUTCFullYear(), 4)}-${pad(local.getUTCMonth() + 1, 2)}-${pad(local.getUTCDate(), 2)}`;
  const time = `${pad(local.getUTCHours(), 2)}:${pad(local.getUTCMinutes(), 2)}:${pad(local.getUTCSeconds(), 2)}`;
  const millis = withMillis ? `.${pad(local.getUTCMilliseconds(), 3)}` : "";
  if (offsetMinutes === 0 && !colon) return `${date}T${time}${millis}Z`;
  const sign = offsetMinutes < 0 ? "-" : "+";
  const abs = Math.abs(offsetMinutes);
  const zone = `${sign}${pad(Math.floor(abs / 60), 2)}${colon ? ":" : ""}${pad(abs % 60, 2)}`;
  return `${date}T${time}${millis}${zone}`;
}

function instantText(minMs: number, maxMs: number) {
  return fc
    .record({
      // The first and last century of the range get as many draws as the rest together.
      ms: fc.oneof(
        fc.integer({ min: minMs, max: maxMs }),
        fc.integer({ min: minMs, max: Math.min(maxMs, minMs + CENTURY_MS) }),
        fc.integer({ min: Math.max(minMs, maxMs - CENTURY_MS), max: maxMs }),
      ),
      offset: fc.integer({ min: -14 * 60, max: 14 * 60 }),
      withMillis: fc.boolean(),
      colon: fc.boolean(),
    })
    .map((r) => {
      const ms = r.withMillis ? r.ms : r.ms - (((r.ms % 1000) + 1000) % 1000);
      return { ms, text: writeAt(ms, r.offset, r.withMillis, r.colon) };
    });
}

/** Two instants, the second often equal or close to the first. */
function instantPair(minMs: number, maxMs: number) {
  const one = instantText(minMs, maxMs);
  return one.chain((a) =>
    fc.tuple(
      fc.constant(a),
      fc.oneof(
        one,
        fc
          .tuple(
            fc.integer({ min: -90_000, max: 90_000 }),
            fc.integer({ min: -14 * 60, max: 14 * 60 }),
          )
          .map(([deltaS, offset]) => {
            const ms = Math.min(maxMs, Math.max(minMs, a.ms + deltaS * 1000));
            return { ms, text: writeAt(ms, offset, ms % 1000 !== 0, true) };
          }),
      ),
    ),
  );
}

const MS_1970 = Date.parse("1970-01-01T00:00:00Z");
const MS_2100 = Date.parse("2100-01-01T00:00:00Z");
const MS_YEAR_1 = Date.parse("0001-01-02T00:00:00Z");
const MS_YEAR_9999 = Date.parse("9999-12-30T00:00:00Z");

describe("OPERATORS (property: ordering against numeric and Date arithmetic)", () => {
  it("orders random integers as numbers do", () => {
    fc.assert(
      fc.property(fc.integer(), fc.integer(), (a, b) => {
        const got = ORDERING.map(([op]) => check({ value: a, [op]: b }));

        expect(got).toEqual(ORDERING.map(([, ref]) => (ref(a - b) ? TRUE : FALSE)));
      }),
      RUNS,
    );
  });

  it("orders ISO date-times written at random offsets as the instants they denote (1970-2100)", () => {
    fc.assert(
      fc.property(instantPair(MS_1970, MS_2100), ([a, b]) => {
        const got = ORDERING.map(([op]) => holds(op, a.text, b.text));

        expect(got).toEqual(ORDERING.map(([, ref]) => ref(a.ms - b.ms)));
      }),
      RUNS,
    );
  });

  it("orders ISO date-times across the whole four-digit year range 0001-9999", () => {
    fc.assert(
      fc.property(instantPair(MS_YEAR_1, MS_YEAR_9999), ([a, b]) => {
        const got = ORDERING.map(([op]) => holds(op, a.text, b.text));

        expect(got).toEqual(ORDERING.map(([, ref]) => ref(a.ms - b.ms)));
      }),
      RUNS,
    );
  });
});

// ------------------------------------------------------------------------------------------------
// (d) path resolution

const KEYS = ["a", "A", "b", "Bb", "bB", "c"];
const PATH_KEYS = ["a", "A", "b", "B", "bb", "BB", "bB", "c", "C"];
const PROTOTYPE_KEYS = ["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"];

const scalar = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom("x", "y", ""),
  fc.boolean(),
  fc.constant(null),
);

const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalar,
    fc.array(tie("value"), { maxLength: 3 }),
    tie("object"),
  ),
  object: fc.dictionary(fc.constantFrom(...KEYS), tie("value"), { maxKeys: 4 }),
})).object;

function segmentArb(keys: readonly string[]) {
  return fc.oneof(
    {
      weight: 4,
      arbitrary: fc
        .constantFrom(...keys)
        .map((name): Segment => ({ kind: "prop", name, lower: name.toLowerCase() })),
    },
    {
      weight: 1,
      arbitrary: fc.nat({ max: 2 }).map((index): Segment => ({ kind: "index", index })),
    },
    { weight: 2, arbitrary: fc.constant<Segment>({ kind: "all" }) },
  );
}

function pathArb(keys: readonly string[]) {
  return fc
    .tuple(segmentArb(keys), fc.array(segmentArb(keys), { maxLength: 3 }))
    .filter(([first]) => first.kind === "prop")
    .map(([first, rest]) => [first, ...rest]);
}

/** Reference property read: an own key spelled exactly, else the first own key equal ignoring case. */
function refGet(value: unknown, name: string): unknown {
  if (value === null || typeof value !== "object" || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  if (Object.hasOwn(record, name)) return record[name];
  const key = Object.keys(record).find((k) => k.toLowerCase() === name.toLowerCase());
  return key === undefined ? undefined : record[key];
}

/** Reference walker: every value a path selects; `[*]` fans out over arrays, nothing otherwise. */
function refSelect(value: unknown, segments: readonly Segment[]): unknown[] {
  const [head, ...rest] = segments;
  if (head === undefined) return [value];
  if (head.kind === "all") {
    return Array.isArray(value) ? value.flatMap((member) => refSelect(member, rest)) : [];
  }
  if (head.kind === "index") {
    return refSelect(Array.isArray(value) ? value[head.index] : undefined, rest);
  }
  return refSelect(refGet(value, head.name), rest);
}

const SENTINEL = "\u0001never-equal";

/** What the engine reads at `segments`: the value (undefined when missing) or the selected list. */
function engineSelect(doc: unknown, segments: readonly Segment[]): unknown {
  const { result, ctx } = run({ field: formatPath(segments), notEquals: SENTINEL }, doc);
  const entry = (ctx.trace as TraceEntry[])[0];
  if (result !== TRUE || entry === undefined) throw new Error(`unexpected result ${result}`);
  return entry.missing === true ? undefined : entry.observed;
}

function expectedSelection(doc: unknown, segments: readonly Segment[]): unknown {
  const selected = refSelect(doc, segments);
  if (segments.some((s) => s.kind === "all")) return selected.slice(0, 20).map((v) => v ?? null);
  return selected[0];
}

describe("parsePath (property: path resolution against a reference walker)", () => {
  it("reads what the reference walker selects, ignoring key case and fanning out [*]", () => {
    fc.assert(
      fc.property(json, pathArb(PATH_KEYS), (doc, segments) => {
        const got = engineSelect(doc, segments);

        expect(got).toEqual(expectedSelection(doc, segments));
      }),
      RUNS,
    );
  });

  it("reads only own keys, never members inherited from Object.prototype", () => {
    fc.assert(
      fc.property(json, pathArb([...PATH_KEYS, ...PROTOTYPE_KEYS]), (doc, segments) => {
        const got = engineSelect(doc, segments);

        expect(got).toEqual(expectedSelection(doc, segments));
      }),
      RUNS,
    );
  });
});

// ------------------------------------------------------------------------------------------------
// (e) formatPath / parsePath round trip

const NAME_CHARS = [..."aZ_$-09.[]'\"* \\/é"];
const propName = fc.oneof(
  fc.string({ unit: fc.constantFrom(...NAME_CHARS), maxLength: 6 }),
  fc.string({ unit: "binary", maxLength: 6 }),
);
const anySegment = fc.oneof(
  propName.map((name): Segment => ({ kind: "prop", name, lower: name.toLowerCase() })),
  fc.nat({ max: 1_000_000 }).map((index): Segment => ({ kind: "index", index })),
  fc.constant<Segment>({ kind: "all" }),
);

describe("formatPath (property: round trip through parsePath)", () => {
  it("parsePath(formatPath(segments)) gives the segments back", () => {
    fc.assert(
      fc.property(fc.array(anySegment, { minLength: 1, maxLength: 5 }), (segments) => {
        const parsed = parsePath(formatPath(segments));

        expect(parsed.segments).toEqual(segments);
        expect(parsed.hasWildcard).toBe(segments.some((s) => s.kind === "all"));
      }),
      RUNS,
    );
  });

  it("appendPath one segment at a time writes what formatPath writes", () => {
    fc.assert(
      fc.property(fc.array(anySegment, { minLength: 1, maxLength: 5 }), (segments) => {
        const appended = segments.reduce((path, s) => appendPath(path, s), "");

        expect(appended).toBe(formatPath(segments));
      }),
      RUNS,
    );
  });
});

// ------------------------------------------------------------------------------------------------
// (f) negation, (g) Kleene connectives and (h) gaps never flip a decision

const WORDS = ["dev", "DEV", "prod", "x"];

const leafArb: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  fc.record({ field: fc.constant("p.x"), equals: fc.constantFrom(...WORDS) }),
  fc.record({ field: fc.constant("p.x"), like: fc.constantFrom("d*", "*o*", "x") }),
  fc.record({ field: fc.constant("p.x"), in: fc.constant(["dev", "test"]) }),
  fc.record({ field: fc.constant("p.x"), exists: fc.constantFrom(true, "false") }),
  fc.record({ field: fc.constant("p.n"), less: fc.integer({ min: 0, max: 4 }) }),
  fc.record({ field: fc.constant("arr[*]"), equals: fc.constantFrom(...WORDS) }),
  fc.record({ field: fc.constant("arr[*]"), notEquals: fc.constantFrom(...WORDS) }),
  fc
    .tuple(
      fc.constantFrom(...WORDS),
      fc.integer({ min: 0, max: 3 }),
      fc.constantFrom("equals", "greater", "less"),
    )
    .map(([w, n, op]) => ({
      count: { field: "arr[*]", where: { field: "arr[*]", equals: w } },
      [op]: n,
    })),
  fc
    .tuple(
      fc.constantFrom(...WORDS),
      fc.integer({ min: 0, max: 3 }),
      fc.integer({ min: 0, max: 2 }),
    )
    .map(([w, inner, outer]) => ({
      count: {
        field: "objs[*]",
        where: {
          count: { field: "objs[*].tags[*]", where: { field: "objs[*].tags[*]", equals: w } },
          greater: inner,
        },
      },
      greater: outer,
    })),
  fc.record({ field: fc.constant("objs[*].tags[*]"), notEquals: fc.constantFrom(...WORDS) }),
  fc.record({
    value: fc.constant("[length(field('arr[*]'))]"),
    greater: fc.integer({ min: 0, max: 6 }),
  }),
);

const conditionArb = fc.letrec<{ cond: Record<string, unknown> }>((tie) => ({
  cond: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    leafArb,
    fc.array(tie("cond"), { minLength: 1, maxLength: 3 }).map((items) => ({ allOf: items })),
    fc.array(tie("cond"), { minLength: 1, maxLength: 3 }).map((items) => ({ anyOf: items })),
    tie("cond").map((c) => ({ not: c })),
  ),
})).cond;

const missing = fc.constant(undefined);
const docArb = fc
  .record({
    x: fc.oneof(fc.constantFrom(...WORDS), missing),
    n: fc.oneof(fc.integer({ min: 0, max: 5 }), fc.constant("3"), missing),
    arr: fc.oneof(fc.array(fc.constantFrom(...WORDS), { maxLength: 8 }), missing),
    objs: fc.array(
      fc.record(
        { tags: fc.array(fc.constantFrom(...WORDS), { maxLength: 3 }) },
        { requiredKeys: [] },
      ),
      { maxLength: 7 },
    ),
  })
  .map(({ x, n, arr, objs }) => ({
    p: { ...(x !== undefined ? { x } : {}), ...(n !== undefined ? { n } : {}) },
    ...(arr !== undefined ? { arr } : {}),
    objs,
  }));
const gapsArb = fc.subarray(
  ["p.x", "p.n", "arr[1]", "arr[6]", "arr", "objs[1]", "objs[5].tags", "objs[0].tags[2]"],
  { maxLength: 2 },
);

function flip(t: Tri): Tri {
  return t === UNKNOWN ? UNKNOWN : t === TRUE ? FALSE : TRUE;
}

function kleeneAnd(a: Tri, b: Tri): Tri {
  if (a === FALSE || b === FALSE) return FALSE;
  return a === UNKNOWN || b === UNKNOWN ? UNKNOWN : TRUE;
}

function kleeneOr(a: Tri, b: Tri): Tri {
  return flip(kleeneAnd(flip(a), flip(b)));
}

describe("compileCondition (property: three-valued logic)", () => {
  it("not(c) is the flip of c, with UNKNOWN fixed", () => {
    fc.assert(
      fc.property(conditionArb, docArb, gapsArb, (cond, doc, gaps) => {
        const plain = check(cond, doc, { gaps });
        const negated = check({ not: cond }, doc, { gaps });

        expect(negated).toBe(flip(plain));
      }),
      RUNS,
    );
  });

  it("allOf and anyOf of two conditions follow Kleene's strong three-valued AND and OR", () => {
    fc.assert(
      fc.property(conditionArb, conditionArb, docArb, gapsArb, (c1, c2, doc, gaps) => {
        const r1 = check(c1, doc, { gaps });
        const r2 = check(c2, doc, { gaps });

        const all = check({ allOf: [c1, c2] }, doc, { gaps });
        const any = check({ anyOf: [c1, c2] }, doc, { gaps });

        expect(all).toBe(kleeneAnd(r1, r2));
        expect(any).toBe(kleeneOr(r1, r2));
      }),
      RUNS,
    );
  });

  it("a gap turns a decided result into UNKNOWN or leaves it, never into the opposite decision", () => {
    fc.assert(
      fc.property(conditionArb, docArb, gapsArb, (cond, doc, gaps) => {
        const complete = check(cond, doc);
        const withGaps = check(cond, doc, { gaps });

        expect([complete, UNKNOWN]).toContain(withGaps);
      }),
      RUNS,
    );
  });

  it("gives the same results whether or not a trace is recorded", () => {
    fc.assert(
      fc.property(conditionArb, docArb, gapsArb, (cond, doc, gaps) => {
        const traced = check(cond, doc, { gaps });
        const untraced = check(cond, doc, { gaps, trace: false });

        expect(untraced).toBe(traced);
      }),
      RUNS,
    );
  });

  it("gives the same results when one compiled rule runs over many documents in turn", () => {
    fc.assert(
      fc.property(
        conditionArb,
        fc.array(fc.tuple(docArb, gapsArb), { minLength: 2, maxLength: 4 }),
        (cond, inputs) => {
          const compiled = compile(cond);
          const params = {};

          const reused = inputs.map(([doc, gaps]) =>
            compiled({ ...makeContext(doc, { gaps }), params }),
          );

          expect(reused).toEqual(inputs.map(([doc, gaps]) => check(cond, doc, { gaps })));
        },
      ),
      RUNS,
    );
  });
});
