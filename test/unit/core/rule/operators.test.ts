import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import { RuleEvaluationError } from "../../../../src/core/errors.js";
import {
  describeExpectation,
  describeRequirement,
  existsOperand,
  likePattern,
  matchPattern,
  OPERATOR_NAMES,
  OPERATORS,
} from "../../../../src/core/rule/operators.js";

function test(operator: string, actual: unknown, expected: unknown): boolean {
  const op = OPERATORS[operator];
  if (op === undefined) throw new Error(`no operator ${operator}`);
  return op.test(actual, expected);
}

interface SchemaBranch {
  if?: { required?: string[] };
  then?: { properties?: Record<string, unknown> };
}

function schemaOperatorLists(): Record<string, string[]> {
  const url = new URL("../../../../policies/schema/control.schema.json", import.meta.url);
  const schema = JSON.parse(readFileSync(url, "utf8")) as {
    $defs: { condition: { allOf: SchemaBranch[] } };
  };
  const lists: Record<string, string[]> = {};
  for (const branch of schema.$defs.condition.allOf) {
    const subject = branch.if?.required?.[0];
    if (subject !== "field" && subject !== "value" && subject !== "count") continue;
    lists[subject] = Object.keys(branch.then?.properties ?? {}).filter((k) => k !== subject);
  }
  return lists;
}

