import { describe, expect, it } from "vitest";
import { RuleEvaluationError } from "../../../../src/core/errors.js";
import {
  addDuration,
  compareOrdered,
  formatInstant,
  isMissing,
  looseEquals,
  parseInstant,
  preview,
  requireInstant,
  typeName,
} from "../../../../src/core/rule/values.js";

describe("isMissing", () => {
  it.each([
    [undefined, true],
    [null, true],
    ["", false],
    [0, false],
    [false, false],
    [[], false],
  ] as const)("isMissing(%j) is %s", (value, want) => {
    const got = isMissing(value);

    expect(got).toBe(want);
  });
});

describe("typeName", () => {
  it.each([
    [undefined, "missing"],
    [null, "null"],
    [[1], "array"],
    [{}, "object"],
    ["s", "string"],
    [1, "number"],
    [true, "boolean"],
  ] as const)("names %j as %s", (value, want) => {
    const got = typeName(value);

    expect(got).toBe(want);
  });
});

describe("looseEquals", () => {
  it.each([
    ["abc", "ABC", true],
    ["abc", "abd", false],
    ["abc", "abc ", false],
    [true, "true", true],
    [true, "TRUE", true],
    [false, "true", false],
    [3, "3", true],
    ["3", 3, true],
    [3, "3.0", false],
    [3, 3, true],
    [3, 4, false],
    [["A", 1], ["a", "1"], true],
    [["a"], ["a", "b"], false],
    [["a"], "a", false],
    [{ Name: "X" }, { name: "x" }, true],
    [{ a: 1 }, { a: 1, b: 2 }, false],
    [{ a: { b: "C" } }, { A: { B: "c" } }, true],
    [undefined, null, true],
    [null, null, true],
    [undefined, "", false],
    [null, "null", false],
    [null, false, false],
  ] as const)("looseEquals(%j, %j) is %s", (a, b, want) => {
    const got = looseEquals(a, b);

    expect(got).toBe(want);
  });
});

describe("parseInstant", () => {
  it.each([
    ["2024-03-01T10:20:30Z", Date.UTC(2024, 2, 1, 10, 20, 30)],
    ["2024-03-01T10:20:30.5Z", Date.UTC(2024, 2, 1, 10, 20, 30, 500)],
    ["2024-03-01T10:20:30+02:00", Date.UTC(2024, 2, 1, 8, 20, 30)],
    ["2024-03-01T10:20:30-0130", Date.UTC(2024, 2, 1, 11, 50, 30)],
    ["2024-03-01T10:20:30", Date.UTC(2024, 2, 1, 10, 20, 30)],
    ["2024-03-01 10:20:30Z", Date.UTC(2024, 2, 1, 10, 20, 30)],
    ["2024-03-01T10:20Z", Date.UTC(2024, 2, 1, 10, 20)],
    ["2024-03-01", Date.UTC(2024, 2, 1)],
    ["2024-03-01t10:20:30z", Date.UTC(2024, 2, 1, 10, 20, 30)],
  ] as const)("reads %j as an instant", (text, want) => {
    const got = parseInstant(text);

    expect(got).toBe(want);
  });

  it.each([
    "",
    "yesterday",
    "2024-13-01T00:00:00Z",
    "2024-00-10",
    "2024-01-32",
    "2024-01-01T24:00:00Z",
    "2024-01-01T10:60:00Z",
    "2024-01-01T10:00:00+2",
    "20240101",
    "v2024-01-01",
  ])("returns undefined for %j, which is not an ISO 8601 date-time", (text) => {
    const got = parseInstant(text);

    expect(got).toBeUndefined();
  });

  it("returns undefined for a day that does not exist in its month", () => {
    const got = parseInstant("2023-02-30T00:00:00Z");

    expect(got).toBeUndefined();
  });

  it("reads a four-digit year below 100 as written, not as 19xx", () => {
    const got = parseInstant("0050-06-15T12:00:00Z");

    expect(got).toBe(Date.parse("0050-06-15T12:00:00Z"));
  });
});

