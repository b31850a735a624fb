import { describe, expect, it } from "vitest";
import {
  appendPath,
  formatPath,
  getProperty,
  isPrefix,
  PathSyntaxError,
  parsePath,
  type Segment,
} from "../../../../src/core/rule/path.js";

function p(name: string): Segment {
  return { kind: "prop", name, lower: name.toLowerCase() };
}

const ALL: Segment = { kind: "all" };

function ix(index: number): Segment {
  return { kind: "index", index };
}

describe("parsePath", () => {
  it.each([
    [
      "properties.backup.geoRedundantBackup",
      [p("properties"), p("backup"), p("geoRedundantBackup")],
    ],
    ["a[*]", [p("a"), ALL]],
    ["a[*].b[*]", [p("a"), ALL, p("b"), ALL]],
    ["value[2].x", [p("value"), ix(2), p("x")]],
    ["tags['cost.center']", [p("tags"), p("cost.center")]],
    ['tags["cost center"]', [p("tags"), p("cost center")]],
    ["tags[env]", [p("tags"), p("env")]],
    ["tags['it''s']", [p("tags"), p("it's")]],
    ["tags['a]b']", [p("tags"), p("a]b")]],
    ["tags['''x''']", [p("tags"), p("'x'")]],
    ["[0].a", [ix(0), p("a")]],
    ["a-b.$c", [p("a-b"), p("$c")]],
  ] as const)(
    "parses %j into its segments (documented case: PR §Fields, tags['<name>'] and tags['''<name>'''] forms)",
    (text, segments) => {
      const got = parsePath(text);

      expect(got.segments).toEqual(segments);
      expect(got.text).toBe(text);
    },
  );

  it("keeps the lower-case form of each property name for case-insensitive reads", () => {
    const got = parsePath("Properties.NetworkACLs");

    expect(got.segments).toEqual([
      { kind: "prop", name: "Properties", lower: "properties" },
      { kind: "prop", name: "NetworkACLs", lower: "networkacls" },
    ]);
  });

  it.each([
    ["a.b", false],
    ["a[0].b", false],
    ["a[*]", true],
    ["a[*].b", true],
  ] as const)("reports whether %j has a wildcard (%s)", (text, want) => {
    const got = parsePath(text).hasWildcard;

    expect(got).toBe(want);
  });

  it.each(["", "a.", ".a", "a..b", "a[", "a['x", "a['x'y]", "a[]", "a[-1]", "a[0]b"])(
    "throws PathSyntaxError for %j",
    (text) => {
      const call = () => parsePath(text);

      expect(call).toThrow(PathSyntaxError);
    },
  );
});

describe("formatPath", () => {
  it.each([
    [[p("properties"), p("x")], "properties.x"],
    [[p("value"), ix(2), p("x")], "value[2].x"],
    [[p("a"), ALL, p("b")], "a[*].b"],
    [[p("tags"), p("cost.center")], "tags['cost.center']"],
    [[p("tags"), p("it's")], "tags['it''s']"],
    [[p("tags"), p("with space")], "tags['with space']"],
    [[p("tags"), p("3")], "tags['3']"],
    [[ix(0)], "[0]"],
  ] as const)("formats %j as %j", (segments, want) => {
    const got = formatPath(segments);

    expect(got).toBe(want);
  });
});

describe("appendPath", () => {
  it.each([
    ["", p("a"), "a"],
    ["a", p("b"), "a.b"],
    ["a", ix(3), "a[3]"],
    ["a", ALL, "a[*]"],
    ["a", p("x.y"), "a['x.y']"],
    ["", p("x y"), "['x y']"],
  ] as const)("appends %j to %j", (base, segment, want) => {
    const got = appendPath(base, segment);

    expect(got).toBe(want);
  });
});

describe("getProperty", () => {
  it("prefers the exact spelling of a key", () => {
    const doc = { name: "exact", Name: "other" };

    const got = getProperty(doc, { name: "Name", lower: "name" });

    expect(got).toBe("other");
  });

  it("falls back to a case-insensitive match", () => {
    const doc = { NetworkAcls: { defaultAction: "Deny" } };

    const got = getProperty(doc, { name: "networkACLs", lower: "networkacls" });

    expect(got).toEqual({ defaultAction: "Deny" });
  });

  it("returns a present null as null and an absent key as undefined", () => {
    const doc = { a: null };

    const present = getProperty(doc, { name: "a", lower: "a" });
    const absent = getProperty(doc, { name: "b", lower: "b" });

    expect(present).toBeNull();
    expect(absent).toBeUndefined();
  });

  it.each([[null], [undefined], ["text"], [42], [["a"]]] as const)(
    "returns undefined when reading from %j",
    (value) => {
      const got = getProperty(value, { name: "length", lower: "length" });

      expect(got).toBeUndefined();
    },
  );

  it.each(["constructor", "toString", "valueOf", "hasOwnProperty", "__proto__"])(
    "does not read the inherited member %j of a plain object as a property",
    (name) => {
      const doc = JSON.parse('{"tags":{"env":"prod"}}') as { tags: unknown };

      const got = getProperty(doc.tags, { name, lower: name.toLowerCase() });

      expect(got).toBeUndefined();
    },
  );

  it("reads an own key that happens to share a name with an inherited member", () => {
    const doc = JSON.parse('{"constructor":"acme"}') as unknown;

    const got = getProperty(doc, { name: "constructor", lower: "constructor" });

    expect(got).toBe("acme");
  });
});

describe("isPrefix", () => {
  it.each([
    ["a[*]", "a[*].b", true],
    ["A[*]", "a[*].B", true],
    ["a[*]", "a[*]", true],
    ["a[*].b", "a[*]", false],
    ["a[*]", "a[0].b", false],
    ["a[0]", "a[0].b", true],
    ["a[0]", "a[1].b", false],
    ["a.b", "a.c", false],
  ] as const)("isPrefix(%j, %j) is %s", (prefix, path, want) => {
    const got = isPrefix(parsePath(prefix).segments, parsePath(path).segments);

    expect(got).toBe(want);
  });
});
