import { describe, expect, it } from "vitest";
import { RuleCompileError } from "../../../../src/core/errors.js";
import { FALSE, TRUE, UNKNOWN } from "../../../../src/core/rule/context.js";
import { FUNCTIONS, functionNames, SPECIAL_FORMS } from "../../../../src/core/rule/functions.js";
import { parseInstant } from "../../../../src/core/rule/values.js";
import {
  check,
  compile,
  evaluateExpression,
  evaluateValue,
  NOW_MS,
  param,
} from "./rule-harness.js";

const SEVEN_DIGITS = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$/;

describe("FUNCTIONS", () => {
  it("keys every function by its lower-case name", () => {
    const names = Object.keys(FUNCTIONS);

    expect(names.filter((n) => n !== n.toLowerCase())).toEqual([]);
  });

  it.each(["[CONCAT('a', 'b')]", "[Concat('a', 'b')]", "[concat('a', 'b')]"])(
    "resolves %s whatever the case of the function name (documented case: ARMX §Use functions)",
    (expression) => {
      const got = evaluateValue(expression);

      expect(got).toBe("ab");
    },
  );

  it("resolves the special forms whatever their case (documented case: ARMX §Use functions)", () => {
    const parameters = { Tier: param("string", "gold") };

    const got = evaluateValue("[PARAMETERS('tier')]", { name: "n" }, { parameters });
    const field = evaluateValue("[FIELD('NAME')]", { name: "n" });

    expect(got).toBe("gold");
    expect(field).toBe("n");
  });

  describe("utcNow", () => {
    it("returns the evaluation time as yyyy-MM-ddTHH:mm:ss.fffffffZ (documented case: PR §Policy functions, utcNow)", () => {
      const got = evaluateValue("[utcNow()]");

      expect(got).toBe("2025-01-15T12:00:00.0000000Z");
      expect(got).toMatch(SEVEN_DIGITS);
    });

    it("returns the time the context was built with, not the clock", () => {
      const nowMs = Date.UTC(2030, 5, 1, 8, 9, 10, 11);

      const got = evaluateValue("[utcNow()]", {}, { nowMs });

      expect(got).toBe("2030-06-01T08:09:10.0110000Z");
    });

    it("does not ignore a format argument: either it applies the format or the rule does not compile", () => {
      let outcome: unknown;

      try {
        outcome = evaluateValue("[utcNow('yyyy-MM-dd')]");
      } catch (error) {
        outcome = error;
      }

      const seen = outcome instanceof RuleCompileError ? "a RuleCompileError" : outcome;
      expect(seen).toBeOneOf(["a RuleCompileError", "2025-01-15"]);
    });
  });

  describe("addDays", () => {
    it.each([
      ["[addDays(utcNow(), -7)]", "2025-01-08T12:00:00.0000000Z"],
      ["[addDays('2024-02-28T00:00:00Z', 1)]", "2024-02-29T00:00:00.0000000Z"],
      ["[addDays('2023-12-31T23:00:00+02:00', 1)]", "2024-01-01T21:00:00.0000000Z"],
      ["[addDays('2024-01-01T00:00:00.5Z', 0)]", "2024-01-01T00:00:00.5000000Z"],
    ] as const)("%s is %s (documented case: PR §Policy functions, addDays)", (expression, want) => {
      const got = evaluateValue(expression);

      expect(got).toBe(want);
    });

    it("keeps the seven fractional digits of its input (documented case: PR §Policy functions, addDays format yyyy-MM-ddTHH:mm:ss.FFFFFFFZ)", () => {
      const got = evaluateValue("[addDays('2024-01-01T00:00:00.1234567Z', 1)]");

      expect(got).toBe("2024-01-02T00:00:00.1234567Z");
    });

    it.each(["[addDays('not a date', 1)]", "[addDays(utcNow(), 'x')]"])(
      "makes %s fail evaluation instead of returning a value",
      (expression) => {
        const outcome = evaluateExpression(expression);

        expect(outcome.ok).toBe(false);
      },
    );
  });

  describe("dateTimeAdd", () => {
    it.each([
      ["[dateTimeAdd('2024-01-10T12:00:00Z', '-PT26H')]", "2024-01-09T10:00:00.0000000Z"],
      ["[dateTimeAdd('2024-01-10T12:00:00Z', 'PT1H30M')]", "2024-01-10T13:30:00.0000000Z"],
      ["[dateTimeAdd('2024-01-10T12:00:00Z', 'P1D')]", "2024-01-11T12:00:00.0000000Z"],
      ["[dateTimeAdd(utcNow(), '-P7D')]", "2025-01-08T12:00:00.0000000Z"],
    ] as const)("%s is %s", (expression, want) => {
      const got = evaluateValue(expression);

      expect(got).toBe(want);
    });

    it.each([
      ["2023-02-01 00:00:00Z", "P1M", Date.UTC(2023, 2, 3)],
      ["2024-02-01 00:00:00Z", "P1M", Date.UTC(2024, 2, 2)],
      ["2024-01-31T00:00:00Z", "P1M", Date.UTC(2024, 2, 1)],
      ["2023-01-01 00:00:00Z", "P1Y", Date.UTC(2024, 0, 1)],
      ["2024-01-01 00:00:00Z", "P1Y", Date.UTC(2024, 11, 31)],
    ] as const)(
      "adds %s + %s as P1M = P30D and P1Y = P365D (documented case: ARM template-functions-date §dateTimeAdd Remarks)",
      (base, duration, want) => {
        const got = evaluateValue(`[dateTimeAdd('${base}', '${duration}')]`);

        expect(typeof got === "string" ? parseInstant(got) : got).toBe(want);
      },
    );

    it("makes a malformed duration fail evaluation", () => {
      const outcome = evaluateExpression("[dateTimeAdd(utcNow(), '1 day')]");

      expect(outcome.ok).toBe(false);
    });
  });

  describe("concat", () => {
    it("joins strings (documented case: PR §Use tags with parameters, concat)", () => {
      const got = evaluateValue("[concat('tags[', 'env', ']')]");

      expect(got).toBe("tags[env]");
    });

    it("joins numbers and booleans by their string form", () => {
      const got = evaluateValue("[concat('v', 2, true())]");

      expect(got).toBe("v2true");
    });

    it("concatenates arrays one level deep", () => {
      const parameters = { a: param("array", ["x"]), b: param("array", ["y", ["z"]]) };

      const got = evaluateValue("[concat(parameters('a'), parameters('b'))]", {}, { parameters });

      expect(got).toEqual(["x", "y", ["z"]]);
    });
  });

  describe("split", () => {
    it("splits a string and indexes the result (documented case: PR §Policy functions, split)", () => {
      const got = evaluateValue("[split('a,b,c', ',')[1]]");

      expect(got).toBe("b");
    });

    it("splits on every delimiter of an array", () => {
      const parameters = { seps: param("array", [",", ";"]) };

      const got = evaluateValue("[split('a,b;c', parameters('seps'))]", {}, { parameters });

      expect(got).toEqual(["a", "b", "c"]);
    });

    it("makes an index past the end fail evaluation", () => {
      const outcome = evaluateExpression("[split('a,b', ',')[2]]");

      expect(outcome.ok).toBe(false);
    });
  });

  describe("if", () => {
    it("evaluates only the chosen branch (documented case: PR §Avoiding template failures)", () => {
      const doc = { name: "ab" };

      const got = evaluateValue(
        "[if(greaterOrEquals(length(field('name')), 3), substring(field('name'), 0, 3), 'not starting with abc')]",
        doc,
      );

      expect(got).toBe("not starting with abc");
    });

    it("evaluates the true branch without touching the false one", () => {
      const got = evaluateValue("[if(true(), 'yes', substring('ab', 0, 5))]");

      expect(got).toBe("yes");
    });

    it("makes the unguarded expression fail evaluation (documented case: PR §Value warning, substring of a short name)", () => {
      const result = check(
        { value: "[substring(field('name'), 0, 3)]", equals: "abc" },
        { name: "ab" },
      );

      expect(result).toBe(UNKNOWN);
    });

    it("accepts 'true' and 'false' strings as its condition", () => {
      const got = evaluateValue("[if('False', 'yes', 'no')]");

      expect(got).toBe("no");
    });
  });

  describe("tryGet", () => {
    it.each([
      ["[tryGet(parameters('obj'), 'Present')]", "here"],
      ["[tryGet(parameters('obj'), 'missing')]", null],
      ["[tryGet(parameters('list'), 1)]", "b"],
      ["[tryGet(parameters('list'), 9)]", null],
      ["[tryGet('text', 'x')]", null],
      ["[tryGetValue(parameters('obj'), 'present')]", "here"],
    ] as const)("%s is %j (documented case: PR §Policy functions, tryGet)", (expression, want) => {
      const parameters = {
        obj: param("object", { present: "here" }),
        list: param("array", ["a", "b"]),
      };

      const got = evaluateValue(expression, {}, { parameters });

      expect(got).toEqual(want);
    });
  });

  describe("parameters", () => {
    it("reads a member of an object parameter", () => {
      const parameters = { x: param("object", { y: { z: 4 } }) };

      const got = evaluateValue("[parameters('x').y.z]", {}, { parameters });

      expect(got).toBe(4);
    });

    it("reads the effective value, not the default", () => {
      const parameters = { x: param("integer", 1) };

      const got = evaluateValue("[parameters('x')]", {}, { parameters, params: { x: 9 } });

      expect(got).toBe(9);
    });

    it("makes a missing member fail evaluation", () => {
      const parameters = { x: param("object", { y: 1 }) };

      const outcome = evaluateExpression("[parameters('x').nope]", {}, { parameters });

      expect(outcome.ok).toBe(false);
    });
  });

  describe("field", () => {
    it("returns an empty string for a missing non-array field (documented case: ARR21 §Referencing array fields, field() of missingArray)", () => {
      const got = evaluateValue("[field('properties.missingArray')]", { properties: {} });

      expect(got).toBe("");
    });

    it.each([
      ["properties.missingArray[*]", []],
      ["properties.missingArray[*].property", []],
      ["properties.stringArray", ["a", "b", "c"]],
      ["properties.stringArray[*]", ["a", "b", "c"]],
      ["properties.objectArray[*].property", ["value1", "value2"]],
      [
        "properties.objectArray[*].nestedArray",
        [
          [1, 2],
          [3, 4],
        ],
      ],
      ["properties.objectArray[*].nestedArray[*]", [1, 2, 3, 4]],
    ] as const)(
      "field('%s') returns %j (documented case: ARR21 §Referencing array fields, field() table)",
      (path, want) => {
        const doc = {
          tags: { env: "prod" },
          properties: {
            stringArray: ["a", "b", "c"],
            objectArray: [
              { property: "value1", nestedArray: [1, 2] },
              { property: "value2", nestedArray: [3, 4] },
            ],
          },
        };

        const got = evaluateValue(`[field('${path}')]`, doc);

        expect(got).toEqual(want);
      },
    );
  });

  describe("length and less", () => {
    it("lets a boolean function result equal the string 'true' (documented case: PR §Value examples)", () => {
      const condition = { value: "[less(length(field('tags')), 3)]", equals: "true" };

      const result = check(condition, { tags: { a: "1", b: "2" } });

      expect(result).toBe(TRUE);
    });

    it("compares the same expression with a bare false (documented case: PR §Field count ex.6, equals false)", () => {
      const condition = { value: "[less(length(field('tags')), 3)]", equals: false };

      const result = check(condition, { tags: { a: "1", b: "2", c: "3" } });

      expect(result).toBe(TRUE);
    });
  });

  it.each([
    ["[first(parameters('list'))]", "a"],
    ["[last(parameters('list'))]", "c"],
    ["[first('xyz')]", "x"],
    ["[length(parameters('list'))]", 3],
    ["[empty(parameters('list'))]", false],
    ["[empty('')]", true],
    ["[take(parameters('list'), 2)]", ["a", "b"]],
    ["[skip(parameters('list'), 2)]", ["c"]],
    ["[contains(parameters('list'), 'B')]", true],
    ["[toLower('ABC')]", "abc"],
    ["[substring('abcdef', 1, 3)]", "bcd"],
    ["[startsWith('Prefix-x', 'prefix')]", true],
    ["[replace('a-b-c', '-', '.')]", "a.b.c"],
    ["[int('42')]", 42],
    ["[string(7)]", "7"],
    ["[add(2, 3)]", 5],
    ["[div(7, 2)]", 3],
    ["[and(true(), not(false()))]", true],
    ["[or(false(), equals('A', 'a'))]", true],
    ["[coalesce(null(), 'x')]", "x"],
    ["[union(parameters('list'), createArray('c', 'd'))]", ["a", "b", "c", "d"]],
    ["[intersection(parameters('list'), createArray('c', 'x'))]", ["c"]],
  ] as const)("%s is %j", (expression, want) => {
    const parameters = { list: param("array", ["a", "b", "c"]) };

    const got = evaluateValue(expression, {}, { parameters });

    expect(got).toEqual(want);
  });

  it("short-circuits and() so a failing later argument is not evaluated", () => {
    const got = evaluateValue("[and(false(), equals(substring('a', 0, 9), 'x'))]");

    expect(got).toBe(false);
  });

  it("keeps the evaluation time an input: the same rule gives different answers at different times", () => {
    const condition = { field: "lastBackup", less: "[addDays(utcNow(), -1)]" };
    const doc = { lastBackup: "2025-01-14T18:00:00Z" };

    const early = check(condition, doc, { nowMs: NOW_MS });
    const late = check(condition, doc, { nowMs: NOW_MS + 2 * 86_400_000 });

    expect(early).toBe(FALSE);
    expect(late).toBe(TRUE);
  });
});

describe("SPECIAL_FORMS", () => {
  it("declares parameters, field and current with their arities", () => {
    const forms = SPECIAL_FORMS;

    expect(forms).toEqual({
      parameters: { minArgs: 1, maxArgs: 1 },
      field: { minArgs: 1, maxArgs: 1 },
      current: { minArgs: 0, maxArgs: 1 },
    });
  });

  it("has no name in common with the function registry", () => {
    const shared = Object.keys(SPECIAL_FORMS).filter((n) => n in FUNCTIONS);

    expect(shared).toEqual([]);
  });
});

describe("functionNames", () => {
  it("lists the special forms and every registered function, sorted", () => {
    const names = functionNames();

    expect(names).toEqual([...names].sort());
    expect(names).toEqual(
      expect.arrayContaining(["parameters", "field", "current", "utcnow", "adddays"]),
    );
    expect(names).toHaveLength(Object.keys(FUNCTIONS).length + 3);
  });

  it("rejects a rule that calls a function outside the list", () => {
    const call = () => compile({ value: "[listKeys('x', '2020-01-01')]", equals: 1 });

    expect(call).toThrow(RuleCompileError);
  });
});