describe("compareOrdered", () => {
  it("orders numbers by value", () => {
    const results = [compareOrdered(1, 2), compareOrdered(2, 2), compareOrdered(3, 2)];

    expect(results.map(Math.sign)).toEqual([-1, 0, 1]);
  });

  it("orders strings ignoring case", () => {
    const results = [
      compareOrdered("apple", "BANANA"),
      compareOrdered("ABC", "abc"),
      compareOrdered("b", "A"),
    ];

    expect(results.map(Math.sign)).toEqual([-1, 0, 1]);
  });

  it("orders date-times with different offsets as instants", () => {
    const sameInstant = compareOrdered("2024-01-01T12:00:00+02:00", "2024-01-01T10:00:00Z");
    const earlier = compareOrdered("2024-01-01T11:00:00+02:00", "2024-01-01T10:00:00Z");

    expect(sameInstant).toBe(0);
    expect(earlier).toBeLessThan(0);
  });

  it("orders a date-time against a non-date string as strings", () => {
    const got = compareOrdered("2024-01-01T00:00:00Z", "later");

    expect(Math.sign(got)).toBe(-1);
  });

  it.each([
    [1, "1"],
    ["1", 1],
    [true, false],
    [undefined, 1],
    [null, null],
    [[1], [1]],
  ] as const)(
    "throws RuleEvaluationError when ordering %j against %j (documented case: PR §Conditions, types differ)",
    (a, b) => {
      const call = () => compareOrdered(a, b);

      expect(call).toThrow(RuleEvaluationError);
    },
  );

  it("orders years before 100 before later years", () => {
    const got = compareOrdered("0099-06-01T00:00:00Z", "1999-01-01T00:00:00Z");

    expect(got).toBeLessThan(0);
  });

  it("distinguishes instants 100 ns apart, the resolution of the seven fractional digits utcNow() writes", () => {
    const got = compareOrdered("2024-06-01T10:00:00.1234567Z", "2024-06-01T10:00:00.1234568Z");

    expect(got).toBeLessThan(0);
  });
});

describe("formatInstant", () => {
  it("writes yyyy-MM-ddTHH:mm:ss.fffffffZ (documented case: PR §Policy functions, utcNow format)", () => {
    const got = formatInstant(Date.UTC(2025, 0, 15, 12, 3, 4, 56));

    expect(got).toBe("2025-01-15T12:03:04.0560000Z");
  });

  it("throws RuleEvaluationError for an instant out of range", () => {
    const call = () => formatInstant(Number.NaN);

    expect(call).toThrow(RuleEvaluationError);
  });
});

describe("addDuration", () => {
  const base = Date.UTC(2024, 0, 10, 12, 0, 0);

  it.each([
    ["P1D", Date.UTC(2024, 0, 11, 12)],
    ["-PT26H", Date.UTC(2024, 0, 9, 10)],
    ["PT90M", Date.UTC(2024, 0, 10, 13, 30)],
    ["PT30S", Date.UTC(2024, 0, 10, 12, 0, 30)],
    ["P1W", Date.UTC(2024, 0, 17, 12)],
    ["P1DT1H", Date.UTC(2024, 0, 11, 13)],
    ["-P1D", Date.UTC(2024, 0, 9, 12)],
  ] as const)("adds %s", (duration, want) => {
    const got = addDuration(base, duration);

    expect(got).toBe(want);
  });

  it.each(["", "P", "PT", "1D", "P1H", "-", "P1DT", "PXD"])(
    "throws RuleEvaluationError for the malformed duration %j",
    (duration) => {
      const call = () => addDuration(base, duration);

      expect(call).toThrow(RuleEvaluationError);
    },
  );
});

describe("requireInstant", () => {
  it("returns the instant of a date-time string", () => {
    const got = requireInstant("2024-01-01T00:00:00Z", "addDays");

    expect(got).toBe(Date.UTC(2024, 0, 1));
  });

  it.each([5, "not a date", null, undefined])(
    "throws RuleEvaluationError naming the function for %j",
    (value) => {
      const call = () => requireInstant(value, "addDays");

      expect(call).toThrow(/addDays\(\) expects an ISO 8601 date-time/);
    },
  );
});

describe("preview", () => {
  it("quotes strings, writes JSON for other values and cuts long text", () => {
    const results = [
      preview("x"),
      preview({ a: 1 }),
      preview(undefined),
      preview("y".repeat(100), 10),
    ];

    expect(results).toEqual(["'x'", '{"a":1}', "missing", `'${"y".repeat(8)}…`]);
  });
});
