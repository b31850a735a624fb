import { describe, expect, it } from "vitest";
import { RuleCompileError, RuleEvaluationError } from "../../../../src/core/errors.js";
import { TRUE } from "../../../../src/core/rule/context.js";
import {
  ExpressionSyntaxError,
  indexOf,
  isExpression,
  memberOf,
  parseExpression,
  unescapeLiteral,
} from "../../../../src/core/rule/expression.js";
import { check, compile, evaluateValue, param } from "./rule-harness.js";

describe("isExpression", () => {
  it.each([
    ["[utcNow()]", true],
    ["[parameters('x')]", true],
    ["[[literal]", false],
    ["[test] value", false],
    ["plain", false],
    ["[", false],
    ["]", false],
    ["[]", true],
  ] as const)("isExpression(%j) is %s (documented case: ARMX §Escape characters)", (text, want) => {
    const got = isExpression(text);

    expect(got).toBe(want);
  });
});

describe("unescapeLiteral", () => {
  it.each([
    ["[[test value]", "[test value]"],
    ["[[", "["],
    ["[test] value", "[test] value"],
    ["plain", "plain"],
  ] as const)(
    "reads %j as the literal %j (documented case: ARMX §Escape characters)",
    (text, want) => {
      const got = unescapeLiteral(text);

      expect(got).toBe(want);
    },
  );

  it("compares an escaped operand as the literal text, not as an expression", () => {
    const condition = { field: "name", equals: "[[literal]" };

    const result = check(condition, { name: "[literal]" });

    expect(result).toBe(TRUE);
  });
});

describe("parseExpression", () => {
  it("parses a call with string, number, negative number and nested call arguments", () => {
    const ast = parseExpression("addDays(utcNow(), -7)");

    expect(ast).toEqual({
      kind: "call",
      name: "addDays",
      offset: 0,
      args: [
        { kind: "call", name: "utcNow", offset: 8, args: [] },
        { kind: "literal", value: -7 },
      ],
    });
  });

  it("reads a doubled apostrophe inside a string as one apostrophe", () => {
    const ast = parseExpression("concat('it''s', '')");

    expect(ast).toMatchObject({
      kind: "call",
      args: [
        { kind: "literal", value: "it's" },
        { kind: "literal", value: "" },
      ],
    });
  });

  it("parses member access and indexing after a call", () => {
    const ast = parseExpression("split(parameters('p').list, ',')[1]");

    expect(ast).toMatchObject({
      kind: "index",
      index: { kind: "literal", value: 1 },
      target: {
        kind: "call",
        name: "split",
        args: [
          { kind: "member", property: "list", target: { kind: "call", name: "parameters" } },
          { kind: "literal", value: "," },
        ],
      },
    });
  });

  it.each([
    ["true", true],
    ["FALSE", false],
    ["null", null],
    ["1.5", 1.5],
  ] as const)("reads the bare keyword or number %j as a literal", (src, want) => {
    const ast = parseExpression(src);

    expect(ast).toEqual({ kind: "literal", value: want });
  });

  it.each([
    ["concat('a", /unclosed string/],
    ["concat('a', 'b'", /expected ',' or '\)'/],
    ["concat('a' 'b')", /expected ',' or '\)'/],
    ["utcNow", /not a function call/],
    ["utcNow())", /unexpected text/],
    ["", /ends early/],
    ["concat('a'; 'b')", /unexpected character ';'/],
    ["parameters('p').", /property name/],
    ["split('a,b', ',')[1", /expected '\]'/],
    [",", /unexpected ','/],
  ] as const)("throws ExpressionSyntaxError for %j", (src, message) => {
    const call = () => parseExpression(src);

    expect(call).toThrow(ExpressionSyntaxError);
    expect(call).toThrow(message);
  });

  it("names the offset of the offending character", () => {
    const call = () => parseExpression("concat('a', @)");

    expect(call).toThrow("unexpected character '@' at offset 12");
  });

  it("is reported by the compiler as a RuleCompileError with the operand's pointer and the syntax error as cause", () => {
    let caught: unknown;

    try {
      compile({ value: "[concat('a]", equals: "a" });
    } catch (error) {
      caught = error;
    }

    expect(caught).toBeInstanceOf(RuleCompileError);
    expect((caught as RuleCompileError).pointer).toBe("/policyRule/if/value");
    expect((caught as RuleCompileError).message).toContain("#/policyRule/if/value");
    expect((caught as Error).cause).toBeInstanceOf(ExpressionSyntaxError);
  });
});

describe("memberOf", () => {
  it("reads a property case-insensitively", () => {
    const got = memberOf({ Name: "x" }, "name");

    expect(got).toBe("x");
  });

  it.each([
    [{ a: 1 }, "b"],
    ["text", "length"],
    [[1, 2], "length"],
    [null, "a"],
  ] as const)("throws RuleEvaluationError reading %j.%s", (target, property) => {
    const call = () => memberOf(target, property);

    expect(call).toThrow(RuleEvaluationError);
  });

  it("is used for parameters('x').y member access", () => {
    const parameters = { x: param("object", { y: "from-parameter" }) };

    const got = evaluateValue("[parameters('x').y]", {}, { parameters });

    expect(got).toBe("from-parameter");
  });
});

describe("indexOf", () => {
  it("reads an array member by position", () => {
    const got = indexOf(["a", "b"], 1);

    expect(got).toBe("b");
  });

  it("reads an object property by name", () => {
    const got = indexOf({ Key: 1 }, "key");

    expect(got).toBe(1);
  });

  it.each([
    [["a"], 1],
    [["a"], -1],
    [["a"], 0.5],
    [["a"], "0"],
    ["text", 0],
  ] as const)("throws RuleEvaluationError for %j[%j]", (target, index) => {
    const call = () => indexOf(target, index);

    expect(call).toThrow(RuleEvaluationError);
  });
});