describe("OPERATORS", () => {
  it("holds exactly the operator keys the control schema allows in field, value and count leaves", () => {
    const lists = schemaOperatorLists();

    const registry = [...Object.keys(OPERATORS)].sort();

    expect(Object.keys(lists).sort()).toEqual(["count", "field", "value"]);
    for (const subject of ["field", "value", "count"]) {
      expect([...(lists[subject] ?? [])].sort(), `schema ${subject} leaf`).toEqual(registry);
    }
  });

  it("holds exactly the operators of the rule language (documented case: PR §Conditions)", () => {
    const documented = [
      "equals",
      "notEquals",
      "like",
      "notLike",
      "match",
      "matchInsensitively",
      "notMatch",
      "notMatchInsensitively",
      "contains",
      "notContains",
      "in",
      "notIn",
      "containsKey",
      "notContainsKey",
      "less",
      "lessOrEquals",
      "greater",
      "greaterOrEquals",
      "exists",
    ];

    const names = Object.keys(OPERATORS);

    expect([...names].sort()).toEqual([...documented].sort());
    expect(OPERATOR_NAMES).toEqual(names);
  });

  it.each([
    // equals / notEquals
    ["equals", "Enabled", "Enabled", true],
    ["equals", "Enabled", "Disabled", false],
    ["equals", 3, 3, true],
    ["equals", 3, 4, false],
    ["equals", ["a", "b"], ["a", "b"], true],
    ["equals", ["a", "b"], ["b", "a"], false],
    ["equals", { k: "v" }, { k: "v" }, true],
    ["equals", { k: "v" }, { k: "w" }, false],
    ["notEquals", "Enabled", "Disabled", true],
    ["notEquals", "Enabled", "Enabled", false],
    // like / notLike
    ["like", "rg-prod-01", "rg-prod-*", true],
    ["like", "rg-test-01", "rg-prod-*", false],
    ["notLike", "rg-test-01", "rg-prod-*", true],
    ["notLike", "rg-prod-01", "rg-prod-*", false],
    // match family
    ["match", "ab12", "??##", true],
    ["match", "ab1c", "??##", false],
    ["matchInsensitively", "AB12", "ab##", true],
    ["matchInsensitively", "AB12", "ac##", false],
    ["notMatch", "ab1c", "??##", true],
    ["notMatch", "ab12", "??##", false],
    ["notMatchInsensitively", "AB12", "ac##", true],
    ["notMatchInsensitively", "AB12", "ab##", false],
    // contains / notContains
    ["contains", "Microsoft.Network/virtualNetworks", "Network/", true],
    ["contains", "Microsoft.Network/virtualNetworks", "Storage", false],
    ["contains", ["a", "b"], "b", true],
    ["contains", ["a", "b"], "c", false],
    ["notContains", "Microsoft.Storage", "Network", true],
    ["notContains", "Microsoft.Network", "Network", false],
    // in / notIn
    ["in", "dev", ["dev", "test"], true],
    ["in", "prod", ["dev", "test"], false],
    ["in", 2, [2, 3], true],
    ["in", 4, [2, 3], false],
    ["notIn", "prod", ["dev", "test"], true],
    ["notIn", "dev", ["dev", "test"], false],
    // containsKey / notContainsKey
    ["containsKey", { application: "erp" }, "application", true],
    ["containsKey", { owner: "ops" }, "application", false],
    ["notContainsKey", { owner: "ops" }, "application", true],
    ["notContainsKey", { application: "erp" }, "application", false],
    // ordering
    ["less", 1, 2, true],
    ["less", 2, 2, false],
    ["lessOrEquals", 2, 2, true],
    ["lessOrEquals", 3, 2, false],
    ["greater", 3, 2, true],
    ["greater", 2, 2, false],
    ["greaterOrEquals", 2, 2, true],
    ["greaterOrEquals", 1, 2, false],
    // exists
    ["exists", "x", true, true],
    ["exists", undefined, true, false],
  ] as const)("%s(%j, %j) is %s", (operator, actual, expected, want) => {
    const got = test(operator, actual, expected);

    expect(got).toBe(want);
  });

  it.each([
    ["equals", "ENABLED", "enabled", true],
    ["notEquals", "ENABLED", "enabled", false],
    ["like", "RG-PROD-01", "rg-prod-*", true],
    ["notLike", "RG-PROD-01", "rg-prod-*", false],
    ["matchInsensitively", "ABC", "abc", true],
    ["notMatchInsensitively", "ABC", "abc", false],
    ["contains", "Microsoft.NETWORK/x", "network/", true],
    ["notContains", "Microsoft.NETWORK/x", "network/", false],
    ["contains", ["Alpha", "Beta"], "beta", true],
    ["in", "DEV", ["dev", "test"], true],
    ["notIn", "DEV", ["dev", "test"], false],
    ["containsKey", { Application: "erp" }, "APPLICATION", true],
    ["notContainsKey", { Application: "erp" }, "application", false],
    ["less", "apple", "BANANA", true],
    ["lessOrEquals", "ABC", "abc", true],
    ["greater", "b", "A", true],
    ["greaterOrEquals", "abc", "ABC", true],
  ] as const)(
    "compares strings case-insensitively: %s(%j, %j) is %s (documented case: PR §Conditions)",
    (operator, actual, expected, want) => {
      const got = test(operator, actual, expected);

      expect(got).toBe(want);
    },
  );

  it.each([
    ["match", "ABC", "abc", false],
    ["match", "abc", "abc", true],
    ["notMatch", "ABC", "abc", true],
    ["notMatch", "abc", "abc", false],
  ] as const)(
    "compares case-sensitively: %s(%j, %j) is %s (documented case: PR §Conditions)",
    (operator, actual, expected, want) => {
      const got = test(operator, actual, expected);

      expect(got).toBe(want);
    },
  );

  it.each([
    ["##", "12", true],
    ["##", "123", false],
    ["##", "1a", false],
    ["??", "ab", true],
    ["??", "a1", false],
    ["?", "", false],
    ["a.c", "abc", true],
    ["a.c", "a.c", true],
    ["a.c", "a c", true],
    ["a.c", "ac", false],
    ["#?.", "1a!", true],
    ["#?.", "a1!", false],
    ["a+b", "a+b", true],
    ["a+b", "aab", false],
    ["(x)|y", "(x)|y", true],
    ["(x)|y", "y", false],
    ["a*", "a*", true],
    ["a*", "aaa", false],
    ["[ab]", "[ab]", true],
    ["[ab]", "a", false],
    ["^$\\", "^$\\", true],
  ] as const)(
    "match pattern %j on %j is %s (documented case: PR §Conditions, # digit, ? letter, . any)",
    (pattern, value, want) => {
      const got = test("match", value, pattern);

      expect(got).toBe(want);
    },
  );

  it.each([
    ["*netrg", "mynetrg", true],
    ["*netrg", "netrg", true],
    ["*netrg", "netrg2", false],
    ["Microsoft.Network/*", "Microsoft.Network/virtualNetworks", true],
    ["Microsoft.Network/*", "MicrosoftXNetwork/virtualNetworks", false],
    ["prefix1_*", "prefix1_", true],
    ["prefix1_*", "prefix2_x", false],
    ["*@contoso.com", "ana@contoso.com", true],
    ["*@contoso.com", "ana@contoso.com.evil", false],
    ["a?c", "abc", false],
    ["a?c", "a?c", true],
    ["line*", "line1\nline2", true],
    ["exact", "exact", true],
    ["exact", "exactly", false],
  ] as const)(
    "like pattern %j on %j is %s (documented case: PR §Conditions, * wildcard, anchored: INFERRED)",
    (pattern, value, want) => {
      const got = test("like", value, pattern);

      expect(got).toBe(want);
    },
  );

  it.each([
    ["in", "a", "a"],
    ["notIn", "a", "a"],
    ["in", "a", { a: 1 }],
    ["in", "a", null],
  ] as const)(
    "%s throws RuleEvaluationError when its operand %j is not an array (documented case: ARR21 §In and notIn)",
    (operator, actual, expected) => {
      const call = () => test(operator, actual, expected);

      expect(call).toThrow(RuleEvaluationError);
    },
  );

  it.each([
    ["containsKey", { Application: "erp" }, "application", true],
    ["containsKey", { application: "erp" }, "APPLICATION", true],
    ["containsKey", {}, "application", false],
    ["containsKey", ["application"], "application", false],
    ["containsKey", "application", "application", false],
    ["containsKey", undefined, "application", false],
    ["notContainsKey", { APPLICATION: "erp" }, "application", false],
    ["notContainsKey", undefined, "application", true],
  ] as const)(
    "%s(%j, %j) is %s (documented case: PR §Logical operators, tags containsKey)",
    (operator, actual, expected, want) => {
      const got = test(operator, actual, expected);

      expect(got).toBe(want);
    },
  );

  it.each([
    ["present", "value", true, true],
    ["present", "value", "true", true],
    ["present", "value", "TRUE", true],
    ["present", "value", false, false],
    ["present", "value", "false", false],
    ["present", "", true, true],
    ["present", false, true, true],
    ["missing", undefined, true, false],
    ["missing", undefined, "true", false],
    ["missing", undefined, false, true],
    ["missing", undefined, "false", true],
    ["missing", undefined, "False", true],
    ["null", null, true, false],
    ["null", null, "false", true],
  ] as const)(
    "exists on a %s value (%j) with operand %j is %s (documented case: PR §Conditions, exists bool; GH96 unquoted booleans)",
    (_kind, actual, operand, want) => {
      const got = test("exists", actual, operand);

      expect(got).toBe(want);
    },
  );

  it.each([
    ["less", 1, 2, true],
    ["less", -5, -4, true],
    ["less", 2.5, 2.4, false],
    ["lessOrEquals", 7, 7, true],
    ["greater", 10, 9, true],
    ["greater", 9, 10, false],
    ["greaterOrEquals", 0, 0, true],
    ["greaterOrEquals", -1, 0, false],
  ] as const)(
    "orders numbers: %s(%j, %j) is %s (documented case: PR §Conditions, integer values)",
    (operator, actual, expected, want) => {
      const got = test(operator, actual, expected);

      expect(got).toBe(want);
    },
  );

  it.each([
    ["less", "apple", "Banana", true],
    ["less", "Banana", "apple", false],
    ["greater", "b", "A", true],
    ["greater", "A", "b", false],
    ["lessOrEquals", "ABC", "abc", true],
    ["greaterOrEquals", "abc", "ABC", true],
    ["less", "abc", "ABC", false],
    ["greater", "abc", "ABC", false],
    ["less", "abc", "abcd", true],
  ] as const)(
    "orders strings ignoring case: %s(%j, %j) is %s (documented case: PR §Conditions, InvariantCultureIgnoreCase)",
    (operator, actual, expected, want) => {
      const got = test(operator, actual, expected);

      expect(got).toBe(want);
    },
  );

  it.each([
    // 10:00+02:00 is 08:00Z: earlier than 09:00Z although its text sorts later.
    ["less", "2024-01-01T10:00:00+02:00", "2024-01-01T09:00:00Z", true],
    ["greater", "2024-01-01T10:00:00+02:00", "2024-01-01T09:00:00Z", false],
    // 00:30-01:00 is 01:30Z: later than 01:00Z although its text sorts earlier.
    ["greater", "2024-01-01T00:30:00-01:00", "2024-01-01T01:00:00Z", true],
    ["less", "2024-01-01T00:30:00-01:00", "2024-01-01T01:00:00Z", false],
    // the same instant written in two zones
    ["lessOrEquals", "2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00Z", true],
    ["greaterOrEquals", "2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00Z", true],
    ["less", "2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00Z", false],
    ["greater", "2024-06-01T12:00:00+02:00", "2024-06-01T10:00:00Z", false],
    // fractional seconds and offsets without a colon
    ["less", "2024-06-01T10:00:00.1230000Z", "2024-06-01T10:00:00.124Z", true],
    ["less", "2024-06-01T05:30:00+0530", "2024-06-01T00:00:01Z", true],
  ] as const)(
    "orders ISO date-times as instants: %s(%j, %j) is %s (PR §Conditions accepts date strings; ordering them as instants is vigil's reading, NOT DOCUMENTED)",
    (operator, actual, expected, want) => {
      const got = test(operator, actual, expected);

      expect(got).toBe(want);
    },
  );

  it.each([
    ["less", 1, "2"],
    ["lessOrEquals", "2024-01-01T00:00:00Z", 5],
    ["greater", true, 1],
    ["greaterOrEquals", [1], [2]],
    ["less", undefined, 3],
    ["greater", null, "a"],
    ["less", { a: 1 }, { a: 2 }],
  ] as const)(
    "%s throws RuleEvaluationError on a type mismatch between %j and %j (documented case: PR §Conditions, an error is thrown)",
    (operator, actual, expected) => {
      const call = () => test(operator, actual, expected);

      expect(call).toThrow(RuleEvaluationError);
    },
  );

  it.each([
    ["equals", true, "true", true],
    ["equals", true, "True", true],
    ["equals", "TRUE", true, true],
    ["equals", false, "false", true],
    ["equals", true, "false", false],
    ["equals", false, false, true],
    ["notEquals", false, "true", true],
    ["notEquals", true, "true", false],
  ] as const)(
    "treats boolean and its string form as equal: %s(%j, %j) is %s (documented case: PR §Value examples)",
    (operator, actual, expected, want) => {
      const got = test(operator, actual, expected);

      expect(got).toBe(want);
    },
  );

  it.each([
    ["contains", undefined, "x", false],
    ["notContains", undefined, "x", true],
    ["contains", null, "x", false],
    ["contains", { x: 1 }, "x", false],
    ["contains", 12345, 234, true],
    ["contains", [1, 2, 3], "2", true],
  ] as const)("contains(%j, %j) is %s", (operator, actual, expected, want) => {
    const got = test(operator, actual, expected);

    expect(got).toBe(want);
  });

  it.each(["like", "notLike", "match", "notMatch"])(
    "%s throws RuleEvaluationError when its pattern is not a string",
    (operator) => {
      const call = () => test(operator, "abc", 5);

      expect(call).toThrow(RuleEvaluationError);
    },
  );
});

