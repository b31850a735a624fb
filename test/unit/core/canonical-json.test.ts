import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { canonicalJson, sha256Hex } from "../../../src/core/index.js";

const RUNS = { numRuns: 300 };

/** Rebuild every object of a JSON value with its keys in an order chosen by `order`. */
function reorderKeys(value: unknown, order: (keys: string[]) => string[]): unknown {
  if (Array.isArray(value)) return value.map((item) => reorderKeys(item, order));
  if (typeof value !== "object" || value === null) return value;
  const record = value as Record<string, unknown>;
  // Object.fromEntries defines own data properties, so a "__proto__" key stays a key.
  return Object.fromEntries(
    order(Object.keys(record)).map((k) => [k, reorderKeys(record[k], order)]),
  );
}

describe("canonicalJson", () => {
  it("sorts object keys in UTF-16 code unit order at every depth", () => {
    const value = { b: 1, a: { z: [3, { y: 1, x: 2 }], "10": true, "9": null }, B: "s", é: 0 };

    expect(canonicalJson(value)).toBe(
      '{"B":"s","a":{"10":true,"9":null,"z":[3,{"x":2,"y":1}]},"b":1,"é":0}',
    );
  });

  it("orders keys by UTF-16 code units, so an astral character sorts before U+FFFF", () => {
    // "😀" is the surrogate pair D83D DE00; "\uffff" is one code unit FFFF, greater than D83D.
    expect(canonicalJson({ "\uffff": 1, "😀": 2 })).toBe('{"😀":2,"\uffff":1}');
  });

  it("writes no whitespace and keeps array order", () => {
    expect(canonicalJson({ list: [3, 1, 2], text: "a b" })).toBe('{"list":[3,1,2],"text":"a b"}');
  });

  it("writes numbers and strings as JSON.stringify does", () => {
    expect(canonicalJson([-0, 1e21, 0.1, "\u2028", "\ud800", 'q"\\'])).toBe(
      JSON.stringify([0, 1e21, 0.1, "\u2028", "\ud800", 'q"\\']),
    );
  });

  it("leaves out object properties whose value is undefined", () => {
    expect(canonicalJson({ a: 1, b: undefined })).toBe('{"a":1}');
  });

  it("honours toJSON, so a Date becomes its ISO string", () => {
    expect(canonicalJson({ at: new Date(Date.UTC(2025, 0, 2)) })).toBe(
      '{"at":"2025-01-02T00:00:00.000Z"}',
    );
  });

  it("round-trips through JSON.parse", () => {
    const value = { id: "/subscriptions/x", n: [1, 2.5, null, true], nested: { "": "empty key" } };

    expect(JSON.parse(canonicalJson(value))).toEqual(value);
  });

  it.each([
    ["undefined at the top", undefined],
    ["undefined in an array", [1, undefined]],
    ["a hole in an array", Object.assign(new Array<number>(3), { 0: 1, 2: 3 })],
    ["a function", { f: () => 1 }],
    ["a symbol", { s: Symbol("s") }],
    ["a bigint", { n: 1n }],
    ["NaN", { n: Number.NaN }],
    ["Infinity", [Number.POSITIVE_INFINITY]],
    ["a Map", { m: new Map([["a", 1]]) }],
    ["a Set", new Set([1])],
    ["a typed array", { b: new Uint8Array([1]) }],
    ["a boxed string", { s: new String("x") }],
  ])("throws TypeError for %s", (_name, value) => {
    expect(() => canonicalJson(value)).toThrow(TypeError);
  });

  it("throws TypeError for a cycle", () => {
    const value: Record<string, unknown> = { a: 1 };
    value.self = { back: value };

    expect(() => canonicalJson(value)).toThrow(/cycle/);
  });

  it("accepts the same object twice when it is not a cycle", () => {
    const shared = { x: 1 };

    expect(canonicalJson([shared, { again: shared }])).toBe('[{"x":1},{"again":{"x":1}}]');
  });

  it("is stable through parse and serialise for any JSON value", () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        const once = canonicalJson(value);

        expect(canonicalJson(JSON.parse(once))).toBe(once);
        expect(JSON.parse(once)).toEqual(JSON.parse(JSON.stringify(value)));
      }),
      RUNS,
    );
  });

  it("does not depend on the order keys were inserted in", () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.integer(), (value, seed) => {
        // A deterministic shuffle per object, varied by the seed.
        const shuffled = reorderKeys(value, (keys) =>
          keys
            .map((k, i) => ({ k, w: (Math.imul(i + 1, 2654435761) ^ seed) >>> 0 }))
            .sort((a, b) => a.w - b.w)
            .map(({ k }) => k),
        );
        const reversed = reorderKeys(value, (keys) => [...keys].reverse());

        expect(canonicalJson(shuffled)).toBe(canonicalJson(value));
        expect(canonicalJson(reversed)).toBe(canonicalJson(value));
      }),
      RUNS,
    );
  });
});

describe("sha256Hex", () => {
  it("hashes a string as UTF-8 and answers lowercase hex", () => {
    expect(sha256Hex("abc")).toBe(
      "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
    );
    expect(sha256Hex("é")).toBe(sha256Hex(new Uint8Array([0xc3, 0xa9])));
  });
});
