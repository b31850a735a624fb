import { describe, expect, it } from "vitest";
import type { CompiledControl } from "../../../../src/core/catalogue.js";
import { RuleCompileError } from "../../../../src/core/errors.js";
import { evaluateControl } from "../../../../src/core/evaluate.js";
import {
  compileCondition,
  createCompileScope,
  TRACE_BUDGET,
} from "../../../../src/core/rule/compiler.js";
import { FALSE, TRUE, type Tri, UNKNOWN } from "../../../../src/core/rule/context.js";
import type { Control, Observation, TraceEntry } from "../../../../src/core/types.js";
import { check, compile, IF_POINTER, NOW_MS, param, run } from "./rule-harness.js";

/** The sample resource of ARR21 §Referencing array fields, as a wire document. */
const ARR21_DOC = {
  tags: { env: "prod" },
  properties: {
    stringArray: ["a", "b", "c"],
    objectArray: [
      { property: "value1", nestedArray: [1, 2] },
      { property: "value2", nestedArray: [3, 4] },
    ],
  },
};

const IP_RULES = "Microsoft.Storage/storageAccounts/networkAcls.ipRules";
const F = `${IP_RULES}[*].value`;

/** The storage account of ARR21 §Additional [*] alias examples. */
const IP_RULES_DOC = {
  properties: {
    networkAcls: {
      ipRules: [
        { value: "127.0.0.1", action: "Allow" },
        { value: "192.168.1.1", action: "Allow" },
      ],
    },
  },
};

function compileErrorOf(condition: unknown, parameters = {}): RuleCompileError {
  try {
    compile(condition, parameters);
  } catch (error) {
    if (error instanceof RuleCompileError) return error;
    throw error;
  }
  throw new Error("the condition compiled");
}

function compiledControl(rule: unknown): CompiledControl {
  const control: Control = {
    id: "unit-rule-under-test",
    version: 1,
    title: "A rule under test",
    description: "A control built by the rule-engine unit tests.",
    family: "backup-age",
    severity: "high",
    appliesTo: ["Microsoft.Test/things"],
    parameters: {},
    policyRule: { if: rule as Record<string, unknown>, then: { effect: "audit" } },
    rationale: "tests",
    remediation: "none",
    frameworks: { iso27001: [], soc2: [], nist80053: [], mcsb: [] },
    references: [],
  };
  return {
    control,
    file: "unit.json",
    rule: compile(rule),
    appliesWhen: undefined,
    types: new Set(["microsoft.test/things"]),
    defaults: {},
  };
}

function observation(
  document: unknown,
  gaps: { path: string; message: string }[] = [],
): Observation {
  return {
    id: "/subscriptions/s/resourceGroups/rg/providers/Microsoft.Test/things/t1",
    type: "Microsoft.Test/things",
    document,
    ...(gaps.length > 0 ? { gaps } : {}),
  };
}