describe("existsOperand", () => {
  it.each([
    [true, true],
    [false, false],
    ["true", true],
    ["false", false],
    ["TRUE", true],
    ["False", false],
  ] as const)("reads %j as %s", (operand, want) => {
    const got = existsOperand(operand);

    expect(got).toBe(want);
  });

  it.each(["yes", "", 1, 0, null, undefined])("throws RuleEvaluationError for %j", (operand) => {
    const call = () => existsOperand(operand);

    expect(call).toThrow(RuleEvaluationError);
  });
});

describe("likePattern", () => {
  it("anchors the pattern at both ends", () => {
    const re = likePattern("a*z");

    expect(re.test("abcz")).toBe(true);
    expect(re.test("xabcz")).toBe(false);
    expect(re.test("abczx")).toBe(false);
  });

  it("treats regular-expression characters other than * literally", () => {
    const re = likePattern("a.b(c)+*");

    expect(re.test("a.b(c)+tail")).toBe(true);
    expect(re.test("aXb(c)+tail")).toBe(false);
  });
});

describe("matchPattern", () => {
  it("builds a case-sensitive expression unless asked to ignore case", () => {
    const sensitive = matchPattern("ab#", false);
    const insensitive = matchPattern("ab#", true);

    expect(sensitive.test("AB1")).toBe(false);
    expect(insensitive.test("AB1")).toBe(true);
  });

  it("matches ? against letters only", () => {
    const re = matchPattern("?", false);

    expect(["a", "Z"].map((c) => re.test(c))).toEqual([true, true]);
    expect(["1", "_", " ", "-"].map((c) => re.test(c))).toEqual([false, false, false, false]);
  });
});