describe("compileCondition", () => {
  describe("logical operators", () => {
    it.each([
      [
        {
          allOf: [
            { value: 1, equals: 1 },
            { value: 2, equals: 2 },
          ],
        },
        TRUE,
      ],
      [
        {
          allOf: [
            { value: 1, equals: 1 },
            { value: 2, equals: 3 },
          ],
        },
        FALSE,
      ],
      [
        {
          anyOf: [
            { value: 1, equals: 2 },
            { value: 2, equals: 2 },
          ],
        },
        TRUE,
      ],
      [
        {
          anyOf: [
            { value: 1, equals: 2 },
            { value: 2, equals: 3 },
          ],
        },
        FALSE,
      ],
      [{ not: { value: 1, equals: 1 } }, FALSE],
      [{ not: { value: 1, equals: 2 } }, TRUE],
      [{ not: { allOf: [{ value: 1, equals: 1 }, { not: { value: 2, equals: 2 } }] } }, TRUE],
    ] as const)(
      "evaluates %j to %s (documented case: PR §Logical operators)",
      (condition, want) => {
        const result = check(condition);

        expect(result).toBe(want);
      },
    );
  });

  describe("missing fields", () => {
    it.each([
      ["equals", "v", FALSE],
      ["notEquals", "v", TRUE],
      ["in", ["v", "w"], FALSE],
      ["notIn", ["v", "w"], TRUE],
      ["exists", "false", TRUE],
      ["exists", false, TRUE],
      ["exists", "true", FALSE],
      ["exists", true, FALSE],
      ["like", "v*", FALSE],
      ["notLike", "v*", TRUE],
      ["contains", "v", FALSE],
      ["notContains", "v", TRUE],
      ["match", "v", FALSE],
      ["containsKey", "v", FALSE],
      ["notContainsKey", "v", TRUE],
    ] as const)(
      "evaluates %s %j on a missing field to %s (documented case: ARR21 §Referencing array fields, a missing property selects null; results INFERRED)",
      (operator, operand, want) => {
        const condition = { field: "properties.missing", [operator]: operand };

        const result = check(condition, { properties: {} });

        expect(result).toBe(want);
      },
    );

    it("detects an absent tag with exists false (documented case: PR §Use tags with parameters)", () => {
      const parameters = { tagName: param("string", "cost-center") };
      const condition = { field: "[concat('tags[', parameters('tagName'), ']')]", exists: "false" };

      const absent = check(condition, { tags: { env: "prod" } }, { parameters });
      const present = check(condition, { tags: { "cost-center": "42" } }, { parameters });

      expect(absent).toBe(TRUE);
      expect(present).toBe(FALSE);
    });

    it("detects the absence of a tag whose name is also an Object.prototype member", () => {
      const condition = { field: "tags['constructor']", exists: "false" };

      const result = check(condition, { tags: { env: "prod" } });

      expect(result).toBe(TRUE);
    });

    it.each(["less", "lessOrEquals", "greater", "greaterOrEquals"])(
      "evaluates %s on a missing field to UNKNOWN, never a decided result",
      (operator) => {
        const condition = { field: "properties.backup.backupRetentionDays", [operator]: 7 };

        const { result, ctx } = run(condition, { properties: {} });

        expect(result).toBe(UNKNOWN);
        expect(ctx.unknowns.map((u) => u.message)).toEqual([
          expect.stringContaining("cannot order"),
        ]);
      },
    );

    it.each([
      [{ field: "properties.backup.backupRetentionDays", less: 7 }],
      [{ not: { field: "properties.backup.backupRetentionDays", less: 7 } }],
    ])("reports error, not pass, when %j compares a missing field", (rule) => {
      const control = compiledControl(rule);

      const finding = evaluateControl(control, observation({ properties: {} }), { nowMs: NOW_MS });

      expect(finding.status).toBe("error");
      expect(finding.reason).toContain("cannot order");
    });

    it("records a missing field in the trace as observed null with missing: true", () => {
      const { ctx } = run({ field: "properties.missing", equals: "v" }, { properties: {} });

      expect(ctx.trace).toEqual([
        {
          field: "properties.missing",
          observed: null,
          missing: true,
          operator: "equals",
          expected: "v",
          result: false,
        },
      ]);
    });
  });

  describe("[*] outside count", () => {
    it.each([
      [1, { field: F, notEquals: "127.0.0.1" }, FALSE, "None match"],
      [2, { field: F, notEquals: "10.0.4.1" }, TRUE, "None match"],
      [3, { not: { field: F, notEquals: "127.0.0.1" } }, TRUE, "One or more match"],
      [4, { not: { field: F, notEquals: "10.0.4.1" } }, FALSE, "One or more match"],
      [5, { not: { field: F, equals: "127.0.0.1" } }, TRUE, "Not all match"],
      [6, { not: { field: F, equals: "10.0.4.1" } }, TRUE, "Not all match"],
      [7, { field: F, equals: "127.0.0.1" }, FALSE, "All match"],
      [8, { field: F, equals: "10.0.4.1" }, FALSE, "All match"],
    ] as const)(
      "treats [*] as all-of (documented case: ARR21 §Additional [*] alias examples, row %i)",
      (_row, cond, want, _label) => {
        const rule = { allOf: [{ field: IP_RULES, exists: "true" }, cond] };

        const result = check(rule, IP_RULES_DOC);

        expect(result).toBe(want);
      },
    );

    it("is true on an empty array because no member violates it (documented case: ARR21 §Referencing the array members collection)", () => {
      const doc = { properties: { networkAcls: { ipRules: [] } } };

      const result = check({ field: F, equals: "10.0.4.1" }, doc);

      expect(result).toBe(TRUE);
    });

    it("is true on a missing array, an empty collection (documented case: ARR21 §Referencing array fields, missingArray[*].property; INFERRED)", () => {
      const doc = { properties: { networkAcls: {} } };

      const result = check({ field: F, equals: "10.0.4.1" }, doc);

      expect(result).toBe(TRUE);
    });

    it.each([
      [
        { field: "properties.stringArray", equals: ["a", "b", "c"] },
        TRUE,
        "stringArray is one value",
      ],
      [
        { field: "properties.stringArray[*]", in: ["a", "b", "c"] },
        TRUE,
        "stringArray[*] selects a, b, c",
      ],
      [
        { field: "properties.stringArray[*]", equals: "a" },
        FALSE,
        "stringArray[*] selects a, b, c",
      ],
      [
        { field: "properties.objectArray[*].property", like: "value*" },
        TRUE,
        "objectArray[*].property",
      ],
      [
        { field: "properties.objectArray[*].nestedArray", containsKey: "x" },
        FALSE,
        "nestedArray values are arrays",
      ],
      [
        { field: "properties.objectArray[*].nestedArray[*]", greater: 0 },
        TRUE,
        "flattened 1, 2, 3, 4",
      ],
      [
        { field: "properties.objectArray[*].nestedArray[*]", less: 4 },
        FALSE,
        "flattened 1, 2, 3, 4",
      ],
    ] as const)(
      "selects as the table says: %j is %s (documented case: ARR21 §Referencing array fields, %s)",
      (condition, want, _row) => {
        const result = check(condition, ARR21_DOC);

        expect(result).toBe(want);
      },
    );

    it("records the first failing member's concrete path in the trace", () => {
      const { ctx } = run({ field: F, equals: "127.0.0.1" }, IP_RULES_DOC);

      expect(ctx.trace).toEqual([
        expect.objectContaining({
          field: "properties.networkAcls.ipRules[1].value",
          observed: "192.168.1.1",
          result: false,
        }),
      ]);
    });
  });

  describe("count", () => {
    it.each([
      ["properties.stringArray[*]", 3],
      ["properties.objectArray[*]", 2],
      ["properties.objectArray[*].nestedArray[*]", 4],
    ] as const)(
      "counts every member of %s without where: %i (documented case: ARR21 §Field count expressions)",
      (field, n) => {
        const condition = { count: { field }, equals: n };

        const result = check(condition, ARR21_DOC);

        expect(result).toBe(TRUE);
      },
    );

    it("counts the members where stringArray[*] equals a: 1 (documented case: ARR21 §Field count expressions, worked example 1)", () => {
      const condition = {
        count: {
          field: "properties.stringArray[*]",
          where: { field: "properties.stringArray[*]", equals: "a" },
        },
        equals: 1,
      };

      const result = check(condition, ARR21_DOC);

      expect(result).toBe(TRUE);
    });

    it("counts objectArray members with property value2 and every nestedArray[*] above 2: 1 (documented case: ARR21 §Field count expressions, worked example 2)", () => {
      const condition = {
        count: {
          field: "properties.objectArray[*]",
          where: {
            allOf: [
              { field: "properties.objectArray[*].property", equals: "value2" },
              { field: "properties.objectArray[*].nestedArray[*]", greater: 2 },
            ],
          },
        },
        equals: 1,
      };

      const { result, ctx } = run(condition, ARR21_DOC);

      expect(result).toBe(TRUE);
      expect(ctx.trace?.at(-1)).toMatchObject({
        observed: 1,
        matched: ["properties.objectArray[1]"],
      });
    });

    it("resolves fields outside the counted array normally inside where: 2 (documented case: ARR21 §Field count expressions, tags.env example)", () => {
      const condition = {
        count: { field: "properties.stringArray[*]", where: { field: "tags.env", equals: "prod" } },
        equals: 3,
      };

      const result = check(condition, ARR21_DOC);

      expect(result).toBe(TRUE);
    });

    it("enumerates only the current outer member's nested array (documented case: ARR21 §Field count expressions, nested count >= 1 equals 2)", () => {
      const condition = {
        count: {
          field: "properties.objectArray[*]",
          where: {
            count: { field: "properties.objectArray[*].nestedArray[*]" },
            greaterOrEquals: 1,
          },
        },
        equals: 2,
      };

      const result = check(condition, ARR21_DOC);

      expect(result).toBe(TRUE);
    });

    it("applies a nested where to the current outer member only (documented case: ARR21 §Field count expressions, nested where in [2, 3])", () => {
      const inner = (values: number[]) => ({
        count: {
          field: "properties.objectArray[*]",
          where: {
            count: {
              field: "properties.objectArray[*].nestedArray[*]",
              where: { field: "properties.objectArray[*].nestedArray[*]", in: values },
            },
            greaterOrEquals: 1,
          },
        },
        equals: 2,
      });

      const both = check(inner([2, 3]), ARR21_DOC);
      const onlyFirst = check(inner([1]), ARR21_DOC);

      expect(both).toBe(TRUE);
      expect(onlyFirst).toBe(FALSE);
    });

    it("counts nested members per outer member, not over the whole document", () => {
      const condition = {
        count: {
          field: "properties.objectArray[*]",
          where: { count: { field: "properties.objectArray[*].nestedArray[*]" }, equals: 4 },
        },
        equals: 0,
      };

      const result = check(condition, ARR21_DOC);

      expect(result).toBe(TRUE);
    });

    it("counts values matching a named value count with current('name') (documented case: PR §Value count examples, prefix patterns)", () => {
      const condition = {
        count: {
          value: ["prefix1_*", "prefix2_*"],
          name: "pattern",
          where: { field: "name", like: "[current('pattern')]" },
        },
        greater: 0,
      };

      const matches = check(condition, { name: "prefix2_app" });
      const misses = check(condition, { name: "prefix3_app" });

      expect(matches).toBe(TRUE);
      expect(misses).toBe(FALSE);
    });

    it("reads a property of the current value member (documented case: PR §The current function, current('p').pattern)", () => {
      const parameters = {
        rules: param("array", [{ pattern: "vm-##" }, { pattern: "db-##" }]),
      };
      const condition = {
        count: {
          value: "[parameters('rules')]",
          name: "p",
          where: { field: "name", match: "[current('p').pattern]" },
        },
        equals: 1,
      };

      const result = check(condition, { name: "db-07" }, { parameters });

      expect(result).toBe(TRUE);
    });

    it("reads the current value member with current() when the count is not nested (documented case: PR §The current function)", () => {
      const condition = {
        count: { value: [1, 2, 3], where: { value: "[current()]", greater: 1 } },
        equals: 2,
      };

      const result = check(condition);

      expect(result).toBe(TRUE);
    });

    it("names an unnamed value count 'default' (documented case: PR §Value count)", () => {
      const condition = {
        count: { value: ["a", "b"], where: { value: "[current('default')]", equals: "B" } },
        equals: 1,
      };

      const result = check(condition);

      expect(result).toBe(TRUE);
    });

    it("reads the current field member with current() and with current('<count.field alias>') (documented case: PR §The current function)", () => {
      const byBare = {
        count: {
          field: "properties.stringArray[*]",
          where: { value: "[current()]", in: ["a", "c"] },
        },
        equals: 2,
      };
      const byName = {
        count: {
          field: "properties.stringArray[*]",
          where: { value: "[current('properties.stringArray[*]')]", in: ["a", "c"] },
        },
        equals: 2,
      };

      const bare = check(byBare, ARR21_DOC);
      const named = check(byName, ARR21_DOC);

      expect(bare).toBe(TRUE);
      expect(named).toBe(TRUE);
    });

    it("reads a child of the current field member with current('<child alias>') (documented case: PR §The current function)", () => {
      const condition = {
        count: {
          field: "properties.objectArray[*]",
          where: { value: "[current('properties.objectArray[*].property')]", equals: "value1" },
        },
        equals: 1,
      };

      const result = check(condition, ARR21_DOC);

      expect(result).toBe(TRUE);
    });

    it("returns a one-element array from field() of the counted alias inside where, so a bare comparison never holds (documented case: ARR21 §The field function inside where conditions)", () => {
      const condition = {
        count: {
          field: "properties.stringArray[*]",
          where: {
            field: "properties.stringArray[*]",
            equals: "[field('properties.stringArray[*]')]",
          },
        },
        equals: 0,
      };

      const result = check(condition, ARR21_DOC);

      expect(result).toBe(TRUE);
    });

    it("compares the member itself once first() unwraps field() (documented case: ARR21 §The field function inside where conditions)", () => {
      const condition = {
        count: {
          field: "properties.stringArray[*]",
          where: {
            field: "properties.stringArray[*]",
            equals: "[first(field('properties.stringArray[*]'))]",
          },
        },
        equals: 3,
      };

      const result = check(condition, ARR21_DOC);

      expect(result).toBe(TRUE);
    });

    it("counts zero members of a missing array (documented case: ARR21 §Referencing array fields, empty collection; INFERRED, legacy DS20 §Count said false)", () => {
      const condition = { count: { field: "properties.missingArray[*]" }, equals: 0 };

      const result = check(condition, ARR21_DOC);

      expect(result).toBe(TRUE);
    });

    it("compares the count with an expression operand (documented case: PR §Field count ex.4)", () => {
      const condition = {
        count: {
          field: "properties.stringArray[*]",
          where: { field: "properties.stringArray[*]", match: "?" },
        },
        equals: "[length(field('properties.stringArray[*]'))]",
      };

      const allLetters = check(condition, ARR21_DOC);
      const oneDigit = check(condition, { properties: { stringArray: ["a", "1"] } });

      expect(allLetters).toBe(TRUE);
      expect(oneDigit).toBe(FALSE);
    });

    it("compares the count with a parameter operand", () => {
      const parameters = { minZones: param("integer", 2) };
      const condition = {
        count: { field: "properties.zones[*]" },
        less: "[parameters('minZones')]",
      };

      const one = check(condition, { properties: { zones: ["1"] } }, { parameters });
      const three = check(condition, { properties: { zones: ["1", "2", "3"] } }, { parameters });

      expect(one).toBe(TRUE);
      expect(three).toBe(FALSE);
    });

    it("evaluates to UNKNOWN when a value count's expression does not return an array", () => {
      const parameters = { list: param("string", "not-an-array") };
      const condition = { count: { value: "[parameters('list')]" }, equals: 0 };

      const result = check(condition, {}, { parameters });

      expect(result).toBe(UNKNOWN);
    });

    it("keeps the reads inside counts within TRACE_BUDGET trace entries", () => {
      const members = Array.from({ length: 40 }, (_, i) => ({ items: [i, i + 1, i + 2] }));
      const condition = {
        count: {
          field: "groups[*]",
          where: {
            count: {
              field: "groups[*].items[*]",
              where: { field: "groups[*].items[*]", greater: 1 },
            },
            greater: 0,
          },
        },
        greater: 0,
      };

      const { result, ctx } = run(condition, { groups: members });

      const inner = (ctx.trace as TraceEntry[]).filter((e) => e.within !== undefined);
      expect(result).toBe(TRUE);
      expect(inner.length).toBeGreaterThan(0);
      expect(inner.length).toBeLessThanOrEqual(TRACE_BUDGET);
    });

    it("marks the trace entries read inside where with the member they were read for", () => {
      const condition = {
        count: {
          field: "properties.stringArray[*]",
          where: { field: "properties.stringArray[*]", equals: "b" },
        },
        equals: 1,
      };

      const { ctx } = run(condition, ARR21_DOC);

      const within = (ctx.trace as TraceEntry[]).map((e) => e.within);
      expect(within).toEqual([
        "properties.stringArray[0]",
        "properties.stringArray[1]",
        "properties.stringArray[2]",
        undefined,
      ]);
    });
  });

  describe("gaps", () => {
    const DOC = {
      name: "pg1",
      properties: { state: "Ready" },
      joined: { backups: [{ status: "Succeeded" }], backupsArchive: [], other: "x" },
    };
    const GAPS = ["joined.backups"];

    it.each([
      [{ field: "joined.backups[0].status", equals: "Succeeded" }, "inside the gap"],
      [{ field: "joined.backups", exists: true }, "the gap itself"],
      [{ field: "joined", exists: true }, "above the gap"],
      [{ field: "joined.backups[*].status", equals: "Succeeded" }, "[*] inside the gap"],
      [{ value: "[length(field('joined.backups'))]", equals: 1 }, "field() of the gap"],
      [{ count: { field: "joined.backups[*]" }, equals: 1 }, "count of the gap"],
    ] as const)("evaluates %j to UNKNOWN: a read %s", (condition, _where) => {
      const { result, ctx } = run(condition, DOC, { gaps: GAPS });

      expect(result).toBe(UNKNOWN);
      expect(ctx.unknowns[0]?.path).toBe("joined.backups");
    });

    it.each([
      [{ field: "joined.other", equals: "x" }, TRUE],
      [{ field: "joined.backupsArchive", exists: true }, TRUE],
      [{ field: "properties.state", equals: "Ready" }, TRUE],
    ] as const)("decides %j, which reads beside the gap", (condition, want) => {
      const result = check(condition, DOC, { gaps: GAPS });

      expect(result).toBe(want);
    });

    it("matches gap paths case-insensitively", () => {
      const result = check({ field: "joined.backups", exists: true }, DOC, {
        gaps: ["Joined.BACKUPS"],
      });

      expect(result).toBe(UNKNOWN);
    });

    it.each([
      ["allOf", [FALSE, UNKNOWN], FALSE],
      ["allOf", [UNKNOWN, FALSE], FALSE],
      ["allOf", [TRUE, UNKNOWN], UNKNOWN],
      ["anyOf", [TRUE, UNKNOWN], TRUE],
      ["anyOf", [UNKNOWN, TRUE], TRUE],
      ["anyOf", [FALSE, UNKNOWN], UNKNOWN],
    ] as const)("evaluates %s of %j to %s", (key, branches, want) => {
      const leaf = (t: Tri) =>
        t === UNKNOWN
          ? { field: "joined.backups[0].status", equals: "Succeeded" }
          : { field: "joined.other", equals: t === TRUE ? "x" : "y" };
      const condition = { [key]: branches.map(leaf) };

      const result = check(condition, DOC, { gaps: GAPS });

      expect(result).toBe(want);
    });

    it("keeps UNKNOWN under not", () => {
      const condition = { not: { field: "joined.backups", exists: true } };

      const result = check(condition, DOC, { gaps: GAPS });

      expect(result).toBe(UNKNOWN);
    });

    describe("in a count", () => {
      const MEMBERS = { value: [{ x: "a", y: 1 }, { x: "a", y: 2 }, { y: 3 }] };
      const MEMBER_GAPS = ["value[2].x"];
      const countX = (operator: string, n: number) => ({
        count: { field: "value[*]", where: { field: "value[*].x", equals: "a" } },
        [operator]: n,
      });

      it.each([
        ["greater", 0, TRUE],
        ["greaterOrEquals", 2, TRUE],
        ["less", 2, FALSE],
        ["notEquals", 1, TRUE],
      ] as const)(
        "stays decided when the uncertain member cannot change count %s %i",
        (operator, n, want) => {
          const result = check(countX(operator, n), MEMBERS, { gaps: MEMBER_GAPS });

          expect(result).toBe(want);
        },
      );

      it.each([
        ["equals", 2],
        ["equals", 3],
        ["greater", 2],
        ["less", 3],
      ] as const)(
        "becomes UNKNOWN when the uncertain member can change count %s %i",
        (operator, n) => {
          const { result, ctx } = run(countX(operator, n), MEMBERS, { gaps: MEMBER_GAPS });

          expect(result).toBe(UNKNOWN);
          expect(ctx.unknowns.map((u) => u.message)).toContainEqual(
            expect.stringContaining("between 2 and 3"),
          );
        },
      );

      it("does not make a count of members without where unknown when the gap lies inside one member", () => {
        const condition = { count: { field: "value[*]" }, equals: 3 };

        const result = check(condition, MEMBERS, { gaps: MEMBER_GAPS });

        expect(result).toBe(TRUE);
      });

      it("does not make a count unknown when its where reads beside the gap inside the member", () => {
        const condition = {
          count: { field: "value[*]", where: { field: "value[*].y", greater: 1 } },
          equals: 2,
        };

        const result = check(condition, MEMBERS, { gaps: MEMBER_GAPS });

        expect(result).toBe(TRUE);
      });

      it("makes the count unknown when the array itself is the gap", () => {
        const condition = { count: { field: "value[*]" }, equals: 3 };

        const result = check(condition, MEMBERS, { gaps: ["value"] });

        expect(result).toBe(UNKNOWN);
      });

      it("makes the count unknown when a gap lies above the counted array", () => {
        const condition = { count: { field: "joined.backups[*]" }, equals: 1 };

        const result = check(condition, DOC, { gaps: ["joined"] });

        expect(result).toBe(UNKNOWN);
      });

      it("makes a nested count unknown when the inner array of one member is the gap", () => {
        const condition = {
          count: {
            field: "groups[*]",
            where: { count: { field: "groups[*].items[*]" }, greater: 0 },
          },
          equals: 2,
        };
        const doc = { groups: [{ items: [1] }, { items: [] }] };

        const decided = check(condition, doc);
        const unsure = check(condition, doc, { gaps: ["groups[1].items"] });

        expect(decided).toBe(FALSE);
        expect(unsure).toBe(UNKNOWN);
      });
    });

    describe("under [*] outside count", () => {
      const MEMBERS = { value: [{ x: "b" }, { x: "a" }, {}] };

      it("is UNKNOWN when every collected member holds and one member lies in a gap", () => {
        const condition = { field: "value[*].x", notEquals: "c" };

        const result = check(condition, MEMBERS, { gaps: ["value[2].x"] });

        expect(result).toBe(UNKNOWN);
      });

      it("is FALSE when a collected member already fails, whatever the member in the gap holds (implicit all-of, documented case: ARR21 §Referencing resource properties; docs/observations.md gaps)", () => {
        const condition = { field: "value[*].x", equals: "a" };

        const result = check(condition, MEMBERS, { gaps: ["value[2].x"] });

        expect(result).toBe(FALSE);
      });
    });

    it("gives a finding error, naming the gap, when the gap decides the outcome", () => {
      const control = compiledControl({
        field: "joined.backups[0].status",
        notEquals: "Succeeded",
      });
      const obs = observation(DOC, [{ path: "joined.backups", message: "429 after 3 retries" }]);

      const finding = evaluateControl(control, obs, { nowMs: NOW_MS });

      expect(finding.status).toBe("error");
      expect(finding.reason).toContain("joined.backups was not collected: 429 after 3 retries");
    });

    it("keeps the finding decided when another branch decides without the gap", () => {
      const control = compiledControl({
        allOf: [
          { field: "joined.backups[0].status", notEquals: "Succeeded" },
          { field: "properties.state", equals: "Stopped" },
        ],
      });
      const obs = observation(DOC, [{ path: "joined.backups", message: "throttled" }]);

      const finding = evaluateControl(control, obs, { nowMs: NOW_MS });

      expect(finding.status).toBe("pass");
    });
  });

  describe("operands", () => {
    it.each([
      [{ field: "a", in: "dev" }, "/policyRule/if/in"],
      [{ field: "a", notIn: { dev: true } }, "/policyRule/if/notIn"],
      [{ field: "a", exists: "yes" }, "/policyRule/if/exists"],
      [{ field: "a", like: 5 }, "/policyRule/if/like"],
      [{ field: "a", match: ["x"] }, "/policyRule/if/match"],
      [{ field: "a", less: { n: 1 } }, "/policyRule/if/less"],
      [{ field: "a", greater: true }, "/policyRule/if/greater"],
    ] as const)(
      "rejects the literal operand of %j at compile time, at %s (documented case: ARR20 §Array conditions, in/notIn expect an array)",
      (condition, pointer) => {
        const error = compileErrorOf(condition);

        expect(error.pointer).toBe(pointer);
        expect(error.message).toContain(`#${pointer}`);
      },
    );

    it("evaluates to UNKNOWN when an expression operand of in is not an array", () => {
      const parameters = { allowed: param("string", "dev") };
      const condition = { field: "env", in: "[parameters('allowed')]" };

      const { result, ctx } = run(condition, { env: "dev" }, { parameters });

      expect(result).toBe(UNKNOWN);
      expect(ctx.unknowns[0]?.message).toContain("in/notIn expects an array");
    });

    it("accepts an array parameter as the operand of in (documented case: ARR21 §In and notIn)", () => {
      const parameters = { allowed: param("array", ["dev", "test"]) };
      const condition = { field: "tags.environment", in: "[parameters('allowed')]" };

      const result = check(condition, { tags: { environment: "TEST" } }, { parameters });

      expect(result).toBe(TRUE);
    });

    it("evaluates to UNKNOWN when a value condition's expression fails (documented case: PR §Value warning, a failed evaluation is not a pass)", () => {
      const condition = { value: "[int('abc')]", equals: 1 };

      const result = check(condition);

      expect(result).toBe(UNKNOWN);
    });
  });

  describe("compile errors", () => {
    it.each([
      [
        "an unknown operator",
        {
          allOf: [
            { field: "a", exists: true },
            { field: "b", equalz: 1 },
          ],
        },
        "/policyRule/if/allOf/1/equalz",
        /unknown operator 'equalz'/,
      ],
      [
        "an unknown function",
        { value: "[nope()]", equals: 1 },
        "/policyRule/if/value",
        /unknown function 'nope'/,
      ],
      [
        "a function given too few arguments",
        { value: "[addDays(utcNow())]", equals: 1 },
        "/policyRule/if/value",
        /addDays\(\) takes 2 argument\(s\), got 1/,
      ],
      [
        "a function given too many arguments",
        { field: "a", equals: "[toLower('a', 'b')]" },
        "/policyRule/if/equals",
        /toLower\(\) takes 1 argument\(s\), got 2/,
      ],
      [
        "an undeclared parameter",
        { field: "a", equals: "[parameters('missing')]" },
        "/policyRule/if/equals",
        /parameter 'missing' is used .* but not declared/,
      ],
      [
        "an unknown alias",
        { field: "Microsoft.Storage/storageAccounts/nope", equals: 1 },
        "/policyRule/if/field",
        /unknown alias 'Microsoft.Storage\/storageAccounts\/nope'/,
      ],
      [
        "current() outside a count",
        { not: { value: "[current()]", equals: 1 } },
        "/policyRule/if/not/value",
        /current\(\) is only allowed inside a count/,
      ],
      [
        "current('name') naming no enclosing count",
        {
          count: { value: [1], name: "a", where: { value: "[current('b')]", equals: 1 } },
          equals: 1,
        },
        "/policyRule/if/count/where/value",
        /current\('b'\) names no enclosing count/,
      ],
      [
        "a count field not ending in [*]",
        { count: { field: "properties.stringArray" }, equals: 1 },
        "/policyRule/if/count/field",
        /must end with \[\*\]/,
      ],
      [
        "two operators in one leaf",
        { anyOf: [{ field: "a", equals: 1, notEquals: 2 }] },
        "/policyRule/if/anyOf/0",
        /needs exactly one operator, found equals, notEquals/,
      ],
      [
        "a leaf with no operator",
        { field: "a" },
        "/policyRule/if",
        /needs exactly one operator, found none/,
      ],
      ["a condition with no subject", { equals: 1 }, "/policyRule/if", /expected one of allOf/],
      ["an empty allOf", { allOf: [] }, "/policyRule/if/allOf", /non-empty array/],
      [
        "allOf beside another key",
        { allOf: [{ value: 1, equals: 1 }], field: "a" },
        "/policyRule/if",
        /must be the only key/,
      ],
      [
        "a malformed field path",
        { field: "properties..x", equals: 1 },
        "/policyRule/if/field",
        /invalid field path/,
      ],
      [
        "a count with both field and value",
        { count: { field: "a[*]", value: [1] }, equals: 1 },
        "/policyRule/if/count",
        /exactly one of 'field' or 'value'/,
      ],
      [
        "a name on a field count",
        { count: { field: "a[*]", name: "x" }, equals: 1 },
        "/policyRule/if/count/name",
        /only allowed in a value count/,
      ],
      [
        "a literal count value that is not an array",
        { count: { value: "abc" }, equals: 1 },
        "/policyRule/if/count/value",
        /must be an array/,
      ],
      [
        "an unknown key in count",
        { count: { field: "a[*]", filter: {} }, equals: 1 },
        "/policyRule/if/count/filter",
        /unknown key 'filter'/,
      ],
      [
        "a condition that is not an object",
        { allOf: ["x"] },
        "/policyRule/if/allOf/0",
        /must be an object/,
      ],
    ] as const)(
      "throws RuleCompileError for %s, naming the pointer",
      (_what, condition, pointer, message) => {
        const error = compileErrorOf(condition);

        expect(error.pointer).toBe(pointer);
        expect(error.message).toContain(`#${pointer}`);
        expect(error.message).toMatch(message);
        expect(error.code).toBe("InvalidRule");
      },
    );

    it("names the file when the scope has one", () => {
      const scope = createCompileScope({}, "policies/controls/x/control.json");

      const call = () => compileCondition({ field: "a", equalz: 1 }, scope, IF_POINTER);

      expect(call).toThrow(
        "policies/controls/x/control.json #/policyRule/if/equalz: unknown operator",
      );
    });
  });

  describe("aliases", () => {
    const STORAGE = {
      sku: { name: "Standard_GRS" },
      properties: { minimumTlsVersion: "TLS1_2", networkAcls: { defaultAction: "Deny" } },
    };

    it.each([
      ["Microsoft.Storage/storageAccounts/minimumTlsVersion", "properties.minimumTlsVersion"],
      ["microsoft.storage/STORAGEACCOUNTS/MinimumTLSVersion", "properties.minimumTlsVersion"],
      [
        "Microsoft.Storage/storageAccounts/networkAcls.defaultAction",
        "properties.networkAcls.defaultAction",
      ],
      ["Microsoft.Storage/storageAccounts/sku.name", "sku.name"],
    ] as const)(
      "reads %s as the same value as %s (documented case: ALIAS basics; alias case-insensitivity INFERRED)",
      (alias, path) => {
        const viaAlias = run({ field: alias, equals: "never" }, STORAGE);
        const viaPath = run({ field: path, equals: "never" }, STORAGE);

        expect(viaAlias.ctx.trace?.[0]?.observed).toBeDefined();
        expect(viaAlias.ctx.trace?.[0]?.observed).toEqual(viaPath.ctx.trace?.[0]?.observed);
        expect(viaAlias.ctx.trace?.[0]?.field).toBe(path);
      },
    );

    it("counts through a [*] alias and reads its child alias inside where", () => {
      const condition = {
        count: {
          field: `${IP_RULES}[*]`,
          where: { field: F, like: "192.168.*" },
        },
        equals: 1,
      };

      const result = check(condition, IP_RULES_DOC);

      expect(result).toBe(TRUE);
    });
  });

  describe("tag fields", () => {
    const DOC = { tags: { "cost.center": "42", "it's": "x", env: "prod" } };

    it.each([
      ["tags['cost.center']", "42"],
      ["tags['it''s']", "x"],
      ["tags[env]", "prod"],
      ["tags.env", "prod"],
      ["TAGS.ENV", "prod"],
    ] as const)("reads %s (documented case: PR §Fields, tag name forms)", (field, want) => {
      const result = check({ field, equals: want }, DOC);

      expect(result).toBe(TRUE);
    });
  });
});

describe("createCompileScope", () => {
  it("records which declared parameters a rule uses, under their declared spelling", () => {
    const scope = createCompileScope({ Used: param("string", "a"), unused: param("string", "b") });

    compileCondition({ field: "x", equals: "[parameters('used')]" }, scope, IF_POINTER);

    expect([...scope.usedParameters]).toEqual(["Used"]);
  });

  it("counts every parameter as used when the name is computed", () => {
    const scope = createCompileScope({ a: param("string", "a"), b: param("string", "b") });

    compileCondition({ field: "x", equals: "[parameters(concat('a', ''))]" }, scope, IF_POINTER);

    expect([...scope.usedParameters].sort()).toEqual(["a", "b"]);
  });
});