describe("describeExpectation", () => {
  it("names the compliant value of an equality", () => {
    const text = describeExpectation("notEquals", "Enabled", false);

    expect(text).toBe("expected 'Enabled'");
  });

  it("uses the operator's own phrase when the condition must hold", () => {
    const text = describeExpectation("greaterOrEquals", 2, true);

    expect(text).toBe("expected to be at least 2");
  });

  it("describes exists by presence", () => {
    const absent = describeExpectation("exists", "true", false);
    const present = describeExpectation("exists", "false", false);

    expect(absent).toBe("expected it to be absent");
    expect(present).toBe("expected it to exist");
  });
});

describe("describeRequirement", () => {
  it("states the operator's own clause when the condition holds and its opposite when it does not", () => {
    const holds = describeRequirement("in", ["a"], true);
    const fails = describeRequirement("in", ["a"], false);

    expect(holds.startsWith("is one of ")).toBe(true);
    expect(fails.startsWith("is none of ")).toBe(true);
  });

  it.each([
    ["true", true, "exists"],
    ["true", false, "is absent"],
    [false, true, "is absent"],
    ["FALSE", false, "exists"],
  ] as const)("states exists %j (holding: %s) as %j", (operand, holds, want) => {
    const text = describeRequirement("exists", operand, holds);

    expect(text).toBe(want);
  });
});
